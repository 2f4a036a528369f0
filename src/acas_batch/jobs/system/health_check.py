"""SYS_HEALTH_CHECK: database, disk, heartbeats, stuck executions, backup age, migrations and the output folder."""

from __future__ import annotations

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.errors import HealthCheckFailed
from acas_batch.models import AlertSeverity, Module
from acas_batch.system.health import HealthLimits, record_findings, run_checks, worst


@job("SYS_HEALTH_CHECK", module=Module.SYS, params=HealthLimits, timeout_seconds=300, max_attempts=1)
def health_check(ctx: JobContext[HealthLimits]) -> JobResult:
    """Database, disk, heartbeats, stuck executions, backup age, migrations, output folder."""
    findings = run_checks(
        ctx.session,
        ctx.engine,
        now=ctx.now,
        data_dir=ctx.settings.data_dir,
        output_dir=ctx.settings.outputs,
        limits=ctx.params,
    )
    for f in findings:
        log = {AlertSeverity.INFO: ctx.log.info, AlertSeverity.WARNING: ctx.log.warning}.get(f.severity, ctx.log.error)
        log(f.message, event="health_finding", check=f.check, severity=f.severity.value, value=f.value)
    written, resolved = record_findings(ctx.session, findings, now=ctx.now)
    problems = [f for f in findings if f.is_problem]
    summary = f"{len(findings)} checks, {len(problems)} problem(s)" + (
        ": " + "; ".join(f.message for f in problems) if problems else ""
    )
    if worst(findings) is AlertSeverity.CRITICAL:
        ctx.checkpoint({"quarantined": written})  # the findings stay recorded although the run fails
        raise HealthCheckFailed(summary)
    if problems:
        ctx.warn_outcome(summary)
    return JobResult(
        summary=summary,
        counts={"checks": len(findings), "problems": len(problems), "quarantined": written, "resolved": resolved},
        data={"findings": [{"check": f.check, "severity": f.severity.value, "message": f.message} for f in findings]},
    )

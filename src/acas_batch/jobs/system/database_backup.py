"""The system jobs: backup, log clean-up, performance statistics, health check, session clean-up.

Each is a thin function of its context; the work is done by the plain functions of
``backup``, ``backup_register``, ``housekeeping``, ``perfstats`` and ``health``, which the
CLI and tests call directly too.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.errors import BackupError, HealthCheckFailed
from acas_batch.jobs.archive import ChunkProgress, archive_year, backup_covering, year_states
from acas_batch.jobs.backup import create_backup, verify_backup
from acas_batch.jobs.backup_register import apply_retention, record_backup
from acas_batch.jobs.health import HealthLimits, record_findings, run_checks, worst
from acas_batch.jobs.housekeeping import LogPurge, log_cutoffs, purge_logs, purge_output_files, purge_sessions
from acas_batch.jobs.perfstats import record_performance
from acas_batch.models import AlertSeverity, Module


class BackupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dest_dir: str | None = Field(None, description="Folder for backup files (default: data_dir/backups).")
    keep_daily: int = Field(7, ge=0)
    keep_weekly: int = Field(5, ge=0)
    keep_monthly: int = Field(12, ge=0)
    verify: bool = Field(True, description="Restore into a scratch database and compare row counts.")


@job(
    "SYS_DATABASE_BACKUP",
    module=Module.SYS,
    params=BackupParams,
    timeout_seconds=7200,
    max_attempts=2,
    resources=({"name": "database", "mode": "exclusive"},),
)
def database_backup(ctx: JobContext[BackupParams]) -> JobResult:
    """Consistent online backup, compressed, checksummed, verified by a test restore; retention applied."""
    p = ctx.params
    dest = Path(p.dest_dir) if p.dest_dir else ctx.settings.data_dir / "backups"
    ctx.log.info(f"backing up into {dest}", event="backup_started")
    # Files first, the register last: the session's write transaction opens only at the end.
    info = create_backup(ctx.engine, dest, ctx.now)
    ctx.log.info(
        f"backup {info.path.name}: {info.size_bytes} bytes, {sum(info.row_counts.values())} rows",
        event="backup_written",
        sha256=info.sha256,
    )
    verified_at, error = None, None
    if p.verify:
        began = time.monotonic()
        try:
            verify_backup(info, ctx.engine, dest)
            verified_at = info.finished_at + timedelta(seconds=time.monotonic() - began)
        except BackupError as exc:
            error = str(exc)
    row = record_backup(ctx.session, info, verified_at=verified_at, verify_error=error, execution_id=ctx.execution_id)
    if error is not None:
        ctx.log.error(error, event="backup_verify_failed")
        ctx.checkpoint({"backup_id": row.id})  # keep the register row of the failed backup
        raise BackupError(error)
    retention = apply_retention(
        ctx.session, now=ctx.now, keep_daily=p.keep_daily, keep_weekly=p.keep_weekly, keep_monthly=p.keep_monthly
    )
    if not p.verify:
        ctx.warn_outcome("backup written but not verified (verify=false)")
    return JobResult(
        summary=f"backup {info.path.name} ({row.generation.value}) {'verified' if verified_at else 'unverified'}; "
        f"{len(retention.deleted)} old backup(s) removed",
        counts={
            "tables": len(info.row_counts),
            "rows": sum(info.row_counts.values()),
            "removed": len(retention.deleted),
        },
        totals={"bytes": info.size_bytes, "bytes_freed": retention.bytes_freed},
        files=[str(info.path)],
        data={
            "backup_id": row.id,
            "sha256": info.sha256,
            "generation": row.generation.value,
            "row_counts": info.row_counts,
        },
    )


class LogCleanupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    debug_days: int = Field(7, ge=0)
    info_days: int = Field(30, ge=0)
    warning_days: int = Field(90, ge=0)
    error_days: int = Field(365, ge=0, description="ERROR and CRITICAL lines.")
    output_days: int = Field(90, ge=0, description="Output files older than this are deleted.")
    chunk_size: int = Field(5000, ge=1, le=100_000)


@job("SYS_LOG_CLEANUP", module=Module.SYS, params=LogCleanupParams, timeout_seconds=3600)
def log_cleanup(ctx: JobContext[LogCleanupParams]) -> JobResult:
    """Deletes execution logs past their retention per level, and old output files."""
    p = ctx.params
    cutoffs = log_cutoffs(
        ctx.now, {"debug": p.debug_days, "info": p.info_days, "warning": p.warning_days, "error": p.error_days}
    )

    def committed(progress: LogPurge) -> None:
        ctx.progress(progress.total)
        ctx.checkpoint({"log_lines_deleted": progress.total})

    logs = purge_logs(ctx.session, cutoffs=cutoffs, chunk_size=p.chunk_size, on_chunk=committed)
    files = purge_output_files(ctx.settings.outputs, older_than=ctx.now - timedelta(days=p.output_days))
    ctx.log.info(
        f"deleted {logs.total} log lines in {logs.chunks} chunks, {files.files} files ({files.bytes_freed} bytes)",
        event="cleanup_done",
    )
    return JobResult(
        summary=f"{logs.total} log lines and {files.files} output files deleted, {files.bytes_freed} bytes freed",
        counts={"log_lines": logs.total, "chunks": logs.chunks, "files": files.files, "dirs": files.dirs_removed}
        | {f"log_lines_{k.lower()}": v for k, v in logs.deleted.items()},
        totals={"bytes_freed": files.bytes_freed},
    )


class PerformanceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_days: int = Field(7, ge=1, le=366)


@job("SYS_PERFORMANCE_STATS", module=Module.SYS, params=PerformanceParams, timeout_seconds=1800)
def performance_stats(ctx: JobContext[PerformanceParams]) -> JobResult:
    """Per-job runs, success rate, duration percentiles and trend over a window; table sizes."""
    report = record_performance(
        ctx.session,
        ctx.engine,
        now=ctx.now,
        window=timedelta(days=ctx.params.window_days),
        execution_id=ctx.execution_id,
    )
    jobs = report["jobs"]
    return JobResult(
        summary=f"{len(jobs)} jobs over {ctx.params.window_days} days; {len(report['tables'])} tables measured",
        counts={
            "jobs": len(jobs),
            "runs": sum(j["runs"] for j in jobs.values()),
            "tables": len(report["tables"]),
            "metrics": report["metrics_written"],
        },
        data=report,
    )


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


class SessionCleanupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idle_minutes: int = Field(480, ge=1, description="Login sessions unused this long are expired.")
    keep_expired_days: int = Field(7, ge=0, description="Expired or revoked rows are deleted after this.")


@job("SYS_USER_SESSION_CLEANUP", module=Module.SYS, params=SessionCleanupParams, timeout_seconds=600)
def user_session_cleanup(ctx: JobContext[SessionCleanupParams]) -> JobResult:
    """Expires idle sessions; deletes sessions and API tokens past their lifetime."""
    p = ctx.params
    result = purge_sessions(
        ctx.session,
        now=ctx.now,
        idle=timedelta(minutes=p.idle_minutes),
        keep_expired=timedelta(days=p.keep_expired_days),
    )
    deleted = sum(result.deleted.values())
    return JobResult(
        summary=f"{result.expired_idle} idle session(s) expired; {deleted} session(s) and token(s) deleted",
        counts={"expired_idle": result.expired_idle, "deleted": deleted}
        | {f"deleted_{k}": v for k, v in result.deleted.items()},
    )


class ArchiveParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retention_years: int = Field(6, ge=1, le=100, description="Archive years that ended this many years ago.")
    chunk_size: int = Field(500, ge=1, le=50_000, description="Journals moved per transaction.")


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@job(
    "SYS_ARCHIVE_DATA",
    module=Module.SYS,
    params=ArchiveParams,
    timeout_seconds=14400,
    max_attempts=2,
    resources=(
        {"name": "database", "mode": "shared"},
        {"name": "ledger:GL", "mode": "exclusive"},
        {"name": "ledger:SL", "mode": "exclusive"},
        {"name": "ledger:PL", "mode": "exclusive"},
        {"name": "ledger:ST", "mode": "exclusive"},
    ),
)
def archive_data(ctx: JobContext[ArchiveParams]) -> JobResult:
    """Moves journal lines of closed years past retention into the archive, balances carried forward."""
    p = ctx.params
    cutoff = _years_before(ctx.business_date, p.retention_years)
    due = [y for y in year_states(ctx.session) if y.end < cutoff and not y.archived]
    still_open = [y.financial_year for y in due if not y.locked]
    ready = [y for y in due if y.locked]
    backups = {y.financial_year: backup_covering(ctx.session, y) for y in ready}  # refuse before moving anything
    totals = {"journal_lines": 0, "statement_lines": 0, "chunks": 0, "debit_pence": 0}
    for year in ready:

        def committed(progress: ChunkProgress, fy: int = year.financial_year) -> None:
            totals["chunks"] += 1
            ctx.progress(progress.journal_lines)
            ctx.checkpoint({"financial_year": fy, "last_journal_id": progress.last_journal_id})

        run = archive_year(
            ctx.session,
            year,
            now=ctx.now,
            backup=backups[year.financial_year],
            chunk_size=p.chunk_size,
            execution_id=ctx.execution_id,
            on_chunk=committed,
        )
        ctx.log.info(
            f"financial year {year.financial_year}: {run.journal_lines} journal lines archived",
            event="archive_year_done",
        )
        totals["journal_lines"] += run.journal_lines
        totals["statement_lines"] += run.statement_lines
        totals["debit_pence"] += run.debit_pence
    if still_open:
        ctx.warn_outcome("not archived, still open (run the year-end close first): " + ", ".join(map(str, still_open)))
    return JobResult(
        summary=f"{len(ready)} year(s) archived ({totals['journal_lines']} journal lines); "
        f"{len(still_open)} open year(s) refused",
        counts={"years": len(ready), "open_years": len(still_open)}
        | {k: v for k, v in totals.items() if k != "debit_pence"},
        totals={"debit_pence": totals["debit_pence"]},
        data={"cutoff": cutoff.isoformat(), "archived": [y.financial_year for y in ready], "open": still_open},
    )

"""One monitoring pass: run the chosen rules, raise alerts, resolve cleared ones, notify."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.models import AlertSeverity, AlertState, BatchAlert, BatchExecution, BatchSchedule, ExecutionState
from acas_batch.monitoring import rules
from acas_batch.monitoring.alerts import raise_alert
from acas_batch.monitoring.findings import Finding
from acas_batch.monitoring.notify import EmailNotifier
from acas_batch.monitoring.run_notices import send_run_notices

_RANK = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}


@dataclass(frozen=True)
class MonitorOptions:
    """What a pass checks (the spec's ``check_*`` flags) and its tolerances."""

    check_failures: bool = True
    check_performance: bool = True
    check_schedule: bool = True
    send_alerts: bool = False
    window: timedelta = timedelta(hours=24)
    slow_factor: float = 2.0
    late_tolerance: timedelta = timedelta(minutes=30)
    missed_grace: timedelta = timedelta(minutes=15)
    notify_min_severity: AlertSeverity = AlertSeverity.WARNING


@dataclass
class MonitorReport:
    """What a pass found and did."""

    checked_at: datetime
    findings: list[Finding] = field(default_factory=list)
    alerts_raised: int = 0
    alerts_repeated: int = 0
    alerts_resolved: int = 0
    notified: int = 0
    notify_error: str | None = None
    run_notices: int = 0
    run_notice_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        by_rule: dict[str, int] = {}
        for f in self.findings:
            by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
        return {
            "checked_at": self.checked_at.isoformat(),
            "findings": len(self.findings),
            "by_rule": by_rule,
            "alerts_raised": self.alerts_raised,
            "alerts_repeated": self.alerts_repeated,
            "alerts_resolved": self.alerts_resolved,
            "notified": self.notified,
            "notify_error": self.notify_error,
            "run_notices": self.run_notices,
            "run_notice_error": self.run_notice_error,
            "problems": [{"rule": f.rule, "severity": f.severity.value, "title": f.title} for f in self.findings],
        }


def resolve_cleared(session: Session, now: datetime) -> int:
    """Resolve open alerts whose cause is gone: the run key later succeeded, the late run
    started, the missed schedule moved on."""
    resolved = 0
    for alert in session.scalars(select(BatchAlert).where(BatchAlert.state != AlertState.RESOLVED)):
        cleared = False
        details = alert.details or {}
        if alert.rule == "failure" and "run_key" in details:
            failed = session.get(BatchExecution, alert.execution_id) if alert.execution_id else None
            after = failed.finished_at if failed is not None and failed.finished_at else alert.first_raised_at
            cleared = (
                session.scalar(
                    select(BatchExecution.id)
                    .where(
                        BatchExecution.run_key == details["run_key"],
                        BatchExecution.state.in_(rules.DONE_OK),
                        BatchExecution.finished_at > after,
                    )
                    .limit(1)
                )
                is not None
            )
        elif alert.rule == "late" and alert.execution_id is not None:
            ex = session.get(BatchExecution, alert.execution_id)
            cleared = ex is None or ex.state not in (ExecutionState.PENDING, ExecutionState.QUEUED)
        elif alert.rule == "missed" and "schedule_id" in details:
            sched = session.get(BatchSchedule, details["schedule_id"])
            due = alert.dedup_key.split(":", 2)[2]
            cleared = (
                sched is None
                or not sched.enabled
                or (sched.next_fire_at is not None and sched.next_fire_at.isoformat() != due)
            )
        elif alert.rule == "running_long" and alert.execution_id is not None:
            ex = session.get(BatchExecution, alert.execution_id)
            cleared = ex is None or ex.state is not ExecutionState.RUNNING
        if cleared:
            alert.state = AlertState.RESOLVED
            alert.resolved_at = now
            resolved += 1
    return resolved


def run_checks(
    session: Session, now: datetime, options: MonitorOptions, notifier: EmailNotifier | None = None
) -> MonitorReport:
    """One pass over the last ``options.window``. The caller commits."""
    since = now - options.window
    report = MonitorReport(checked_at=now)
    if options.check_failures:
        report.findings += rules.failures(session, since, now)
        report.findings += rules.lost_processes(session, since, now)
    if options.check_performance:
        report.findings += rules.slow_runs(session, since, now, factor=options.slow_factor)
        report.findings += rules.running_long(session, now, factor=options.slow_factor)
    if options.check_schedule:
        report.findings += rules.late_starts(session, now, tolerance=options.late_tolerance)
        report.findings += rules.missed_schedules(session, now, grace=options.missed_grace)
    report.alerts_resolved = resolve_cleared(session, now)
    for finding in report.findings:
        raised = raise_alert(session, finding, now)
        if raised.is_new:
            report.alerts_raised += 1
        else:
            report.alerts_repeated += 1
    session.flush()
    if options.send_alerts and notifier is not None:
        due = [
            a
            for a in session.scalars(
                select(BatchAlert)
                .where(BatchAlert.state == AlertState.OPEN, BatchAlert.notified_at.is_(None))
                .order_by(BatchAlert.id)
            )
            if _RANK[a.severity] >= _RANK[options.notify_min_severity]
        ]
        if due:
            try:
                if notifier.send(due):
                    for a in due:
                        a.notified_at = now
                    report.notified = len(due)
            except (OSError, smtplib.SMTPException) as exc:
                report.notify_error = f"{type(exc).__name__}: {exc}"
        notices = send_run_notices(session, since, now, notifier)
        report.run_notices, report.run_notice_error = notices.sent, notices.error
    return report

"""One monitoring pass: run the chosen rules, raise alerts, resolve cleared ones, notify."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.batch.executions import live_success
from acas_batch.batch.schedules import calendar_from_settings, company_closures
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.models import (
    AlertState,
    BatchAlert,
    BatchExecution,
    BatchSchedule,
    BatchWorker,
    ExecutionState,
    WorkerRole,
)
from acas_batch.monitoring import deadlines, rules
from acas_batch.monitoring.alerts import raise_alert
from acas_batch.monitoring.dispatch import DispatchReport, NotifyPolicy, OfficeHours, dispatch
from acas_batch.monitoring.findings import Finding
from acas_batch.monitoring.links import link_maker
from acas_batch.monitoring.notify import WebhookNotifier, notifier_for
from acas_batch.monitoring.outbox import Deliverer
from acas_batch.monitoring.outbox import status as outbox_status
from acas_batch.monitoring.run_notices import queue_run_notices
from acas_batch.monitoring.thresholds import Resources, Thresholds, job_conditions, resource_conditions


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
    scheduler_silence: timedelta = timedelta(minutes=5)
    resources: Resources | None = None  # the folders whose free space is limited; None: no resource check
    resource_probe: dict[str, float] | None = None  # measured values replaced (tests)
    use_thresholds: bool = True  # read batch_threshold_rec (False: the constants above, as before)
    policy: NotifyPolicy = field(default_factory=NotifyPolicy)
    sender: str = "acas-batch@localhost"
    check_deadlines: bool = True  # predict each deadline's finish; alert before and after it
    calendar: BusinessCalendar | None = None  # None: the policy's office-hours calendar, else England's
    worker_slots: int = 2  # slots assumed when no worker is registered (settings.workers)


@dataclass
class MonitorReport:
    """What a pass found and did."""

    checked_at: datetime
    findings: list[Finding] = field(default_factory=list)
    alerts_raised: int = 0
    alerts_repeated: int = 0
    alerts_resolved: int = 0
    recorded: int = 0
    notified: int = 0
    notify_error: str | None = None
    run_notices: int = 0
    run_notice_error: str | None = None
    dispatch: DispatchReport | None = None
    outbox: dict[str, object] = field(default_factory=dict)

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
            "recorded_quietly": self.recorded,
            "notified": self.notified,
            "notify_error": self.notify_error,
            "run_notices": self.run_notices,
            "run_notice_error": self.run_notice_error,
            "queued": self.dispatch.messages if self.dispatch else 0,
            "suppressed": (
                {
                    "capped": self.dispatch.capped,
                    "silenced": self.dispatch.silenced,
                    "inhibited": self.dispatch.inhibited,
                }
                if self.dispatch
                else {}
            ),
            "escalations": self.dispatch.escalations if self.dispatch else 0,
            "outbox": self.outbox,
            "problems": [{"rule": f.rule, "severity": f.severity.value, "title": f.title} for f in self.findings],
        }


#: A scheduler_dead alert resolves once a scheduler has ticked this recently.
SCHEDULER_SILENCE_RESOLVE = timedelta(minutes=1)
#: A database_unreachable alert resolves after this long without a new database failure.
DATABASE_QUIET = timedelta(minutes=30)


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
            later = session.scalar(
                select(BatchExecution.id)
                .where(
                    BatchExecution.run_key == details["run_key"],
                    BatchExecution.state.in_(rules.DONE_OK),
                    BatchExecution.finished_at > after,
                )
                .limit(1)
            )
            # A failure whose work is already done (a refused second close of a closed period:
            # its run key holds a live success from before) can be neither rerun nor marked
            # succeeded; nothing is left to do, so it clears.
            live = live_success(session, details["run_key"]) if later is None else None
            holder = later if later is not None else live.id if live is not None else None
            cleared = holder is not None
            if cleared:
                alert.resolution = f"run key {details['run_key']} succeeded in execution {holder}"
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
        elif alert.rule == "scheduler_dead":
            last = session.scalar(
                select(func.max(BatchWorker.heartbeat_at)).where(BatchWorker.role == WorkerRole.SCHEDULER)
            )
            cleared = last is not None and now - last <= SCHEDULER_SILENCE_RESOLVE
        elif alert.rule == "database_unreachable":
            cleared = now - alert.last_raised_at > DATABASE_QUIET
        elif alert.rule == "running_long" and alert.execution_id is not None:
            ex = session.get(BatchExecution, alert.execution_id)
            cleared = ex is None or ex.state is not ExecutionState.RUNNING
        if cleared:
            alert.state = AlertState.RESOLVED
            alert.resolved_at = now
            resolved += 1
    return resolved


def _resolved_executions(session: Session, findings: Iterable[Finding]) -> set[tuple[str, int | None]]:
    """(dedup key, execution) of the findings about a run whose alert was resolved already.

    A finding about a run (a failure, a slow run) stays true for as long as the run is within
    the monitor's window; without this, resolving its alert would only make the next pass
    open and mail a new one, every pass, for a day.
    """
    about_runs = {f.dedup_key for f in findings if f.execution_id is not None}
    if not about_runs:
        return set()
    return {
        (key, eid)
        for key, eid in session.execute(
            select(BatchAlert.dedup_key, BatchAlert.execution_id).where(
                BatchAlert.state == AlertState.RESOLVED,
                BatchAlert.dedup_key.in_(sorted(about_runs)),
                BatchAlert.execution_id.is_not(None),
            )
        )
    }


def resolve_within(session: Session, keys: set[str], now: datetime) -> int:
    """Resolve open alerts whose threshold is met again (their keys came back within limits)."""
    if not keys:
        return 0
    resolved = 0
    for alert in session.scalars(
        select(BatchAlert).where(BatchAlert.state != AlertState.RESOLVED, BatchAlert.dedup_key.in_(sorted(keys)))
    ):
        alert.state, alert.resolved_at = AlertState.RESOLVED, now
        resolved += 1
    return resolved


def _calendar(options: MonitorOptions) -> BusinessCalendar:
    if options.calendar is not None:
        return options.calendar
    if options.policy.office_hours is not None:
        return options.policy.office_hours.calendar
    return BusinessCalendar()


def run_checks(session: Session, now: datetime, options: MonitorOptions) -> MonitorReport:
    """One pass over the last ``options.window``: raise and resolve alerts and, when
    ``options.send_alerts``, queue what they call for in the outbox. The caller commits, then
    delivers the outbox (:class:`acas_batch.monitoring.outbox.Deliverer`)."""
    since = now - options.window
    report = MonitorReport(checked_at=now)
    limits = Thresholds.load(session) if options.use_thresholds else None
    within: set[str] = set()
    if options.check_failures:
        failed = rules.failures(session, since, now)
        report.findings += failed
        report.findings += rules.database_unreachable(failed)
        report.findings += rules.lost_processes(session, since, now)
    if options.check_performance:
        report.findings += rules.slow_runs(session, since, now, factor=options.slow_factor, limits=limits)
        report.findings += rules.running_long(session, now, factor=options.slow_factor, limits=limits)
    if limits is not None and (options.check_failures or options.check_performance):
        found, ok = job_conditions(session, now, limits)
        report.findings += found
        within |= ok
    if limits is not None and options.resources is not None:
        bind = session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
        found, ok = resource_conditions(engine, limits, options.resources, probe=options.resource_probe)
        report.findings += found
        within |= ok
    if options.check_schedule:
        report.findings += rules.late_starts(session, now, tolerance=options.late_tolerance, limits=limits)
        report.findings += rules.missed_schedules(session, now, grace=options.missed_grace)
        report.findings += rules.scheduler_dead(session, now, limit=options.scheduler_silence)
        quiet = rules.skipped(session, since, now)
    else:
        quiet = []
    if options.check_deadlines:
        found, ok = deadlines.check(session, now, _calendar(options), default_slots=options.worker_slots)
        report.findings += found
        within |= ok
    report.alerts_resolved = resolve_cleared(session, now) + resolve_within(session, within, now)
    settled = _resolved_executions(session, report.findings)
    for finding in report.findings:
        if (finding.dedup_key, finding.execution_id) in settled:
            continue  # resolved (or dismissed) for this very run: the same run cannot raise it again
        raised = raise_alert(session, finding, now)
        if raised.is_new:
            report.alerts_raised += 1
        else:
            report.alerts_repeated += 1
    for finding in quiet:
        # Recorded, never sent: an alert born resolved (the occurrence will not run again), once.
        if session.scalar(select(BatchAlert.id).where(BatchAlert.dedup_key == finding.dedup_key).limit(1)):
            continue
        raised = raise_alert(session, finding, now)
        if raised.is_new:
            raised.alert.state, raised.alert.resolved_at = AlertState.RESOLVED, now
            report.recorded += 1
    session.flush()
    if options.send_alerts:
        report.dispatch = dispatch(session, now, options.policy)
        report.notified = report.dispatch.alerts_told
        notices = queue_run_notices(session, since, now, options.sender)
        report.run_notices, report.run_notice_error = notices.sent, notices.error
    return report


def policy_for(settings: Settings, closures: Iterable[date] = ()) -> NotifyPolicy:
    """The alerting policy the settings describe (business calendar with the company's closures)."""
    (h1, m1), (h2, m2) = settings.office_hours_range
    return NotifyPolicy(
        default_recipients=settings.alert_recipients,
        repeat=timedelta(minutes=settings.alert_repeat_minutes) if settings.alert_repeat_minutes else None,
        cap_per_job_hour=settings.alert_cap_per_job_hour,
        timezone=settings.timezone,
        digest_time=time(*settings.digest_time),
        office_hours=OfficeHours(
            calendar_from_settings(settings, closures), settings.timezone, time(h1, m1), time(h2, m2)
        ),
        link_for=link_maker(settings),
    )


def deliverer_for(settings: Settings, *, sender: str | None = None) -> Deliverer:
    """The outbox's sender for these settings (TLS verified unless ``smtp_tls`` is ``none``)."""
    return Deliverer(
        notifier_for(settings),
        WebhookNotifier(ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None),
        sender=sender,
        smime_dir=settings.smime_cert_dir,
    )


def monitor_pass(
    engine: Engine, settings: Settings, *, now: datetime, send: bool = True, options: MonitorOptions | None = None
) -> MonitorReport:
    """One full pass: checks and alerts committed with the notifications they queue, then the
    outbox delivered (a mail server that is down leaves them queued, with the reason)."""
    with transaction(engine, write=True) as session:
        closures = company_closures(session)
        opts = options or MonitorOptions(
            send_alerts=send,
            policy=policy_for(settings, closures),
            calendar=calendar_from_settings(settings, closures),
            worker_slots=settings.workers,
            sender=settings.smtp_from,
            scheduler_silence=timedelta(seconds=settings.scheduler_silence_seconds),
            resources=Resources(settings.data_dir, settings.outputs),
        )
        report = run_checks(session, now, opts)
    if opts.send_alerts:
        delivery = deliverer_for(settings).deliver_due(engine, now=now)
        report.notify_error = delivery.error
        with transaction(engine) as session:
            report.outbox = {**outbox_status(session, now=now).as_dict(), "this_pass": delivery.as_dict()}
    return report

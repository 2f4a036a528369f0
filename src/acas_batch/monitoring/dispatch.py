"""From open alerts to queued notifications: routing, grouping, caps, repeats, silences,
inhibition, escalation and the daily digest. Writes only to the outbox and the alerts.

One pass (:func:`dispatch`) in the monitor's transaction:

- **Routes** (``batch_alert_route_rec``) match by minimum severity, module and job; every
  matching route hears of an alert; with none, the default route (the row marked default, or
  the installation's ``alert_email_to``).
- **Grouping**: what one pass sends goes out as one message per route, not one per alert.
- **Cap**: at most ``cap_per_job_hour`` alerts per job per hour are told; the rest are marked
  sent with ``muted_reason`` ``capped`` and the message says "and N more suppressed".
- **Repeat**: an alert still OPEN (not acknowledged) is told again after ``repeat``.
- **Silences**: a matching active silence keeps an alert unsent (recorded, shown as muted) until
  it expires; an alert still open then is told.
- **Inhibition**: while a ``database_unreachable`` or ``disk_full`` alert is open, the job alerts
  it causes are recorded but not sent (muted "inhibited by alert #N"); the inhibitor is sent.
- **Escalation**: a critical alert nobody acknowledged goes to the route's next list after each
  step's minutes, optionally only inside office hours on business days; acknowledging stops it.
- **Digest**: routes marked ``digest`` get their non-critical alerts once a day at the digest time.

Each alert is claimed for telling by compare-and-set on ``notified_count``, so two monitors
never both tell it; each message has an idempotency key, so it is queued once.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.masking import mask_text
from acas_batch.models import (
    AlertRoute,
    AlertSeverity,
    AlertSilence,
    AlertState,
    BatchAlert,
    BatchJob,
    NotificationOutbox,
)
from acas_batch.monitoring.outbox import DELIVERY_RULE, Outgoing, enqueue, severity_rank

#: Alerts whose cause makes job alerts a cascade: while one is open, job alerts are not sent.
INHIBITORS = frozenset({"database_unreachable", "disk_full"})
#: Alerts never inhibited: the inhibitors themselves and the alerts about alerting.
NEVER_INHIBITED = INHIBITORS | {DELIVERY_RULE, "scheduler_dead"}
CAPPED = "capped"


@dataclass(frozen=True)
class EscalationStep:
    """After ``after_minutes`` without acknowledgement, tell ``email_to``."""

    after_minutes: int
    email_to: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    """Who hears of which alerts (see :class:`acas_batch.models.AlertRoute`)."""

    name: str
    min_severity: str = "warning"
    module: str | None = None
    job_name: str | None = None
    email_to: tuple[str, ...] = ()
    webhook_url: str | None = None
    escalation: tuple[EscalationStep, ...] = ()
    office_hours_only: bool = False
    digest: bool = False
    is_default: bool = False

    def matches(self, severity: str, module: str | None, job_name: str | None) -> bool:
        return (
            severity_rank(severity) >= severity_rank(self.min_severity)
            and (self.module is None or self.module == module)
            and (self.job_name is None or self.job_name == job_name)
        )

    @classmethod
    def of(cls, row: AlertRoute) -> Route:
        steps = tuple(
            EscalationStep(int(s.get("after_minutes", 30)), tuple(str(a) for a in s.get("email_to", [])))
            for s in (row.escalation or [])
        )
        return cls(
            name=row.name,
            min_severity=row.min_severity,
            module=row.module,
            job_name=row.job_name,
            email_to=tuple(row.email_to or ()),
            webhook_url=row.webhook_url,
            escalation=steps,
            office_hours_only=row.office_hours_only,
            digest=row.digest,
            is_default=row.is_default,
        )


@dataclass(frozen=True)
class OfficeHours:
    """Business days of a calendar, between two local times."""

    calendar: BusinessCalendar
    timezone: str
    start: time
    end: time

    def contains(self, when: datetime) -> bool:
        local = when.astimezone(ZoneInfo(self.timezone))
        return self.calendar.is_business_day(local.date()) and self.start <= local.time() < self.end

    def next_open(self, when: datetime) -> datetime:
        """``when`` itself inside office hours, else the next business morning's opening."""
        if self.contains(when):
            return when
        zone = ZoneInfo(self.timezone)
        local = when.astimezone(zone)
        day = local.date()
        if local.time() >= self.start:
            day += timedelta(days=1)
        day = self.calendar.on_or_after(day)
        return datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class NotifyPolicy:
    """The installation's alerting settings, as one value."""

    default_recipients: tuple[str, ...] = ()
    repeat: timedelta | None = timedelta(hours=4)
    cap_per_job_hour: int = 5
    timezone: str = "Europe/London"
    digest_time: time = time(8, 0)
    office_hours: OfficeHours | None = None
    link_for: Callable[[int, str, datetime], str] | None = None  # (alert id, action, now) -> a signed URL


@dataclass
class DispatchReport:
    """What one pass queued and held back."""

    messages: int = 0
    alerts_told: int = 0
    capped: int = 0
    silenced: int = 0
    inhibited: int = 0
    escalations: int = 0
    digests: int = 0
    queued_keys: list[str] = field(default_factory=list)


def load_routes(session: Session, policy: NotifyPolicy) -> list[Route]:
    routes = [Route.of(r) for r in session.scalars(select(AlertRoute).where(AlertRoute.enabled.is_(True)))]
    if not any(r.is_default for r in routes):
        routes.append(Route("default", email_to=policy.default_recipients, is_default=True))
    return routes


def _routes_for(routes: Sequence[Route], severity: str, module: str | None, job: str | None) -> list[Route]:
    found = [r for r in routes if not r.is_default and r.matches(severity, module, job)]
    if found:
        return found
    return [r for r in routes if r.is_default and r.matches(severity, module, job)]


def _silence_for(
    silences: Sequence[AlertSilence], alert: BatchAlert, module: str | None, job: str | None
) -> AlertSilence | None:
    for s in silences:
        if (
            (s.rule is None or s.rule == alert.rule)
            and (s.module is None or s.module == module)
            and (s.job_name is None or s.job_name == job)
        ):
            return s
    return None


def _claim(session: Session, alert: BatchAlert, now: datetime, muted: str | None) -> bool:
    """Compare-and-set: this pass tells ``alert`` unless another pass did since we read it."""
    hit = session.execute(
        update(BatchAlert)
        .where(BatchAlert.id == alert.id, BatchAlert.notified_count == alert.notified_count)
        .values(notified_at=now, notified_count=BatchAlert.notified_count + 1, muted_reason=muted)
        .execution_options(synchronize_session=False)
    )
    return bool(hit.rowcount)  # type: ignore[attr-defined]


def _lines(alert: BatchAlert, now: datetime, policy: NotifyPolicy, *, repeat: bool) -> list[str]:
    lines = [f"{alert.severity.value.upper()}: {alert.title}", f"  {mask_text(alert.message)}"]
    seen = f"  first seen {alert.first_raised_at.isoformat()}, seen {alert.occurrences} time(s); alert #{alert.id}"
    if repeat:
        seen += f"; still open after {int((now - alert.first_raised_at).total_seconds() // 60)} min"
    lines.append(seen)
    if policy.link_for is not None:
        lines.append(f"  acknowledge: {policy.link_for(alert.id, 'ack', now)}")
        lines.append(f"  resolve:     {policy.link_for(alert.id, 'resolve', now)}")
    lines.append("")
    return lines


def _subject(alerts: Sequence[BatchAlert], prefix: str = "") -> str:
    worst = max((a.severity.value for a in alerts), key=severity_rank).upper()
    if len(alerts) == 1:
        return f"[ACAS batch {worst}] {prefix}{alerts[0].title}"
    jobs = len({a.job_id for a in alerts if a.job_id is not None})
    return f"[ACAS batch {worst}] {prefix}{len(alerts)} alerts" + (f" from {jobs} jobs" if jobs else "")


def _key(prefix: str, ids: Sequence[int], now: datetime) -> str:
    digest = hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:16]
    return f"{prefix}:{now.isoformat()}:{digest}"


def _queue(
    session: Session,
    report: DispatchReport,
    route: Route,
    *,
    kind: str,
    key: str,
    subject: str,
    body: str,
    ids: Sequence[int],
    now: datetime,
    recipients: Sequence[str] | None = None,
) -> None:
    to = tuple(recipients) if recipients is not None else route.email_to
    if to and enqueue(session, Outgoing(key, kind, to, subject, body, route=route.name, alert_ids=tuple(ids)), now=now):
        report.messages += 1
        report.queued_keys.append(key)
    if (
        recipients is None
        and route.webhook_url
        and enqueue(
            session,
            Outgoing(
                f"{key}:webhook",
                kind,
                (route.webhook_url,),
                subject,
                body,
                channel="webhook",
                route=route.name,
                alert_ids=tuple(ids),
            ),
            now=now,
        )
    ):
        report.messages += 1
        report.queued_keys.append(f"{key}:webhook")


def dispatch(session: Session, now: datetime, policy: NotifyPolicy) -> DispatchReport:
    """Queue what the open alerts call for now. The caller commits."""
    report = DispatchReport()
    routes = load_routes(session, policy)
    jobs = {j.id: (j.name, j.module.value) for j in session.scalars(select(BatchJob))}
    silences = list(
        session.scalars(select(AlertSilence).where(AlertSilence.expires_at > now, AlertSilence.ended_at.is_(None)))
    )
    inhibitors = list(
        session.scalars(
            select(BatchAlert).where(BatchAlert.rule.in_(INHIBITORS), BatchAlert.state != AlertState.RESOLVED)
        )
    )
    due_stmt = select(BatchAlert).where(BatchAlert.state == AlertState.OPEN)
    if policy.repeat is None:
        due_stmt = due_stmt.where(BatchAlert.notified_at.is_(None))
    else:
        due_stmt = due_stmt.where((BatchAlert.notified_at.is_(None)) | (BatchAlert.notified_at <= now - policy.repeat))
    due = list(session.scalars(due_stmt.order_by(BatchAlert.id)))
    told_last_hour: dict[int, int] = defaultdict(int)
    for job_id, count in session.execute(
        select(BatchAlert.job_id, func.count())
        .where(
            BatchAlert.job_id.is_not(None),
            BatchAlert.notified_at > now - timedelta(hours=1),
            (BatchAlert.muted_reason.is_(None)) | (BatchAlert.muted_reason != CAPPED),
        )
        .group_by(BatchAlert.job_id)
    ):
        if job_id is not None:
            told_last_hour[int(job_id)] = int(count)
    groups: dict[str, list[tuple[BatchAlert, bool]]] = defaultdict(list)
    suppressed: dict[str, int] = defaultdict(int)
    by_name = {r.name: r for r in routes}
    for alert in due:
        job, module = jobs.get(alert.job_id, (None, None)) if alert.job_id is not None else (None, None)
        silence = _silence_for(silences, alert, module, job)
        if silence is not None:
            alert.muted_reason = f"silenced #{silence.id} until {silence.expires_at.isoformat()}: {silence.reason}"[
                :255
            ]
            report.silenced += 1
            continue
        inhibitor = (
            next((i for i in inhibitors if i.id != alert.id), None) if alert.rule not in NEVER_INHIBITED else None
        )
        if inhibitor is not None:
            alert.muted_reason = f"inhibited by alert #{inhibitor.id} ({inhibitor.rule})"
            report.inhibited += 1
            continue
        matched = _routes_for(routes, alert.severity.value, module, job)
        if not matched:
            continue
        repeat = alert.notified_at is not None
        capped = alert.job_id is not None and told_last_hour[alert.job_id] >= policy.cap_per_job_hour
        if not _claim(session, alert, now, CAPPED if capped else None):
            continue  # another monitor told it
        if capped:
            report.capped += 1
            for r in matched:
                suppressed[r.name] += 1
            continue
        if alert.job_id is not None:
            told_last_hour[alert.job_id] += 1
        report.alerts_told += 1
        for r in matched:
            if r.digest and alert.severity is not AlertSeverity.CRITICAL:
                continue  # told in the daily digest
            groups[r.name].append((alert, repeat))
        if alert.severity is AlertSeverity.CRITICAL and not repeat:
            first = next((r for r in matched if r.escalation), None)
            if first is not None:
                alert.next_escalation_at = _escalate_at(
                    first, now + timedelta(minutes=first.escalation[0].after_minutes), policy
                )
    for name in sorted(set(groups) | set(suppressed)):
        route = by_name[name]
        items = groups.get(name, [])
        body: list[str] = []
        for alert, repeat in items:
            body += _lines(alert, now, policy, repeat=repeat)
        if suppressed.get(name):
            body.append(
                f"and {suppressed[name]} more suppressed (at most {policy.cap_per_job_hour} alerts per job per hour; "
                "`acas-batch alerts list` shows them all)"
            )
        alerts = [a for a, _ in items]
        subject = _subject(alerts) if alerts else f"[ACAS batch] {suppressed[name]} alerts suppressed"
        _queue(
            session,
            report,
            route,
            kind="alert",
            key=_key(f"alerts:{name}", [a.id for a in alerts], now),
            subject=subject,
            body="\n".join(body) + "\n",
            ids=[a.id for a in alerts],
            now=now,
        )
    _escalate(session, now, policy, routes=routes, jobs=jobs, report=report)
    _digests(session, now, policy, routes=routes, jobs=jobs, report=report)
    return report


def _escalate_at(route: Route, when: datetime, policy: NotifyPolicy) -> datetime:
    if route.office_hours_only and policy.office_hours is not None:
        return policy.office_hours.next_open(when)
    return when


def _escalate(
    session: Session,
    now: datetime,
    policy: NotifyPolicy,
    *,
    routes: Sequence[Route],
    jobs: dict[int, tuple[str, str]],
    report: DispatchReport,
) -> None:
    due = session.scalars(
        select(BatchAlert).where(
            BatchAlert.state == AlertState.OPEN,
            BatchAlert.next_escalation_at.is_not(None),
            BatchAlert.next_escalation_at <= now,
        )
    ).all()
    for alert in due:
        job, module = jobs.get(alert.job_id, (None, None)) if alert.job_id is not None else (None, None)
        route = next((r for r in _routes_for(routes, alert.severity.value, module, job) if r.escalation), None)
        step = alert.escalation_step
        if route is None or step >= len(route.escalation):
            alert.next_escalation_at = None
            continue
        if route.office_hours_only and policy.office_hours is not None and not policy.office_hours.contains(now):
            alert.next_escalation_at = policy.office_hours.next_open(now)
            continue
        nxt = (
            _escalate_at(route, now + timedelta(minutes=route.escalation[step + 1].after_minutes), policy)
            if step + 1 < len(route.escalation)
            else None
        )
        hit = session.execute(
            update(BatchAlert)
            .where(BatchAlert.id == alert.id, BatchAlert.escalation_step == step, BatchAlert.state == AlertState.OPEN)
            .values(escalation_step=step + 1, next_escalation_at=nxt)
            .execution_options(synchronize_session=False)
        )
        if not hit.rowcount:  # type: ignore[attr-defined]
            continue
        minutes = int((now - alert.first_raised_at).total_seconds() // 60)
        subject = _subject([alert], prefix=f"ESCALATED (step {step + 1}, unacknowledged {minutes} min): ")
        body = "\n".join(_lines(alert, now, policy, repeat=True)) + "\n"
        _queue(
            session,
            report,
            route,
            kind="escalation",
            key=f"escalation:{alert.id}:{step + 1}",
            subject=subject,
            body=body,
            ids=[alert.id],
            now=now,
            recipients=route.escalation[step].email_to,
        )
        report.escalations += 1


def _digests(
    session: Session,
    now: datetime,
    policy: NotifyPolicy,
    *,
    routes: Sequence[Route],
    jobs: dict[int, tuple[str, str]],
    report: DispatchReport,
) -> None:
    zone = ZoneInfo(policy.timezone)
    local = now.astimezone(zone)
    if local.time() < policy.digest_time:
        return
    day: date = local.date()
    # The digest of a day tells the alerts raised since the previous day's digest time, up to
    # this day's: a late pass (the scheduler was down at 08:00) tells the same window, and an
    # alert raised after the digest time waits for tomorrow's, so none is told twice.
    end = datetime.combine(day, policy.digest_time, tzinfo=zone).astimezone(UTC)
    start = datetime.combine(day - timedelta(days=1), policy.digest_time, tzinfo=zone).astimezone(UTC)
    for route in routes:
        if not route.digest:
            continue
        key = f"digest:{route.name}:{day.isoformat()}"
        if session.scalar(select(NotificationOutbox.id).where(NotificationOutbox.idempotency_key == key)) is not None:
            continue
        alerts = []
        for a in session.scalars(
            select(BatchAlert)
            .where(
                BatchAlert.severity != AlertSeverity.CRITICAL,
                BatchAlert.last_raised_at > start,
                BatchAlert.first_raised_at <= end,
            )
            .order_by(BatchAlert.id)
        ):
            job, module = jobs.get(a.job_id, (None, None)) if a.job_id is not None else (None, None)
            if route.matches(a.severity.value, module, job):
                alerts.append(a)
        if not alerts:
            continue
        body: list[str] = [
            f"{len(alerts)} non-critical alert(s) in the 24 hours to {end.astimezone(zone):%d/%m/%Y %H:%M}.",
            "",
        ]
        for a in alerts:
            body.append(f"[{a.state.value}]")
            body += _lines(a, now, policy, repeat=False)
        subject = f"[ACAS batch digest] {len(alerts)} alerts, {day:%d/%m/%Y}"
        _queue(
            session,
            report,
            route,
            kind="digest",
            key=key,
            subject=subject,
            body="\n".join(body) + "\n",
            ids=[a.id for a in alerts],
            now=now,
        )
        report.digests += 1

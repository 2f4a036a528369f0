"""Deadlines in business terms, each occurrence's finish predicted, and the alerts before and after.

A deadline (``batch_deadline_rec``) is a job and a calendar rule written as a schedule's
("GL_PERIOD_CLOSE done by 07:30 on the first working day": ``monthly``,
``{"at": "07:30", "business_day": 1}``). Each instant of the rule, ``due``, watches one
occurrence of the job: its latest scheduled occurrence after the previous instant and at or
before ``due`` (for a job that only runs when another triggers it, that job's occurrence). An
instant with no such occurrence (or a skipped one) watches nothing.

Each monitor pass estimates the watched occurrence's finish
(:mod:`acas_batch.monitoring.prediction`: its history, its upstream chain, the queue) and:

- ``deadline_at_risk``: before ``due``, when the estimate passes it (or the chain is blocked by
  a failure, a cancellation or a hold): there is still time to act. Resolved when the estimate
  is back within the deadline, the job finished in time, or ``due`` passed (then the miss speaks).
- ``deadline_missed``: at ``due``, when the occurrence has not finished (or it finished late
  between two passes). Raised once; resolved when the job finishes.

Both take the deadline's severity. The pass costs a handful of set-based queries whatever the
number of deadlines: the deadlines, the jobs and their dependencies, the executions of the
business dates watched, the recent durations (one windowed query), the live workers' slots.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.batch.calendar import ScheduleSpec, next_occurrence, occurrences, rule_from_json
from acas_batch.batch.schedules import forecast_schedules, load_schedules
from acas_batch.errors import ValidationError
from acas_batch.models import (
    AlertSeverity,
    AlertState,
    BatchAlert,
    BatchDependency,
    BatchExecution,
    BatchJob,
    BatchWorker,
    Deadline,
    ExecutionState,
    WorkerRole,
    WorkerState,
)
from acas_batch.models.enums import DependencyKind, ShiftPolicy
from acas_batch.monitoring.findings import Finding
from acas_batch.monitoring.prediction import HISTORY, Edge, Estimate, History, Predictor, Run, is_month_end

RISK_RULE = "deadline_at_risk"
MISSED_RULE = "deadline_missed"
#: Deadline instants this far back are still checked for a miss.
LOOKBACK = timedelta(days=2)
#: How far back the previous instant of a deadline is looked for (a yearly rule's).
_PREVIOUS_HORIZON = timedelta(days=370)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class DeadlineRule:
    """A deadline row, parsed."""

    id: int
    name: str
    job_id: int
    job_name: str
    spec: ScheduleSpec
    severity: AlertSeverity
    description: str = ""


@dataclass(frozen=True)
class Instance:
    """One instant of a deadline, the occurrence it watches and that occurrence's estimate."""

    deadline: DeadlineRule
    due: datetime
    business_date: date | None  # the watched occurrence's; None: nothing due before this deadline
    estimate: Estimate | None

    @property
    def slack(self) -> timedelta | None:
        """Deadline minus estimated finish (negative: late); None when blocked or nothing is watched."""
        if self.estimate is None or self.estimate.finish is None:
            return None
        return self.due - self.estimate.finish

    def status(self, now: datetime) -> str:
        """``met``, ``missed``, ``at_risk``, ``blocked``, ``on_track`` or ``nothing_due``."""
        est = self.estimate
        if est is None:
            return "nothing_due"
        if est.done and est.finish is not None:
            return "met" if est.finish <= self.due else "missed"
        if now >= self.due:
            return "missed"
        if est.finish is None:
            return "blocked"
        return "at_risk" if est.finish > self.due else "on_track"

    def key(self, rule: str) -> str:
        return f"{rule}:{self.deadline.id}:{self.due.isoformat()}"


def deadline_spec(row: Deadline) -> ScheduleSpec:
    """The calendar spec of a deadline row.

    Raises:
        ValidationError: the rule, zone or shift policy is invalid; names the deadline.
    """
    try:
        return ScheduleSpec(rule_from_json(row.kind, row.rule), row.timezone, ShiftPolicy(row.shift_policy))
    except ValidationError as exc:
        raise ValidationError(f"deadline {row.name!r}: {exc}") from exc


def load_rules(session: Session, *, include_disabled: bool = False) -> list[DeadlineRule]:
    """The deadlines, by name."""
    stmt = select(Deadline, BatchJob.name).join(BatchJob, BatchJob.id == Deadline.job_id).order_by(Deadline.name)
    if not include_disabled:
        stmt = stmt.where(Deadline.enabled.is_(True))
    return [
        DeadlineRule(d.id, d.name, d.job_id, job, deadline_spec(d), AlertSeverity(d.severity), d.description)
        for d, job in session.execute(stmt)
    ]


def _dues(rule: DeadlineRule, calendar: BusinessCalendar, now: datetime) -> list[tuple[datetime, datetime]]:
    """(previous instant, instant) for the instants within ``LOOKBACK`` before now and the next one."""
    found = [o.nominal for o in occurrences(rule.spec, calendar, now - LOOKBACK, now)]
    upcoming = next_occurrence(rule.spec, calendar, now)
    if upcoming is not None:
        found.append(upcoming.nominal)
    if not found:
        return []
    previous = found[0] - _PREVIOUS_HORIZON
    for back in (timedelta(days=4), timedelta(days=40), _PREVIOUS_HORIZON):  # a daily rule's is days away
        before = list(occurrences(rule.spec, calendar, found[0] - back, found[0] - _TICK))
        if before:
            previous = before[-1].nominal
            break
    pairs = []
    for due in found:
        pairs.append((previous, due))
        previous = due
    return pairs


def _anchors(job_id: int, edges: Sequence[Edge], scheduled: set[int]) -> set[int]:
    """The jobs whose schedule decides when ``job_id`` runs: itself, or the jobs that trigger it."""
    if job_id in scheduled:
        return {job_id}
    found: set[int] = set()
    stack, seen = [job_id], {job_id}
    while stack:
        node = stack.pop()
        for e in edges:
            if e.job_id == node and e.kind is DependencyKind.TRIGGER and e.upstream_id not in seen:
                seen.add(e.upstream_id)
                if e.upstream_id in scheduled:
                    found.add(e.upstream_id)
                else:
                    stack.append(e.upstream_id)
    return found


def _upstream_closure(job_ids: set[int], edges: Sequence[Edge]) -> set[int]:
    """``job_ids`` and every job they depend on, directly or through others (waits and triggers)."""
    found, stack = set(job_ids), list(job_ids)
    while stack:
        node = stack.pop()
        for e in edges:
            if e.job_id == node and e.upstream_id not in found:
                found.add(e.upstream_id)
                stack.append(e.upstream_id)
    return found


def _history(session: Session, job_ids: set[int], calendar: BusinessCalendar) -> History:
    """Each job's last ``HISTORY`` successful durations, and its last ``HISTORY`` late-in-month
    ones (where month-end runs are), in one windowed query."""
    late = case((func.extract("day", BatchExecution.business_date) >= 25, 1), else_=0)
    ranked = (
        select(
            BatchExecution.job_id,
            BatchExecution.business_date,
            BatchExecution.duration_ms,
            BatchExecution.finished_at,
            func.row_number()
            .over(
                partition_by=(BatchExecution.job_id, late),
                order_by=(BatchExecution.finished_at.desc(), BatchExecution.id.desc()),
            )
            .label("rn"),
        )
        .where(
            BatchExecution.job_id.in_(sorted(job_ids)),
            BatchExecution.state.in_((ExecutionState.SUCCEEDED, ExecutionState.WARNING)),
            BatchExecution.duration_ms.is_not(None),
        )
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.job_id, ranked.c.business_date, ranked.c.duration_ms, ranked.c.finished_at).where(
            ranked.c.rn <= HISTORY
        )
    ).all()
    by_job: dict[int, list[tuple[datetime, date, float]]] = defaultdict(list)
    for job_id, day, ms, finished in rows:
        by_job[job_id].append((finished, day, ms / 1000))
    durations: dict[int, list[tuple[date, float]]] = {}
    for job_id, items in by_job.items():
        items.sort(reverse=True)
        # The newest HISTORY runs, then older month-end runs for the month-end figure only.
        kept = items[:HISTORY] + [i for i in items[HISTORY:] if is_month_end(i[1], calendar)]
        durations[job_id] = [(d, s) for _, d, s in kept]
    return History(durations, calendar)


def _slots(session: Session, default: int) -> int:
    infos = session.scalars(
        select(BatchWorker.info).where(BatchWorker.role == WorkerRole.WORKER, BatchWorker.state == WorkerState.RUNNING)
    ).all()
    total = sum(int((i or {}).get("slots", 1)) for i in infos)
    return total or default


def evaluate(
    session: Session,
    now: datetime,
    calendar: BusinessCalendar,
    *,
    default_slots: int = 2,
    rules: Sequence[DeadlineRule] | None = None,
) -> list[Instance]:
    """Every deadline instant within ``LOOKBACK`` before ``now`` and the next of each, estimated."""
    rules = load_rules(session) if rules is None else rules
    if not rules:
        return []
    names: dict[int, str] = dict(session.execute(select(BatchJob.id, BatchJob.name)).all())
    ids = {n: i for i, n in names.items()}
    edges = [
        Edge(d.job_id, d.depends_on_job_id, d.kind, d.lookback_days) for d in session.scalars(select(BatchDependency))
    ]
    stored = load_schedules(session)
    scheduled = {ids[s.job_name] for s in stored if s.job_name in ids}
    plans: list[tuple[DeadlineRule, datetime, datetime, set[int]]] = []
    first_day, last_day = None, None
    for rule in rules:
        anchors = _anchors(rule.job_id, edges, scheduled)
        for previous, due in _dues(rule, calendar, now):
            plans.append((rule, previous, due, anchors))
            lo = previous.date() - timedelta(days=1)
            hi = due.date() + timedelta(days=1)
            first_day = lo if first_day is None or lo < first_day else first_day
            last_day = hi if last_day is None or hi > last_day else last_day
    if first_day is None or last_day is None:
        return []
    occurrences_by_job: dict[int, dict[date, datetime]] = defaultdict(dict)
    anchor_nominals: dict[int, list[tuple[datetime, date, bool]]] = defaultdict(list)
    lookback = max((e.lookback_days for e in edges), default=0)
    for s, occ in forecast_schedules(stored, calendar, first_day - timedelta(days=lookback), last_day):
        job_id = ids.get(s.job_name)
        if job_id is None:
            continue
        anchor_nominals[job_id].append((occ.nominal, occ.business_date, occ.skipped_reason is not None))
        if occ.skipped_reason is None:
            occurrences_by_job[job_id].setdefault(occ.business_date, occ.nominal)
    watched: list[tuple[DeadlineRule, datetime, date | None]] = []
    for rule, previous, due, anchors in plans:
        candidates = [a for j in anchors for a in anchor_nominals.get(j, ()) if previous < a[0] <= due]
        latest = max(candidates, default=None)
        watched.append((rule, due, None if latest is None or latest[2] else latest[1]))
    days = [d for _, _, d in watched if d is not None]
    if not days:
        return [Instance(r, due, None, None) for r, due, _ in watched]
    runs = [
        Run(
            e.id,
            e.job_id,
            e.business_date,
            e.state,
            e.priority,
            e.nominal_time,
            e.not_before,
            e.started_at,
            e.finished_at,
            e.progress_done,
            e.progress_total,
        )
        for e in session.scalars(
            select(BatchExecution).where(
                (BatchExecution.business_date >= min(days) - timedelta(days=lookback))
                & (BatchExecution.business_date <= max(days))
                | BatchExecution.state.in_((ExecutionState.RUNNING, ExecutionState.QUEUED))
            )
        )
    ]
    # Durations only of the jobs an estimate can reach: the watched jobs, everything upstream of
    # them, and what is running or queued now (the queue ahead).
    relevant = _upstream_closure({r.job_id for r in rules}, edges)
    relevant |= {r.job_id for r in runs if r.state in (ExecutionState.RUNNING, ExecutionState.QUEUED)}
    history = _history(session, relevant, calendar)
    predictor = Predictor(now, names, runs, edges, history, occurrences_by_job, slots=_slots(session, default_slots))
    return [
        Instance(rule, due, day, predictor.finish(rule.job_id, day) if day is not None else None)
        for rule, due, day in watched
    ]


def _local(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%H:%M on %d/%m/%Y")


def _minutes(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def check(
    session: Session, now: datetime, calendar: BusinessCalendar, *, default_slots: int = 2
) -> tuple[list[Finding], set[str]]:
    """The deadline alerts this pass raises, and the keys of those whose cause is gone."""
    rules = load_rules(session)
    instances = evaluate(session, now, calendar, default_slots=default_slots, rules=rules)
    findings: list[Finding] = []
    ok: set[str] = set()
    missed_keys = [i.key(MISSED_RULE) for i in instances]
    seen = set(session.scalars(select(BatchAlert.dedup_key).where(BatchAlert.dedup_key.in_(missed_keys))))
    open_missed = set(
        session.scalars(
            select(BatchAlert.dedup_key).where(
                BatchAlert.dedup_key.in_(missed_keys), BatchAlert.state != AlertState.RESOLVED
            )
        )
    )
    for inst in instances:
        rule, est = inst.deadline, inst.estimate
        risk, missed = inst.key(RISK_RULE), inst.key(MISSED_RULE)
        when = _local(inst.due, rule.spec.timezone)
        details = {
            "deadline": rule.name,
            "deadline_id": rule.id,
            "due": inst.due.isoformat(),
            "business_date": inst.business_date.isoformat() if inst.business_date else None,
            "estimated_finish": est.finish.isoformat() if est and est.finish else None,
            "basis": est.basis if est else None,
            "path": list(est.path) if est else [],
        }
        status = inst.status(now)
        if status in ("nothing_due", "met", "on_track") or now >= inst.due:
            ok.add(risk)
        if status in ("nothing_due", "met") or (est is not None and est.done and missed in seen):
            ok.add(missed)
        if est is None or inst.business_date is None:
            continue
        what = f"{rule.job_name} for {inst.business_date:%d/%m/%Y}"
        if now < inst.due and status in ("at_risk", "blocked"):
            if est.finish is None:
                text = f"{what} cannot finish by its deadline {when} ({rule.name}) without help: {est.basis}"
            else:
                late = _minutes(est.finish - inst.due)
                text = (
                    f"{what} is expected to finish at {_local(est.finish, rule.spec.timezone)}, {late} after its "
                    f"deadline {when} ({rule.name}); {_minutes(inst.due - now)} left to act. "
                    f"Chain: {' -> '.join(est.path)}; {est.basis}"
                )
            findings.append(
                Finding(
                    RISK_RULE,
                    rule.severity,
                    risk,
                    f"{rule.job_name} will miss its deadline {when}",
                    text,
                    job_id=rule.job_id,
                    details=details,
                )
            )
        elif status == "missed" and (missed not in seen or missed in open_missed) and missed not in ok:
            if est.done and est.finish is not None:
                finished = _local(est.finish, rule.spec.timezone)
                text = f"{what} finished at {finished}, {_minutes(est.finish - inst.due)} after its deadline {when}"
            else:
                text = f"{what} had not finished by its deadline {when} ({rule.name}): " + (
                    f"now expected at {_local(est.finish, rule.spec.timezone)}; {est.basis}"
                    if est.finish is not None
                    else est.basis
                )
            findings.append(
                Finding(
                    MISSED_RULE,
                    rule.severity,
                    missed,
                    f"{rule.job_name} missed its deadline {when}",
                    text,
                    job_id=rule.job_id,
                    details=details,
                )
            )
    # Alerts of deadlines deleted or disabled since, and risks whose instant has passed, are over.
    live_ids = {r.id for r in rules}
    for key, rule_name, details in session.execute(
        select(BatchAlert.dedup_key, BatchAlert.rule, BatchAlert.details).where(
            BatchAlert.rule.in_((RISK_RULE, MISSED_RULE)), BatchAlert.state != AlertState.RESOLVED
        )
    ):
        info = details or {}
        passed = rule_name == RISK_RULE and bool(info.get("due")) and datetime.fromisoformat(info["due"]) <= now
        if info.get("deadline_id") not in live_ids or passed:
            ok.add(key)
    return findings, ok

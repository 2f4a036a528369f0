"""The scheduler tick: due occurrences become executions, exactly once, by misfire policy.

Each tick, in its own transactions:

1. **fire**: every enabled schedule whose ``next_fire_at`` has come is locked (``FOR
   UPDATE SKIP LOCKED``: concurrent schedulers share the schedules out; SQLite's
   ``BEGIN IMMEDIATE`` serialises them) and its occurrences since ``last_fire_at`` become
   executions. The unique (schedule_id, nominal_time) constraint makes a second insert of
   an occurrence a no-op, whatever the number of schedulers or restarts.
2. **promote**: retries past their backoff and executions whose upstream jobs are done
   become QUEUED; waits past their deadline fail with the reason.
3. **recover**: executions whose worker stopped renewing its lease are recovered.

Occurrences come from the business calendar (``batch.calendar``), which computes them in
the schedule's time zone: a 01:30 daily run in Europe/London happens once on the day the
clocks go back and once (at 02:30 local, per the calendar's rule) on the day they go forward.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Engine, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from acas_batch import __version__
from acas_batch.batch.calendar import next_occurrence, occurrences
from acas_batch.batch.events import ExecutionEvent, Observers
from acas_batch.batch.executions import notify_workers, run_key_for
from acas_batch.batch.liveness import mark_lost, this_process
from acas_batch.batch.outage import Outage
from acas_batch.batch.queue import Events, promote_ready, recover_expired
from acas_batch.batch.registry import REGISTRY, Registry
from acas_batch.batch.schedules import calendar_from_settings, company_closures, spec_of
from acas_batch.clock import Clock
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import ValidationError
from acas_batch.models.batch import BatchDependency, BatchExecution, BatchJob, BatchSchedule, BatchWorker
from acas_batch.models.enums import DependencyKind, ExecutionState, MisfirePolicy, TriggerKind, WorkerRole, WorkerState

log = logging.getLogger("acas_batch.scheduler")

#: How many occurrences one schedule may fire in one tick (an outage of years is caught up over ticks).
MAX_OCCURRENCES_PER_TICK = 500
#: How often a running scheduler re-reads the company's closure days.
CLOSURES_REFRESH_SECONDS = 300


class Occurrence(Protocol):
    """What the calendar yields for one nominal time (see ``batch.calendar.Occurrence``)."""

    @property
    def nominal(self) -> datetime: ...

    @property
    def business_date(self) -> date: ...

    @property
    def skipped_reason(self) -> str | None: ...


@dataclass(frozen=True)
class Calendar:
    """The business calendar and the functions of ``batch.calendar`` the tick uses."""

    calendar: Any
    spec_of: Callable[[BatchSchedule], Any]
    occurrences: Callable[[Any, Any, datetime, datetime], Iterator[Occurrence]]
    next_occurrence: Callable[[Any, Any, datetime], Occurrence | None]


def business_calendar(settings: Settings, closures: Iterable[date] = ()) -> Calendar:
    """The calendar of ``settings`` (holiday country and subdivision, plus the company's
    closure days) and the rules of ``batch.calendar``."""
    return Calendar(
        calendar=calendar_from_settings(settings, closures),
        spec_of=spec_of,
        occurrences=occurrences,
        next_occurrence=next_occurrence,
    )


@dataclass(frozen=True)
class Planned:
    """An occurrence and what the misfire policy decided for it."""

    occurrence: Occurrence
    skip_reason: str | None


def plan_occurrences(
    occurrences: list[Occurrence], *, now: datetime, policy: MisfirePolicy, grace: timedelta
) -> list[Planned]:
    """Apply a misfire policy to the due occurrences of one schedule (oldest first).

    An occurrence is *late* when ``now`` is past its nominal time plus the grace period.
    RUN_ALL runs every one; RUN_LATEST runs only the newest due occurrence and skips the
    older ones; SKIP runs those within the grace and skips the late ones. A skip is
    recorded with its reason, never dropped. The calendar's own skips (shift policy SKIP
    on a holiday) keep their reason.
    """
    planned: list[Planned] = []
    runnable = [o for o in occurrences if o.skipped_reason is None]
    latest = runnable[-1].nominal if runnable else None
    for occ in occurrences:
        if occ.skipped_reason is not None:
            planned.append(Planned(occ, occ.skipped_reason))
            continue
        late = now - occ.nominal > grace
        reason = None
        if policy is MisfirePolicy.RUN_LATEST and latest is not None and occ.nominal != latest:
            reason = f"misfire (run_latest): superseded by the occurrence at {latest:%Y-%m-%d %H:%M} UTC"
        elif policy is MisfirePolicy.SKIP and late:
            lateness = int((now - occ.nominal).total_seconds())
            reason = f"misfire (skip): {lateness}s late, past the grace of {int(grace.total_seconds())}s"
        planned.append(Planned(occ, reason))
    return planned


@dataclass
class FireReport:
    """What one fire pass did."""

    created: int = 0
    skipped: int = 0
    duplicates: int = 0
    schedules: int = 0
    events: Events = field(default_factory=list)


def fire_due(
    session: Session,
    *,
    now: datetime,
    calendar: Calendar | Callable[[], Calendar],
    wait_default_seconds: int = 86_400,
    registry: Registry = REGISTRY,
    limit: int = 1000,
) -> FireReport:
    """Turn the due occurrences of due schedules into executions (see the module docstring).

    Set-based: the due schedules are read (and locked) in two statements, the jobs with
    WAIT edges and the run keys' live successes in one each, every occurrence of every
    schedule is inserted by one ``INSERT ... ON CONFLICT DO NOTHING`` (in pages) and the
    schedules are advanced by one batched ``UPDATE``; only the calendar runs per schedule.
    """
    report = FireReport()
    # Two index range scans rather than one OR (which scans every schedule): the due ones,
    # and the new ones whose next run was never computed. A finished schedule has no next
    # run but has a last one: it is in neither.
    due = (BatchSchedule.next_fire_at <= now,)
    new = (BatchSchedule.next_fire_at.is_(None), BatchSchedule.last_fire_at.is_(None))
    rows: list[tuple[BatchSchedule, BatchJob]] = []
    for condition in (new, due):
        stmt = (
            select(BatchSchedule, BatchJob)
            .join(BatchJob, BatchJob.id == BatchSchedule.job_id)
            .where(BatchSchedule.enabled.is_(True), BatchJob.enabled.is_(True), *condition)
            .order_by(BatchSchedule.next_fire_at, BatchSchedule.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=BatchSchedule)
        rows.extend((schedule, job) for schedule, job in session.execute(stmt))
    if not rows:
        return report
    if not isinstance(calendar, Calendar):
        calendar = calendar()  # built only when a schedule is due
    waiting = _jobs_with_waits(session, {job.id for _, job in rows})
    plans: list[_SchedulePlan] = []
    for schedule, job in rows:
        report.schedules += 1
        spec = calendar.spec_of(schedule)
        after = schedule.last_fire_at or schedule.valid_from or schedule.created_at
        until = min(now, schedule.valid_until) if schedule.valid_until else now
        occs = []
        for occ in calendar.occurrences(spec, calendar.calendar, after, until):
            occs.append(occ)
            if len(occs) >= MAX_OCCURRENCES_PER_TICK:
                break
        planned = plan_occurrences(
            occs,
            now=now,
            policy=schedule.misfire_policy,
            grace=timedelta(seconds=schedule.misfire_grace_seconds),
        )
        values = [
            _values(session, schedule, job, item, now, job.id in waiting, wait_default_seconds, registry)
            for item in planned
        ]
        last = occs[-1].nominal if occs else schedule.last_fire_at
        nxt = calendar.next_occurrence(spec, calendar.calendar, last or after)
        if schedule.valid_until is not None and nxt is not None and nxt.nominal > schedule.valid_until:
            nxt = None
        last_fire = last if last is not None else (until if nxt is None else None)
        plans.append(_SchedulePlan(schedule, job, values, last_fire, nxt.nominal if nxt else None))
    queued = _insert_occurrences(session, plans, report, wait_default_seconds)
    _advance(session, plans, now)
    if queued:
        notify_workers(session)
    return report


@dataclass
class _SchedulePlan:
    """One due schedule: the rows of its occurrences and where it moves to."""

    schedule: BatchSchedule
    job: BatchJob
    values: list[dict[str, Any]]
    last_fire_at: datetime | None
    next_fire_at: datetime | None


def _jobs_with_waits(session: Session, job_ids: set[int]) -> set[int]:
    return set(
        session.scalars(
            select(BatchDependency.job_id)
            .where(BatchDependency.job_id.in_(job_ids), BatchDependency.kind == DependencyKind.WAIT)
            .distinct()
        )
    )


def _values(  # noqa: PLR0917
    session: Session,
    schedule: BatchSchedule,
    job: BatchJob,
    item: Planned,
    now: datetime,
    waits: bool,
    wait_default_seconds: int,
    registry: Registry,
) -> dict[str, Any]:
    """The row of one occurrence, before the run key's live success is looked at."""
    occ = item.occurrence
    params = {**(job.default_params or {}), **(schedule.params or {})}
    reason = item.skip_reason
    state = ExecutionState.SKIPPED if reason else (ExecutionState.PENDING if waits else ExecutionState.QUEUED)
    try:
        run_key = run_key_for(job, params, occ.business_date, registry, session)
    except ValidationError as exc:
        run_key, state, reason = f"{job.name}:{occ.business_date.isoformat()}", ExecutionState.FAILED, str(exc)
    return {
        "job_id": job.id,
        "schedule_id": schedule.id,
        "nominal_time": occ.nominal,
        "business_date": occ.business_date,
        "state": state,
        "held_from": None,
        "trigger": TriggerKind.SCHEDULE,
        "run_key": run_key,
        "params": params,
        "priority": job.priority,
        "attempt": 1,
        "fencing_token": 0,
        "cancel_requested": False,
        "forced": False,
        "created_at": now,
        "queued_at": None,
        "wait_deadline": None,
        "finished_at": None,
        "reason": reason,
    }


def _live_successes(session: Session, run_keys: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    keys = sorted(run_keys)
    for i in range(0, len(keys), _PAGE):
        for run_key, eid in session.execute(
            select(BatchExecution.run_key, func.min(BatchExecution.id))
            .where(
                BatchExecution.run_key.in_(keys[i : i + _PAGE]),
                BatchExecution.state == ExecutionState.SUCCEEDED,
                BatchExecution.superseded_by_id.is_(None),
            )
            .group_by(BatchExecution.run_key)
        ):
            found[run_key] = eid
    return found


#: Rows per statement (SQLite allows 32,766 bound parameters; an occurrence has 19).
_PAGE = 500


def _insert_occurrences(
    session: Session, plans: list[_SchedulePlan], report: FireReport, wait_default_seconds: int
) -> bool:
    """Insert every occurrence unless it exists; the unique constraint decides, not a read."""
    runnable = (ExecutionState.PENDING, ExecutionState.QUEUED)
    done = _live_successes(session, {v["run_key"] for p in plans for v in p.values if v["state"] in runnable})
    rows: list[dict[str, Any]] = []
    for plan in plans:
        for v in plan.values:
            state = v["state"]
            if state in runnable and v["run_key"] in done:
                state = ExecutionState.SKIPPED
                v["reason"] = f"run key {v['run_key']} already succeeded in execution {done[v['run_key']]}"
            if plan.schedule.start_held and state in runnable:
                v["held_from"], state = state, ExecutionState.HELD
                v["reason"] = "schedule starts held: an operator releases it"
            v["state"] = state
            v["queued_at"] = v["created_at"] if state is ExecutionState.QUEUED else None
            if state is ExecutionState.PENDING or v["held_from"] is ExecutionState.PENDING:
                wait = plan.job.dependency_wait_seconds or wait_default_seconds
                v["wait_deadline"] = v["created_at"] + timedelta(seconds=wait)
            v["finished_at"] = v["created_at"] if state.is_terminal else None
            rows.append(v)
    created: dict[tuple[int, datetime], int] = {}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = BatchExecution.__table__
    for i in range(0, len(rows), _PAGE):
        stmt = (
            dialect.insert(table)
            .values(rows[i : i + _PAGE])
            .on_conflict_do_nothing(index_elements=["schedule_id", "nominal_time"])
            .returning(table.c.id, table.c.schedule_id, table.c.nominal_time)
        )
        for eid, schedule_id, nominal in session.execute(stmt):
            created[schedule_id, nominal] = eid
    queued = False
    for plan in plans:
        for v in plan.values:
            new_id = created.get((plan.schedule.id, v["nominal_time"]))
            if new_id is None:
                report.duplicates += 1
                log.info(
                    "occurrence %s of schedule %s already dispatched", v["nominal_time"].isoformat(), plan.schedule.id
                )
                continue
            state = v["state"]
            if state is ExecutionState.SKIPPED:
                report.skipped += 1
            else:
                report.created += 1
            queued |= state is ExecutionState.QUEUED
            report.events.append(
                ("on_created", ExecutionEvent(new_id, plan.job.name, state, v["created_at"], reason=v["reason"]))
            )
    return queued


def _advance(session: Session, plans: list[_SchedulePlan], now: datetime) -> None:
    """Move every fired schedule to its next occurrence: one batched UPDATE."""
    table = cast(Table, BatchSchedule.__table__)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(last_fire_at=bindparam("b_last"), next_fire_at=bindparam("b_next"), updated_at=now),
        [{"b_id": p.schedule.id, "b_last": p.last_fire_at, "b_next": p.next_fire_at} for p in plans],
    )
    for p in plans:  # the loaded rows say what the database now says
        set_committed_value(p.schedule, "last_fire_at", p.last_fire_at)
        set_committed_value(p.schedule, "next_fire_at", p.next_fire_at)
        set_committed_value(p.schedule, "updated_at", now)


@dataclass
class TickReport:
    """What one scheduler tick did, and how long it took."""

    fired: FireReport
    promoted: int
    recovered: list[int]
    seconds: float


class Scheduler:
    """Runs the tick every ``poll_seconds`` until stopped; any number may run at once."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        clock: Clock,
        observers: Observers | None = None,
        calendar: Calendar | None = None,
        scheduler_id: str | None = None,
        fire_schedules: bool = True,
        mark_lost: bool = True,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.observers = observers or Observers()
        self._calendar = calendar
        self._calendar_from_db = False  # a calendar handed in (tests, simulation) is kept as is
        self._calendar_loaded = time.monotonic()
        self.scheduler_id = scheduler_id or f"scheduler:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self.fire_schedules = fire_schedules
        # Off on a simulated clock, where heartbeats jump by hours between ticks.
        self.mark_lost = mark_lost
        self.outage = Outage(log, self.scheduler_id)

    @property
    def calendar(self) -> Calendar:
        """The business calendar; closure days are re-read every ``CLOSURES_REFRESH_SECONDS``."""
        stale = time.monotonic() - self._calendar_loaded > CLOSURES_REFRESH_SECONDS
        if self._calendar is None or (stale and self._calendar_from_db):
            with transaction(self.engine) as s:
                closures = company_closures(s)
            self._calendar = business_calendar(self.settings, closures)
            self._calendar_from_db = True
            self._calendar_loaded = time.monotonic()
        return self._calendar

    def request_stop(self) -> None:
        self._stop.set()

    def tick(self) -> TickReport:
        t0 = time.perf_counter()
        now = self.clock.now()
        wait_default = self.settings.dependency_wait_seconds
        fired = FireReport()
        if self.fire_schedules:
            with transaction(self.engine, write=True) as s:
                fired = fire_due(s, now=now, calendar=lambda: self.calendar, wait_default_seconds=wait_default)
        events: Events = list(fired.events)
        with transaction(self.engine, write=True) as s:
            promoted = promote_ready(s, now=now, ageing_seconds=self.settings.priority_ageing_seconds, events=events)
        with transaction(self.engine, write=True) as s:
            recovered = recover_expired(s, now=now, wait_default_seconds=wait_default, events=events)
            self._beat(s, now)
        if self.mark_lost:  # not while holding its own row: see ``mark_lost``
            with transaction(self.engine, write=True) as s:
                mark_lost(
                    s,
                    now=now,
                    lease_seconds=self.settings.lease_seconds,
                    margin_seconds=self.settings.lost_margin_seconds,
                    by=self.scheduler_id,
                )
        for hook, event in events:
            self.observers.emit(hook, event)
        return TickReport(fired, promoted, recovered, time.perf_counter() - t0)

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Tick until stopped. A failed tick (database away) is logged and retried."""
        try:
            while not self._stop.is_set() and not (until and until()):
                pause = self.settings.poll_seconds
                try:
                    self.tick()
                    self.outage.ok()
                except Exception as exc:
                    pause = max(pause, self.outage.failed(exc, "ticking"))
                self._stop.wait(pause)
        finally:
            try:
                with transaction(self.engine, write=True) as s:
                    now = self.clock.now()
                    s.execute(
                        update(BatchWorker)
                        .where(BatchWorker.id == self.scheduler_id)
                        .values(state=WorkerState.STOPPED, stopped_at=now, heartbeat_at=now)
                    )
            except Exception as exc:  # the row stays running; a live process marks it lost later
                self.outage.failed(exc, "recording its stop")

    def register(self) -> None:
        """Record this scheduler's heartbeat now, so it is seen before its first tick."""
        with transaction(self.engine, write=True) as s:
            self._beat(s, self.clock.now())

    def _beat(self, session: Session, now: datetime) -> None:
        updated = session.execute(
            update(BatchWorker)
            .where(BatchWorker.id == self.scheduler_id)
            .values(heartbeat_at=now, state=WorkerState.RUNNING)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if not updated:
            session.add(
                BatchWorker(
                    id=self.scheduler_id,
                    role=WorkerRole.SCHEDULER,
                    state=WorkerState.RUNNING,
                    hostname=socket.gethostname(),
                    pid=os.getpid(),
                    started_at=now,
                    heartbeat_at=now,
                    version=__version__,
                    info=this_process(),
                )
            )

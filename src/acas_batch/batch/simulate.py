"""Simulation: the real scheduler and workers against a virtual clock.

Time jumps from one event to the next (an occurrence, a retry's backoff, a wait's
deadline) as soon as nothing is running or ready, so a quarter of schedules runs in
seconds; while work runs, virtual time flows at the wall clock's pace, as each job's own
clock does, so the records keep the order things happened in. Jobs run in real worker child
processes; their ``ctx.now`` is the nominal time. Point it at a scratch database: it
records every execution it runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update

from acas_batch.batch.events import Observers
from acas_batch.batch.scheduler import Calendar, Scheduler
from acas_batch.batch.worker import Worker
from acas_batch.clock import SimulatedClock
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.models.batch import BatchExecution, BatchJob, BatchSchedule, BatchWorker
from acas_batch.models.enums import ExecutionState


@dataclass
class SimulationReport:
    """What a simulation ran."""

    start: datetime
    end: datetime
    ticks: int = 0
    real_seconds: float = 0.0
    states: dict[str, int] = field(default_factory=dict)
    by_job: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start,
            "to": self.end,
            "ticks": self.ticks,
            "real_seconds": round(self.real_seconds, 2),
            "executions_by_state": self.states,
            "executions_by_job": self.by_job,
        }


def _ready_or_running(engine: Engine, now: datetime) -> bool:
    with transaction(engine) as s:
        return bool(
            s.scalar(
                select(func.count())
                .select_from(BatchExecution)
                .where(
                    (BatchExecution.state == ExecutionState.RUNNING)
                    | (
                        (BatchExecution.state == ExecutionState.QUEUED)
                        & ((BatchExecution.not_before.is_(None)) | (BatchExecution.not_before <= now))
                    )
                    | ((BatchExecution.state == ExecutionState.RETRY_WAIT) & (BatchExecution.not_before <= now))
                )
            )
        )


def next_event(engine: Engine) -> datetime | None:
    """The next instant at which something becomes due."""
    with transaction(engine) as s:
        candidates = [
            s.scalar(select(func.min(BatchSchedule.next_fire_at)).where(BatchSchedule.enabled.is_(True))),
            s.scalar(
                select(func.min(BatchExecution.not_before)).where(BatchExecution.state == ExecutionState.RETRY_WAIT)
            ),
            s.scalar(
                select(func.min(BatchExecution.wait_deadline)).where(BatchExecution.state == ExecutionState.PENDING)
            ),
        ]
    found = [c for c in candidates if c is not None]
    return min(found) if found else None


def _beat(engine: Engine, worker: Worker, now: datetime) -> None:
    """The worker is alive at every instant time jumps to: its heartbeat follows the virtual clock."""
    with transaction(engine, write=True) as s:
        s.execute(update(BatchWorker).where(BatchWorker.id == worker.worker_id).values(heartbeat_at=now))


def rewind_schedules(engine: Engine, start: datetime) -> None:
    """Make every schedule's first occurrence the first one after ``start``."""
    with transaction(engine, write=True) as s:
        s.execute(update(BatchSchedule).values(last_fire_at=start, next_fire_at=start, updated_at=start))


def simulate(
    settings: Settings,
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    slots: int = 2,
    calendar: Calendar | None = None,
    observers: Observers | None = None,
) -> SimulationReport:
    """Run schedules from ``start`` to ``end`` on a virtual clock (see the module docstring)."""
    t0 = time.perf_counter()
    clock = SimulatedClock(start)
    rewind_schedules(engine, start)
    scheduler = Scheduler(settings, engine, clock=clock, observers=observers, calendar=calendar, mark_lost=False)
    worker = Worker(settings, clock=clock, slots=slots, observers=observers, engine=engine, mark_lost=False)
    worker.start()
    report = SimulationReport(start, end)
    try:
        while True:
            scheduler.tick()
            report.ticks += 1
            clock.flow(True)  # while work runs, virtual time keeps pace with the jobs' own clocks
            while worker.busy_count or _ready_or_running(engine, clock.now()):
                # A job's report wakes the worker at once; the timeout only bounds the wait
                # when nothing reports (a claim beside a running job is tried again after it).
                worker.step(timeout=0.25 if worker.busy_count else 0.005)
                if not worker.busy_count:
                    scheduler.tick()  # promote retries, released waits and triggered work
                    report.ticks += 1
            clock.flow(False)
            nxt = next_event(engine)
            if nxt is None or nxt > end:
                break
            clock.set(max(nxt, clock.now() + timedelta(microseconds=1)))
            _beat(engine, worker, clock.now())
    finally:
        worker.shutdown()
    report.real_seconds = time.perf_counter() - t0
    with transaction(engine) as s:
        for state, n in s.execute(select(BatchExecution.state, func.count()).group_by(BatchExecution.state)):
            report.states[state.value] = n
        for name, n in s.execute(
            select(BatchJob.name, func.count())
            .join(BatchExecution, BatchExecution.job_id == BatchJob.id)
            .group_by(BatchJob.name)
            .order_by(BatchJob.name)
        ):
            report.by_job[name] = n
    return report

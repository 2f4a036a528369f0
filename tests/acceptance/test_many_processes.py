"""Two schedulers and three workers, each its own process, share one PostgreSQL over a simulated month.

Every process reads the same simulated time from a clock file; the test moves it from one
occurrence to the next once everything due has finished. Every occurrence must run
exactly once, and no execution may run twice.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from acas_batch.batch.definitions import create_schedule
from acas_batch.clock import FileClock
from acas_batch.config import Settings
from acas_batch.db import make_engine, transaction
from acas_batch.models import BatchExecution, BatchMetric, BatchSchedule
from acas_batch.models.enums import ExecutionState
from tests.engine_helpers import NOW, define, engine_settings, wait_until

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
JOBS = {"DAY_OPEN": "06:00", "DAY_CHECK": "06:00", "DAY_CLOSE": "23:00"}


def _scheduler(settings_data: dict[str, Any], stop: Any) -> None:
    from acas_batch.batch.scheduler import Scheduler
    from tests.engine_helpers import uk_calendar

    settings = Settings(**settings_data)
    assert settings.clock_file is not None
    engine = make_engine(settings.database_url)
    Scheduler(settings, engine, clock=FileClock(settings.clock_file), calendar=uk_calendar()).run(until=stop.is_set)


def _worker(settings_data: dict[str, Any], stop: Any) -> None:
    from acas_batch.batch.worker import Worker

    settings = Settings(**settings_data)
    assert settings.clock_file is not None
    Worker(settings, clock=FileClock(settings.clock_file), slots=1).run(until=stop.is_set)


def _settled(engine: Engine, now: datetime) -> bool:
    """Every schedule has fired up to ``now`` and nothing is waiting or running."""
    with transaction(engine) as s:
        behind = s.scalar(select(func.count()).select_from(BatchSchedule).where(BatchSchedule.next_fire_at <= now))
        busy = s.scalar(
            select(func.count())
            .select_from(BatchExecution)
            .where(BatchExecution.state.in_((ExecutionState.QUEUED, ExecutionState.RUNNING, ExecutionState.PENDING)))
        )
        unset = s.scalar(select(func.count()).select_from(BatchSchedule).where(BatchSchedule.next_fire_at.is_(None)))
    return behind == 0 and busy == 0 and unset == 0


def _next_fire(engine: Engine) -> datetime:
    with transaction(engine) as s:
        value = s.scalar(select(func.min(BatchSchedule.next_fire_at)))
    assert value is not None
    return value


@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_schedulers_and_three_workers_run_each_occurrence_exactly_once(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    clock = FileClock(tmp_path / "clock")
    clock.set(START)
    for name in JOBS:
        define(engine, name, handler="TEST_WRITE", default_params={"rows": 1, "label": name}, max_concurrency=2)
    with transaction(engine, write=True) as s:
        for name, at in JOBS.items():
            sched = create_schedule(s, name, now=NOW, kind="daily", rule={"at": at})
            sched.last_fire_at = sched.next_fire_at = START  # the month starts now
    settings = engine_settings(db_url, tmp_path, clock_file=tmp_path / "clock", lease_seconds=30)
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    procs = [ctx.Process(target=_scheduler, args=(settings.model_dump(), stop)) for _ in range(2)]
    procs += [ctx.Process(target=_worker, args=(settings.model_dump(), stop)) for _ in range(3)]
    for p in procs:
        p.start()
    try:
        now = START
        wait_until(lambda: _settled(engine, now), timeout=60)
        while True:
            now = _next_fire(engine)
            if now >= END:
                break
            clock.set(now)
            wait_until(lambda at=now: _settled(engine, at), timeout=60)  # type: ignore[misc]
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
    with transaction(engine) as s:
        rows = s.execute(
            select(
                BatchExecution.schedule_id,
                BatchExecution.nominal_time,
                BatchExecution.state,
                BatchExecution.lease_owner,
            )
        ).all()
        written = Counter(s.scalars(select(BatchMetric.execution_id)))
    # Then each of the 3 schedules ran on each of the 31 days, once
    assert len(rows) == 3 * 31
    assert len({(r.schedule_id, r.nominal_time) for r in rows}) == 3 * 31
    assert {r.state for r in rows} == {ExecutionState.SUCCEEDED}
    days = {r.nominal_time.date() for r in rows if r.nominal_time is not None}
    assert min(days) == START.date() and max(days) == (END - timedelta(days=1)).date()
    # ... no execution ran twice (each wrote its one row once) and the work was shared out.
    assert len(written) == 3 * 31 and set(written.values()) == {1}
    assert len({r.lease_owner for r in rows}) >= 2

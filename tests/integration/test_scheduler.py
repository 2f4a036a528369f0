"""The scheduler tick: exactly once per occurrence, misfire policies across a DST change and a month end."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update

from acas_batch.batch.definitions import create_schedule
from acas_batch.batch.scheduler import Scheduler, fire_due
from acas_batch.clock import SimulatedClock
from acas_batch.db import transaction
from acas_batch.models import BatchWorker
from acas_batch.models.enums import ExecutionState, MisfirePolicy, TriggerKind, WorkerRole, WorkerState
from tests.engine_helpers import define, engine_settings, executions, schedules, uk_calendar, wait_until

CREATED = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
LAST_TICK = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)  # the scheduler goes down after this tick
RESTART = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # ... and comes back after the clocks went back and October ended


def _schedule(engine: Engine, policy: MisfirePolicy, grace: int = 3600, **values: object) -> int:
    define(engine, "TEST_WRITE")
    with transaction(engine, write=True) as s:
        return create_schedule(
            s,
            "TEST_WRITE",
            now=CREATED,
            kind="daily",
            rule={"at": "01:30"},
            misfire_policy=policy,
            misfire_grace_seconds=grace,
            **values,  # type: ignore[arg-type]
        ).id


def _tick(engine: Engine, db_url: str, tmp_path: Path, now: datetime) -> None:
    scheduler = Scheduler(engine_settings(db_url, tmp_path), engine, clock=SimulatedClock(now), calendar=uk_calendar())
    scheduler.tick()


def _by_date(engine: Engine) -> dict[date, tuple[ExecutionState, str | None]]:
    rows = executions(engine)
    dates = [r.business_date for r in rows]
    assert len(dates) == len(set(dates)), "an occurrence ran twice"
    return {r.business_date: (r.state, r.reason) for r in rows}


def _outage(engine: Engine, db_url: str, tmp_path: Path) -> dict[date, tuple[ExecutionState, str | None]]:
    _tick(engine, db_url, tmp_path, LAST_TICK)
    before = {r.business_date for r in executions(engine)}
    assert before == {date(2026, 10, d) for d in (21, 22, 23, 24)}
    _tick(engine, db_url, tmp_path, RESTART)
    _tick(engine, db_url, tmp_path, RESTART + timedelta(minutes=1))  # a second tick changes nothing
    return {d: v for d, v in _by_date(engine).items() if d not in before}


OUTAGE_DAYS = [date(2026, 10, 25) + timedelta(days=i) for i in range(9)]  # 25 Oct .. 2 Nov


def test_run_all_runs_every_missed_occurrence_once_in_order(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _schedule(engine, MisfirePolicy.RUN_ALL)
    after = _outage(engine, db_url, tmp_path)
    assert sorted(after) == OUTAGE_DAYS
    assert {state for state, _ in after.values()} == {ExecutionState.QUEUED}
    rows = [r for r in executions(engine) if r.business_date in after]
    assert [r.business_date for r in rows] == OUTAGE_DAYS  # created oldest first
    # 01:30 London is 00:30 UTC in summer time (until 25 Oct) and 01:30 UTC after: the
    # fall-back Sunday's 01:30 happens twice on the wall clock and runs once, at the first.
    assert rows[0].nominal_time == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert rows[1].nominal_time == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)
    assert all(r.trigger is TriggerKind.SCHEDULE and r.run_key == f"TEST_WRITE:{r.business_date}" for r in rows)
    (schedule,) = schedules(engine)
    assert schedule.last_fire_at == datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
    assert schedule.next_fire_at == datetime(2026, 11, 3, 1, 30, tzinfo=UTC)


def test_run_latest_runs_only_the_newest_and_records_the_rest_as_skipped(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    _schedule(engine, MisfirePolicy.RUN_LATEST)
    after = _outage(engine, db_url, tmp_path)
    assert sorted(after) == OUTAGE_DAYS
    assert after.pop(date(2026, 11, 2)) == (ExecutionState.QUEUED, None)
    for state, reason in after.values():
        assert state is ExecutionState.SKIPPED
        assert reason == "misfire (run_latest): superseded by the occurrence at 2026-11-02 01:30 UTC"


@pytest.mark.parametrize(("grace", "runs"), [(3600, []), (12 * 3600, [date(2026, 11, 2)])])
def test_skip_runs_nothing_past_the_grace_period_and_says_why(
    engine: Engine, db_url: str, tmp_path: Path, grace: int, runs: list[date]
) -> None:
    _schedule(engine, MisfirePolicy.SKIP, grace=grace)
    after = _outage(engine, db_url, tmp_path)
    assert sorted(after) == OUTAGE_DAYS
    assert [d for d, (state, _) in sorted(after.items()) if state is ExecutionState.QUEUED] == runs
    skipped = {d: reason for d, (state, reason) in after.items() if state is ExecutionState.SKIPPED}
    assert len(skipped) == 9 - len(runs)
    late = int((RESTART - datetime(2026, 10, 25, 0, 30, tzinfo=UTC)).total_seconds())
    assert skipped[date(2026, 10, 25)] == f"misfire (skip): {late}s late, past the grace of {grace}s"


def test_an_occurrence_is_created_once_however_many_ticks_race_for_it(engine: Engine) -> None:
    _schedule(engine, MisfirePolicy.RUN_ALL)
    cal = uk_calendar()
    with transaction(engine, write=True) as s:
        first = fire_due(s, now=LAST_TICK, calendar=cal)
    # A second scheduler that read the schedule before the first one advanced it
    with transaction(engine, write=True) as s:
        (sched,) = schedules(engine)
        from acas_batch.models import BatchSchedule

        stale = s.get_one(BatchSchedule, sched.id)
        stale.last_fire_at, stale.next_fire_at = None, None
    with transaction(engine, write=True) as s:
        second = fire_due(s, now=LAST_TICK, calendar=cal)
    assert (first.created, second.created, second.duplicates) == (4, 0, 4)
    assert len(executions(engine)) == 4


def test_a_schedule_that_starts_held_creates_held_executions(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _schedule(engine, MisfirePolicy.RUN_ALL, start_held=True)
    _tick(engine, db_url, tmp_path, datetime(2026, 10, 21, 12, 0, tzinfo=UTC))
    (row,) = executions(engine)
    assert (row.state, row.held_from) == (ExecutionState.HELD, ExecutionState.QUEUED)


def test_month_end_runs_once_and_weekend_skips_are_recorded_across_the_outage(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    define(engine, "PERIOD_CLOSE", handler="TEST_WRITE")
    define(engine, "WEEKDAY", handler="TEST_WRITE", max_concurrency=5)
    with transaction(engine, write=True) as s:
        create_schedule(s, "PERIOD_CLOSE", now=CREATED, kind="monthly", rule={"day": "last", "at": "22:00"})
        create_schedule(s, "WEEKDAY", now=CREATED, kind="daily", rule={"at": "01:30"}, shift_policy="skip")
    _tick(engine, db_url, tmp_path, LAST_TICK)
    _tick(engine, db_url, tmp_path, RESTART)
    _tick(engine, db_url, tmp_path, RESTART + timedelta(minutes=1))
    rows = executions(engine)
    closes = [r for r in rows if r.run_key.startswith("PERIOD_CLOSE:")]
    assert [(r.business_date, r.nominal_time, r.state) for r in closes] == [
        (date(2026, 10, 31), datetime(2026, 10, 31, 22, 0, tzinfo=UTC), ExecutionState.QUEUED)
    ]
    weekday = {r.business_date: r for r in rows if r.run_key.startswith("WEEKDAY:")}
    assert sorted(weekday) == [date(2026, 10, d) for d in range(21, 32)] + [date(2026, 11, 1), date(2026, 11, 2)]
    skipped = sorted(d for d, r in weekday.items() if r.state is ExecutionState.SKIPPED)
    assert skipped == [date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 31), date(2026, 11, 1)]
    assert all(weekday[d].reason for d in skipped)  # the calendar's reason is kept


@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_schedulers_marking_each_other_lost_do_not_deadlock(engine: Engine, db_url: str, tmp_path: Path) -> None:
    # Under load two schedulers each saw the other silent; each tick beat its own row and then
    # marked the other lost in the same transaction, so each held the row the other wanted.
    now = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
    with transaction(engine, write=True) as s:
        for sid in ("scheduler:a", "scheduler:b"):
            silent = {"started_at": now - timedelta(minutes=5), "heartbeat_at": now - timedelta(minutes=1)}
            s.add(BatchWorker(id=sid, role=WorkerRole.SCHEDULER, state=WorkerState.RUNNING, hostname="elsewhere",
                              pid=1, version="0", info={}, **silent))  # fmt: skip
    scheduler = Scheduler(
        engine_settings(db_url, tmp_path), engine, clock=SimulatedClock(now), calendar=uk_calendar(),
        scheduler_id="scheduler:a", fire_schedules=False,
    )  # fmt: skip
    failures: list[BaseException] = []

    def tick() -> None:
        try:
            scheduler.tick()
        except BaseException as exc:
            failures.append(exc)

    with engine.connect() as other:
        # Given the other scheduler's tick has beaten its own row, not yet committed
        other.execute(update(BatchWorker).where(BatchWorker.id == "scheduler:b").values(heartbeat_at=now))
        # When this scheduler's tick, finding the other silent, waits to mark it lost
        thread = threading.Thread(target=tick)
        thread.start()
        wait_until(lambda: _waiting_for_a_lock(engine), timeout=30)
        # and the other scheduler, finding this one silent, marks it lost in its own tick
        marked = other.execute(
            update(BatchWorker)
            .where(BatchWorker.id == "scheduler:a", BatchWorker.heartbeat_at < now - timedelta(seconds=10))
            .values(state=WorkerState.LOST)
        ).rowcount
        other.commit()
        thread.join(timeout=30)
    # Then neither failed: this one's heartbeat was committed, so the other found it alive
    assert failures == [] and marked == 0
    with transaction(engine) as s:
        states = {row.id: row.state for row in s.execute(select(BatchWorker.id, BatchWorker.state))}
    assert states == {"scheduler:a": WorkerState.RUNNING, "scheduler:b": WorkerState.RUNNING}


def _waiting_for_a_lock(engine: Engine) -> bool:
    with engine.connect() as c:
        return bool(
            c.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )

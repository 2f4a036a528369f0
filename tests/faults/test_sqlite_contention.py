"""SQLite under contention: one writer at a time, and nobody may keep the others waiting.

Two schedulers started on one SQLite file by mistake: nothing fires twice, nobody sees a
traceback. SQLite lets one writer at a time; the other waits up to its busy timeout and then
gets "database is locked". With a busy timeout far shorter than a tick, every process meets
that error often; each must treat it as a busy database (try again, one line), never as
a bug, and the unique occurrence keeps each (schedule, nominal time) to one execution.

A job that reads for a long time in its transaction (or keeps it open while it lays out
PDFs) holds no lock: the worker renews leases and other processes write meanwhile.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from acas_batch.batch.definitions import create_schedule
from acas_batch.batch.operations import enqueue
from acas_batch.clock import FileClock
from acas_batch.db import make_engine, transaction
from acas_batch.models import BatchExecution, BatchMetric, BatchSchedule
from acas_batch.models.enums import ExecutionState
from tests.acceptance.processes import engine_env, processes
from tests.engine_helpers import NOW, define, executions, wait_until

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 8
JOBS = {"DAY_OPEN": "06:00", "DAY_CHECK": "06:00", "DAY_CLOSE": "23:00"}


def _settled(engine: Engine, now: datetime) -> bool:
    with transaction(engine) as s:
        behind = s.scalar(select(func.count()).select_from(BatchSchedule).where(BatchSchedule.next_fire_at <= now))
        busy = s.scalar(
            select(func.count())
            .select_from(BatchExecution)
            .where(BatchExecution.state.in_((ExecutionState.QUEUED, ExecutionState.RUNNING, ExecutionState.PENDING)))
        )
    return behind == 0 and busy == 0


@pytest.mark.parametrize("backend", ["sqlite"])
def test_two_schedulers_on_one_sqlite_file_fire_each_occurrence_once_without_a_traceback(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # Given three daily schedules and two schedulers (each with a worker and its monitor) on one file
    clock = FileClock(tmp_path / "clock")
    clock.set(START)
    for name in JOBS:
        define(engine, name, handler="TEST_WRITE", default_params={"rows": 1, "label": name}, max_concurrency=2)
    with transaction(engine, write=True) as s:
        for name, at in JOBS.items():
            sched = create_schedule(s, name, now=NOW, kind="daily", rule={"at": at})
            sched.last_fire_at = sched.next_fire_at = START
    env = engine_env(
        db_url,
        tmp_path,
        ACAS_CLOCK_FILE=str(tmp_path / "clock"),
        ACAS_LEASE_SECONDS="30",
        # a lock held a moment longer than this is "database is locked": met many times a second
        ACAS_BUSY_TIMEOUT_SECONDS="0.005",
        ACAS_MONITOR_INTERVAL_SECONDS="1",
    )
    end = START + timedelta(days=DAYS)
    with processes(env, tmp_path) as procs:
        for _ in range(2):
            procs.start("scheduler", "start", "--workers", "1", "--no-web")
        # When the simulated days pass, occurrence after occurrence
        now = START
        wait_until(lambda: _settled(engine, now), timeout=60)
        while True:
            with transaction(engine) as s:
                now = s.scalar(select(func.min(BatchSchedule.next_fire_at))) or end
            if now >= end:
                break
            clock.set(now)
            wait_until(lambda at=now: _settled(engine, at), timeout=60)  # type: ignore[misc]
        alive = [p.poll() is None for p in procs.started]
    logs = "\n".join(p.read_text() for p in sorted(tmp_path.glob("proc*.log")))
    with transaction(engine) as s:
        rows = s.execute(select(BatchExecution.schedule_id, BatchExecution.nominal_time, BatchExecution.state)).all()
        written = Counter(s.scalars(select(BatchMetric.execution_id)))
    # Then each schedule fired once a day, each execution ran once and succeeded
    assert alive == [True, True]
    assert len(rows) == len(JOBS) * DAYS
    assert len({(r.schedule_id, r.nominal_time) for r in rows}) == len(JOBS) * DAYS
    assert {r.state for r in rows} == {ExecutionState.SUCCEEDED}
    assert len(written) == len(JOBS) * DAYS and set(written.values()) == {1}
    # ... and the locks the processes met were waited out: no traceback, one line when they are said
    assert "Traceback" not in logs, logs[-4000:]
    for line in logs.splitlines():
        if "database is locked" in line:
            assert "database unavailable while" in line or "unavailable again" in line, line


LEASE = 4.0


def test_a_job_reading_for_longer_than_its_lease_keeps_no_other_process_waiting(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # Given a worker (lease 4 s) running a job that reads in its transaction until told to stop
    define(engine, "TEST_LONG_READ")
    gate, reading = tmp_path / "gate", tmp_path / "reading"
    with transaction(engine, write=True) as s:
        params = {"gate": str(gate), "reading": str(reading)}
        run = enqueue(s, "TEST_LONG_READ", params, now=NOW, business_date=NOW.date()).id
    env = engine_env(db_url, tmp_path, ACAS_LEASE_SECONDS=str(LEASE))
    # ... and another process that writes, waiting at most 2 s for a lock
    probe = make_engine(db_url, busy_timeout=2.0)
    try:
        with processes(env, tmp_path) as procs:
            procs.start("scheduler", "start", "--workers", "0", "--no-web")
            procs.start("worker", "start", "--slots", "1")
            wait_until(reading.exists, timeout=240)  # processes start slowly on a loaded machine
            first_lease = executions(engine, id=run)[0].lease_expires_at
            assert first_lease is not None
            # When the job goes on reading for three leases while the other process writes
            writes, worst = 0, 0.0
            until = time.monotonic() + 3 * LEASE
            while time.monotonic() < until:
                began = time.monotonic()
                with transaction(probe, write=True) as s:
                    s.add(BatchMetric(name="probe", recorded_at=NOW, value=float(writes)))
                worst = max(worst, time.monotonic() - began)
                writes += 1
                time.sleep(0.1)
            # Then the worker renewed the job's lease meanwhile, and the job still runs
            during = executions(engine, id=run)[0]
            assert during.state is ExecutionState.RUNNING
            assert during.lease_expires_at is not None and during.lease_expires_at > first_lease
            gate.touch()
            wait_until(lambda: executions(engine, id=run)[0].state is not ExecutionState.RUNNING, timeout=60)
    finally:
        gate.touch()
        probe.dispose()
    # ... every write of the other process went through (none waited out the busy timeout)
    assert writes >= 10, (writes, worst)
    # ... and the job succeeded on its first attempt, its lease never lost nor recovered
    rows = executions(engine)
    assert [(r.id, r.state, r.attempt) for r in rows] == [(run, ExecutionState.SUCCEEDED, 1)], [
        (r.id, r.state, r.error_type, r.error_message) for r in rows
    ]
    assert rows[0].checkpoint is not None and rows[0].checkpoint["reads"] > 1
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).where(BatchMetric.name == "probe")) == writes
        assert s.scalar(select(func.count()).where(BatchMetric.name == "long_read")) == 1

"""Graceful shutdown on SIGTERM: no new claims, running jobs get the grace period, then are interrupted and recorded."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from sqlalchemy import Engine, select

from acas_batch.batch.operations import enqueue
from acas_batch.db import transaction
from acas_batch.models import BatchWorker
from acas_batch.models.enums import ExecutionState, WorkerState
from tests.acceptance.processes import engine_env, processes
from tests.engine_helpers import NOW, define, executions, wait_until


def _enqueue(engine: Engine, job: str, **params: object) -> int:
    with transaction(engine, write=True) as s:
        return enqueue(s, job, params, now=NOW, business_date=NOW.date()).id


def test_sigterm_lets_a_short_job_finish_and_interrupts_a_long_one(engine: Engine, db_url: str, tmp_path: Path) -> None:
    define(engine, "TEST_CHECKPOINT", max_attempts=1)
    define(engine, "TEST_SLEEP", timeout_seconds=300, max_attempts=2, retry_backoff_seconds=60)
    define(engine, "TEST_NOOP")
    short = _enqueue(engine, "TEST_CHECKPOINT", chunks=2, pause_after=0, pause_seconds=1.5)
    long = _enqueue(engine, "TEST_SLEEP")
    env = engine_env(db_url, tmp_path, ACAS_SHUTDOWN_GRACE_SECONDS="4")
    with processes(env, tmp_path) as procs:
        worker = procs.start("worker", "start", "--slots", "2")
        # Given both jobs are under way (the short one has written its first chunk)
        wait_until(lambda: executions(engine, id=short)[0].checkpoint == {"next": 1}, timeout=60)
        wait_until(lambda: executions(engine, id=long)[0].state is ExecutionState.RUNNING, timeout=60)
        # When the worker is asked to stop while both jobs run
        worker.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        later = _enqueue(engine, "TEST_NOOP")
        assert worker.wait(timeout=30) == 0
        took = time.monotonic() - stopped_at
    rows = {r.id: r for r in executions(engine)}
    # Then the short job finished within the grace period
    assert rows[short].state is ExecutionState.SUCCEEDED, (rows[short].error_type, rows[short].error_message)
    # ... the long one was interrupted at its end, recorded, and will be retried
    assert (rows[long].state, rows[long].error_type) == (ExecutionState.FAILED, "WorkerShutdown")
    assert "shut down after a 4s grace period" in (rows[long].error_message or "")
    retry = [r for r in rows.values() if r.root_execution_id == long]
    assert [r.state for r in retry] == [ExecutionState.RETRY_WAIT]
    # ... nothing new was claimed after the signal, and the worker says it stopped.
    assert rows[later].state is ExecutionState.QUEUED
    assert 4 <= took < 20
    with transaction(engine) as s:
        assert [w.state for w in s.scalars(select(BatchWorker))] == [WorkerState.STOPPED]

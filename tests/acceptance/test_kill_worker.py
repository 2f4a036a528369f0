"""A worker killed with SIGKILL mid-job: recovered within the lease timeout, resumed from its checkpoint."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
from sqlalchemy import Engine, select

from acas_batch.batch.operations import enqueue
from acas_batch.db import transaction
from acas_batch.models import BatchMetric
from acas_batch.models.enums import ExecutionState, RecoveryPolicy, TriggerKind
from tests.acceptance.processes import engine_env, processes
from tests.engine_helpers import NOW, define, executions, wait_until

LEASE = 2.0


def test_a_killed_worker_is_recovered_and_the_retry_resumes_from_its_checkpoint(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    define(engine, "TEST_CHECKPOINT", recovery_policy=RecoveryPolicy.RETRY, timeout_seconds=120)
    with transaction(engine, write=True) as s:
        first = enqueue(
            s,
            "TEST_CHECKPOINT",
            {"chunks": 5, "pause_after": 1, "pause_seconds": 60},
            now=NOW,
            business_date=NOW.date(),
        ).id
    env = engine_env(db_url, tmp_path, ACAS_LEASE_SECONDS=str(LEASE))
    with processes(env, tmp_path) as procs:
        procs.start("scheduler", "start", "--workers", "0")
        worker = procs.start("worker", "start", "--slots", "1")
        # Given the job has committed two chunks and is in the middle of its run
        wait_until(lambda: executions(engine, id=first)[0].checkpoint == {"next": 2}, timeout=60)
        children = psutil.Process(worker.pid).children()
        assert any("spawn_main" in " ".join(c.cmdline()) for c in children)  # the job's process
        # When its worker is killed outright
        os.kill(worker.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        worker.wait(timeout=10)
        # Then its job process dies with it
        psutil.wait_procs(children, timeout=5)
        assert not any(c.is_running() for c in children)
        # ... a scheduler recovers the execution once the lease expires
        wait_until(lambda: executions(engine, id=first)[0].state is ExecutionState.FAILED, timeout=LEASE * 5)
        recovered_after = time.monotonic() - killed_at
        procs.start("worker", "start", "--slots", "1")
        wait_until(lambda: executions(engine)[-1].state is ExecutionState.SUCCEEDED, timeout=60)
    rows = executions(engine)
    assert recovered_after < LEASE + 2
    assert [r.state for r in rows] == [ExecutionState.FAILED, ExecutionState.SUCCEEDED]
    assert rows[0].error_type == "LeaseExpired"
    assert (rows[1].trigger, rows[1].root_execution_id, rows[1].attempt) == (TriggerKind.RECOVERY, first, 2)
    assert rows[1].result is not None and rows[1].result["counts"]["resumed_at"] == 2
    assert not any(r.state is ExecutionState.RUNNING for r in rows)
    with transaction(engine) as s:
        chunks = [int(v) for v in s.scalars(select(BatchMetric.value).order_by(BatchMetric.value))]
    assert chunks == [0, 1, 2, 3, 4]  # nothing lost, nothing written twice

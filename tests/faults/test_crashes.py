"""Processes killed outright: the dead are marked lost once, crashes spend their own budget.

A scheduler or worker killed with SIGKILL cannot say so; a live process marks it lost
(recorded once, alerted once) and the health check counts only the living. A crash of
the machinery (the job's process, or its worker) is not the job's failure: a job allowed
one attempt of its own resumes from its checkpoint, the same whichever process died.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from sqlalchemy import Engine, select

from acas_batch.batch.operations import enqueue
from acas_batch.db import transaction
from acas_batch.models import BatchMetric, BatchWorker
from acas_batch.models.enums import ExecutionState, RecoveryPolicy, TriggerKind, WorkerRole, WorkerState
from acas_batch.monitoring import rules
from acas_batch.system.health import HealthLimits, check_heartbeats
from tests.acceptance.processes import engine_env, processes
from tests.engine_helpers import NOW, define, executions, wait_until

LEASE = 2.0


def _workers(engine: Engine) -> list[BatchWorker]:
    with transaction(engine) as s:
        return list(s.scalars(select(BatchWorker).order_by(BatchWorker.started_at)))


def _job_process(pid: int) -> psutil.Process:
    children = [c for c in psutil.Process(pid).children() if "spawn_main" in " ".join(c.cmdline())]
    assert children, "the worker has no job process"
    return children[0]


def test_a_killed_worker_is_marked_lost_once_and_health_counts_only_the_living(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    env = engine_env(db_url, tmp_path, ACAS_LEASE_SECONDS=str(LEASE), ACAS_LOST_MARGIN_SECONDS="1")
    with processes(env, tmp_path) as procs:
        procs.start("scheduler", "start", "--workers", "0", "--no-web")
        doomed = procs.start("worker", "start", "--slots", "1")
        survivor = procs.start("worker", "start", "--slots", "1")
        wait_until(lambda: sum(w.state is WorkerState.RUNNING for w in _workers(engine)) == 3, timeout=60)
        # When one worker is killed outright
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        # Then a live process marks it lost: at once, since it sees the process gone from this machine
        wait_until(lambda: any(w.state is WorkerState.LOST for w in _workers(engine)), timeout=LEASE * 10)
        rows = _workers(engine)
        lost = [w for w in rows if w.state is WorkerState.LOST]
        assert [w.pid for w in lost] == [doomed.pid]
        assert lost[0].info is not None and lost[0].info["lost_by"].split(":")[2] != str(doomed.pid)
        assert survivor.poll() is None
        with transaction(engine) as s:
            now = lost[0].stopped_at
            assert now is not None
            # ... the health check counts the living only: nobody silent
            findings = check_heartbeats(s, now, HealthLimits(heartbeat_stale_seconds=int(LEASE)))
            # ... and the loss is one alert, seen by one monitoring window and not the next
            first = rules.lost_processes(s, now - timedelta(minutes=1), now)
            later = rules.lost_processes(s, now, now + timedelta(minutes=1))
    workers = next(f for f in findings if f.check == "worker_heartbeat")
    assert not workers.is_problem, workers.message
    assert workers.value == 1.0  # the survivor
    assert [f.dedup_key for f in first] == [f"process_lost:{lost[0].id}"]
    assert later == []
    assert all(w.state is not WorkerState.LOST for w in _workers(engine) if w.role is WorkerRole.SCHEDULER)


def _checkpointing_job(engine: Engine) -> int:
    # A job allowed one attempt of its own, which a crash must not spend.
    define(engine, "TEST_CHECKPOINT", recovery_policy=RecoveryPolicy.RETRY, timeout_seconds=120, max_attempts=1)
    with transaction(engine, write=True) as s:
        return enqueue(
            s,
            "TEST_CHECKPOINT",
            {"chunks": 4, "pause_after": 1, "pause_seconds": 60},
            now=NOW,
            business_date=NOW.date(),
        ).id


def _crash_and_finish(engine: Engine, db_url: str, tmp_path: Path, *, kill: str) -> None:
    first = _checkpointing_job(engine)
    env = engine_env(db_url, tmp_path, ACAS_LEASE_SECONDS=str(LEASE), ACAS_LOST_MARGIN_SECONDS="1")
    with processes(env, tmp_path) as procs:
        procs.start("scheduler", "start", "--workers", "0", "--no-web")
        worker = procs.start("worker", "start", "--slots", "1")
        # Given the job has committed two chunks and is paused in the middle of its run
        wait_until(lambda: executions(engine, id=first)[0].checkpoint == {"next": 2}, timeout=60)
        # When the machinery under it dies
        victim = _job_process(worker.pid) if kill == "job process" else psutil.Process(worker.pid)
        victim.send_signal(signal.SIGKILL)
        if kill == "worker":
            worker.wait(timeout=10)
            time.sleep(0.2)
            procs.start("worker", "start", "--slots", "1")
        # Then the job resumes from its checkpoint and succeeds, though it had one attempt of its own
        wait_until(lambda: executions(engine)[-1].state is ExecutionState.SUCCEEDED, timeout=90)
    rows = executions(engine)
    assert [r.state for r in rows] == [ExecutionState.FAILED, ExecutionState.SUCCEEDED]
    assert rows[0].error_type == ("WorkerChildDied" if kill == "job process" else "LeaseExpired")
    assert rows[0].reason is not None and "infrastructure failure 1 of" in rows[0].reason
    assert (rows[1].trigger, rows[1].attempt, rows[1].infra_failures) == (TriggerKind.RECOVERY, 2, 1)
    assert rows[1].result is not None and rows[1].result["counts"]["resumed_at"] == 2
    with transaction(engine) as s:
        chunks = [int(v) for v in s.scalars(select(BatchMetric.value).order_by(BatchMetric.value))]
    assert chunks == [0, 1, 2, 3]  # nothing lost, nothing written twice


def test_a_killed_job_process_is_not_the_jobs_failure(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _crash_and_finish(engine, db_url, tmp_path, kill="job process")


def test_a_killed_worker_is_not_the_jobs_failure_either(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _crash_and_finish(engine, db_url, tmp_path, kill="worker")


def test_a_worker_gone_from_this_machine_is_recovered_at_once_not_after_its_lease(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # Given the production lease (60 s and a 30 s margin) and two workers, each running a long job
    define(
        engine,
        "TEST_CHECKPOINT",
        recovery_policy=RecoveryPolicy.RETRY,
        timeout_seconds=300,
        max_attempts=1,
        max_concurrency=2,
    )
    with transaction(engine, write=True) as s:
        for day in (NOW.date(), NOW.date() - timedelta(days=1)):
            params = {"chunks": 2, "pause_after": 0, "pause_seconds": 30}
            enqueue(s, "TEST_CHECKPOINT", params, now=NOW, business_date=day)
    env = engine_env(db_url, tmp_path, ACAS_LEASE_SECONDS="60", ACAS_LOST_MARGIN_SECONDS="30")
    with processes(env, tmp_path) as procs:
        procs.start("scheduler", "start", "--workers", "0", "--no-web")
        doomed = procs.start("worker", "start", "--slots", "1")
        survivor = procs.start("worker", "start", "--slots", "1")
        wait_until(lambda: all(r.checkpoint == {"next": 1} for r in executions(engine)), timeout=90)
        owners = {w.pid: w.id for w in _workers(engine)}
        live = next(r for r in executions(engine) if r.lease_owner == owners[survivor.pid])
        # When one worker is killed outright
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        # Then the scheduler beside it sees its process gone and recovers its run well before the lease
        # could have run out (the wait is far shorter than 60 s), and marks it lost, saying why
        wait_until(lambda: len(executions(engine)) == 3, timeout=20)
        rows = {r.id: r for r in executions(engine)}
        lost = [w for w in _workers(engine) if w.state is WorkerState.LOST]
        # ... while the live worker's run keeps its lease and its token
        assert rows[live.id].state is ExecutionState.RUNNING
        assert rows[live.id].fencing_token == live.fencing_token
        assert survivor.poll() is None
    assert [w.pid for w in lost] == [doomed.pid]
    failed = [r for r in rows.values() if r.state is ExecutionState.FAILED]
    assert [r.error_type for r in failed] == ["LeaseExpired"]
    assert "its process is gone from this machine" in procs.log_of(procs.started[0]).read_text()


def test_a_process_is_judged_gone_or_alive_only_when_it_surely_shares_this_machine() -> None:
    from acas_batch.batch.liveness import _alive_here, this_process

    me = this_process()
    ended = psutil.Popen(["true"])
    ended.wait()
    info = {**me, "proc_start": ended.create_time() if ended.is_running() else me["proc_start"]}
    # a pid that no longer runs, recorded on this boot in this pid namespace: gone
    assert _alive_here(ended.pid, info, me) is False
    # this very process: alive
    assert _alive_here(os.getpid(), me, me) is True
    # a pid now held by another process than the one recorded: gone
    assert _alive_here(os.getpid(), {**me, "proc_start": me["proc_start"] - 100}, me) is False
    # recorded on another machine (or boot), or in another container: never judged from here
    assert _alive_here(ended.pid, {**info, "boot": "another-boot"}, me) is None
    assert _alive_here(ended.pid, {**info, "pidns": 1}, me) is None
    assert _alive_here(ended.pid, {}, me) is None


def test_a_late_heartbeat_marks_lost_only_a_process_that_cannot_be_seen_alive(engine: Engine) -> None:
    from acas_batch.batch.liveness import mark_lost, this_process

    now = datetime.now(UTC)
    late = now - timedelta(minutes=5)
    with transaction(engine, write=True) as s:
        for wid, info in (("worker:here", this_process()), ("worker:elsewhere", {})):
            # both rows name this very (live) process; only the first says it is on this machine
            s.add(BatchWorker(id=wid, role=WorkerRole.WORKER, state=WorkerState.RUNNING, hostname="h",
                              pid=os.getpid(), version="0", info=info, started_at=late, heartbeat_at=late))  # fmt: skip
    with transaction(engine, write=True) as s:
        lost = mark_lost(s, now=now, lease_seconds=60, margin_seconds=30, by="test")
    assert [p.id for p in lost] == ["worker:elsewhere"]
    with transaction(engine) as s:
        assert s.get_one(BatchWorker, "worker:here").state is WorkerState.RUNNING

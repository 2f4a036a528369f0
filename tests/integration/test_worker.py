"""The worker runs jobs in child processes: results, logs, progress, outputs, timeouts, crashes."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from acas_batch.batch.operations import cancel, enqueue
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import ValidationError
from acas_batch.models import BatchExecution, BatchLog, BatchMetric
from acas_batch.models.enums import ExecutionState
from tests.engine_helpers import NOW, Running, define, engine_settings, executions, wait_until


def _run(engine: Engine, job: str, **params: object) -> int:
    with transaction(engine, write=True) as s:
        return enqueue(s, job, params, now=NOW, business_date=NOW.date()).id


def _state(engine: Engine, eid: int) -> ExecutionState:
    with transaction(engine) as s:
        return s.get_one(BatchExecution, eid).state


def test_a_job_commits_its_rows_logs_progress_and_output_with_its_success(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_WRITE")
    eid = _run(engine, "TEST_WRITE", rows=4)
    with Running(settings, engine, slots=1):
        wait_until(lambda: _state(engine, eid) is ExecutionState.SUCCEEDED)
    with transaction(engine) as s:
        row = s.get_one(BatchExecution, eid)
        assert (row.progress_done, row.progress_total) == (4, 4)
        assert row.result is not None and row.result["counts"] == {"rows": 4}
        assert row.started_at is not None and row.finished_at is not None and row.duration_ms is not None
        rows = s.scalar(select(func.count()).select_from(BatchMetric).where(BatchMetric.execution_id == eid))
        assert rows == 4
        logs = s.scalars(select(BatchLog).where(BatchLog.execution_id == eid)).all()
        assert [(log.event, log.context) for log in logs] == [("rows_written", {"rows": 4})]
        assert row.output_dir is not None
    report = Path(row.output_dir) / "report.csv"
    assert report.read_text() == f"business_date,rows\n{NOW.date().isoformat()},4\n"


def test_a_bad_parameter_is_refused_before_any_execution_exists(engine: Engine) -> None:
    define(engine, "TEST_WRITE")
    with pytest.raises(ValidationError, match="rows: Input should be less than or equal to 10000"):
        _run(engine, "TEST_WRITE", rows=99_999)
    assert executions(engine) == []


def test_a_hung_job_is_killed_at_its_timeout_and_the_worker_carries_on(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_SLEEP", timeout_seconds=1)
    define(engine, "TEST_NOOP")
    hung = _run(engine, "TEST_SLEEP")
    with Running(settings, engine, slots=1):
        wait_until(lambda: _state(engine, hung) is ExecutionState.TIMED_OUT)
        after = _run(engine, "TEST_NOOP")
        wait_until(lambda: _state(engine, after) is ExecutionState.SUCCEEDED)
    (row,) = executions(engine, job_id=executions(engine)[0].job_id)
    assert row.error_type == "Timeout"
    assert row.duration_ms is not None and 900 <= row.duration_ms < 10_000


def test_a_crashing_job_fails_without_taking_the_worker_down(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_CRASH", max_attempts=1)
    define(engine, "TEST_NOOP")
    crashed = _run(engine, "TEST_CRASH")
    with Running(settings, engine, slots=1):
        wait_until(lambda: _state(engine, crashed) is ExecutionState.FAILED)
        after = _run(engine, "TEST_NOOP")
        wait_until(lambda: _state(engine, after) is ExecutionState.SUCCEEDED)
    row = executions(engine, id=crashed)[0]
    assert row.error_type == "WorkerChildDied"
    assert "exited with code 3" in (row.error_message or "")


def test_cancelling_a_running_job_terminates_it(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = engine_settings(db_url, tmp_path, lease_seconds=1.5)
    define(engine, "TEST_SLEEP", timeout_seconds=120)
    eid = _run(engine, "TEST_SLEEP")
    with Running(settings, engine, slots=1):
        wait_until(lambda: _state(engine, eid) is ExecutionState.RUNNING)
        with transaction(engine, write=True) as s:
            cancel(s, eid, actor="alice", reason="wrong day", now=NOW)
        wait_until(lambda: _state(engine, eid) is ExecutionState.CANCELLED, timeout=15)
    row = executions(engine, id=eid)[0]
    assert row.error_type == "Cancelled"
    assert len(executions(engine)) == 1  # no retry of a cancelled run


def test_a_job_can_finish_with_a_warning(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_WARN")
    eid = _run(engine, "TEST_WARN")
    with Running(settings, engine, slots=1):
        wait_until(lambda: _state(engine, eid) is ExecutionState.WARNING)
    assert executions(engine, id=eid)[0].reason == "2 journals were not posted"


def test_a_failing_job_retries_with_growing_delays_then_succeeds(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_FAIL", max_attempts=3, retry_backoff_seconds=1, retry_backoff_max_seconds=60)
    first = _run(engine, "TEST_FAIL", failures=2)
    with Running(settings, engine, slots=1):
        wait_until(lambda: [r.state for r in executions(engine)][-1:] == [ExecutionState.SUCCEEDED], timeout=30)
    rows = executions(engine)
    assert [(r.attempt, r.state) for r in rows] == [
        (1, ExecutionState.FAILED),
        (2, ExecutionState.FAILED),
        (3, ExecutionState.SUCCEEDED),
    ]
    assert [r.root_execution_id for r in rows] == [None, first, first]
    assert rows[0].error_message == "planned failure on attempt 1"
    gaps = []
    for before, after in itertools.pairwise(rows):
        assert before.finished_at is not None and after.not_before is not None and after.started_at is not None
        assert after.started_at >= after.not_before  # never before its backoff
        gaps.append((after.not_before - before.finished_at).total_seconds())
    assert 0.5 <= gaps[0] <= 1.0 <= gaps[1] <= 2.0


def test_a_refusal_by_a_ledger_rule_is_not_retried(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_FAIL", max_attempts=3, retry_backoff_seconds=0)
    first = _run(engine, "TEST_FAIL", failures=3, error="CloseRefused")
    with Running(settings, engine, slots=1):
        wait_until(lambda: _state(engine, first) is ExecutionState.FAILED)
        time.sleep(0.5)  # time enough for a retry to be created, were there one
    rows = executions(engine)
    assert [(r.attempt, r.state, r.error_type) for r in rows] == [(1, ExecutionState.FAILED, "CloseRefused")]
    assert rows[0].error_message == "period not closed: refused on attempt 1"


def test_a_retry_resumes_from_the_last_checkpoint(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_CHECKPOINT", retry_backoff_seconds=0)
    first = _run(engine, "TEST_CHECKPOINT", chunks=5, pause_after=1)
    with Running(settings, engine, slots=1) as running:
        wait_until(lambda: executions(engine, id=first)[0].checkpoint == {"next": 2})
        # When the job's process dies mid-run (as on a crash)
        running.worker._slots[0].process.kill()
        wait_until(lambda: [r.state for r in executions(engine)][-1:] == [ExecutionState.SUCCEEDED])
    rows = executions(engine)
    assert [r.state for r in rows] == [ExecutionState.FAILED, ExecutionState.SUCCEEDED]
    assert rows[0].error_type == "WorkerChildDied"
    assert rows[1].result is not None and rows[1].result["counts"] == {"resumed_at": 2, "chunks_total": 5}
    with transaction(engine) as s:
        chunks = s.execute(select(BatchMetric.value, BatchMetric.execution_id).order_by(BatchMetric.value)).all()
    # Then every chunk was written exactly once: two by the first attempt, three by the retry.
    assert [(int(v), e) for v, e in chunks] == [
        (0, first),
        (1, first),
        (2, rows[1].id),
        (3, rows[1].id),
        (4, rows[1].id),
    ]


def test_a_second_success_of_one_run_key_is_undone_with_its_writes(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_WRITE", max_concurrency=2)
    a, b = _run(engine, "TEST_WRITE", rows=2), _run(engine, "TEST_WRITE", rows=2)
    with Running(settings, engine, slots=2):
        wait_until(lambda: all(r.state.is_terminal for r in executions(engine)))
    states = {r.id: r for r in executions(engine)}
    assert sorted(r.state for r in states.values()) == [ExecutionState.FAILED, ExecutionState.SUCCEEDED]
    loser = next(r for r in states.values() if r.state is ExecutionState.FAILED)
    assert loser.error_type == "RunKeyAlreadySucceeded"
    with transaction(engine) as s:
        owners = set(s.scalars(select(BatchMetric.execution_id)))
    assert owners == {a, b} - {loser.id}


def test_claimed_ahead_work_runs_in_turn_and_goes_back_to_the_queue_on_shutdown(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    from acas_batch.batch.worker import Worker
    from acas_batch.clock import SystemClock

    # Claimed ahead behind any job, as before the short-job rule, so the hung job has two behind it
    settings = engine_settings(db_url, tmp_path, shutdown_grace_seconds=0.5, prefetch=2, short_job_seconds=0)
    define(engine, "TEST_SLEEP", timeout_seconds=120, max_attempts=1)
    define(engine, "TEST_NOOP", max_concurrency=5)
    first = [_run(engine, "TEST_NOOP", tag=t) for t in "ab"]
    worker = Worker(settings, clock=SystemClock(), slots=1, engine=engine)
    worker.start()
    try:
        wait_until(lambda: (worker.step(), all(_state(engine, e) is ExecutionState.SUCCEEDED for e in first))[1])
        hung = _run(engine, "TEST_SLEEP")
        later = [_run(engine, "TEST_NOOP", tag=t) for t in "cd"]
        # Given the hung job holds the only job process and the two others were claimed ahead
        wait_until(
            lambda: (worker.step(), [_state(engine, e) for e in (hung, *later)])[1] == [ExecutionState.RUNNING] * 3
        )
    finally:
        worker.shutdown()
    # Then shutting down interrupts the hung job and hands the claimed-ahead ones back
    assert _state(engine, hung) is ExecutionState.FAILED
    assert [_state(engine, e) for e in later] == [ExecutionState.QUEUED, ExecutionState.QUEUED]
    assert all(r.lease_owner is None for r in executions(engine) if r.id in later)


def test_no_short_job_waits_behind_a_long_one_at_the_default_settings(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    from acas_batch.batch.worker import Worker
    from acas_batch.clock import SystemClock

    # The shipped prefetch; "short" is 10 s rather than 0.5 s so that this test, not the machine's
    # load, decides that work is queued behind the job before it turns long
    settings = engine_settings(db_url, tmp_path, short_job_seconds=10)
    assert settings.prefetch == Settings.model_fields["prefetch"].default > 0
    define(engine, "TEST_GATE", max_concurrency=50)
    define(engine, "TEST_NOOP", max_concurrency=50)
    worker = Worker(settings, clock=SystemClock(), slots=2, engine=engine)
    worker.start()
    gate_file = tmp_path / "open"
    try:
        # Given both jobs seen to be short by the worker
        first = [_run(engine, "TEST_GATE", tag="quick"), _run(engine, "TEST_NOOP", tag="first")]
        wait_until(lambda: (worker.step(), all(_state(engine, e) is ExecutionState.SUCCEEDED for e in first))[1])
        # When the gate job runs again, long this time, and twenty short ones are claimed while it
        # still looks short: about half of them go behind it
        long = _run(engine, "TEST_GATE", tag="long", gate=str(gate_file))
        wait_until(lambda: (worker.step(), _state(engine, long) is ExecutionState.RUNNING)[1])
        with transaction(engine, write=True) as s:
            short = [enqueue(s, "TEST_NOOP", {"tag": f"s{i}"}, now=NOW, business_date=NOW.date()).id for i in range(20)]
        worker.step()
        behind = next(len(slot.queue) - 1 for slot in worker._slots if slot.claim and slot.claim.execution_id == long)
        assert behind > 0
        # Then every short one finishes while the long one still runs: those behind it were handed
        # back (were one stuck there, this could never happen: the gate opens only after)
        wait_until(
            lambda: (worker.step(), all(_state(engine, e) is ExecutionState.SUCCEEDED for e in short))[1], timeout=120
        )
        assert _state(engine, long) is ExecutionState.RUNNING
        gate_file.touch()
        wait_until(lambda: (worker.step(), _state(engine, long) is ExecutionState.SUCCEEDED)[1])
    finally:
        gate_file.touch()
        worker.shutdown()


def test_nothing_is_claimed_ahead_behind_a_job_not_known_to_be_short(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    from acas_batch.batch.worker import Worker
    from acas_batch.clock import SystemClock

    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_GATE", max_concurrency=50)
    define(engine, "TEST_NOOP", max_concurrency=50)
    worker = Worker(settings, clock=SystemClock(), slots=1, engine=engine)
    worker.start()
    gate_file = tmp_path / "open"
    try:
        # Given a job never seen before, running in the worker's only process
        long = _run(engine, "TEST_GATE", tag="long", gate=str(gate_file))
        wait_until(lambda: (worker.step(), _state(engine, long) is ExecutionState.RUNNING)[1])
        # When short work arrives
        short = [_run(engine, "TEST_NOOP", tag=f"s{i}") for i in range(5)]
        for _ in range(20):
            worker.step(timeout=0.02)
        # Then it stays in the queue for any other worker, unclaimed
        assert [_state(engine, e) for e in short] == [ExecutionState.QUEUED] * 5
        gate_file.touch()
        wait_until(lambda: (worker.step(), all(_state(engine, e) is ExecutionState.SUCCEEDED for e in short))[1])
    finally:
        gate_file.touch()
        worker.shutdown()

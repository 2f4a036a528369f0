"""The queue's correctness SQL: claims, limits, resources, priorities, fencing, recovery, retries."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text

from acas_batch.batch.operations import enqueue
from acas_batch.batch.queue import (
    Claim,
    ClaimLimits,
    claim,
    finish_failure,
    finish_success,
    promote_ready,
    recover_expired,
    renew,
    save_checkpoint,
)
from acas_batch.batch.retry import RetryPolicy
from acas_batch.db import transaction
from acas_batch.errors import LeaseLost
from acas_batch.models import BatchExecution, BatchJob
from acas_batch.models.enums import ExecutionState, RecoveryPolicy, TriggerKind
from tests.engine_helpers import NOW, define, executions


def _enqueue(engine: Engine, job: str, tag: str = "x", now=NOW) -> int:  # type: ignore[no-untyped-def]
    with transaction(engine, write=True) as s:
        return enqueue(s, job, {"tag": tag}, now=now, business_date=NOW.date()).id


def _claim(engine: Engine, n: int = 1, worker: str = "w1", now=NOW, **limits: object) -> list[Claim]:  # type: ignore[no-untyped-def]
    with transaction(engine, write=True) as s:
        return claim(s, worker_id=worker, now=now, lease_seconds=30, limit=n, limits=ClaimLimits(**limits))  # type: ignore[arg-type]


def test_a_claim_leases_the_execution_and_a_stale_token_can_write_nothing(engine: Engine) -> None:
    define(engine, "TEST_NOOP", max_concurrency=5)
    eid = _enqueue(engine, "TEST_NOOP")
    (c,) = _claim(engine)
    row = executions(engine, id=eid)[0]
    assert (row.state, row.lease_owner, row.fencing_token) == (ExecutionState.RUNNING, "w1", c.token)
    assert row.lease_expires_at == NOW + timedelta(seconds=30)
    assert _claim(engine) == []  # nothing left to claim

    # Given the lease expired and a scheduler recovered the execution
    with transaction(engine, write=True) as s:
        assert recover_expired(s, now=NOW + timedelta(seconds=31)) == [eid]
    # When the old worker tries to record its success or a checkpoint, Then it is refused
    with pytest.raises(LeaseLost), transaction(engine, write=True) as s:
        finish_success(s, c, now=NOW, result={"summary": "late"})
    with pytest.raises(LeaseLost), transaction(engine, write=True) as s:
        save_checkpoint(s, eid, c.token, {"next": 9}, NOW)
    row = executions(engine, id=eid)[0]
    assert row.state is ExecutionState.FAILED and row.result is None and row.checkpoint is None
    with transaction(engine, write=True) as s:
        renewal = renew(s, worker_id="w1", held={eid: c.token}, now=NOW, lease_seconds=30)
    assert renewal.lost == {eid}


def test_the_job_concurrency_limit_holds_back_a_second_run(engine: Engine) -> None:
    define(engine, "TEST_NOOP", max_concurrency=1)
    first, second = _enqueue(engine, "TEST_NOOP", "a"), _enqueue(engine, "TEST_NOOP", "b")
    (c,) = _claim(engine, 2)
    assert c.execution_id == first
    assert _claim(engine, 2, worker="w2") == []
    with transaction(engine, write=True) as s:
        finish_success(s, c, now=NOW, result=None)
    assert [c.execution_id for c in _claim(engine, 2, worker="w2")] == [second]


def test_the_global_running_limit_is_respected(engine: Engine) -> None:
    define(engine, "TEST_NOOP", max_concurrency=10)
    for tag in "abc":
        _enqueue(engine, "TEST_NOOP", tag)
    assert len(_claim(engine, 3, max_running=2)) == 2
    assert _claim(engine, 3, worker="w2", max_running=2) == []


def test_exclusive_shared_and_counted_resources(engine: Engine) -> None:
    define(engine, "CLOSE", handler="TEST_NOOP", resources=[{"name": "ledger:GL", "mode": "exclusive"}], priority=90)
    define(
        engine, "REPORT", handler="TEST_NOOP", resources=[{"name": "ledger:GL", "mode": "shared"}], max_concurrency=3
    )
    define(engine, "CPU", handler="TEST_NOOP", resources=[{"name": "cpu", "slots": 1}], max_concurrency=3)
    close = _enqueue(engine, "CLOSE")
    reports = [_enqueue(engine, "REPORT", t) for t in "ab"]
    cpus = [_enqueue(engine, "CPU", t) for t in "abc"]
    # The close holds ledger:GL exclusively: no report may share it; cpu has 2 slots.
    claims = _claim(engine, 10, slot_capacity={"cpu": 2})
    assert [c.execution_id for c in claims] == [close, cpus[0], cpus[1]]
    with transaction(engine, write=True) as s:
        finish_success(s, claims[0], now=NOW, result=None)
    got = [c.execution_id for c in _claim(engine, 10, worker="w2", slot_capacity={"cpu": 2})]
    assert got == reports  # both share the ledger now; the third cpu run still waits for a slot


def test_higher_priority_first_and_ageing_lifts_the_old_low_priority_work(engine: Engine) -> None:
    define(engine, "LOW", handler="TEST_NOOP", priority=10)
    define(engine, "HIGH", handler="TEST_NOOP", priority=20, max_concurrency=5)
    low = _enqueue(engine, "LOW")
    high = _enqueue(engine, "HIGH")
    with transaction(engine, write=True) as s:
        promote_ready(s, now=NOW + timedelta(minutes=5), ageing_seconds=60)  # 5 minutes: low is at 15
    assert executions(engine, id=low)[0].priority == 15
    assert [c.execution_id for c in _claim(engine, 1)] == [high]
    late = _enqueue(engine, "HIGH", "late", now=NOW + timedelta(minutes=19))
    with transaction(engine, write=True) as s:
        promote_ready(s, now=NOW + timedelta(minutes=20), ageing_seconds=60)
    # Low has waited 20 minutes (priority 30) and now goes before the newer high-priority run.
    assert [c.execution_id for c in _claim(engine, 1, now=NOW + timedelta(minutes=20))] == [low]
    assert executions(engine, id=late)[0].state is ExecutionState.QUEUED


def test_ageing_gives_each_waiting_run_its_jobs_priority_plus_one_per_whole_period_waited(engine: Engine) -> None:
    # Given queued runs of a low and a near-the-cap job, waiting a millisecond and a microsecond
    # either side of whole periods, under a period, and at random over three days, at an instant
    # whose fraction of a second rounds up to the next second at millisecond precision
    define(engine, "LOW", handler="TEST_NOOP", priority=10)
    define(engine, "NEAR_CAP", handler="TEST_NOOP", priority=995)
    ageing, now = 600, NOW + timedelta(days=3, microseconds=999_700)
    period, ms, us = timedelta(seconds=ageing), timedelta(milliseconds=1), timedelta(microseconds=1)
    rnd = random.Random(22)
    waits = [k * period + d for k in (1, 2, 3) for d in (-ms, -us, 0 * us, us, ms)] + [period / 2]
    waits += [timedelta(microseconds=rnd.randrange(1, 3 * 86_400_000_000)) for _ in range(40)]
    with transaction(engine, write=True) as s:
        rows = []
        for i, wait in enumerate(waits):
            for job in ("LOW", "NEAR_CAP"):
                rows.append(enqueue(s, job, {"tag": f"{job}{i}"}, now=NOW, business_date=NOW.date()))
                rows[-1].queued_at = now - wait
        rows[-1].priority = 2000  # an operator's own raise is never lowered
        rows[-3].state, rows[-3].held_from = ExecutionState.HELD, ExecutionState.QUEUED  # only queued work ages
    before = {r.id: (r.job_id, r.priority, r.queued_at, r.state) for r in executions(engine)}
    with transaction(engine) as s:
        base: dict[int, int] = dict(s.execute(select(BatchJob.id, BatchJob.priority)).all())
    # When the queue is aged
    with transaction(engine, write=True) as s:
        promote_ready(s, now=now, ageing_seconds=ageing)
    # Then each queued run waiting more than a period has its job's priority plus one per whole
    # period waited, at most 1000 and never lower than before, reckoned here in Python
    expected = {}
    for eid, (job_id, priority, queued_at, state) in before.items():
        assert queued_at is not None
        waited = now - queued_at
        aged = min(1000, base[job_id] + waited // period) if state is ExecutionState.QUEUED and waited > period else 0
        expected[eid] = max(priority, aged)
    assert {r.id: r.priority for r in executions(engine)} == expected
    assert {e: p for e, p in expected.items() if before[e][1] != p}  # and ageing did change some


def test_retries_are_new_rows_linked_to_the_first_with_growing_capped_delays(engine: Engine) -> None:
    define(engine, "FLAKY", handler="TEST_NOOP", max_attempts=4, retry_backoff_seconds=10, retry_backoff_max_seconds=25)
    eid = _enqueue(engine, "FLAKY")
    now = NOW
    delays = []
    for attempt in (1, 2, 3):
        (c,) = _claim(engine, now=now)
        assert c.attempt == attempt
        with transaction(engine, write=True) as s:
            retry = finish_failure(s, c.execution_id, c.token, now=now, error_type="ValueError", error_message="no")
            assert retry is not None and retry.not_before is not None
            delays.append((retry.not_before - now).total_seconds())
            now = retry.not_before
        with transaction(engine, write=True) as s:
            assert promote_ready(s, now=now - timedelta(seconds=1)) == 0  # not before its time
            assert promote_ready(s, now=now) == 1
    assert 5 <= delays[0] <= 10 and 10 <= delays[1] <= 20 and 12.5 <= delays[2] <= 25
    (c,) = _claim(engine, now=now)
    with transaction(engine, write=True) as s:
        assert finish_failure(s, c.execution_id, c.token, now=now, error_type="ValueError", error_message="no") is None
    rows = executions(engine)
    assert [r.attempt for r in rows] == [1, 2, 3, 4]
    assert [r.root_execution_id for r in rows] == [None, eid, eid, eid]
    assert [r.trigger for r in rows] == [TriggerKind.MANUAL] + [TriggerKind.RETRY] * 3
    assert all(r.state is ExecutionState.FAILED for r in rows)


def test_only_the_jobs_chosen_errors_are_retried(engine: Engine) -> None:
    define(engine, "PICKY", handler="TEST_NOOP", retry_on=["FlakyError"])
    _enqueue(engine, "PICKY")
    (c,) = _claim(engine)
    with transaction(engine, write=True) as s:
        assert finish_failure(s, c.execution_id, c.token, now=NOW, error_type="ValueError", error_message="x") is None
    assert RetryPolicy(retry_on=("FlakyError",)).retryable("FlakyError")


def test_backoff_jitter_stays_within_half_to_full_delay() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=100)
    rng = random.Random(7)
    for attempt in range(1, 9):
        full = min(100, 2 * 2 ** (attempt - 1))
        assert full / 2 <= policy.next_delay(attempt, rng).total_seconds() <= full


@pytest.mark.parametrize(
    ("policy", "states"),
    [
        (RecoveryPolicy.RETRY, [ExecutionState.FAILED, ExecutionState.RETRY_WAIT]),
        (RecoveryPolicy.HOLD, [ExecutionState.FAILED, ExecutionState.HELD]),
        (RecoveryPolicy.FAIL, [ExecutionState.FAILED]),
    ],
)
def test_an_expired_lease_is_recovered_by_the_jobs_policy(
    engine: Engine, policy: RecoveryPolicy, states: list[ExecutionState]
) -> None:
    define(engine, "TEST_NOOP", recovery_policy=policy)
    eid = _enqueue(engine, "TEST_NOOP")
    (c,) = _claim(engine)
    with transaction(engine, write=True) as s:
        save_checkpoint(s, eid, c.token, {"next": 3}, NOW)
    with transaction(engine, write=True) as s:
        assert recover_expired(s, now=NOW + timedelta(seconds=29)) == []  # lease still valid
        assert recover_expired(s, now=NOW + timedelta(seconds=31)) == [eid]
    rows = executions(engine)
    assert [r.state for r in rows] == states
    assert rows[0].error_type == "LeaseExpired" and "stopped renewing its lease" in (rows[0].error_message or "")
    for retry in rows[1:]:
        assert retry.trigger is TriggerKind.RECOVERY
        assert retry.checkpoint == {"next": 3} and retry.root_execution_id == eid
    with transaction(engine) as s:
        running = s.scalars(select(BatchExecution).where(BatchExecution.state == ExecutionState.RUNNING)).all()
    assert running == []


# Row locks: on SQLite one writer at a time, so two schedulers' ticks never interleave.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_ageing_passes_over_a_row_another_scheduler_holds_instead_of_waiting_for_it(engine: Engine) -> None:
    # Two schedulers tick on one PostgreSQL database; ageing row by row in whatever order the
    # scan gave, they once locked the same queued rows in opposite orders and deadlocked.
    define(engine, "LOW", handler="TEST_NOOP", priority=10)
    first, held, last = (_enqueue(engine, "LOW", tag) for tag in ("a", "b", "c"))
    later = NOW + timedelta(minutes=5)
    # Given another scheduler's transaction holds one of the queued rows
    with engine.connect() as other:
        other.execute(select(BatchExecution.id).where(BatchExecution.id == held).with_for_update())
        # When this scheduler's tick ages the queue (and would give up after 2 s of waiting)
        with transaction(engine, write=True) as s:
            s.execute(text("SET LOCAL lock_timeout = '2s'"))
            promote_ready(s, now=later, ageing_seconds=60)
        other.rollback()
    # Then it aged the rows nobody held without waiting, and left the held one to the next tick
    assert {r.id: r.priority for r in executions(engine)} == {first: 15, held: 10, last: 15}
    with transaction(engine, write=True) as s:
        promote_ready(s, now=later, ageing_seconds=60)
    assert executions(engine, id=held)[0].priority == 15

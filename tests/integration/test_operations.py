"""Operator actions and run keys: each checks its starting state and leaves an audit line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from acas_batch.batch.operations import cancel, enqueue, hold, mark_succeeded, release, rerun
from acas_batch.batch.queue import ClaimLimits, claim, finish_success
from acas_batch.db import transaction
from acas_batch.errors import InvalidStateTransition, RunKeyAlreadySucceeded, ValidationError
from acas_batch.models import Audit
from acas_batch.models.enums import ExecutionState, TriggerKind
from tests.engine_helpers import NOW, define, executions


def _enqueue(engine: Engine, tag: str = "x", force: str | None = None) -> int:
    with transaction(engine, write=True) as s:
        return enqueue(
            s, "TEST_NOOP", {"tag": tag}, now=NOW, business_date=NOW.date(), actor="bob", force_reason=force
        ).id


def _succeed(engine: Engine, eid: int) -> None:
    with transaction(engine, write=True) as s:
        (c,) = claim(s, worker_id="w", now=NOW, lease_seconds=30, limits=ClaimLimits())
        assert c.execution_id == eid
        finish_success(s, c, now=NOW, result=None)


def _audit(engine: Engine) -> list[tuple[str, str, str | None, str | None]]:
    with transaction(engine) as s:
        return [(a.action, a.actor, a.target_id, a.reason) for a in s.scalars(select(Audit).order_by(Audit.id))]


def test_a_succeeded_run_key_is_refused_unless_forced_with_a_reason(engine: Engine) -> None:
    define(engine, "TEST_NOOP", max_concurrency=5)
    first = _enqueue(engine)
    _succeed(engine, first)
    with pytest.raises(RunKeyAlreadySucceeded, match=r"TEST_NOOP:2026-11-02/x already succeeded in execution 1"):
        _enqueue(engine)
    with pytest.raises(RunKeyAlreadySucceeded):
        _enqueue(engine, force="   ")
    assert _enqueue(engine, tag="other") > first  # a different run key runs freely
    forced = _enqueue(engine, force="bank file was rejected; re-sending")
    assert ("run.force", "bob", str(forced), "bank file was rejected; re-sending") in _audit(engine)
    _succeed_any(engine, forced)
    rows = {r.id: r for r in executions(engine)}
    assert rows[first].superseded_by_id == forced  # the one live success is now the forced run
    assert rows[forced].state is ExecutionState.SUCCEEDED and rows[forced].forced


def _succeed_any(engine: Engine, eid: int) -> None:
    with transaction(engine, write=True) as s:
        for c in claim(s, worker_id="w", now=NOW, lease_seconds=30, limit=5, limits=ClaimLimits()):
            if c.execution_id == eid:
                finish_success(s, c, now=NOW, result=None)


def test_hold_and_release_return_to_the_state_held_from(engine: Engine) -> None:
    define(engine, "TEST_NOOP")
    eid = _enqueue(engine)
    with transaction(engine, write=True) as s:
        hold(s, eid, actor="ann", reason="month end checks", now=NOW)
    row = executions(engine, id=eid)[0]
    assert (row.state, row.held_from) == (ExecutionState.HELD, ExecutionState.QUEUED)
    with transaction(engine, write=True) as s:
        assert claim(s, worker_id="w", now=NOW, lease_seconds=30, limits=ClaimLimits()) == []
    with (
        pytest.raises(InvalidStateTransition, match="cannot hold execution 1: it is held"),
        transaction(engine, write=True) as s,
    ):
        hold(s, eid, actor="ann", reason=None, now=NOW)
    with transaction(engine, write=True) as s:
        release(s, eid, actor="ann", reason="checked", now=NOW)
    row = executions(engine, id=eid)[0]
    assert (row.state, row.held_from) == (ExecutionState.QUEUED, None)
    assert [a[0] for a in _audit(engine)] == ["job.create", "execution.hold", "execution.release"]


def test_cancel_a_waiting_run_at_once_and_refuse_a_finished_one(engine: Engine) -> None:
    define(engine, "TEST_NOOP")
    eid = _enqueue(engine)
    with transaction(engine, write=True) as s:
        cancel(s, eid, actor="ann", reason="not today", now=NOW)
    assert executions(engine, id=eid)[0].state is ExecutionState.CANCELLED
    with pytest.raises(InvalidStateTransition), transaction(engine, write=True) as s:
        cancel(s, eid, actor="ann", reason=None, now=NOW)
    assert ("execution.cancel", "ann", str(eid), "not today") in _audit(engine)


def test_rerun_makes_a_new_execution_and_needs_force_after_success(engine: Engine) -> None:
    define(engine, "TEST_NOOP")
    eid = _enqueue(engine)
    with transaction(engine, write=True) as s:
        cancel(s, eid, actor="ann", reason=None, now=NOW)
        again = rerun(s, eid, actor="ann", reason="try again", now=NOW)
    assert (again.trigger, again.previous_execution_id, again.state) == (
        TriggerKind.RERUN,
        eid,
        ExecutionState.QUEUED,
    )
    _succeed(engine, again.id)
    with pytest.raises(RunKeyAlreadySucceeded), transaction(engine, write=True) as s:
        rerun(s, again.id, actor="ann", reason=None, now=NOW)
    with transaction(engine, write=True) as s:
        forced = rerun(s, again.id, actor="ann", reason="supplier data corrected", now=NOW, force=True)
    assert forced.forced
    assert ("run.force", "ann", str(forced.id), "supplier data corrected") in _audit(engine)


def test_mark_succeeded_needs_a_reason_and_settles_the_run(engine: Engine) -> None:
    define(engine, "TEST_NOOP")
    eid = _enqueue(engine)
    with pytest.raises(ValidationError, match="written reason"), transaction(engine, write=True) as s:
        mark_succeeded(s, eid, actor="ann", reason=" ", now=NOW)
    with transaction(engine, write=True) as s:
        mark_succeeded(s, eid, actor="ann", reason="posted by hand", now=NOW)
    row = executions(engine, id=eid)[0]
    assert (row.state, row.reason) == (ExecutionState.SUCCEEDED, "posted by hand")
    assert ("execution.mark_succeeded", "ann", str(eid), "posted by hand") in _audit(engine)
    with pytest.raises(RunKeyAlreadySucceeded):
        _enqueue(engine)


def test_a_claim_records_the_start_time_read_after_its_candidates_not_the_time_it_was_asked_at(
    engine: Engine,
) -> None:
    # A run triggered by an upstream that commits its finish while a claim is being prepared
    # must start after that finish: what is due is decided by ``now``, the recorded start
    # by the clock read once the candidates have been read.
    define(engine, "TEST_NOOP")
    eid = _enqueue(engine)
    later = NOW + timedelta(seconds=7)
    reads: list[datetime] = []

    def clock() -> datetime:
        reads.append(later)
        return later

    with transaction(engine, write=True) as s:
        (c,) = claim(s, worker_id="w", now=NOW, lease_seconds=30, limits=ClaimLimits(), clock=clock)
    assert (c.execution_id, c.started_at, c.lease_expires_at) == (eid, later, later + timedelta(seconds=30))
    row = executions(engine, id=eid)[0]
    assert row.started_at is not None and row.started_at.replace(tzinfo=UTC) == later
    assert reads == [later]  # read once, after the candidates were read
    # With nothing due, the clock is never read and nothing is claimed.
    with transaction(engine, write=True) as s:
        assert claim(s, worker_id="w", now=NOW, lease_seconds=30, limits=ClaimLimits(), clock=clock) == []
    assert reads == [later]

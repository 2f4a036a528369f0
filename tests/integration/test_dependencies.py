"""Dependencies: cycles refused by name, waits, deadlines, triggers, and the impact of a failure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from acas_batch.batch.dependencies import add_dependency, dependency_impact
from acas_batch.batch.executions import get_execution, job_by_name
from acas_batch.batch.operations import enqueue, mark_succeeded
from acas_batch.batch.queue import ClaimLimits, claim, finish_failure, finish_success, promote_ready
from acas_batch.db import transaction
from acas_batch.errors import DependencyCycle
from acas_batch.models.enums import DependencyCondition, DependencyKind, ExecutionState, TriggerKind
from tests.engine_helpers import NOW, define, executions


def _edge(engine: Engine, job: str, upstream: str, **kw: object) -> None:
    with transaction(engine, write=True) as s:
        add_dependency(s, job_by_name(s, job), job_by_name(s, upstream), now=NOW, **kw)  # type: ignore[arg-type]


def _enqueue(engine: Engine, job: str) -> int:
    with transaction(engine, write=True) as s:
        return enqueue(s, job, {}, now=NOW, business_date=NOW.date()).id


def _run(engine: Engine, eid: int, *, ok: bool) -> None:
    with transaction(engine, write=True) as s:
        claims = claim(s, worker_id="w", now=NOW, lease_seconds=30, limit=10, limits=ClaimLimits())
        (c,) = [c for c in claims if c.execution_id == eid]
        if ok:
            finish_success(s, c, now=NOW, result=None)
        else:
            finish_failure(s, eid, c.token, now=NOW, error_type="ValueError", error_message="bad", retry=False)


def _promote(engine: Engine, after: timedelta = timedelta(0)) -> None:
    with transaction(engine, write=True) as s:
        promote_ready(s, now=NOW + after)


def test_a_cycle_is_refused_and_named(engine: Engine) -> None:
    for name in ("DAILY", "PERIOD", "TRIAL"):
        define(engine, name, handler="TEST_WRITE")
    _edge(engine, "PERIOD", "DAILY")
    _edge(engine, "TRIAL", "PERIOD", kind=DependencyKind.TRIGGER)
    with pytest.raises(DependencyCycle, match="DAILY -> TRIAL -> PERIOD -> DAILY"):
        _edge(engine, "DAILY", "TRIAL")


def test_a_failed_upstream_blocks_its_dependants_and_the_impact_lists_them(engine: Engine) -> None:
    for name in ("DAILY", "PERIOD", "VAT"):
        define(engine, name, handler="TEST_WRITE", dependency_wait_seconds=3600)
    _edge(engine, "PERIOD", "DAILY")
    _edge(engine, "VAT", "PERIOD")
    daily, period, vat = (_enqueue(engine, n) for n in ("DAILY", "PERIOD", "VAT"))
    assert [r.state for r in executions(engine)] == [
        ExecutionState.QUEUED,
        ExecutionState.PENDING,
        ExecutionState.PENDING,
    ]
    _run(engine, daily, ok=False)
    _promote(engine)
    rows = {r.id: r for r in executions(engine)}
    assert rows[period].state is ExecutionState.PENDING  # it does not run
    assert rows[period].reason == "upstream DAILY failed"
    with transaction(engine) as s:
        impact = dependency_impact(s, get_execution(s, daily))
    assert impact.blocked_jobs == ("PERIOD", "VAT")
    assert impact.blocked_executions == (period, vat)
    # The wait has a limit: past it the execution fails with the reason.
    _promote(engine, timedelta(hours=1, seconds=1))
    rows = {r.id: r for r in executions(engine)}
    assert rows[period].state is ExecutionState.FAILED
    assert rows[period].error_type == "DependencyWaitExpired"
    assert "upstream DAILY failed" in (rows[period].error_message or "")


def test_a_wait_is_released_by_upstream_success_and_condition_completion_accepts_failure(engine: Engine) -> None:
    for name in ("UP", "ON_SUCCESS", "ON_COMPLETION", "ON_FAILURE"):
        define(engine, name, handler="TEST_WRITE")
    _edge(engine, "ON_SUCCESS", "UP")
    _edge(engine, "ON_COMPLETION", "UP", condition=DependencyCondition.COMPLETION)
    _edge(engine, "ON_FAILURE", "UP", condition=DependencyCondition.FAILURE)
    up = _enqueue(engine, "UP")
    ids = {n: _enqueue(engine, n) for n in ("ON_SUCCESS", "ON_COMPLETION", "ON_FAILURE")}
    _promote(engine)
    assert {r.state for r in executions(engine) if r.id != up} == {ExecutionState.PENDING}
    _run(engine, up, ok=False)
    _promote(engine)
    states = {r.id: r.state for r in executions(engine)}
    assert states[ids["ON_SUCCESS"]] is ExecutionState.PENDING
    assert states[ids["ON_COMPLETION"]] is ExecutionState.QUEUED
    assert states[ids["ON_FAILURE"]] is ExecutionState.QUEUED
    # An operator settles the upstream by hand: the success edge is released too.
    with transaction(engine, write=True) as s:
        mark_succeeded(s, up, actor="ann", reason="posted by hand", now=NOW)
    _promote(engine)
    assert {r.id: r.state for r in executions(engine)}[ids["ON_SUCCESS"]] is ExecutionState.QUEUED


def test_a_trigger_starts_the_downstream_job_once_for_the_same_business_date(engine: Engine) -> None:
    define(engine, "PAYMENT_RUN", handler="TEST_WRITE")
    define(engine, "REMITTANCE", handler="TEST_WRITE")
    _edge(engine, "REMITTANCE", "PAYMENT_RUN", kind=DependencyKind.TRIGGER)
    pay = _enqueue(engine, "PAYMENT_RUN")
    _run(engine, pay, ok=True)
    rows = executions(engine)
    assert len(rows) == 2
    remit = rows[1]
    assert (remit.trigger, remit.triggered_by_execution_id, remit.business_date, remit.state) == (
        TriggerKind.DEPENDENCY,
        pay,
        NOW.date(),
        ExecutionState.QUEUED,
    )
    assert remit.run_key == f"REMITTANCE:{NOW.date().isoformat()}"


def test_a_failed_upstream_does_not_trigger(engine: Engine) -> None:
    define(engine, "PAYMENT_RUN", handler="TEST_WRITE")
    define(engine, "REMITTANCE", handler="TEST_WRITE")
    _edge(engine, "REMITTANCE", "PAYMENT_RUN", kind=DependencyKind.TRIGGER)
    pay = _enqueue(engine, "PAYMENT_RUN")
    _run(engine, pay, ok=False)
    assert [r.id for r in executions(engine)] == [pay]


def test_a_late_period_close_triggers_the_reports_of_the_period_it_closed(engine: Engine) -> None:
    from datetime import UTC, date, datetime

    from sqlalchemy import select

    from acas_batch.batch.definitions import create_job
    from acas_batch.batch.dependencies import fire_triggers
    from acas_batch.jobs import load_standard_jobs
    from acas_batch.models import BatchExecution, Module

    load_standard_jobs()
    now = datetime(2026, 12, 6, 17, tzinfo=UTC)
    with transaction(engine, write=True) as s:
        for name in ("GL_PERIOD_CLOSE", "GL_TRIAL_BALANCE", "GL_BUDGET_VARIANCE"):
            create_job(s, name, module=Module.GL, now=now)
        for name in ("GL_TRIAL_BALANCE", "GL_BUDGET_VARIANCE"):
            add_dependency(
                s, job_by_name(s, name), job_by_name(s, "GL_PERIOD_CLOSE"), kind=DependencyKind.TRIGGER, now=now
            )
        # Given November closed on 6 December (its run key names November)
        close = BatchExecution(
            job_id=job_by_name(s, "GL_PERIOD_CLOSE").id,
            business_date=date(2026, 12, 6),
            state=ExecutionState.SUCCEEDED,
            trigger=TriggerKind.MANUAL,
            run_key="GL_PERIOD_CLOSE:month:2026-11",
            params={"period": "2026-11"},
            created_at=now,
        )
        s.add(close)
        s.flush()
        # When it triggers its reports
        created = fire_triggers(s, close, now=now, wait_default_seconds=60)
        # Then they report on November, not on the month of the business date
        got = {e.run_key: (e.params or {}).get("period") for e in created}
        assert got == {"GL_TRIAL_BALANCE:month:2026-11": "2026-11", "GL_BUDGET_VARIANCE:month:2026-11": "2026-11"}
        assert all(e.business_date == date(2026, 12, 6) for e in s.scalars(select(BatchExecution)))

"""What people do to executions: run now, hold, release, cancel, rerun, mark succeeded.

Each action is one transaction that checks the state it starts from and writes an
``audit_rec`` line (who, what, why). Parameters are validated before anything is created,
and a run key that already succeeded is refused unless forced with a written reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from acas_batch.batch.dependencies import fire_triggers
from acas_batch.batch.executions import (
    NewExecution,
    audit,
    get_execution,
    initial_state,
    insert_execution,
    job_by_name,
    live_success,
    run_key_for,
)
from acas_batch.batch.registry import REGISTRY, Registry
from acas_batch.errors import InvalidStateTransition, JobNotFound, RunKeyAlreadySucceeded, ValidationError
from acas_batch.models.batch import BatchExecution, BatchJob
from acas_batch.models.enums import ExecutionState, TriggerKind

HOLDABLE = (ExecutionState.PENDING, ExecutionState.QUEUED, ExecutionState.RETRY_WAIT)
CANCELLABLE = (*HOLDABLE, ExecutionState.HELD)
MARKABLE = (
    ExecutionState.PENDING,
    ExecutionState.QUEUED,
    ExecutionState.RETRY_WAIT,
    ExecutionState.HELD,
    ExecutionState.FAILED,
    ExecutionState.TIMED_OUT,
    ExecutionState.CANCELLED,
)


def parse_business_date(value: object) -> date:
    """A business date from a date, ``2026-11-30`` or the spec's integer ``20261130``.

    Raises:
        ValidationError: naming the value.
    """
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if text.isdigit() and len(text) == 8:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"business_date {value!r} is not a date (YYYY-MM-DD or YYYYMMDD)") from None


def local_date(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def enqueue(
    session: Session,
    job_name: str,
    params: Mapping[str, Any] | None = None,
    *,
    now: datetime,
    business_date: date,
    actor: str = "system",
    force_reason: str | None = None,
    wait_default_seconds: int = 86_400,
    registry: Registry = REGISTRY,
    seal: Callable[[str], str] | None = None,
) -> BatchExecution:
    """Create a manual execution of ``job_name`` after validating its parameters.

    Secret parameters are stored sealed by ``seal`` (see :mod:`acas_batch.secretbox`).

    Raises:
        JobNotFound: no such job, or its code is not registered.
        ValidationError: a parameter is invalid (the message names the field); the job is disabled.
        RunKeyAlreadySucceeded: the run key succeeded before and no ``force_reason`` was given.
    """
    job = job_by_name(session, job_name)
    if not job.enabled:
        raise ValidationError(f"job {job_name!r} is disabled")
    if job.handler not in registry:
        raise JobNotFound(f"job {job_name!r}: no code is registered under {job.handler!r}")
    raw = {**(job.default_params or {}), **dict(params or {})}
    spec = registry.get(job.handler)
    model = spec.validate_params(raw)
    stored_params = spec.dump_params(model, seal)
    run_key = run_key_for(job, model, business_date, registry, session)
    done = live_success(session, run_key)
    forced = False
    if done is not None:
        if not (force_reason and force_reason.strip()):
            raise RunKeyAlreadySucceeded(
                f"run key {run_key} already succeeded in execution {done.id}; force it with a written reason"
            )
        forced = True
    row = insert_execution(
        session,
        job,
        NewExecution(
            business_date=business_date,
            trigger=TriggerKind.MANUAL,
            run_key=run_key,
            params=stored_params,
            state=initial_state(session, job),
            forced=forced,
            reason=force_reason if forced else None,
            created_by=actor,
        ),
        now=now,
        wait_default_seconds=wait_default_seconds,
    )
    if forced:
        audit(
            session,
            actor=actor,
            action="run.force",
            target_type="execution",
            target_id=row.id,
            now=now,
            reason=force_reason,
            details={"run_key": run_key, "supersedes": done.id if done else None},
        )
    return row


def _check(row: BatchExecution, allowed: tuple[ExecutionState, ...], action: str) -> None:
    if row.state not in allowed:
        raise InvalidStateTransition(
            f"cannot {action} execution {row.id}: it is {row.state.value} "
            f"(allowed from {', '.join(s.value for s in allowed)})"
        )


def hold(session: Session, execution_id: int, *, actor: str, reason: str | None, now: datetime) -> BatchExecution:
    """Put a not-yet-running execution on hold; RELEASE puts it back where it was."""
    row = get_execution(session, execution_id, for_update=True)
    _check(row, HOLDABLE, "hold")
    row.held_from, row.state, row.reason = row.state, ExecutionState.HELD, reason or "held by an operator"
    audit(
        session, actor=actor, action="execution.hold", target_type="execution", target_id=row.id, now=now, reason=reason
    )
    return row


def release(session: Session, execution_id: int, *, actor: str, reason: str | None, now: datetime) -> BatchExecution:
    """Return a HELD execution to the state it was held from."""
    row = get_execution(session, execution_id, for_update=True)
    _check(row, (ExecutionState.HELD,), "release")
    back = row.held_from or ExecutionState.QUEUED
    row.state, row.held_from, row.reason = back, None, None
    if back is ExecutionState.QUEUED:
        row.queued_at = now
        from acas_batch.batch.executions import notify_workers

        notify_workers(session)
    audit(
        session,
        actor=actor,
        action="execution.release",
        target_type="execution",
        target_id=row.id,
        now=now,
        reason=reason,
    )
    return row


def cancel(session: Session, execution_id: int, *, actor: str, reason: str | None, now: datetime) -> BatchExecution:
    """Cancel an execution. A waiting one is CANCELLED at once; a running one is terminated by its worker."""
    row = get_execution(session, execution_id, for_update=True)
    if row.state is ExecutionState.RUNNING:
        row.cancel_requested = True
    else:
        _check(row, CANCELLABLE, "cancel")
        row.state, row.finished_at, row.held_from = ExecutionState.CANCELLED, now, None
        row.reason = reason or "cancelled by an operator"
    audit(
        session,
        actor=actor,
        action="execution.cancel",
        target_type="execution",
        target_id=row.id,
        now=now,
        reason=reason,
    )
    return row


def rerun(
    session: Session,
    execution_id: int,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
    force: bool = False,
    wait_default_seconds: int = 86_400,
) -> BatchExecution:
    """Run a finished execution's work again, as a new execution (trigger RERUN).

    Raises:
        InvalidStateTransition: the execution has not finished.
        RunKeyAlreadySucceeded: its run key succeeded and ``force`` (with a reason) was not given.
    """
    row = get_execution(session, execution_id)
    if not row.state.is_terminal:
        raise InvalidStateTransition(f"cannot rerun execution {row.id}: it is {row.state.value}, not finished")
    done = live_success(session, row.run_key)
    if done is not None and not (force and reason and reason.strip()):
        raise RunKeyAlreadySucceeded(
            f"run key {row.run_key} already succeeded in execution {done.id}; rerun with force and a written reason"
        )
    job = session.get_one(BatchJob, row.job_id)
    new = insert_execution(
        session,
        job,
        NewExecution(
            business_date=row.business_date,
            trigger=TriggerKind.RERUN,
            run_key=row.run_key,
            params=row.params,
            state=initial_state(session, job),
            nominal_time=row.nominal_time,
            previous_execution_id=row.id,
            forced=done is not None,
            reason=reason,
            created_by=actor,
        ),
        now=now,
        wait_default_seconds=wait_default_seconds,
    )
    audit(
        session,
        actor=actor,
        action="run.force" if done is not None else "execution.rerun",
        target_type="execution",
        target_id=new.id,
        now=now,
        reason=reason,
        details={"rerun_of": row.id, "run_key": row.run_key},
    )
    return new


def mark_succeeded(
    session: Session, execution_id: int, *, actor: str, reason: str, now: datetime, wait_default_seconds: int = 86_400
) -> BatchExecution:
    """Record that an execution's work was done by other means; dependants may proceed.

    Raises:
        ValidationError: no reason was given.
        InvalidStateTransition: it is running or already succeeded.
        RunKeyAlreadySucceeded: another execution already holds the run key's success.
    """
    if not reason or not reason.strip():
        raise ValidationError("marking an execution succeeded needs a written reason")
    row = get_execution(session, execution_id, for_update=True)
    _check(row, MARKABLE, "mark succeeded")
    done = live_success(session, row.run_key)
    if done is not None:
        raise RunKeyAlreadySucceeded(f"run key {row.run_key} already succeeded in execution {done.id}")
    # A pending retry of the same run must not run after the operator settled it.
    session.execute(
        update(BatchExecution)
        .where(
            (
                (BatchExecution.root_execution_id == (row.root_execution_id or row.id))
                | (BatchExecution.id == row.root_execution_id)
            ),
            BatchExecution.id != row.id,
            BatchExecution.state.in_(CANCELLABLE),
        )
        .values(
            state=ExecutionState.CANCELLED, finished_at=now, reason=f"superseded: execution {row.id} marked succeeded"
        )
        .execution_options(synchronize_session=False)
    )
    row.state, row.held_from, row.finished_at, row.reason = ExecutionState.SUCCEEDED, None, now, reason
    session.flush()
    audit(
        session,
        actor=actor,
        action="execution.mark_succeeded",
        target_type="execution",
        target_id=row.id,
        now=now,
        reason=reason,
        details={"run_key": row.run_key},
    )
    fire_triggers(session, row, now=now, wait_default_seconds=wait_default_seconds)
    return row


__all__ = [
    "cancel",
    "enqueue",
    "hold",
    "job_by_name",
    "local_date",
    "mark_succeeded",
    "parse_business_date",
    "release",
    "rerun",
]

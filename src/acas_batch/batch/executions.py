"""Creating executions and reading them: the one place rows are inserted.

An execution is created PENDING when it has upstream jobs to wait for, QUEUED when it
can run at once, RETRY_WAIT for a retry that waits for its backoff, HELD when its
schedule starts held (or an operator decides), SKIPPED with a reason for an occurrence
that is deliberately not run. On PostgreSQL, making work QUEUED notifies idle workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import exists, select, text
from sqlalchemy.orm import Session

from acas_batch.batch.registry import REGISTRY, Registry
from acas_batch.errors import ExecutionNotFound, JobNotFound
from acas_batch.models.audit_chain import append_audit
from acas_batch.models.batch import BatchDependency, BatchExecution, BatchJob
from acas_batch.models.enums import DependencyKind, ExecutionState, TriggerKind

#: PostgreSQL channel idle workers LISTEN on.
NOTIFY_CHANNEL = "acas_batch_queued"

#: States in which an execution still may run (or is running).
LIVE_STATES = (
    ExecutionState.PENDING,
    ExecutionState.QUEUED,
    ExecutionState.RUNNING,
    ExecutionState.RETRY_WAIT,
    ExecutionState.HELD,
)
SUCCESS_STATES = (ExecutionState.SUCCEEDED, ExecutionState.WARNING)


def notify_workers(session: Session) -> None:
    """Wake idle workers (PostgreSQL); delivered when the transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


def job_by_name(session: Session, name: str) -> BatchJob:
    job = session.scalars(select(BatchJob).where(BatchJob.name == name)).one_or_none()
    if job is None:
        raise JobNotFound(f"no job is named {name!r}")
    return job


def get_execution(session: Session, execution_id: int, *, for_update: bool = False) -> BatchExecution:
    stmt = select(BatchExecution).where(BatchExecution.id == execution_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).one_or_none()
    if row is None:
        raise ExecutionNotFound(f"no execution has id {execution_id}")
    return row


def has_wait_dependencies(session: Session, job_id: int) -> bool:
    return bool(
        session.scalar(
            select(exists().where(BatchDependency.job_id == job_id, BatchDependency.kind == DependencyKind.WAIT))
        )
    )


def run_key_for(
    job: BatchJob, params: BaseModel | dict[str, Any], business_date: date, registry: Registry, session: Session
) -> str:
    """The run key: the job code's own rule when registered (read from the books through
    ``session`` when the code says so), else job name and business date."""
    if job.handler in registry:
        spec = registry.get(job.handler)
        model = params if isinstance(params, BaseModel) else spec.validate_params(params)
        if spec.books_run_key is not None:
            return f"{job.name}:{spec.books_run_key(session, model, business_date)}"
        return f"{job.name}:{spec.run_key(model, business_date)}"
    return f"{job.name}:{business_date.isoformat()}"


def live_success(session: Session, run_key: str) -> BatchExecution | None:
    """The execution that holds the run key's live success, if any."""
    return session.scalars(
        select(BatchExecution).where(
            BatchExecution.run_key == run_key,
            BatchExecution.state == ExecutionState.SUCCEEDED,
            BatchExecution.superseded_by_id.is_(None),
        )
    ).first()


@dataclass(frozen=True)
class NewExecution:
    """Everything that identifies a new execution besides its job."""

    business_date: date
    trigger: TriggerKind
    run_key: str
    params: dict[str, Any]
    state: ExecutionState = ExecutionState.QUEUED
    nominal_time: datetime | None = None
    schedule_id: int | None = None
    attempt: int = 1
    infra_failures: int = 0
    root_execution_id: int | None = None
    previous_execution_id: int | None = None
    triggered_by_execution_id: int | None = None
    not_before: datetime | None = None
    checkpoint: dict[str, Any] | None = None
    reason: str | None = None
    forced: bool = False
    held_from: ExecutionState | None = None
    created_by: str | None = None
    priority: int | None = None


def insert_execution(
    session: Session, job: BatchJob, new: NewExecution, *, now: datetime, wait_default_seconds: int
) -> BatchExecution:
    """Insert one execution row (flushed, so it has an id)."""
    wait_seconds = job.dependency_wait_seconds or wait_default_seconds
    row = BatchExecution(
        job_id=job.id,
        schedule_id=new.schedule_id,
        nominal_time=new.nominal_time,
        business_date=new.business_date,
        state=new.state,
        held_from=new.held_from,
        trigger=new.trigger,
        run_key=new.run_key,
        params=new.params,
        priority=job.priority if new.priority is None else new.priority,
        attempt=new.attempt,
        infra_failures=new.infra_failures,
        root_execution_id=new.root_execution_id,
        previous_execution_id=new.previous_execution_id,
        triggered_by_execution_id=new.triggered_by_execution_id,
        fencing_token=0,
        cancel_requested=False,
        created_at=now,
        queued_at=now if new.state is ExecutionState.QUEUED else None,
        not_before=new.not_before,
        wait_deadline=now + timedelta(seconds=wait_seconds) if new.state is ExecutionState.PENDING else None,
        finished_at=now if new.state.is_terminal else None,
        checkpoint=new.checkpoint,
        reason=new.reason,
        forced=new.forced,
        created_by=new.created_by,
    )
    session.add(row)
    session.flush()
    if new.state is ExecutionState.QUEUED:
        notify_workers(session)
    return row


def initial_state(session: Session, job: BatchJob) -> ExecutionState:
    """PENDING if the job waits for upstream jobs, else QUEUED."""
    return ExecutionState.PENDING if has_wait_dependencies(session, job.id) else ExecutionState.QUEUED


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: object,
    now: datetime,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one line to the (hash-chained) audit trail, in the caller's transaction."""
    append_audit(
        session,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        now=now,
        reason=reason,
        details=details,
    )


def chain_of(session: Session, execution: BatchExecution) -> list[BatchExecution]:
    """Every attempt of the execution's run (the first and its retries), oldest first."""
    root = execution.root_execution_id or execution.id
    return list(
        session.scalars(
            select(BatchExecution)
            .where((BatchExecution.id == root) | (BatchExecution.root_execution_id == root))
            .order_by(BatchExecution.id)
        )
    )


__all__ = [
    "LIVE_STATES",
    "NOTIFY_CHANNEL",
    "REGISTRY",
    "SUCCESS_STATES",
    "NewExecution",
    "audit",
    "chain_of",
    "get_execution",
    "initial_state",
    "insert_execution",
    "job_by_name",
    "live_success",
    "notify_workers",
    "run_key_for",
]

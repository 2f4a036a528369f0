"""Dependencies between jobs: waits, triggers, cycle checks and the impact of a failure.

A WAIT edge makes an execution of the downstream job wait for an execution of the
upstream job of the same business date (or within ``lookback_days`` before it); its
condition says which upstream outcome counts. A TRIGGER edge creates the downstream
execution when an upstream one finishes with the matching outcome (remittance advices
after the payment run). Edges are checked for cycles when added; the error names the cycle.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.batch.executions import (
    LIVE_STATES,
    SUCCESS_STATES,
    NewExecution,
    initial_state,
    insert_execution,
    live_success,
    run_key_for,
)
from acas_batch.batch.registry import REGISTRY, Registry, Upstream
from acas_batch.errors import DependencyCycle, ValidationError
from acas_batch.models.batch import BatchDependency, BatchExecution, BatchJob
from acas_batch.models.enums import DependencyCondition, DependencyKind, ExecutionState, TriggerKind

FAILURE_STATES = (ExecutionState.FAILED, ExecutionState.TIMED_OUT)


def _edges(session: Session) -> dict[int, set[int]]:
    """job id → the job ids it depends on (any kind)."""
    graph: dict[int, set[int]] = defaultdict(set)
    for job_id, upstream in session.execute(select(BatchDependency.job_id, BatchDependency.depends_on_job_id)):
        graph[job_id].add(upstream)
    return graph


def _find_path(graph: dict[int, set[int]], start: int, goal: int) -> list[int] | None:
    """A path start → ... → goal following "depends on" edges, or None."""
    stack: list[tuple[int, list[int]]] = [(start, [start])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node == goal:
            return path
        if node in seen:
            continue
        seen.add(node)
        stack.extend((nxt, [*path, nxt]) for nxt in sorted(graph.get(node, ())))
    return None


def add_dependency(
    session: Session,
    job: BatchJob,
    upstream: BatchJob,
    *,
    now: datetime,
    kind: DependencyKind = DependencyKind.WAIT,
    condition: DependencyCondition = DependencyCondition.SUCCESS,
    lookback_days: int = 0,
    is_standard: bool = False,
) -> BatchDependency:
    """Make ``job`` depend on ``upstream``.

    Raises:
        DependencyCycle: the edge would close a cycle; the message lists it.
        ValidationError: a job would depend on itself, or lookback is negative.
    """
    if job.id == upstream.id:
        raise ValidationError(f"job {job.name!r} cannot depend on itself")
    if lookback_days < 0:
        raise ValidationError(f"lookback_days must be 0 or more, not {lookback_days}")
    graph = _edges(session)
    path = _find_path(graph, upstream.id, job.id)
    if path is not None:
        names = {i: n for i, n in session.execute(select(BatchJob.id, BatchJob.name).where(BatchJob.id.in_(path)))}  # noqa: C416
        cycle = " -> ".join([job.name, *(names[i] for i in path)])
        raise DependencyCycle(f"dependency {job.name} after {upstream.name} would close the cycle {cycle}")
    existing = session.scalars(
        select(BatchDependency).where(
            BatchDependency.job_id == job.id,
            BatchDependency.depends_on_job_id == upstream.id,
            BatchDependency.kind == kind,
        )
    ).one_or_none()
    if existing is not None:
        existing.condition = condition
        existing.lookback_days = lookback_days
        return existing
    edge = BatchDependency(
        job_id=job.id,
        depends_on_job_id=upstream.id,
        kind=kind,
        condition=condition,
        lookback_days=lookback_days,
        is_standard=is_standard,
        created_at=now,
    )
    session.add(edge)
    session.flush()
    return edge


def remove_dependency(session: Session, job: BatchJob, upstream: BatchJob, kind: DependencyKind) -> bool:
    edge = session.scalars(
        select(BatchDependency).where(
            BatchDependency.job_id == job.id,
            BatchDependency.depends_on_job_id == upstream.id,
            BatchDependency.kind == kind,
        )
    ).one_or_none()
    if edge is None:
        return False
    session.delete(edge)
    return True


@dataclass(frozen=True)
class WaitStatus:
    """Whether an execution's upstream conditions hold, and if not, what blocks it."""

    satisfied: bool
    waiting_for: tuple[str, ...] = ()
    blocked_by_failure: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        parts = [f"waiting for {n}" for n in self.waiting_for]
        parts += [f"upstream {n} failed" for n in self.blocked_by_failure]
        return "; ".join(parts)


def condition_met(condition: DependencyCondition, states: list[ExecutionState]) -> bool | None:
    """True if met, False if it can no longer be met by these runs, None if still open."""
    live = any(s in LIVE_STATES for s in states)
    success = any(s in SUCCESS_STATES for s in states)
    if condition is DependencyCondition.SUCCESS:
        if success:
            return True
        return None if live or not states else False
    if condition is DependencyCondition.COMPLETION:
        return None if live or not states else True
    # FAILURE
    if success:
        return False
    if live or not states:
        return None
    return any(s in FAILURE_STATES for s in states)


def wait_status(session: Session, execution: BatchExecution) -> WaitStatus:
    """Check every WAIT edge of the execution's job against upstream runs of its business date."""
    rows = session.execute(
        select(BatchDependency, BatchJob.name)
        .join(BatchJob, BatchJob.id == BatchDependency.depends_on_job_id)
        .where(BatchDependency.job_id == execution.job_id, BatchDependency.kind == DependencyKind.WAIT)
    ).all()
    waiting: list[str] = []
    failed: list[str] = []
    for edge, name in rows:
        earliest = execution.business_date - timedelta(days=edge.lookback_days)
        states = list(
            session.scalars(
                select(BatchExecution.state).where(
                    BatchExecution.job_id == edge.depends_on_job_id,
                    BatchExecution.business_date >= earliest,
                    BatchExecution.business_date <= execution.business_date,
                )
            )
        )
        met = condition_met(edge.condition, states)
        if met is None:
            waiting.append(name)
        elif met is False:
            failed.append(name)
    return WaitStatus(not waiting and not failed, tuple(waiting), tuple(failed))


def downstream_jobs(session: Session, job_id: int) -> list[int]:
    """Every job that depends, directly or through others, on ``job_id`` (breadth first)."""
    reverse: dict[int, set[int]] = defaultdict(set)
    for down, up in session.execute(select(BatchDependency.job_id, BatchDependency.depends_on_job_id)):
        reverse[up].add(down)
    order: list[int] = []
    frontier = [job_id]
    seen = {job_id}
    while frontier:
        nxt: list[int] = []
        for node in frontier:
            for down in sorted(reverse.get(node, ())):
                if down not in seen:
                    seen.add(down)
                    order.append(down)
                    nxt.append(down)
        frontier = nxt
    return order


@dataclass(frozen=True)
class Impact:
    """What a failure blocks: the downstream jobs and their waiting executions."""

    execution_id: int
    job_name: str
    blocked_jobs: tuple[str, ...]
    blocked_executions: tuple[int, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "execution_id": self.execution_id,
            "job_name": self.job_name,
            "blocked_jobs": list(self.blocked_jobs),
            "blocked_executions": list(self.blocked_executions),
        }


def dependency_impact(session: Session, execution: BatchExecution) -> Impact:
    """Answer "what is blocked by this failure": downstream jobs of the same business date."""
    job_ids = downstream_jobs(session, execution.job_id)
    names = {i: n for i, n in session.execute(select(BatchJob.id, BatchJob.name))}  # noqa: C416
    blocked = list(
        session.scalars(
            select(BatchExecution.id)
            .where(
                BatchExecution.job_id.in_(job_ids),
                BatchExecution.business_date == execution.business_date,
                BatchExecution.state.in_((ExecutionState.PENDING, ExecutionState.HELD)),
            )
            .order_by(BatchExecution.id)
        )
    )
    return Impact(execution.id, names[execution.job_id], tuple(names[j] for j in job_ids), tuple(blocked))


def _trigger_matches(condition: DependencyCondition, state: ExecutionState) -> bool:
    if condition is DependencyCondition.SUCCESS:
        return state in SUCCESS_STATES
    if condition is DependencyCondition.FAILURE:
        return state in FAILURE_STATES
    return state.is_terminal


class FinishedRun(Protocol):
    """What a trigger needs to know about the run that finished."""

    @property
    def id(self) -> int: ...

    @property
    def job_id(self) -> int: ...

    @property
    def state(self) -> ExecutionState: ...

    @property
    def business_date(self) -> date: ...

    @property
    def nominal_time(self) -> datetime | None: ...

    @property
    def run_key(self) -> str: ...


def _inherited(job: BatchJob, execution: FinishedRun, registry: Registry) -> dict[str, Any]:
    """What the triggered job's code takes from the run that triggered it (nothing if it says nothing)."""
    if job.handler not in registry:
        return {}
    spec = registry.get(job.handler)
    if spec.from_upstream is None:
        return {}
    return spec.from_upstream(Upstream(execution.id, execution.run_key, execution.business_date))


def fire_triggers(
    session: Session,
    execution: FinishedRun,
    *,
    now: datetime,
    wait_default_seconds: int,
    registry: Registry = REGISTRY,
) -> list[BatchExecution]:
    """Create the executions that TRIGGER edges start on this final outcome.

    Called once per run, in the transaction that records its final state, so a trigger
    fires exactly once. A downstream run key that already succeeded is recorded SKIPPED
    with the reason, never silently dropped.
    """
    edges = session.execute(
        select(BatchDependency, BatchJob)
        .join(BatchJob, BatchJob.id == BatchDependency.job_id)
        .where(BatchDependency.depends_on_job_id == execution.job_id, BatchDependency.kind == DependencyKind.TRIGGER)
        .order_by(BatchDependency.id)
    ).all()
    created: list[BatchExecution] = []
    for edge, job in edges:
        if not job.enabled or not _trigger_matches(edge.condition, execution.state):
            continue
        params = dict(job.default_params or {}) | _inherited(job, execution, registry)
        state = initial_state(session, job)
        reason = None
        try:
            run_key = run_key_for(job, params, execution.business_date, registry, session)
        except ValidationError as exc:
            run_key, state, reason = (
                f"{job.name}:{execution.business_date.isoformat()}",
                ExecutionState.FAILED,
                str(exc),
            )
        if state is not ExecutionState.FAILED and (done := live_success(session, run_key)) is not None:
            state, reason = ExecutionState.SKIPPED, f"run key {run_key} already succeeded in execution {done.id}"
        created.append(
            insert_execution(
                session,
                job,
                NewExecution(
                    business_date=execution.business_date,
                    trigger=TriggerKind.DEPENDENCY,
                    run_key=run_key,
                    params=params,
                    state=state,
                    nominal_time=execution.nominal_time,
                    triggered_by_execution_id=execution.id,
                    reason=reason,
                ),
                now=now,
                wait_default_seconds=wait_default_seconds,
            )
        )
    return created

"""The queue: claim, lease, heartbeat, fenced finish, retries and recovery.

This module holds the SQL that decides correctness; it is written once, here.

* **Claim** moves QUEUED rows to RUNNING with a lease (owner, expiry) and a new fencing
  token. PostgreSQL: candidates are locked ``FOR UPDATE SKIP LOCKED``, then the
  candidates' job rows (``FOR NO KEY UPDATE``, in id order) and their resources
  (transaction advisory locks, in name order), so concurrency limits and resources are
  checked against a stable view; locks are always taken in that global order, so claims
  never deadlock. SQLite ignores ``FOR UPDATE``: the caller's ``BEGIN IMMEDIATE`` makes the
  claim the only writer.
* **Every later write** by the worker (heartbeat, checkpoint, finish) is guarded by
  ``state = 'running' AND fencing_token = :token``: a worker that lost its lease (it was
  recovered, its token bumped) writes nothing.
* **Recovery** takes RUNNING rows whose lease expired, fails them (bumping the token) and
  applies the job's recovery policy: a new attempt (resuming from the checkpoint), a
  held attempt for an operator, or nothing more.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, case, exists, func, literal, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from acas_batch.batch.dependencies import fire_triggers, wait_status
from acas_batch.batch.events import ExecutionEvent
from acas_batch.batch.executions import NewExecution, insert_execution, notify_workers
from acas_batch.batch.resources import ResourceClaim, conflicts, parse_resources
from acas_batch.batch.retry import INFRA_RETRY, LEASE_EXPIRED, infra_delay, is_infrastructure, policy_of
from acas_batch.errors import LeaseLost
from acas_batch.models.base import UTCDateTime
from acas_batch.models.batch import BatchDependency, BatchExecution, BatchJob
from acas_batch.models.enums import DependencyKind, ExecutionState, RecoveryPolicy, TriggerKind

_GLOBAL_LIMIT_LOCK = 0x41434153  # advisory lock key for the global running limit ("ACAS")

Events = list[tuple[str, ExecutionEvent]]


@dataclass(frozen=True)
class Claim:
    """An execution a worker now holds: run it, renew it, finish it with ``token``.

    It carries what the job needs to start (a snapshot taken by the claim itself), so the
    job's process reads nothing before it runs.
    """

    execution_id: int
    token: int
    job_id: int
    job_name: str
    handler: str
    timeout_seconds: int | None
    attempt: int
    lease_expires_at: datetime
    business_date: date
    nominal_time: datetime | None
    started_at: datetime
    run_key: str
    params: dict[str, Any]
    default_params: dict[str, Any]
    checkpoint: dict[str, Any] | None
    forced: bool
    has_triggers: bool = True  # False: no TRIGGER edge started from this job when it was claimed


@dataclass
class ClaimLimits:
    """What bounds a claim besides the queue: the global limit and resource capacities."""

    max_running: int = 0
    slot_capacity: dict[str, int] = field(default_factory=dict)


def _event(row: BatchExecution, job_name: str, now: datetime, **extra: Any) -> ExecutionEvent:
    return ExecutionEvent(execution_id=row.id, job_name=job_name, state=row.state, at=now, attempt=row.attempt, **extra)


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _resource_lock_key(name: str) -> int:
    return zlib.crc32(f"acas-batch resource {name}".encode()) - 2**31


def claim(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    lease_seconds: float,
    limit: int = 1,
    limits: ClaimLimits | None = None,
    worker_pid: int | None = None,
    events: Events | None = None,
    clock: Callable[[], datetime] | None = None,
) -> list[Claim]:
    """Claim up to ``limit`` runnable executions, highest priority first (then oldest).

    Skips an execution whose job is at its concurrency limit or whose resources are
    taken; such an execution stays QUEUED for a later claim. ``now`` decides what is due;
    the start time recorded is ``clock()`` read once the candidates have been read (``now``
    without a clock). On PostgreSQL each statement sees what was committed before it began,
    so a run triggered by an upstream that committed its finish while this claim was being
    prepared starts after that finish, not at a ``now`` read before it.
    """
    limits = limits or ClaimLimits()
    pg = _is_pg(session)
    if pg and limits.max_running:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _GLOBAL_LIMIT_LOCK})
    cand_stmt = (
        select(BatchExecution.id, BatchExecution.job_id, BatchExecution.priority)
        .where(
            BatchExecution.state == ExecutionState.QUEUED,
            (BatchExecution.not_before.is_(None)) | (BatchExecution.not_before <= now),
        )
        .order_by(BatchExecution.priority.desc(), BatchExecution.id)
        .limit(max(limit * 4, limit + 8))
    )
    if pg:
        cand_stmt = cand_stmt.with_for_update(skip_locked=True)
    # One statement: the candidates (locked first, SKIP LOCKED), then their jobs (locked in id
    # order), with whether a TRIGGER edge starts from each job.
    cand = cand_stmt.cte("candidates").prefix_with("MATERIALIZED", dialect="postgresql")
    starts_triggers = (
        exists()
        .where(BatchDependency.kind == DependencyKind.TRIGGER, BatchDependency.depends_on_job_id == BatchJob.id)
        .label("starts_triggers")
    )
    stmt = (
        select(cand.c.id, cand.c.priority, BatchJob, starts_triggers)
        .join(BatchJob, BatchJob.id == cand.c.job_id)
        .order_by(BatchJob.id, cand.c.id)
    )
    if pg:
        # FOR NO KEY UPDATE (inserts referring to the job still pass), of the job rows only
        stmt = stmt.with_for_update(key_share=True, of=BatchJob)
    jobs: dict[int, BatchJob] = {}
    triggering: set[int] = set()
    candidates: list[tuple[int, int, int]] = []  # (priority, id, job id)
    for eid, priority, j, triggers in session.execute(stmt):
        jobs[j.id] = j
        candidates.append((priority, eid, j.id))
        if triggers:
            triggering.add(j.id)
    if not candidates:
        return []
    candidates.sort(key=lambda c: (-c[0], c[1]))  # highest priority first, then oldest
    wanted = {j.id: parse_resources(j.resources) for j in jobs.values()}
    names = sorted({r.name for claims in wanted.values() for r in claims})
    if pg:
        for name in names:
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _resource_lock_key(name)})
    counted = select(BatchExecution.job_id, func.count()).where(BatchExecution.state == ExecutionState.RUNNING)
    if not limits.max_running and not names:  # only the candidates' jobs matter
        counted = counted.where(BatchExecution.job_id.in_(list(jobs)))
    running = session.execute(counted.group_by(BatchExecution.job_id))
    per_job: Counter[int] = Counter({job_id: n for job_id, n in running})  # noqa: C416 (a Result is not a mapping)
    total = sum(per_job.values())
    held: list[ResourceClaim] = []
    if names:
        running_jobs = session.scalars(select(BatchJob).where(BatchJob.id.in_(list(per_job)))).all()
        for rj in running_jobs:
            held.extend(parse_resources(rj.resources) * per_job[rj.id])
    chosen: list[tuple[int, BatchJob]] = []
    for _, cand_id, cand_job_id in candidates:
        if len(chosen) >= limit or (limits.max_running and total >= limits.max_running):
            break
        job = jobs[cand_job_id]
        if per_job[job.id] >= job.max_concurrency:
            continue
        if wanted[job.id] and conflicts(wanted[job.id], held, limits.slot_capacity):
            continue
        chosen.append((cand_id, job))
        per_job[job.id] += 1
        total += 1
        held.extend(wanted[job.id])
    if not chosen:
        return []
    if clock is not None:
        now = max(now, clock())
    expires = now + timedelta(seconds=lease_seconds)
    ids = [eid for eid, _ in chosen]
    result = session.execute(
        update(BatchExecution)
        .where(BatchExecution.id.in_(ids), BatchExecution.state == ExecutionState.QUEUED)
        .values(
            state=ExecutionState.RUNNING,
            lease_owner=worker_id,
            lease_expires_at=expires,
            fencing_token=BatchExecution.fencing_token + 1,
            heartbeat_at=now,
            started_at=now,
            worker_pid=worker_pid,
        )
        .returning(
            BatchExecution.id,
            BatchExecution.fencing_token,
            BatchExecution.attempt,
            BatchExecution.business_date,
            BatchExecution.nominal_time,
            BatchExecution.run_key,
            BatchExecution.params,
            BatchExecution.checkpoint,
            BatchExecution.forced,
        )
        .execution_options(synchronize_session=False)
    ).all()
    by_id = dict(chosen)
    claims = []
    for eid, token, attempt, bdate, nominal, run_key, params, checkpoint, forced in sorted(
        result, key=lambda r: ids.index(r[0])
    ):
        job = by_id[eid]
        claims.append(
            Claim(
                eid,
                token,
                job.id,
                job.name,
                job.handler,
                job.timeout_seconds,
                attempt,
                expires,
                bdate,
                nominal,
                now,
                run_key,
                params or {},
                dict(job.default_params or {}),
                checkpoint,
                forced,
                job.id in triggering,
            )
        )
        if events is not None:
            events.append(
                (
                    "on_claimed",
                    ExecutionEvent(eid, job.name, ExecutionState.RUNNING, now, attempt, worker_id=worker_id),
                )
            )
    return claims


@dataclass(frozen=True)
class Renewal:
    """What a heartbeat learned: leases lost, and cancellations requested."""

    lost: frozenset[int]
    cancel_requested: frozenset[int]


def renew(session: Session, *, worker_id: str, held: dict[int, int], now: datetime, lease_seconds: float) -> Renewal:
    """Extend the leases of ``held`` (execution id → token) that this worker still holds."""
    if not held:
        return Renewal(frozenset(), frozenset())
    rows = session.execute(
        update(BatchExecution)
        .where(
            BatchExecution.id.in_(list(held)),
            BatchExecution.state == ExecutionState.RUNNING,
            BatchExecution.lease_owner == worker_id,
        )
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds), heartbeat_at=now)
        .returning(BatchExecution.id, BatchExecution.fencing_token, BatchExecution.cancel_requested)
        .execution_options(synchronize_session=False)
    ).all()
    kept = {eid for eid, token, _ in rows if held.get(eid) == token}
    cancels = {eid for eid, token, cancel in rows if cancel and held.get(eid) == token}
    lost = {eid for eid, token, _ in rows if held.get(eid) != token}
    missing = set(held) - {eid for eid, _, _ in rows}
    if missing:
        # Not running any more: lost if someone else changed it (recovery bumps the token);
        # finished with our own token means our job has just recorded its outcome.
        for eid, token, owner in session.execute(
            select(BatchExecution.id, BatchExecution.fencing_token, BatchExecution.lease_owner).where(
                BatchExecution.id.in_(missing)
            )
        ):
            if token != held[eid] or owner != worker_id:
                lost.add(eid)
    return Renewal(frozenset(lost - kept), frozenset(cancels))


def release_claim(session: Session, claim: Claim) -> bool:
    """Put a claimed execution that never started back in the queue, if the lease is still ours."""
    result = session.execute(
        update(BatchExecution)
        .where(
            BatchExecution.id == claim.execution_id,
            BatchExecution.state == ExecutionState.RUNNING,
            BatchExecution.fencing_token == claim.token,
        )
        .values(
            state=ExecutionState.QUEUED, lease_owner=None, lease_expires_at=None, started_at=None, heartbeat_at=None
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        notify_workers(session)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def fenced_row(session: Session, execution_id: int, token: int) -> BatchExecution:
    """The running execution, if ``token`` still holds its lease (else :class:`LeaseLost`)."""
    stmt = select(BatchExecution).where(BatchExecution.id == execution_id)
    if _is_pg(session):
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).one_or_none()
    if row is None or row.state is not ExecutionState.RUNNING or row.fencing_token != token:
        raise LeaseLost(f"execution {execution_id}: lease with token {token} is no longer held")
    return row


def save_checkpoint(session: Session, execution_id: int, token: int, state: dict[str, Any], now: datetime) -> None:
    """Store a checkpoint in the caller's transaction, guarded by the fencing token."""
    done = session.execute(
        update(BatchExecution)
        .where(
            BatchExecution.id == execution_id,
            BatchExecution.state == ExecutionState.RUNNING,
            BatchExecution.fencing_token == token,
        )
        .values(checkpoint=state, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"execution {execution_id}: lease with token {token} is no longer held")


def save_progress(session: Session, execution_id: int, token: int, done: int, total: int | None) -> bool:
    """Record progress; False if the lease is gone (the caller decides whether that matters)."""
    result = session.execute(
        update(BatchExecution)
        .where(
            BatchExecution.id == execution_id,
            BatchExecution.state == ExecutionState.RUNNING,
            BatchExecution.fencing_token == token,
        )
        .values(progress_done=done, progress_total=total)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _finish_row(
    session: Session,
    row: BatchExecution,
    job: BatchJob,
    state: ExecutionState,
    *,
    now: datetime,
    wait_default_seconds: int,
    events: Events | None,
    result: dict[str, Any] | None = None,
    error_type: str | None = None,
    error_message: str | None = None,
    reason: str | None = None,
    exit_code: int | None = None,
    retry_delay: timedelta | None = None,
    retry_trigger: TriggerKind = TriggerKind.RETRY,
    retry_reason: str | None = None,
) -> BatchExecution | None:
    """Write a terminal state; create the retry or fire triggers. Returns the retry row."""
    row.state = state
    row.finished_at = now
    if row.started_at is not None:
        row.duration_ms = int((now - row.started_at).total_seconds() * 1000)
    row.result = result if result is not None else row.result
    row.error_type = error_type
    row.error_message = error_message
    row.reason = reason if reason is not None else row.reason
    row.exit_code = exit_code
    session.flush()
    if events is not None:
        events.append(("on_finished", _event(row, job.name, now, worker_id=row.lease_owner, reason=reason)))
    if retry_delay is not None:
        retry = insert_execution(
            session,
            job,
            NewExecution(
                business_date=row.business_date,
                trigger=retry_trigger,
                run_key=row.run_key,
                params=row.params,
                state=ExecutionState.RETRY_WAIT,
                nominal_time=row.nominal_time,
                attempt=row.attempt + 1,
                infra_failures=row.infra_failures + (1 if is_infrastructure(error_type) else 0),
                root_execution_id=row.root_execution_id or row.id,
                previous_execution_id=row.id,
                triggered_by_execution_id=row.triggered_by_execution_id,
                not_before=now + retry_delay,
                checkpoint=row.checkpoint,
                forced=row.forced,
                reason=retry_reason or f"attempt {row.attempt} failed: {error_type}",
            ),
            now=now,
            wait_default_seconds=wait_default_seconds,
        )
        if events is not None:
            events.append(("on_retry_scheduled", _event(retry, job.name, now)))
        return retry
    for created in fire_triggers(session, row, now=now, wait_default_seconds=wait_default_seconds):
        if events is not None:
            events.append(("on_created", _event(created, job.name, now)))
    return None


def _retry_delay(job: BatchJob, row: BatchExecution, error_type: str) -> timedelta | None:
    """The wait before the job's next attempt after its own error, if its retry policy allows one.

    Only the job's own failures count against ``max_attempts``: the infrastructure's
    (``row.infra_failures`` of the attempts so far) are taken out.
    """
    policy = policy_of(job.max_attempts, job.retry_backoff_seconds, job.retry_backoff_max_seconds, job.retry_on)
    own = row.attempt - row.infra_failures
    if policy.retryable(error_type) and policy.attempts_left(own):
        return policy.next_delay(own)
    return None


def _fail_infrastructure(
    session: Session,
    row: BatchExecution,
    job: BatchJob,
    *,
    error_type: str,
    message: str,
    now: datetime,
    wait_default_seconds: int,
    events: Events | None,
    state: ExecutionState = ExecutionState.FAILED,
) -> None:
    """Record a failure of the infrastructure and apply the job's recovery policy.

    The same whichever process died (the job's process, its worker, or the database under
    it): RETRY makes a new attempt that resumes from the checkpoint, within its own budget
    (:data:`~acas_batch.batch.retry.INFRA_RETRY`, not ``max_attempts``); HOLD makes a held
    attempt for an operator; FAIL stops there.
    """
    policy = job.recovery_policy
    n = row.infra_failures + 1
    budget = f"infrastructure failure {n} of {INFRA_RETRY.max_attempts}, not counted against max_attempts"
    delay = infra_delay(row.infra_failures) if policy is RecoveryPolicy.RETRY else None
    spent = policy is RecoveryPolicy.RETRY and delay is None
    reason = (
        f"recovery budget spent: {INFRA_RETRY.max_attempts} infrastructure failures in a row"
        if spent
        else f"recovered ({policy.value}): {budget}"
    )
    _finish_row(
        session,
        row,
        job,
        state,
        now=now,
        wait_default_seconds=wait_default_seconds,
        events=events,
        error_type=error_type,
        error_message=message,
        reason=reason,
        retry_delay=delay,
        retry_trigger=TriggerKind.RECOVERY,
        retry_reason=f"attempt {row.attempt} lost to {error_type} ({budget}); resumes from its checkpoint",
    )
    if policy is RecoveryPolicy.HOLD:
        insert_execution(
            session,
            job,
            NewExecution(
                business_date=row.business_date,
                trigger=TriggerKind.RECOVERY,
                run_key=row.run_key,
                params=row.params,
                state=ExecutionState.HELD,
                held_from=ExecutionState.QUEUED,
                nominal_time=row.nominal_time,
                attempt=row.attempt + 1,
                infra_failures=n,
                root_execution_id=row.root_execution_id or row.id,
                previous_execution_id=row.id,
                checkpoint=row.checkpoint,
                forced=row.forced,
                reason=f"held for an operator: {message}",
            ),
            now=now,
            wait_default_seconds=wait_default_seconds,
        )


@dataclass(frozen=True)
class Finished:
    """A run that just reached its final state (what triggers need to know)."""

    id: int
    job_id: int
    state: ExecutionState
    business_date: date
    nominal_time: datetime | None
    run_key: str


def finish_success(
    session: Session,
    claim: Claim,
    *,
    now: datetime,
    result: dict[str, Any] | None,
    warning: str | None = None,
    output_dir: str | None = None,
    wait_default_seconds: int = 86_400,
    events: Events | None = None,
) -> None:
    """Record SUCCEEDED (or WARNING), fenced, in the caller's transaction (with the job's writes).

    One ``UPDATE ... WHERE state = 'running' AND fencing_token = :token``: no row means
    the lease was lost (:class:`LeaseLost`). A forced run supersedes the run key's
    earlier success. Without force, a second success of the same run key violates the
    unique index: the caller rolls back (the job's writes too) and records a failure.
    """
    if claim.forced:
        session.execute(
            update(BatchExecution)
            .where(
                BatchExecution.run_key == claim.run_key,
                BatchExecution.state == ExecutionState.SUCCEEDED,
                BatchExecution.superseded_by_id.is_(None),
                BatchExecution.id != claim.execution_id,
            )
            .values(superseded_by_id=claim.execution_id)
            .execution_options(synchronize_session=False)
        )
    state = ExecutionState.WARNING if warning else ExecutionState.SUCCEEDED
    values: dict[str, Any] = {
        "state": state,
        "finished_at": now,
        "duration_ms": int((now - claim.started_at).total_seconds() * 1000),
        "result": result,
        "exit_code": 0,
    }
    if warning:
        values["reason"] = warning
    if output_dir:
        values["output_dir"] = output_dir
    done = session.execute(
        update(BatchExecution)
        .where(
            BatchExecution.id == claim.execution_id,
            BatchExecution.state == ExecutionState.RUNNING,
            BatchExecution.fencing_token == claim.token,
        )
        .values(**values)
        .returning(BatchExecution.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if done is None:
        raise LeaseLost(f"execution {claim.execution_id}: lease with token {claim.token} is no longer held")
    finished = Finished(claim.execution_id, claim.job_id, state, claim.business_date, claim.nominal_time, claim.run_key)
    if events is not None:
        events.append(
            (
                "on_finished",
                ExecutionEvent(claim.execution_id, claim.job_name, state, now, claim.attempt, reason=warning),
            )
        )
    if not claim.has_triggers:
        return
    for created in fire_triggers(session, finished, now=now, wait_default_seconds=wait_default_seconds):
        if events is not None:
            events.append(("on_created", _event(created, claim.job_name, now)))


def finish_failure(
    session: Session,
    execution_id: int,
    token: int,
    *,
    now: datetime,
    error_type: str,
    error_message: str,
    state: ExecutionState = ExecutionState.FAILED,
    retry: bool = True,
    reason: str | None = None,
    exit_code: int | None = None,
    wait_default_seconds: int = 86_400,
    events: Events | None = None,
) -> BatchExecution | None:
    """Record a failure (FAILED, TIMED_OUT or CANCELLED), fenced; schedule a retry if allowed."""
    row = fenced_row(session, execution_id, token)
    job = session.get_one(BatchJob, row.job_id)
    if retry and state is ExecutionState.FAILED and is_infrastructure(error_type):
        _fail_infrastructure(
            session,
            row,
            job,
            error_type=error_type,
            message=error_message,
            now=now,
            wait_default_seconds=wait_default_seconds,
            events=events,
        )
        return None
    delay = _retry_delay(job, row, error_type) if retry and state is ExecutionState.FAILED else None
    return _finish_row(
        session,
        row,
        job,
        state,
        now=now,
        wait_default_seconds=wait_default_seconds,
        events=events,
        error_type=error_type,
        error_message=error_message,
        reason=reason,
        exit_code=exit_code,
        retry_delay=delay,
    )


def is_run_key_conflict(exc: IntegrityError) -> bool:
    return "run_key" in str(exc.orig)


def recover_expired(
    session: Session, *, now: datetime, wait_default_seconds: int = 86_400, events: Events | None = None
) -> list[int]:
    """Recover RUNNING executions whose lease expired: fail them and apply the recovery policy.

    The failed row's fencing token is bumped, so the worker that lost it (if alive) can
    write nothing. Returns the recovered execution ids.
    """
    stmt = (
        select(BatchExecution)
        .where(BatchExecution.state == ExecutionState.RUNNING, BatchExecution.lease_expires_at < now)
        .order_by(BatchExecution.id)
    )
    if _is_pg(session):
        stmt = stmt.with_for_update(skip_locked=True)
    recovered = []
    for row in session.scalars(stmt).all():
        job = session.get_one(BatchJob, row.job_id)
        expired = f"{row.lease_expires_at:%Y-%m-%d %H:%M:%S}"
        message = f"worker {row.lease_owner} stopped renewing its lease (expired {expired} UTC)"
        row.fencing_token += 1
        _fail_infrastructure(
            session,
            row,
            job,
            error_type=LEASE_EXPIRED,
            message=message,
            now=now,
            wait_default_seconds=wait_default_seconds,
            events=events,
        )
        if events is not None:
            events.append(("on_recovered", _event(row, job.name, now, reason=message)))
        recovered.append(row.id)
    return recovered


def promote_ready(session: Session, *, now: datetime, ageing_seconds: int = 600, events: Events | None = None) -> int:
    """Move RETRY_WAIT past its backoff and PENDING with met waits to QUEUED; fail expired waits.

    Also ages queued work: each ``ageing_seconds`` of waiting raises priority by one, so
    low priority never starves. Returns how many executions became QUEUED.
    """
    promoted = session.execute(
        update(BatchExecution)
        .where(BatchExecution.state == ExecutionState.RETRY_WAIT, BatchExecution.not_before <= now)
        .values(state=ExecutionState.QUEUED, queued_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    pending = session.scalars(
        select(BatchExecution).where(BatchExecution.state == ExecutionState.PENDING).order_by(BatchExecution.id)
    ).all()
    for row in pending:
        status = wait_status(session, row)
        if status.satisfied:
            row.state = ExecutionState.QUEUED
            row.queued_at = now
            row.reason = None
            promoted += 1
        elif row.wait_deadline is not None and row.wait_deadline <= now:
            job = session.get_one(BatchJob, row.job_id)
            _finish_row(
                session,
                row,
                job,
                ExecutionState.FAILED,
                now=now,
                wait_default_seconds=0,
                events=events,
                error_type="DependencyWaitExpired",
                error_message=f"upstream not satisfied by {row.wait_deadline:%Y-%m-%d %H:%M} UTC: {status.reason}",
            )
        elif status.reason != (row.reason or ""):
            row.reason = status.reason
    _age_queued(session, now=now, ageing_seconds=ageing_seconds)
    if promoted:
        notify_workers(session)
    return int(promoted)


#: The highest priority ageing raises waiting work to.
AGED_PRIORITY_CAP = 1000

#: How many queued rows one tick ages at most (the oldest by id first).
AGEING_BATCH = 10_000


class microseconds_between(FunctionElement[int]):
    """``microseconds_between(start, end)``: the whole microseconds from one UTC instant to another,
    exact on both databases (a floor of it in seconds or minutes is then integer division)."""

    type = BigInteger()
    name = "microseconds_between"
    inherit_cache = True


@compiles(microseconds_between)
def _microseconds_between(element: microseconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    # EXTRACT(EPOCH FROM interval) is numeric, exact to the microsecond (PostgreSQL 14 on).
    return f"CAST(EXTRACT(EPOCH FROM ({end}) - ({start})) * 1000000 AS BIGINT)"


@compiles(microseconds_between, "sqlite")
def _microseconds_between_sqlite(element: microseconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    # SQLite keeps an instant as text, 'YYYY-MM-DD HH:MM:SS.ffffff', and its date functions round to
    # the millisecond (a .9996 s fraction reads as the next second): the whole seconds are read from
    # the first 19 characters, the microseconds from the rest (none written: 0).
    return (
        f"((strftime('%s', substr({end}, 1, 19)) - strftime('%s', substr({start}, 1, 19))) * 1000000"
        f" + CAST(substr({end}, 21) AS INTEGER) - CAST(substr({start}, 21) AS INTEGER))"
    )


def _age_queued(session: Session, *, now: datetime, ageing_seconds: int) -> None:
    """Raise waiting work's priority to its job's priority plus one per whole ``ageing_seconds``
    queued (at most :data:`AGED_PRIORITY_CAP`; never lowered), in one statement.

    Rows are locked in id order and a row another transaction holds (a second scheduler's tick,
    a worker claiming it) is passed over until the next tick: two schedulers never wait for each
    other here, so they cannot deadlock (they did, ageing in scan order). No row locks on SQLite,
    where one writer at a time holds the database.
    """
    waiting = (
        select(BatchExecution.id)
        .where(
            BatchExecution.state == ExecutionState.QUEUED,
            BatchExecution.queued_at < now - timedelta(seconds=ageing_seconds),
        )
        .order_by(BatchExecution.id)
        .limit(AGEING_BATCH)
        .with_for_update(skip_locked=True)
    )
    base = select(BatchJob.priority).where(BatchJob.id == BatchExecution.job_id).scalar_subquery()
    queued_for = microseconds_between(BatchExecution.queued_at, literal(now, UTCDateTime()))
    aged = base + queued_for // literal(ageing_seconds * 1_000_000, BigInteger())
    session.execute(
        update(BatchExecution)
        .where(
            BatchExecution.id.in_(waiting),
            BatchExecution.priority < AGED_PRIORITY_CAP,
            aged > BatchExecution.priority,
        )
        .values(priority=case((aged > AGED_PRIORITY_CAP, AGED_PRIORITY_CAP), else_=aged))
        .execution_options(synchronize_session=False)
    )

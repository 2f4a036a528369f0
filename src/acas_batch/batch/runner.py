"""Running one claimed execution: the :class:`JobContext` implementation and its outcome.

Runs inside a worker child process. The job's writes go through ``ctx.session``; they are
committed together with a checkpoint (``ctx.checkpoint``) or with the final state, in one
transaction fenced by the lease token, so a worker that lost its lease commits nothing.

Log lines and progress are written outside the job's transaction so they are visible
live. On SQLite the job's transaction reads without a lock and takes the database's write
lock at its first write (:func:`~acas_batch.db.job_engine`); while it holds it they are
buffered and written with the next commit instead.
"""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import Engine, Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobResult
from acas_batch.batch.events import ExecutionEvent
from acas_batch.batch.outage import is_outage, one_line, patiently
from acas_batch.batch.outputs import database_id, execution_folder
from acas_batch.batch.queue import (
    Claim,
    Events,
    finish_failure,
    finish_success,
    is_run_key_conflict,
    save_checkpoint,
    save_progress,
)
from acas_batch.batch.registry import Registry
from acas_batch.batch.retry import DATABASE_LOST
from acas_batch.config import Settings
from acas_batch.db import holds_write_lock, is_sqlite, job_engine, rowcount, transaction
from acas_batch.errors import AcasBatchError, LeaseLost, OutputError, RunKeyAlreadySucceeded, never_retried
from acas_batch.fileperms import private_dir
from acas_batch.models.batch import BatchExecution, BatchLog
from acas_batch.models.enums import ExecutionState, LogLevel
from acas_batch.secretbox import SecretBox

_log = logging.getLogger("acas_batch.runner")


class OffsetClock:
    """Time that starts at ``start`` and runs at the wall clock's pace (simulations jump ahead)."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class _Pending:
    logs: list[BatchLog] = field(default_factory=list)
    progress: tuple[int, int | None] | None = None


class _Log:
    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx

    def debug(self, message: str, *, event: str = "job_log", **context: Any) -> None:
        self._ctx.write_log(LogLevel.DEBUG, event, message, context)

    def info(self, message: str, *, event: str = "job_log", **context: Any) -> None:
        self._ctx.write_log(LogLevel.INFO, event, message, context)

    def warning(self, message: str, *, event: str = "job_warning", **context: Any) -> None:
        self._ctx.write_log(LogLevel.WARNING, event, message, context)

    def error(self, message: str, *, event: str = "job_error", **context: Any) -> None:
        self._ctx.write_log(LogLevel.ERROR, event, message, context)


class RunContext:
    """The :class:`~acas_batch.batch.context.JobContext` of one claimed execution."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        claim: Claim,
        params: BaseModel,
        clock: OffsetClock,
        folder: Path,
    ) -> None:
        self._engine = engine
        self._folder = folder
        self._settings = settings
        self._claim = claim
        self._job_name = claim.job_name
        self._params = params
        self._token = claim.token
        self._clock = clock
        self._sqlite = is_sqlite(engine)
        # On SQLite the job's transaction takes the write lock at its first write, not at BEGIN:
        # a job that reads, or lays out documents, for longer than its lease between two
        # commits keeps nobody waiting (the worker renews leases meanwhile).
        self._session = Session(bind=job_engine(engine), expire_on_commit=False)
        self._pending = _Pending()
        self._checkpoint = claim.checkpoint
        self._started = clock.now()
        self.warning: str | None = None
        self._log = _Log(self)

    # --- the JobContext protocol -------------------------------------------------
    @property
    def execution_id(self) -> int:
        return self._claim.execution_id

    @property
    def job_name(self) -> str:
        return self._job_name

    @property
    def attempt(self) -> int:
        return self._claim.attempt

    @property
    def params(self) -> BaseModel:
        return self._params

    @property
    def business_date(self) -> date:
        return self._claim.business_date

    @property
    def now(self) -> datetime:
        return self._claim.nominal_time or self._started

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def session(self) -> Session:
        return self._session

    @property
    def log(self) -> _Log:
        return self._log

    @property
    def last_checkpoint(self) -> dict[str, Any] | None:
        return self._checkpoint

    def _locked(self) -> bool:
        """Whether the job's own transaction holds SQLite's write lock: another write would wait for it."""
        return self._sqlite and holds_write_lock(self._session)

    def progress(self, done: int, total: int | None = None) -> None:
        if self._locked():
            self._pending.progress = (done, total)
            return
        with transaction(self._engine, write=True) as s:
            save_progress(s, self.execution_id, self._token, done, total)

    def checkpoint(self, state: dict[str, Any]) -> None:
        try:
            self._flush_pending(self._session)
            save_checkpoint(self._session, self.execution_id, self._token, state, self._clock.now())
            self._session.commit()
        except BaseException:
            self._session.rollback()
            raise
        self._checkpoint = state

    def output(self, name: str) -> Path:
        try:
            private_dir(self._folder)
        except OSError as exc:
            raise OutputError(f"cannot create the output folder {self._folder}: {exc.strerror or exc}") from exc
        return self._folder / name

    def warn_outcome(self, reason: str) -> None:
        self.warning = reason

    def clock_now(self) -> datetime:
        return self._clock.now()

    # --- helpers -----------------------------------------------------------------
    def write_log(self, level: LogLevel, event: str, message: str, context: dict[str, Any]) -> None:
        line = BatchLog(
            execution_id=self.execution_id,
            job_id=self._claim.job_id,
            logged_at=self._clock.now(),
            level=level,
            event=event,
            message=message,
            logger=self._job_name,
            context=context or None,
        )
        if self._locked():
            self._pending.logs.append(line)
            return
        with transaction(self._engine, write=True) as s:
            s.add(line)

    def _flush_pending(self, session: Session) -> None:
        if self._pending.logs:
            session.add_all(self._pending.logs)
        if self._pending.progress is not None:
            save_progress(session, self.execution_id, self._token, *self._pending.progress)
        self._pending = _Pending()

    def has_pending(self) -> bool:
        """Whether log lines or progress wait for the job's next commit (SQLite)."""
        return bool(self._pending.logs) or self._pending.progress is not None

    def flush_pending_separately(self) -> None:
        """Write buffered log lines in their own transaction (after a rollback)."""
        if not self._pending.logs:
            return
        logs = [
            BatchLog(
                execution_id=line.execution_id,
                job_id=line.job_id,
                logged_at=line.logged_at,
                level=line.level,
                event=line.event,
                message=line.message,
                logger=line.logger,
                context=line.context,
            )
            for line in self._pending.logs
        ]
        self._pending = _Pending()
        with transaction(self._engine, write=True) as s:
            s.add_all(logs)

    def finish(self, result: dict[str, Any] | None, wait_default: int, events: Events) -> None:
        self._flush_pending(self._session)
        output_dir = self._folder
        finish_success(
            self._session,
            self._claim,
            now=self._clock.now(),
            result=result,
            warning=self.warning,
            output_dir=str(output_dir) if output_dir.exists() else None,
            wait_default_seconds=wait_default,
            events=events,
        )
        self._session.commit()

    def close(self) -> None:
        self._session.close()


@dataclass(frozen=True)
class Outcome:
    """What the child tells its worker after running an execution."""

    execution_id: int
    state: str  # an ExecutionState value, or "lease_lost"
    events: tuple[tuple[str, ExecutionEvent], ...] = ()
    error: str | None = None


def _result_dict(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, JobResult):
        return value.model_dump()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return value
    return {"summary": str(value)}


def _fail(  # noqa: PLR0917
    engine: Engine,
    execution_id: int,
    token: int,
    now: datetime,
    error_type: str,
    message: str,
    wait_default: int,
    *,
    retry: bool = True,
) -> Outcome:
    events: Events = []

    def record() -> None:
        events.clear()
        with transaction(engine, write=True) as s:
            finish_failure(
                s,
                execution_id,
                token,
                now=now,
                error_type=error_type,
                error_message=message,
                retry=retry,
                wait_default_seconds=wait_default,
                events=events,
            )

    try:
        patiently(record, _log, f"execution {execution_id}", "recording its failure")
    except LeaseLost as exc:
        return Outcome(execution_id, "lease_lost", error=str(exc))
    return Outcome(execution_id, ExecutionState.FAILED.value, tuple(events), error=message)


@dataclass(frozen=True)
class DeferredSuccess:
    """A write-free run that succeeded, waiting to be recorded with others in one transaction."""

    claim: Claim
    finished_at: datetime
    result: dict[str, Any] | None
    warning: str | None
    output_dir: str | None
    ran_at: float = field(default_factory=time.monotonic)


def _deferrable(ctx: RunContext, claim: Claim) -> bool:
    """A success that can be recorded later, alone: no open unit of work, no new checkpoint,
    nothing buffered, and neither a forced run (it supersedes) nor a job with TRIGGER edges."""
    return (
        not ctx.session.in_transaction()
        and ctx.last_checkpoint is claim.checkpoint
        and not ctx.has_pending()
        and not claim.forced
        and not claim.has_triggers
    )


def run_execution(
    engine: Engine,
    settings: Settings,
    registry: Registry,
    claim: Claim,
    start: datetime,
    *,
    deferred: list[DeferredSuccess] | None = None,
    database: str | None = None,
) -> Outcome:
    """Run one claimed execution to its recorded outcome. Never raises for job errors.

    With ``deferred``, a success that wrote nothing through ``ctx.session`` is appended
    there instead of being recorded (state ``"ran"``); :func:`finish_deferred` records
    a group of them in one transaction. ``database`` is the database's uuid (read here if
    not given), which names the folder of its outputs.
    """
    clock = OffsetClock(start)
    wait_default = settings.dependency_wait_seconds
    execution_id, token = claim.execution_id, claim.token
    try:
        spec = registry.get(claim.handler)
        raw = {**claim.default_params, **claim.params}
        if spec.secret_fields:  # opened here, in the job's own process, and nowhere else
            box = SecretBox.for_settings(settings, create=False)
            raw = spec.open_params(raw, box.open)
        params = spec.validate_params(raw)
    except AcasBatchError as exc:
        return _fail(engine, execution_id, token, clock.now(), type(exc).__name__, str(exc), wait_default, retry=False)
    try:
        # Read before the job opens its transaction: on SQLite, making the uuid needs the write lock.
        folder = execution_folder(settings, database or database_id(engine), execution_id)
    except Exception as exc:
        if not is_outage(exc):
            raise
        return _fail(engine, execution_id, token, clock.now(), DATABASE_LOST, one_line(exc), wait_default)
    ctx = RunContext(engine=engine, settings=settings, claim=claim, params=params, clock=clock, folder=folder)
    events: Events = []
    try:
        try:
            value = spec.func(ctx)
        except LeaseLost as exc:
            ctx.session.rollback()
            return Outcome(execution_id, "lease_lost", error=str(exc))
        except Exception as exc:
            with contextlib.suppress(Exception):  # a lost connection cannot even roll back
                ctx.session.rollback()
            if is_outage(exc):  # the database went away under the job: not the job's fault
                return _fail(engine, execution_id, token, clock.now(), DATABASE_LOST, one_line(exc), wait_default)
            ctx.log.error(
                f"{type(exc).__name__}: {exc}",
                event="execution_failed",
                traceback=traceback.format_exc(limit=20),
            )
            ctx.flush_pending_separately()
            return _fail(
                engine,
                execution_id,
                token,
                clock.now(),
                type(exc).__name__,
                str(exc),
                wait_default,
                retry=not never_retried(exc),
            )
        if deferred is not None and _deferrable(ctx, claim):
            output_dir = folder
            deferred.append(
                DeferredSuccess(
                    claim,
                    clock.now(),
                    _result_dict(value),
                    ctx.warning,
                    str(output_dir) if output_dir.exists() else None,
                )
            )
            return Outcome(execution_id, RAN)
        try:
            ctx.finish(_result_dict(value), wait_default, events)
        except LeaseLost as exc:
            ctx.session.rollback()
            return Outcome(execution_id, "lease_lost", error=str(exc))
        except IntegrityError as exc:
            ctx.session.rollback()
            if not is_run_key_conflict(exc):
                raise
            return _run_key_taken(engine, claim, clock.now(), wait_default)
        except Exception as exc:
            if not is_outage(exc):
                raise
            with contextlib.suppress(Exception):
                ctx.session.rollback()
            # The commit's fate is unknown: if it landed, the fenced failure is refused (lease lost).
            return _fail(engine, execution_id, token, clock.now(), DATABASE_LOST, one_line(exc), wait_default)
    finally:
        ctx.close()
    state = ExecutionState.WARNING if ctx.warning else ExecutionState.SUCCEEDED
    return Outcome(execution_id, state.value, tuple(events))


#: The state of an :class:`Outcome` whose success is deferred (run, not yet recorded).
RAN = "ran"


def _run_key_taken(engine: Engine, claim: Claim, now: datetime, wait_default: int) -> Outcome:
    message = f"run key {claim.run_key} already succeeded in another execution; this run's writes were undone"
    return _fail(
        engine,
        claim.execution_id,
        claim.token,
        now,
        RunKeyAlreadySucceeded.__name__,
        message,
        wait_default,
        retry=False,
    )


def _success_values(item: DeferredSuccess) -> dict[str, Any]:
    c = item.claim
    return {
        "b_id": c.execution_id,
        "b_token": c.token,
        "b_state": ExecutionState.WARNING if item.warning else ExecutionState.SUCCEEDED,
        "b_finished": item.finished_at,
        "b_duration": int((item.finished_at - c.started_at).total_seconds() * 1000),
        "b_result": item.result,
        "b_reason": item.warning,
        "b_output": item.output_dir,
    }


def _event_of(item: DeferredSuccess) -> tuple[str, ExecutionEvent]:
    c = item.claim
    state = ExecutionState.WARNING if item.warning else ExecutionState.SUCCEEDED
    return (
        "on_finished",
        ExecutionEvent(c.execution_id, c.job_name, state, item.finished_at, c.attempt, reason=item.warning),
    )


def finish_deferred(engine: Engine, settings: Settings, items: list[DeferredSuccess]) -> list[Outcome]:
    """Record deferred successes: all in one transaction (group commit), fenced by their tokens.

    One batched ``UPDATE ... WHERE id = :id AND fencing_token = :token AND state =
    'running'`` for the group, whose row count (or, where the driver cannot count the rows
    of a batch, one read) says whether every row was ours. If any was not (a lease lost, a
    cancel recorded, a run key that already succeeded) the group is rolled back and each
    is recorded on its own, as :func:`run_execution` records it.
    """
    if not items:
        return []
    table = cast(Table, BatchExecution.__table__)
    stmt = (
        update(table)
        .where(
            table.c.id == bindparam("b_id"),
            table.c.fencing_token == bindparam("b_token"),
            table.c.state == ExecutionState.RUNNING,
        )
        .values(
            state=bindparam("b_state", type_=table.c.state.type),
            finished_at=bindparam("b_finished", type_=table.c.finished_at.type),
            duration_ms=bindparam("b_duration"),
            result=bindparam("b_result", type_=table.c.result.type),
            exit_code=0,
            reason=func.coalesce(bindparam("b_reason", type_=table.c.reason.type), table.c.reason),
            output_dir=func.coalesce(bindparam("b_output", type_=table.c.output_dir.type), table.c.output_dir),
        )
    )
    tokens = {i.claim.execution_id: i.claim.token for i in items}
    try:
        with transaction(engine, write=True) as s:
            updated = s.execute(stmt, [_success_values(i) for i in items])
            if s.get_bind().dialect.supports_sane_multi_rowcount:
                whole = rowcount(updated) == len(items)  # each id matches one row at most
            else:
                whole = {
                    eid
                    for eid, token, state in s.execute(
                        select(table.c.id, table.c.fencing_token, table.c.state).where(table.c.id.in_(list(tokens)))
                    )
                    if tokens[eid] == token and state in (ExecutionState.SUCCEEDED, ExecutionState.WARNING)
                } == set(tokens)
            if not whole:
                raise _GroupRefused
    except (_GroupRefused, IntegrityError):
        return [_finish_alone(engine, settings, i) for i in items]
    return [Outcome(i.claim.execution_id, _event_of(i)[1].state.value, (_event_of(i),)) for i in items]


class _GroupRefused(Exception):
    """One of a group's rows cannot be recorded together with the others."""


def _finish_alone(engine: Engine, settings: Settings, item: DeferredSuccess) -> Outcome:
    c = item.claim
    events: Events = []
    try:
        with transaction(engine, write=True) as s:
            finish_success(
                s,
                c,
                now=item.finished_at,
                result=item.result,
                warning=item.warning,
                output_dir=item.output_dir,
                wait_default_seconds=settings.dependency_wait_seconds,
                events=events,
            )
    except LeaseLost as exc:
        return Outcome(c.execution_id, "lease_lost", error=str(exc))
    except IntegrityError as exc:
        if not is_run_key_conflict(exc):
            raise
        return _run_key_taken(engine, c, item.finished_at, settings.dependency_wait_seconds)
    state = ExecutionState.WARNING if item.warning else ExecutionState.SUCCEEDED
    return Outcome(c.execution_id, state.value, tuple(events))

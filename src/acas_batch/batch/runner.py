"""Running one claimed execution: the :class:`JobContext` implementation and its outcome.

Runs inside a worker child process. The job's writes go through ``ctx.session``; they are
committed together with a checkpoint (``ctx.checkpoint``) or with the final state, in one
transaction fenced by the lease token, so a worker that lost its lease commits nothing.

Log lines and progress are written outside the job's transaction so they are visible
live. On SQLite the job's open transaction holds the database's write lock, so while one
is open they are buffered and written with the next commit instead.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobResult
from acas_batch.batch.events import ExecutionEvent
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
from acas_batch.config import Settings
from acas_batch.db import is_sqlite, transaction, write_engine
from acas_batch.errors import AcasBatchError, LeaseLost, RunKeyAlreadySucceeded
from acas_batch.models import BatchLog
from acas_batch.models.enums import ExecutionState, LogLevel


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
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._claim = claim
        self._job_name = claim.job_name
        self._params = params
        self._token = claim.token
        self._clock = clock
        self._sqlite = is_sqlite(engine)
        # On SQLite the job's transaction takes the write lock at BEGIN, so its writes and
        # the fenced finish can never fail to upgrade a read lock.
        self._session = Session(bind=write_engine(engine), expire_on_commit=False)
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

    def progress(self, done: int, total: int | None = None) -> None:
        if self._sqlite and self._session.in_transaction():
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
        folder = self._settings.outputs / str(self.execution_id)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def warn_outcome(self, reason: str) -> None:
        self.warning = reason

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
        if self._sqlite and self._session.in_transaction():
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
        output_dir = self._settings.outputs / str(self.execution_id)
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
    try:
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
    except LeaseLost as exc:
        return Outcome(execution_id, "lease_lost", error=str(exc))
    return Outcome(execution_id, ExecutionState.FAILED.value, tuple(events), error=message)


def run_execution(engine: Engine, settings: Settings, registry: Registry, claim: Claim, start: datetime) -> Outcome:
    """Run one claimed execution to its recorded outcome. Never raises for job errors."""
    clock = OffsetClock(start)
    wait_default = settings.dependency_wait_seconds
    execution_id, token = claim.execution_id, claim.token
    try:
        spec = registry.get(claim.handler)
        params = spec.validate_params({**claim.default_params, **claim.params})
    except AcasBatchError as exc:
        return _fail(engine, execution_id, token, clock.now(), type(exc).__name__, str(exc), wait_default, retry=False)
    ctx = RunContext(engine=engine, settings=settings, claim=claim, params=params, clock=clock)
    events: Events = []
    try:
        try:
            value = spec.func(ctx)
        except LeaseLost as exc:
            ctx.session.rollback()
            return Outcome(execution_id, "lease_lost", error=str(exc))
        except Exception as exc:
            ctx.session.rollback()
            ctx.log.error(
                f"{type(exc).__name__}: {exc}",
                event="execution_failed",
                traceback=traceback.format_exc(limit=20),
            )
            ctx.flush_pending_separately()
            return _fail(engine, execution_id, token, clock.now(), type(exc).__name__, str(exc), wait_default)
        try:
            ctx.finish(_result_dict(value), wait_default, events)
        except LeaseLost as exc:
            ctx.session.rollback()
            return Outcome(execution_id, "lease_lost", error=str(exc))
        except IntegrityError as exc:
            ctx.session.rollback()
            if not is_run_key_conflict(exc):
                raise
            message = f"run key {claim.run_key} already succeeded in another execution; this run's writes were undone"
            return _fail(
                engine,
                execution_id,
                token,
                clock.now(),
                RunKeyAlreadySucceeded.__name__,
                message,
                wait_default,
                retry=False,
            )
    finally:
        ctx.close()
    state = ExecutionState.WARNING if ctx.warning else ExecutionState.SUCCEEDED
    return Outcome(execution_id, state.value, tuple(events))

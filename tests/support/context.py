"""A real, minimal job context for testing jobs until the engine runs them.

It implements ``batch.context.JobContext`` on a real database: an execution row in
``batch_execution_rec`` (RUNNING, with a lease), log lines in ``batch_log_rec`` (committed
with the job's checkpoints and its last commit), checkpoints committed together with the job's writes, and an
output folder per execution. No mocks: what a job writes is really there afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobResult
from acas_batch.batch.outputs import database_id, execution_folder
from acas_batch.batch.registry import REGISTRY
from acas_batch.config import Settings
from acas_batch.db import holds_write_lock, is_sqlite, job_engine, transaction
from acas_batch.jobs import load_standard_jobs
from acas_batch.models import BatchDatabase, BatchExecution, BatchJob, BatchLog, ExecutionState, LogLevel, TriggerKind


class HarnessLog:
    """Buffers lines until the job's next checkpoint or its end, which writes them in the
    same commit (as the engine's runner does on SQLite)."""

    def __init__(self, ctx: HarnessContext) -> None:
        self._ctx = ctx
        self.pending: list[BatchLog] = []

    def _add(self, level: LogLevel, message: str, event: str, context: dict[str, Any]) -> None:
        self.pending.append(
            BatchLog(
                execution_id=self._ctx.execution_id,
                job_id=self._ctx.job_id,
                logged_at=self._ctx.now,
                level=level,
                event=event,
                message=message,
                logger=self._ctx.job_name,
                context={k: v for k, v in context.items() if v is not None} or None,
            )
        )

    def debug(self, message: str, *, event: str = "job_log", **context: Any) -> None:
        self._add(LogLevel.DEBUG, message, event, context)

    def info(self, message: str, *, event: str = "job_log", **context: Any) -> None:
        self._add(LogLevel.INFO, message, event, context)

    def warning(self, message: str, *, event: str = "job_warning", **context: Any) -> None:
        self._add(LogLevel.WARNING, message, event, context)

    def error(self, message: str, *, event: str = "job_error", **context: Any) -> None:
        self._add(LogLevel.ERROR, message, event, context)

    def flush(self, session: Session) -> None:
        """Add the buffered lines to ``session``, to be written by its next commit."""
        if self.pending:
            session.add_all(self.pending)
            self.pending = []


class HarnessContext:
    """The context one execution of one job sees."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        job_id: int,
        job_name: str,
        execution_id: int,
        params: BaseModel,
        business_date: date,
        now: datetime,
        database: str | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self.job_id = job_id
        self._job_name = job_name
        self._execution_id = execution_id
        self._params = params
        self._business_date = business_date
        self._now = now
        # The database's uuid, read here if not given: before the job's transaction, as on
        # SQLite making it needs the write lock.
        self.folder = execution_folder(settings, database or database_id(engine), execution_id)
        self._session = Session(bind=job_engine(engine), expire_on_commit=False)  # as a worker runs it
        self._log = HarnessLog(self)
        self._checkpoint: dict[str, Any] | None = None
        self.warning: str | None = None
        self.checkpoints = 0

    execution_id = property(lambda self: self._execution_id)
    job_name = property(lambda self: self._job_name)
    attempt = property(lambda self: 1)
    params = property(lambda self: self._params)
    business_date = property(lambda self: self._business_date)
    now = property(lambda self: self._now)
    settings = property(lambda self: self._settings)
    engine = property(lambda self: self._engine)
    session = property(lambda self: self._session)
    log = property(lambda self: self._log)
    last_checkpoint = property(lambda self: self._checkpoint)

    def progress(self, done: int, total: int | None = None) -> None:
        # As the runner does: in a transaction of its own, unless the job's transaction holds
        # SQLite's write lock (then with the job's next commit), so that progress never takes the lock
        stmt = (
            update(BatchExecution)
            .where(BatchExecution.id == self._execution_id)
            .values(progress_done=done, progress_total=total)
        )
        if holds_write_lock(self._session) or not is_sqlite(self._engine):
            self._session.execute(stmt)
            return
        with transaction(self._engine, write=True) as s:
            s.execute(stmt)

    def checkpoint(self, state: dict[str, Any]) -> None:
        self._session.execute(
            update(BatchExecution).where(BatchExecution.id == self._execution_id).values(checkpoint=state)
        )
        self._log.flush(self._session)  # the lines so far, committed with the checkpoint (as the runner does)
        self._session.commit()
        self._checkpoint = dict(state)
        self.checkpoints += 1

    def output(self, name: str) -> Path:
        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def warn_outcome(self, reason: str) -> None:
        self.warning = reason

    def clock_now(self) -> datetime:
        return self._now


@dataclass
class JobRun:
    """How a harness run ended."""

    execution_id: int
    state: ExecutionState
    result: JobResult | None
    error: BaseException | None
    context: HarnessContext


def _job_row(s: Session, name: str, now: datetime) -> tuple[int, dict[str, Any]]:
    spec = REGISTRY.get(name)
    row = s.scalar(select(BatchJob).where(BatchJob.name == name))
    if row is None:
        row = BatchJob(name=name, module=spec.module, handler=name, created_at=now, updated_at=now)
        s.add(row)
        s.flush()
    return row.id, dict(row.default_params or {})


def _finish(
    s: Session, ctx: HarnessContext, state: ExecutionState, result: JobResult | None, error: BaseException | None
) -> None:
    """The execution's outcome and the log lines still buffered, in ``s``'s transaction."""
    execution_id, now = ctx.execution_id, ctx.now
    ctx.log.flush(s)
    s.execute(
        update(BatchExecution)
        .where(BatchExecution.id == execution_id)
        .values(
            state=state,
            finished_at=now,
            duration_ms=0,
            result=result.model_dump(mode="json") if result else None,
            error_type=type(error).__name__ if error else None,
            error_message=str(error) if error else None,
            reason=ctx.warning,
            lease_owner=None,
            lease_expires_at=None,
        )
    )


def run_job(
    engine: Engine,
    settings: Settings,
    name: str,
    *,
    now: datetime,
    params: Mapping[str, Any] | None = None,
    business_date: date | None = None,
    checkpoint: Mapping[str, Any] | None = None,
) -> JobRun:
    """Run job ``name`` once, as a worker would, and record the outcome on its execution row.

    ``checkpoint``: the last checkpoint of an attempt before, which a retry of the run resumes from.

    As the engine does, the execution row is made in one transaction (the claim's part) and a
    success is recorded with its log lines in the job's own last commit; a failure, after the
    rollback, in one transaction.
    """
    load_standard_jobs()
    spec = REGISTRY.get(name)
    day = business_date or now.date()
    with transaction(engine, write=True) as s:
        job_id, defaults = _job_row(s, name, now)
        model = spec.validate_params({**defaults, **(params or {})})
        execution = BatchExecution(
            job_id=job_id,
            business_date=day,
            state=ExecutionState.RUNNING,
            trigger=TriggerKind.MANUAL,
            run_key=spec.make_run_key(model, day, s),
            params=model.model_dump(mode="json"),
            lease_owner="test-harness",
            lease_expires_at=now + timedelta(hours=1),
            fencing_token=1,
            created_at=now,
            started_at=now,
        )
        s.add(execution)
        s.flush()
        execution_id = execution.id
        database = s.scalar(select(BatchDatabase.database_id).where(BatchDatabase.id == 1))
    if database is None:  # a database's first run: made outside the job's transaction (SQLite's write lock)
        database = database_id(engine)
    ctx = HarnessContext(
        engine, settings, job_id=job_id, job_name=name, execution_id=execution_id, params=model,
        business_date=day, now=now, database=database,
    )  # fmt: skip
    if checkpoint is not None:
        ctx._checkpoint = dict(checkpoint)
    result: JobResult | None = None
    error: BaseException | None = None
    try:
        raw = spec.func(ctx)
        result = raw if isinstance(raw, JobResult) else JobResult(**(raw or {}))
        state = ExecutionState.WARNING if ctx.warning else ExecutionState.SUCCEEDED
        _finish(ctx.session, ctx, state, result, None)
        ctx.session.commit()
    except Exception as exc:
        ctx.session.rollback()
        error, state = exc, ExecutionState.FAILED
        with transaction(engine, write=True) as s:
            _finish(s, ctx, state, result, error)
    finally:
        ctx.session.close()
    return JobRun(execution_id, state, result, error, ctx)

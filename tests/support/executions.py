"""Execution rows for tests whose snapshot rows must belong to one (no job is run)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import MetaData, Table, select
from sqlalchemy.orm import Session

from acas_batch.models import BatchExecution, BatchJob, ExecutionState, Module, TriggerKind

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _table(session: Session, name: str) -> Table:
    """The table as the database has it now: migration tests run against older schemas, where the
    model's newer columns (and their defaults) do not exist yet."""
    return Table(name, MetaData(), autoload_with=session.connection())


def _insert(session: Session, model: type[BatchJob] | type[BatchExecution], values: dict[str, object]) -> int:
    """Insert one row with the model's own defaults for the columns the table has; its id."""
    table = _table(session, model.__tablename__)
    row = dict(values)
    for column in model.__table__.columns:
        default = column.default
        if column.name in table.c and column.name not in row and default is not None and default.is_scalar:
            row[column.name] = default.arg
        elif column.name in table.c and column.name not in row and default is not None and default.is_callable:
            row[column.name] = default.arg(None)
    return int(session.execute(table.insert().values(row).returning(table.c.id)).scalar_one())


def add_execution(session: Session, name: str, business_date: date = date(2026, 11, 23)) -> int:
    """A succeeded run of job ``name`` (its job row made on first use), run key ``name:date``; its id."""
    job_id = session.scalar(select(BatchJob.id).where(BatchJob.name == name))
    if job_id is None:
        values = {"name": name, "module": Module.ST.value, "handler": name, "created_at": NOW, "updated_at": NOW}
        job_id = _insert(session, BatchJob, values)
    return _insert(
        session,
        BatchExecution,
        {
            "job_id": job_id,
            "business_date": business_date,
            "state": ExecutionState.SUCCEEDED.value,
            "trigger": TriggerKind.MANUAL.value,
            "run_key": f"{name}:{business_date.isoformat()}",
            "created_at": NOW,
        },
    )

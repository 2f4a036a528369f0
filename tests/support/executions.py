"""Execution rows for tests whose snapshot rows must belong to one (no job is run)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.models import BatchExecution, BatchJob, ExecutionState, Module, TriggerKind

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def add_execution(session: Session, name: str, business_date: date = date(2026, 11, 23)) -> int:
    """A succeeded run of job ``name`` (its job row made on first use), run key ``name:date``; its id."""
    job = session.scalar(select(BatchJob).where(BatchJob.name == name))
    if job is None:
        job = BatchJob(name=name, module=Module.ST, handler=name, created_at=NOW, updated_at=NOW)
        session.add(job)
        session.flush()
    run = BatchExecution(
        job_id=job.id,
        business_date=business_date,
        state=ExecutionState.SUCCEEDED,
        trigger=TriggerKind.MANUAL,
        run_key=f"{name}:{business_date.isoformat()}",
        created_at=NOW,
    )
    session.add(run)
    session.flush()
    return run.id

"""What the stock control jobs share: snapshot replacement and streamed queries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, TypeVarTuple

from sqlalchemy import Row, Select, delete, select
from sqlalchemy.orm import Session

from acas_batch.db import rowcount
from acas_batch.models import BatchExecution

STREAM_ROWS = 5_000
Ts = TypeVarTuple("Ts")


def replace_snapshot(session: Session, table: Any, execution_id: int) -> int:
    """Delete the rows that earlier executions of this run key left in ``table``.

    The current execution's own rows stay: a retry resumes from its checkpoint with them.
    Returns the number of rows deleted.
    """
    run_key = select(BatchExecution.run_key).where(BatchExecution.id == execution_id).scalar_subquery()
    earlier = select(BatchExecution.id).where(BatchExecution.run_key == run_key, BatchExecution.id != execution_id)
    return rowcount(
        session.execute(
            delete(table).where(table.execution_id.in_(earlier)).execution_options(synchronize_session=False)
        )
    )


def warehouse_day_key(params: Any, business_date: date) -> str:
    """Run key part of a daily stock job: the business date, and the warehouse unless ALL."""
    warehouse = getattr(params, "warehouse", "ALL")
    return business_date.isoformat() if warehouse == "ALL" else f"{business_date.isoformat()}/{warehouse}"


def stream(session: Session, query: Select[*Ts]) -> Iterator[Row[*Ts]]:
    """Rows of ``query`` fetched in batches, not all at once."""
    yield from session.execute(query.execution_options(yield_per=STREAM_ROWS))


def year_before(day: date) -> date:
    """The same day a year earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)

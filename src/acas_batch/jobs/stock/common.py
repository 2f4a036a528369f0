"""What the stock control jobs share: snapshot replacement, streamed queries, day arithmetic in SQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, TypeVarTuple

from sqlalchemy import Integer, Row, Select, delete, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from acas_batch.db import plan_cursors_for_every_row, rowcount
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
    """Rows of ``query`` fetched in batches, not all at once (planned for reading them all)."""
    plan_cursors_for_every_row(session)
    yield from session.execute(query.execution_options(yield_per=STREAM_ROWS))


def year_before(day: date) -> date:
    """The same day a year earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


class days_between(FunctionElement[int]):
    """``days_between(start, end)``: the whole days from ``start`` to ``end`` (dates), in SQL.

    PostgreSQL subtracts dates to an integer; SQLite stores dates as ISO text, so the
    difference of their Julian day numbers (a whole number for two dates) is taken.
    """

    type = Integer()
    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_between(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"


class month_index(FunctionElement[int]):
    """``month_index(day)``: year × 12 + month − 1 of a date, in SQL (one integer to group months on).

    PostgreSQL takes the parts with ``EXTRACT``; SQLite, whose dates are ISO text, reads them
    from the text (cheaper than parsing it with ``strftime``).
    """

    type = Integer()
    name = "month_index"
    inherit_cache = True


@compiles(month_index)
def _month_index(element: month_index, compiler: SQLCompiler, **kw: Any) -> str:
    day = compiler.process(next(iter(element.clauses)), **kw)
    return f"CAST(EXTRACT(YEAR FROM {day}) * 12 + EXTRACT(MONTH FROM {day}) - 1 AS INTEGER)"


@compiles(month_index, "sqlite")
def _month_index_sqlite(element: month_index, compiler: SQLCompiler, **kw: Any) -> str:
    day = compiler.process(next(iter(element.clauses)), **kw)
    return f"(CAST(substr({day}, 1, 4) AS INTEGER) * 12 + CAST(substr({day}, 6, 2) AS INTEGER) - 1)"

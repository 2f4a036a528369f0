"""The statements the statement benchmarks lay out, loaded as SL_STATEMENT_GENERATION builds them."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from acas_batch.db import make_engine, transaction

if TYPE_CHECKING:
    from acas_batch.jobs.params import DateRange
    from acas_batch.jobs.sl.statement_generation import Statement


def first_statements(url: str, end: date, count: int) -> tuple[DateRange, list[Statement]]:
    """The previous period at ``end`` and its first ``count`` statements (customer code order),
    built by the job's own ``build_statements`` in one read transaction."""
    # The job's modules are imported here, in the measuring process, not by every benchmark.
    from acas_batch.jobs.params import resolve_period_range
    from acas_batch.jobs.sl.statement_generation import build_statements

    engine = make_engine(url)
    try:
        with transaction(engine) as s:
            period = resolve_period_range(s, "PREVIOUS", end)
            statements: list[Statement] = []
            for st in build_statements(s, period, include_zero=False):
                statements.append(st)
                if len(statements) == count:
                    break
    finally:
        engine.dispose()
    return period, statements

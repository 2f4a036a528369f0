"""The ABC and forecast snapshots check their execution by triggers (migration 0017_snapshot_checks),
as the foreign key they replace did: a row naming no execution is refused, deleting an execution
deletes its rows; and the temporary tables the ABC job ranks into."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, func, insert, inspect, literal, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from acas_batch.db import temporary_table, transaction
from acas_batch.models import AbcResult, BatchExecution, ForecastResult
from acas_batch.models.migrate import current_revision, downgrade, upgrade
from acas_batch.models.results_st import SNAPSHOT_CHECKS
from tests.support.executions import add_execution

BEFORE, REVISION = "0016_vat_paid", "0017_snapshot_checks"


def _abc(execution_id: int, item_id: int) -> dict[str, object]:
    return {
        "execution_id": execution_id,
        "item_id": item_id,
        "rank": item_id,
        "consumption_qty": 3,
        "consumption_value_pence": 1_000 - item_id,
        "cumulative_before_pence": 0,
        "abc_class": "A",
    }


def _forecast(execution_id: int, item_id: int) -> dict[str, object]:
    return {
        "execution_id": execution_id,
        "item_id": item_id,
        "method": "moving_average",
        "history_months": 24,
        "holdout_months": 3,
        "first_month": date(2026, 12, 1),
        "quantities": [1.0, 2.0],
    }


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.scalar(text(f"SELECT COUNT(*) FROM {t}")) or 0) for t in SNAPSHOT_CHECKS}


@pytest.fixture
def runs(engine: Engine) -> tuple[int, int]:
    """Two executions with two ABC rows and two forecast rows each."""
    with transaction(engine, write=True) as s:
        first, second = (
            add_execution(s, "ST_ABC_ANALYSIS", date(2026, 11, 22)),
            add_execution(s, "ST_ABC_ANALYSIS", date(2026, 11, 23)),
        )
        s.execute(insert(AbcResult), [_abc(e, i) for e in (first, second) for i in (1, 2)])
        s.execute(insert(ForecastResult), [_forecast(e, i) for e in (first, second) for i in (1, 2)])
    return first, second


def test_a_snapshot_row_naming_no_execution_is_refused_and_nothing_is_written(
    engine: Engine, runs: tuple[int, int]
) -> None:
    missing = max(runs) + 1000
    for table, row in ((AbcResult, _abc), (ForecastResult, _forecast)):
        with pytest.raises(IntegrityError, match="execution"), transaction(engine, write=True) as s:
            # one statement: rows of a real execution and of a missing one together
            s.execute(insert(table), [row(runs[0], 7), row(missing, 8)])
    assert _counts(engine) == {"st_abc_result_rec": 4, "st_forecast_result_rec": 4}


def test_moving_snapshot_rows_to_no_execution_is_refused(engine: Engine, runs: tuple[int, int]) -> None:
    for table in (AbcResult, ForecastResult):
        with pytest.raises(IntegrityError, match="execution"), transaction(engine, write=True) as s:
            s.execute(update(table).where(table.execution_id == runs[0]).values(execution_id=max(runs) + 1000))
    with engine.connect() as conn:
        per_run = conn.execute(
            select(AbcResult.execution_id, func.count())
            .group_by(AbcResult.execution_id)
            .order_by(AbcResult.execution_id)
        ).all()
    assert [tuple(r) for r in per_run] == [(runs[0], 2), (runs[1], 2)]


def test_deleting_an_execution_deletes_its_snapshot_rows_only(engine: Engine, runs: tuple[int, int]) -> None:
    with transaction(engine, write=True) as s:
        s.execute(delete(BatchExecution).where(BatchExecution.id == runs[0]))
    with engine.connect() as conn:
        abc = conn.execute(select(AbcResult.execution_id, AbcResult.item_id).order_by(AbcResult.item_id)).all()
        forecast = conn.execute(select(ForecastResult.execution_id).distinct()).scalars().all()
    assert [tuple(r) for r in abc] == [(runs[1], 1), (runs[1], 2)]
    assert forecast == [runs[1]]


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite has one writer at a time
def test_an_execution_is_locked_against_deletion_while_its_rows_are_being_written(
    engine: Engine, runs: tuple[int, int]
) -> None:
    """As a foreign key does, the check locks the executions it saw until the writing
    transaction ends, so a concurrent delete waits rather than orphaning the rows."""
    with engine.connect() as writer, engine.connect() as other:
        writer.execute(insert(AbcResult), [_abc(runs[0], 9)])
        other.execute(text("SET LOCAL lock_timeout = '300ms'"))
        with pytest.raises(DBAPIError, match="lock timeout"):
            other.execute(delete(BatchExecution).where(BatchExecution.id == runs[0]))
        other.rollback()
        writer.commit()
    assert _counts(engine)["st_abc_result_rec"] == 5


def _execution_keys(engine: Engine) -> dict[str, list[str]]:
    inspector = inspect(engine)
    return {
        t: [
            fk["referred_table"]
            for fk in inspector.get_foreign_keys(t)
            if fk["referred_table"] == "batch_execution_rec"
        ]
        for t in SNAPSHOT_CHECKS
    }


def test_the_migration_trades_the_foreign_keys_for_triggers_and_back_keeping_the_rows(old_engine: Engine) -> None:
    with transaction(old_engine, write=True) as s:
        run = add_execution(s, "ST_ABC_ANALYSIS")
        s.execute(insert(AbcResult), [_abc(run, i) for i in (1, 2, 3)])
        s.execute(insert(ForecastResult), [_forecast(run, 1)])
    assert _execution_keys(old_engine) == {t: ["batch_execution_rec"] for t in SNAPSHOT_CHECKS}

    upgrade(old_engine, REVISION)
    assert current_revision(old_engine) == REVISION
    assert _execution_keys(old_engine) == {t: [] for t in SNAPSHOT_CHECKS}
    assert _counts(old_engine) == {"st_abc_result_rec": 3, "st_forecast_result_rec": 1}
    with pytest.raises(IntegrityError), transaction(old_engine, write=True) as s:
        s.execute(insert(AbcResult), [_abc(run + 1, 9)])

    downgrade(old_engine, BEFORE)
    assert _execution_keys(old_engine) == {t: ["batch_execution_rec"] for t in SNAPSHOT_CHECKS}
    assert _counts(old_engine) == {"st_abc_result_rec": 3, "st_forecast_result_rec": 1}
    with transaction(old_engine, write=True) as s:  # no trigger left behind: the key cascades
        s.execute(delete(BatchExecution).where(BatchExecution.id == run))
    assert _counts(old_engine) == {"st_abc_result_rec": 0, "st_forecast_result_rec": 0}
    upgrade(old_engine, REVISION)
    assert current_revision(old_engine) == REVISION


def test_a_temporary_table_holds_the_query_rows_for_the_block_and_is_gone_after(engine: Engine) -> None:
    with transaction(engine, write=True) as s:
        add_execution(s, "ST_ABC_ANALYSIS", date(2026, 11, 21))
        add_execution(s, "ST_ABC_ANALYSIS", date(2026, 11, 22))
    query = select(BatchExecution.id.label("run"), (BatchExecution.id * 10).label("tenfold")).where(
        BatchExecution.business_date > date(2026, 11, 21)
    )
    with transaction(engine, write=True) as s:
        with temporary_table(s, "acas_test_runs", query) as runs:
            rows = s.execute(select(runs.c.run, runs.c.tenfold).order_by(runs.c.run)).all()
            # read twice: it is a table, not a one-pass result
            assert s.scalar(select(func.sum(runs.c.tenfold))) == sum(r[1] for r in rows)
        assert len(rows) == 1 and rows[0][1] == rows[0][0] * 10
        with pytest.raises(DBAPIError):
            s.execute(text("SELECT COUNT(*) FROM acas_test_runs"))
        s.rollback()


def test_a_temporary_table_of_the_same_query_is_compiled_once_and_takes_each_run_s_values(engine: Engine) -> None:
    # Given two executions, and every CREATE TEMPORARY TABLE's cache outcome recorded
    with transaction(engine, write=True) as s:
        first = add_execution(s, "ST_ABC_ANALYSIS", date(2026, 11, 21))
        second = add_execution(s, "ST_ABC_ANALYSIS", date(2026, 11, 22))
    hits: list[bool] = []

    def seen(conn: object, cursor: object, statement: str, params: object, context: Any, many: bool) -> None:
        if statement.startswith("CREATE TEMPORARY TABLE acas_test_cached"):
            hits.append(context.cache_hit == context.dialect.CACHE_HIT)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        # When the same ranking is made twice with different values
        got = []
        for day in (date(2026, 11, 20), date(2026, 11, 21)):
            query = select(BatchExecution.id.label("run")).where(BatchExecution.business_date > day)
            with transaction(engine, write=True) as s, temporary_table(s, "acas_test_cached", query) as runs:
                got.append(set(s.scalars(select(runs.c.run))))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # Then the second is served from the compiled cache, with its own value bound
    assert hits == [False, True]
    assert got == [{first, second}, {second}]


def test_a_temporary_table_left_by_an_error_goes_with_the_rollback(engine: Engine) -> None:
    query = select(literal(1).label("one"))
    with Session(engine) as s:
        with pytest.raises(RuntimeError, match="inside"), temporary_table(s, "acas_test_gone", query):
            raise RuntimeError("inside")
        s.rollback()
        with temporary_table(s, "acas_test_gone", query) as again:  # the name is free again
            assert s.scalar(select(again.c.one)) == 1
        s.rollback()


def test_a_temporary_table_name_must_be_an_identifier(engine: Engine) -> None:
    query = select(literal(1).label("one"))
    with (
        Session(engine) as s,
        pytest.raises(ValueError, match="identifier"),
        temporary_table(s, "t; DROP TABLE st_item_rec", query),
    ):
        pass

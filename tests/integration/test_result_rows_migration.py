"""Migration 0015_result_rows carries the ABC and forecast snapshots over, both ways, on both databases."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from acas_batch.models import AbcResult, ForecastResult
from acas_batch.models.migrate import current_revision, downgrade, upgrade
from tests.books import Books
from tests.support.executions import add_execution

BEFORE = "0014_vat_stagger"
ACCURACY = "method, history_months, holdout_months, adi, mae, mape, mase"


def _old_rows(engine: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:
    with engine.connect() as conn:
        abc = conn.execute(
            text(
                "SELECT execution_id, item_id, rank, consumption_qty, consumption_value_pence,"
                " cumulative_before_pence, abc_class FROM st_abc_result_rec ORDER BY execution_id, item_id"
            )
        ).all()
        months = conn.execute(
            text(
                "SELECT execution_id, item_id, CAST(month AS VARCHAR(10)), quantity FROM st_forecast_result_rec"
                " ORDER BY execution_id, item_id, month"
            )
        ).all()
        accuracy = conn.execute(
            text(f"SELECT execution_id, item_id, {ACCURACY} FROM st_forecast_accuracy_rec ORDER BY 1, 2")
        ).all()
    return [tuple(r) for r in abc], [tuple(r) for r in months], [tuple(r) for r in accuracy]


def test_snapshots_are_carried_over_on_upgrade_and_back_on_downgrade(old_engine: Engine) -> None:
    # Given a 0013 database with an ABC snapshot of two items and a forecast of two items, three months
    # each (one forecast item with no demand: no ADI, no errors), the months written out of order
    with Session(old_engine) as s:
        books = Books.open(s)
        one, two = books.item(), books.item()
        abc_run, fc_run = add_execution(s, "ST_ABC_ANALYSIS"), add_execution(s, "ST_DEMAND_FORECAST")
        s.commit()
    with old_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO st_abc_result_rec (execution_id, item_id, rank, consumption_qty, consumption_value_pence,"
                " cumulative_before_pence, abc_class)"
                " VALUES (:e, :a, 1, 70, 7000, 0, 'A'), (:e, :b, 2, 0, 0, 7000, 'C')"
            ),
            {"e": abc_run, "a": two, "b": one},
        )
        months = [
            (one, "2026-12-01", 10.0),
            (one, "2027-01-01", 11.5),
            (one, "2026-11-01", 9.25),
            (two, "2026-11-01", 0.0),
            (two, "2026-12-01", 0.0),
            (two, "2027-01-01", 0.0),
        ]
        conn.execute(
            text("INSERT INTO st_forecast_result_rec (execution_id, item_id, month, quantity) VALUES (:e, :i, :m, :q)"),
            [{"e": fc_run, "i": i, "m": m, "q": q} for i, m, q in months],
        )
        conn.execute(
            text(
                f"INSERT INTO st_forecast_accuracy_rec (execution_id, item_id, {ACCURACY}) VALUES"
                " (:e, :a, 'moving_average', 24, 6, 1.0, 0.5, 4.25, 0.75),"
                " (:e, :b, 'none', 24, 6, NULL, NULL, NULL, NULL)"
            ),
            {"e": fc_run, "a": one, "b": two},
        )
    before = _old_rows(old_engine)

    # When the database is upgraded to head
    upgrade(old_engine)

    # Then each forecast item is one row: its accuracy, the first month and the months' quantities in order;
    # the ABC rows are as they were
    with Session(old_engine) as s:
        forecast = {f.item_id: f for f in s.scalars(select(ForecastResult))}
        abc = {a.item_id: (a.rank, a.abc_class, a.cumulative_before_pence) for a in s.scalars(select(AbcResult))}
    assert set(forecast) == {one, two}
    assert forecast[one].first_month == date(2026, 11, 1)
    assert forecast[one].quantities == [9.25, 10.0, 11.5]
    assert forecast[one].months() == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
    assert (forecast[one].method, forecast[one].holdout_months, forecast[one].mape) == ("moving_average", 6, 4.25)
    assert (forecast[two].quantities, forecast[two].adi, forecast[two].execution_id) == ([0.0] * 3, None, fc_run)
    assert abc == {two: (1, "A", 0), one: (2, "C", 7000)}

    # And the downgrade restores the old tables, row for row
    downgrade(old_engine, BEFORE)
    assert current_revision(old_engine) == BEFORE
    assert _old_rows(old_engine) == before


def test_an_item_with_a_gap_in_its_months_stops_the_upgrade(old_engine: Engine) -> None:
    # Given an accuracy row whose item lacks its middle forecast month
    with Session(old_engine) as s:
        item = Books.open(s).item()
        run = add_execution(s, "ST_DEMAND_FORECAST")
        s.commit()
    with old_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO st_forecast_result_rec (execution_id, item_id, month, quantity) VALUES (:e, :i, :m, 1)"),
            [{"e": run, "i": item, "m": m} for m in ("2026-11-01", "2027-01-01")],
        )
        conn.execute(
            text(
                f"INSERT INTO st_forecast_accuracy_rec (execution_id, item_id, {ACCURACY})"
                " VALUES (:e, :i, 'moving_average', 24, 6, 1, 0, 0, 0)"
            ),
            {"e": run, "i": item},
        )

    # When the upgrade runs, then it stops naming the execution and item, and the database stays at 0013
    with pytest.raises(RuntimeError, match=f"execution {run}, item {item}: months missing or not consecutive"):
        upgrade(old_engine)
    assert current_revision(old_engine) == BEFORE

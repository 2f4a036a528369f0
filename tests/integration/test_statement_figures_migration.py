"""Migration 0029_statement_figures both ways on both databases: a statement row gains its
customer's code and name (filled in for rows already there) and its aged summary."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from acas_batch.models.migrate import downgrade, upgrade
from tests.books import Books
from tests.support.executions import add_execution

BEFORE = "0028_runs_indexes"
AGED = [f"aged_{i}_pence" for i in range(6)]


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("sl_statement_rec")}


def _indexes(engine: Engine) -> dict[str, tuple[list[str], bool]]:
    found = inspect(engine).get_indexes("sl_statement_rec")
    return {i["name"]: (list(i["column_names"]), bool(i["unique"])) for i in found if i["name"]}


def test_a_statement_row_gains_its_customers_code_and_name_and_loses_them_on_downgrade(old_engine: Engine) -> None:
    # Given a 0028 database holding one customer's statement for October
    with Session(old_engine) as s:
        customer = Books.open(s).customer()
        run = add_execution(s, "SL_STATEMENT_GENERATION")
        s.commit()
    with old_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sl_statement_rec (execution_id, run_key, period_start, period_end, customer_id,"
                " opening_pence, debits_pence, credits_pence, closing_pence, transactions)"
                " VALUES (:e, 'SL_STATEMENT_GENERATION:2026-10', '2026-10-01', '2026-10-31', :c, 100, 50, 30, 120, 2)"
            ),
            {"e": run, "c": customer},
        )
    # When it is upgraded
    upgrade(old_engine, "0029_statement_figures")
    # Then the row names its customer as the customer record does, with no aged summary (never computed)
    with old_engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT customer_code, customer_name, closing_pence, {', '.join(AGED)} FROM sl_statement_rec")
        ).one()
    assert tuple(row) == ("C00001", "Customer", 120, *[None] * 6)
    assert _indexes(old_engine)["ix_sl_statement_rec_run_key_code"] == (["run_key", "customer_code"], True)
    assert "ix_sl_statement_rec_run_key" not in _indexes(old_engine)
    # And the downgrade takes the columns away and puts the run key's index back, the row kept
    downgrade(old_engine, BEFORE)
    assert not {"customer_code", "customer_name", *AGED} & _columns(old_engine)
    assert _indexes(old_engine)["ix_sl_statement_rec_run_key"] == (["run_key"], False)
    with old_engine.connect() as conn:
        assert conn.execute(text("SELECT closing_pence FROM sl_statement_rec")).scalar_one() == 120

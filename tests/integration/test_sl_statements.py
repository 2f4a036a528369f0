"""SL_STATEMENT_GENERATION on both databases: a hand-worked month, a demo company, the real engine."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models import (
    BatchExecution,
    Customer,
    DocumentKind,
    ExecutionState,
    Receipt,
    SalesInvoice,
    StatementLine,
)
from acas_batch.services import JobSchedulerService
from tests.books import Books
from tests.engine_helpers import engine_settings
from tests.sl_support import assert_ledger_sound, at, credit_note, open_books, receipt, settings_for
from tests.support.context import run_job
from tests.support.users import user

MONTH_END = date(2026, 8, 31)


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    yield from open_books(engine)


@pytest.fixture
def ledger(books: Books) -> dict[str, int]:
    """August 2026:

    A (statement e-mail): £120.00 invoiced 10/07 (brought forward), paid 05/08; £60.00 invoiced
      20/08; credit note £6.00 on 25/08 → closing £54.00
    B: £120.00 invoiced 01/06, unpaid, nothing in August → a statement (balance £120.00)
    C: no documents at all → no statement;  D: invoiced and paid in July → no statement
    """
    b = books
    a, bb, c, d = b.customer(), b.customer(), b.customer(), b.customer()
    b.session.execute(update(Customer).where(Customer.id == a).values(statement_email="accounts@a.example"))
    july = b.invoice(a, 10_000, on=date(2026, 7, 10))
    receipt(b, a, 12_000, date(2026, 8, 5), (july, 12_000))
    b.invoice(a, 5_000, on=date(2026, 8, 20))
    credit_note(b, a, 500, date(2026, 8, 25))
    b.invoice(bb, 10_000, on=date(2026, 6, 1))
    paid = b.invoice(d, 1_000, on=date(2026, 7, 1))
    receipt(b, d, 1_200, date(2026, 7, 20), (paid, 1_200))
    b.session.commit()
    return {"A": a, "B": bb, "C": c, "D": d}


def _statements(engine: Engine) -> dict[int, StatementLine]:
    with Session(engine) as s:
        return {r.customer_id: r for r in s.scalars(select(StatementLine))}


def test_statements_carry_the_balance_forward_with_a_running_balance(
    engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]
) -> None:
    run = run_job(engine, settings_for(db_url, tmp_path), "SL_STATEMENT_GENERATION", now=at(MONTH_END))
    assert run.state is ExecutionState.SUCCEEDED, run.error
    st = _statements(engine)
    assert set(st) == {ledger["A"], ledger["B"]}
    a, b = st[ledger["A"]], st[ledger["B"]]
    assert (a.opening_pence, a.debits_pence, a.credits_pence, a.closing_pence) == (12_000, 6_000, 12_600, 5_400)
    assert (a.transactions, a.email_to, a.email_state) == (3, "accounts@a.example", "queued")
    assert (b.opening_pence, b.closing_pence, b.transactions, b.email_state) == (12_000, 12_000, 0, None)
    assert (a.period_start, a.period_end) == (date(2026, 8, 1), MONTH_END)
    for name in ("statement_C00001.pdf", "statement_C00002.pdf", "statements_all.pdf"):
        assert run.context.output(name).read_bytes().startswith(b"%PDF"), name
    assert not run.context.output("statement_C00003.pdf").exists()
    rows = list(csv.reader(run.context.output("statements.csv").read_text().splitlines()))
    # Money columns in pence, and named so
    assert rows[0] == ["customer", "name", "opening_pence", "debits_pence", "credits_pence", "closing_pence",
                       "transactions", "email", "aged_current_pence", "aged_1-30_pence", "aged_31-60_pence",
                       "aged_61-90_pence", "aged_91-120_pence", "aged_121+_pence"]  # fmt: skip
    assert rows[1:] == [  # A's open items fall due in September; B's invoice, due 01/07, is 61 days old on 31/08
        ["C00001", "Customer", "12000", "6000", "12600", "5400", "3", "accounts@a.example", "5400", *"00000"],
        ["C00002", "Customer", "12000", "0", "0", "12000", "0", "", "0", "0", "0", "12000", "0", "0"],
    ]
    assert run.result is not None and run.result.counts == {
        "statements": 2,
        "emailed": 0,
        "email_queued": 1,  # no mail server listens: it waits in the outbox
        "email_failed": 0,
        "not_emailed_no_address": 1,
    }
    assert_ledger_sound(engine)


def test_a_statement_made_during_the_month_is_dated_and_aged_on_the_day_it_is_made(
    engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]
) -> None:
    # Given statements for August made on 22/08 (before A's credit note of 25/08)
    day = date(2026, 8, 22)
    run = run_job(engine, settings_for(db_url, tmp_path), "SL_STATEMENT_GENERATION", now=at(day))
    assert run.state is ExecutionState.SUCCEEDED, run.error
    st = _statements(engine)
    a = st[ledger["A"]]
    # Then they run to 22/08, not to the month end
    assert (a.period_end, a.closing_pence, a.transactions) == (day, 6_000, 2)
    # and B's invoice, due 01/07, is 52 days overdue (31-60), not the 61 it will be on 31/08
    with run.context.output("statements.csv").open() as fh:
        rows = {r["customer"]: r for r in csv.DictReader(fh)}
    assert (rows["C00002"]["aged_31-60_pence"], rows["C00002"]["aged_61-90_pence"]) == ("12000", "0")
    from pypdf import PdfReader

    text = PdfReader(run.context.output("statement_C00002.pdf")).pages[0].extract_text()
    assert "01/08/2026 to 22/08/2026" in text and "31/08/2026" not in text
    assert "Page 1 of 1" in text


def test_the_printed_statement_has_the_running_balance_aged_summary_and_slip(
    ledger: dict[str, int], engine: Engine
) -> None:
    from acas_batch.jobs.params import DateRange
    from acas_batch.jobs.sl.statement_generation import build_statements
    from acas_batch.reports.letters import statement_pages
    from acas_batch.reports.pdf import pdf_bytes

    with Session(engine) as s:
        period = DateRange("2026-08", date(2026, 8, 1), MONTH_END, 2026, 5)
        statements = list(build_statements(s, period, include_zero=False))
    a = statements[0]
    assert [(t["kind"], t["balance"]) for t in a.lines] == [("receipt", 0), ("invoice", 6_000), ("credit note", 5_400)]
    assert a.aged == [5_400, 0, 0, 0, 0, 0]  # both open items fall due in September
    assert statements[1].aged == [0, 0, 0, 12_000, 0, 0]  # due 01/07: 61 days by 31/08
    labels = ["current", "1-30", "31-60", "61-90", "91-120", "121+"]
    texts = []
    for st in statements:
        pages = statement_pages(st, company="Test Wholesale Ltd", start=period.start, end=MONTH_END, labels=labels)
        texts.append("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_bytes(pages))).pages))
    assert len(texts) == 2
    assert "Amount due: 54.00" in texts[0] and "Amount due: 120.00" in texts[1]
    assert "01/08/2026 Balance brought forward" in texts[0]
    assert "current 1-30 31-60 61-90 91-120 121+ Total\n54.00 0.00 0.00 0.00 0.00 0.00 54.00" in texts[0]
    assert "Page 1 of 1" in texts[1] and "Test Wholesale Ltd" in texts[1]


def test_include_zero_balance_and_a_rerun_replaces_the_periods_set(
    engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]
) -> None:
    settings = settings_for(db_url, tmp_path)
    params = {"period": "2026-08", "include_zero_balance": True, "output_format": "csv"}
    run = run_job(engine, settings, "SL_STATEMENT_GENERATION", now=at(date(2026, 9, 3)), params=params)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert len(_statements(engine)) == 4
    assert not run.context.output("statements_all.pdf").exists()
    with Session(engine) as s:  # as an operator's forced rerun does: the old run is superseded
        s.execute(
            update(BatchExecution)
            .where(BatchExecution.id == run.execution_id)
            .values(superseded_by_id=run.execution_id)
        )
        s.commit()
    again = run_job(
        engine,
        settings,
        "SL_STATEMENT_GENERATION",
        now=at(date(2026, 9, 3)),
        params={**params, "include_zero_balance": False},
    )
    assert again.state is ExecutionState.SUCCEEDED, again.error
    assert {r.execution_id for r in _statements(engine).values()} == {again.execution_id}
    assert len(_statements(engine)) == 2


def test_on_a_demo_company_every_statement_matches_an_independent_computation(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    end = date(2026, 11, 23)
    generate(engine, size=DemoSize(customers=15, suppliers=4, items=10, months=6), end=end, seed=4)
    start, stop = date(2026, 10, 1), date(2026, 10, 31)
    run = run_job(
        engine,
        settings_for(db_url, tmp_path),
        "SL_STATEMENT_GENERATION",
        now=at(end),
        params={"period": "PREVIOUS", "output_format": "csv"},
    )
    assert run.state is ExecutionState.SUCCEEDED, run.error
    opening: dict[int, int] = {}
    moves: dict[int, list[int]] = {}
    with Session(engine) as s:
        events = [
            (d.customer_id, d.invoice_date, d.gross_pence if d.kind is DocumentKind.INVOICE else -d.gross_pence)
            for d in s.scalars(select(SalesInvoice))
        ]
        events += [(r.customer_id, r.receipt_date, -r.amount_pence) for r in s.scalars(select(Receipt))]
    for cid, on, amount in events:
        if on < start:
            opening[cid] = opening.get(cid, 0) + amount
        elif on <= stop:
            moves.setdefault(cid, []).append(amount)
    expected = {
        cid: (opening.get(cid, 0), opening.get(cid, 0) + sum(moves.get(cid, [])), len(moves.get(cid, [])))
        for cid in set(opening) | set(moves)
        if moves.get(cid) or opening.get(cid, 0) + sum(moves.get(cid, []))
    }
    got = {c: (r.opening_pence, r.closing_pence, r.transactions) for c, r in _statements(engine).items()}
    assert got == expected and len(got) > 5
    assert_ledger_sound(engine)


def test_the_engine_runs_it_end_to_end(engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]) -> None:
    svc = JobSchedulerService(
        engine, settings=engine_settings(db_url, tmp_path, job_modules="acas_batch.jobs.sl"), actor=user(engine, "ann")
    )
    created = svc.create_job("SL_STATEMENT_GENERATION", "SL", handler="SL_STATEMENT_GENERATION")
    assert created[0], created
    ok, execution_id = svc.execute_job_now(
        "SL_STATEMENT_GENERATION", {"output_format": "csv", "business_date": "2026-08-31"}
    )
    assert ok, execution_id
    ok, detail = svc.wait_for(execution_id, timeout=60)
    assert ok and detail["state"] == "succeeded", detail
    assert detail["run_key"] == "SL_STATEMENT_GENERATION:2026-08"
    assert sum(r.closing_pence for r in _statements(engine).values()) == 17_400

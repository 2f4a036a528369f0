"""SL_AGED_DEBTORS on both databases: a hand-worked ledger, a demo company, the real engine."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.ledger import balances
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models import (
    AgedDebtorLine,
    BatchLog,
    ControlKind,
    Customer,
    DocumentKind,
    ExecutionState,
    Receipt,
    SalesInvoice,
)
from acas_batch.services import JobSchedulerService
from tests.books import Books
from tests.engine_helpers import engine_settings
from tests.sl_support import assert_ledger_sound, at, credit_note, open_books, receipt, settings_for
from tests.support.context import run_job
from tests.support.users import user

DAY = date(2026, 9, 30)


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    yield from open_books(engine)


@pytest.fixture
def ledger(books: Books) -> dict[str, int]:
    """Three customers, worked by hand at 30/09/2026 (terms 30 days, VAT 20%).

    A: £120.00 due 01/05 (152 days late), £60.00 due 14/09 (16 days), £20.00 received 20/09 unallocated.
    B (limit £150): £240.00 due 10/10 (not due) part-paid £40.00; credit note £12.00 due 31/07 (61 days).
    C: one invoice paid in full: nothing open.
    """
    b = books
    a, bb, c = b.customer(), b.customer(limit=15_000), b.customer()
    b.invoice(a, 10_000, on=date(2026, 4, 1))
    b.invoice(a, 5_000, on=date(2026, 8, 15))
    receipt(b, a, 2_000, date(2026, 9, 20))
    inv_b = b.invoice(bb, 20_000, on=date(2026, 9, 10))
    receipt(b, bb, 4_000, date(2026, 9, 12), (inv_b, 4_000))
    credit_note(b, bb, 1_000, date(2026, 7, 1))
    inv_c = b.invoice(c, 3_000, on=date(2026, 6, 1))
    receipt(b, c, 3_600, date(2026, 6, 20), (inv_c, 3_600))
    b.session.commit()
    return {"A": a, "B": bb, "C": c}


def _lines(engine: Engine) -> dict[int, AgedDebtorLine]:
    with Session(engine) as s:
        return {r.customer_id: r for r in s.scalars(select(AgedDebtorLine))}


def test_open_items_are_aged_by_due_date_and_the_total_ties_to_debtors_control(
    engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]
) -> None:
    run = run_job(engine, settings_for(db_url, tmp_path), "SL_AGED_DEBTORS", now=at(DAY))
    assert run.state is ExecutionState.SUCCEEDED, run.error
    lines = _lines(engine)
    # current, 1-30, 31-60, 61-90, 91-120, 121+
    assert lines[ledger["A"]].bucket_pence == [0, 6_000 - 2_000, 0, 0, 0, 12_000]
    assert lines[ledger["B"]].bucket_pence == [20_000, 0, 0, -1_200, 0, 0]
    assert ledger["C"] not in lines
    assert (lines[ledger["A"]].total_pence, lines[ledger["B"]].total_pence) == (16_000, 18_800)
    assert (lines[ledger["A"]].over_limit, lines[ledger["B"]].over_limit) == (False, True)
    assert lines[ledger["A"]].items == 3
    assert run.result is not None
    assert run.result.totals["total_pence"] == 34_800
    with Session(engine) as s:
        assert balances.control_balance(s, ControlKind.DEBTORS) == 34_800
    # The CSV a user opens: one row per customer and a total row; the PDF beside it
    folder = run.context.output("x").parent
    rows = list(csv.reader((folder / "aged_debtors.csv").read_text().splitlines()))
    assert rows[0] == ["customer", "name", "current_pence", "1-30_pence", "31-60_pence", "61-90_pence",
                       "91-120_pence", "121+_pence", "total_pence", "credit_limit_pence", "over_limit"]  # fmt: skip
    assert rows[-1][:9] == ["TOTAL", "", "20000", "4000", "0", "-1200", "0", "12000", "34800"]
    assert (folder / "aged_debtors.pdf").read_bytes().startswith(b"%PDF")
    with Session(engine) as s:
        messages = list(s.scalars(select(BatchLog.message).where(BatchLog.execution_id == run.execution_id)))
    assert "1 customer(s) over their credit limit" in messages
    assert_ledger_sound(engine)


def test_items_on_the_bucket_bounds_fall_where_the_bounds_say(
    engine: Engine, db_url: str, tmp_path: Path, books: Books
) -> None:
    """Bounds are inclusive upper limits in days past due: 0 is current, 30 is 1-30, 31 is 31-60."""
    days_late = (-5, 0, 1, 30, 31, 60, 61, 90, 91, 120, 121, 150)
    customers = {}
    for days in days_late:
        customers[days] = books.customer(terms=30)
        books.invoice(customers[days], 1_000, on=DAY - timedelta(days=days + 30))  # due DAY - days
    books.session.commit()
    run = run_job(engine, settings_for(db_url, tmp_path), "SL_AGED_DEBTORS", now=at(DAY))
    assert run.state is ExecutionState.SUCCEEDED, run.error
    lines = _lines(engine)
    expected_bucket = {-5: 0, 0: 0, 1: 1, 30: 1, 31: 2, 60: 2, 61: 3, 90: 3, 91: 4, 120: 4, 121: 5, 150: 5}
    for days, customer in customers.items():
        buckets = [0] * 6
        buckets[expected_bucket[days]] = 1_200  # £10.00 + 20% VAT
        assert lines[customer].bucket_pence == buckets, days


def test_acas_ageing_by_invoice_date_with_its_own_buckets(
    engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]
) -> None:
    params = {"age_by": "invoice_date", "buckets": [29, 59, 89], "output_format": "csv"}
    run = run_job(engine, settings_for(db_url, tmp_path), "SL_AGED_DEBTORS", now=at(DAY), params=params)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    lines = _lines(engine)
    # A: invoiced 01/04 (182 days) and 15/08 (46 days); receipt 20/09 (10 days)
    assert lines[ledger["A"]].bucket_labels == ["0-29", "30-59", "60-89", "90+"]
    assert lines[ledger["A"]].bucket_pence == [-2_000, 6_000, 0, 12_000]
    # B: invoiced 10/09 (20 days); credit note 01/07 (91 days)
    assert lines[ledger["B"]].bucket_pence == [20_000, 0, 0, -1_200]
    assert not run.context.output("aged_debtors.pdf").exists()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"buckets": [30, 10]}, "buckets"),
        ({"age_by": "posting_date"}, "age_by"),
        ({"output_format": "xml"}, "output_format"),
        ({"notify": {"recipients": ["not-an-address"]}}, "notify.recipients"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_parameters_are_refused_before_the_run_naming_the_field(params: dict[str, object], field: str) -> None:
    from acas_batch.batch.registry import REGISTRY
    from acas_batch.errors import ValidationError
    from acas_batch.jobs import load_standard_jobs

    load_standard_jobs()
    with pytest.raises(ValidationError, match=f"{field}: "):
        REGISTRY.get("SL_AGED_DEBTORS").validate_params(params)


def _independent_ageing(engine: Engine, day: date) -> dict[int, list[int]]:
    """Plain Python over every row: what each customer owes in each default bucket."""

    def bucket(days: int) -> int:
        if days <= 0:
            return 0
        if days <= 30:
            return 1
        if days <= 60:
            return 2
        if days <= 90:
            return 3
        if days <= 120:
            return 4
        return 5

    owed: dict[int, list[int]] = {}
    with Session(engine) as s:
        for doc in s.scalars(select(SalesInvoice)):
            if doc.outstanding_pence:
                sign = 1 if doc.kind is DocumentKind.INVOICE else -1
                owed.setdefault(doc.customer_id, [0] * 6)[bucket((day - doc.due_date).days)] += (
                    sign * doc.outstanding_pence
                )
        for r in s.scalars(select(Receipt)):
            if r.unallocated_pence:
                owed.setdefault(r.customer_id, [0] * 6)[bucket((day - r.receipt_date).days)] -= r.unallocated_pence
    return owed


def test_on_a_demo_company_the_listing_matches_an_independent_ageing_and_the_control_account(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    end = date(2026, 11, 23)
    generate(engine, size=DemoSize(customers=15, suppliers=4, items=10, months=6), end=end, seed=7)
    run = run_job(
        engine, settings_for(db_url, tmp_path), "SL_AGED_DEBTORS", now=at(end), params={"output_format": "csv"}
    )
    assert run.state is ExecutionState.SUCCEEDED, run.error
    expected = _independent_ageing(engine, end)
    lines = _lines(engine)
    assert {c: r.bucket_pence for c, r in lines.items()} == expected
    assert len(expected) > 5
    with Session(engine) as s:
        control = balances.control_balance(s, ControlKind.DEBTORS)
        limits = {int(i): int(lim) for i, lim in s.execute(select(Customer.id, Customer.credit_limit_pence))}
    assert sum(r.total_pence for r in lines.values()) == control
    assert {c for c, r in lines.items() if r.over_limit} == {c for c, b in expected.items() if sum(b) > limits[c]}
    assert_ledger_sound(engine)


def test_the_engine_runs_it_end_to_end(engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]) -> None:
    svc = JobSchedulerService(
        engine, settings=engine_settings(db_url, tmp_path, job_modules="acas_batch.jobs.sl"), actor=user(engine, "ann")
    )
    created = svc.create_job("SL_AGED_DEBTORS", "SL", handler="SL_AGED_DEBTORS")
    assert created[0], created
    ok, execution_id = svc.execute_job_now("SL_AGED_DEBTORS", {"output_format": "csv", "business_date": "2026-09-30"})
    assert ok, execution_id
    ok, detail = svc.wait_for(execution_id, timeout=60)
    assert ok and detail["state"] == "succeeded", detail
    assert detail["result"]["totals"]["total_pence"] == 34_800
    # A second run of the same day is refused unless forced; forced, it replaces the day's snapshot
    ok, refused = svc.execute_job_now("SL_AGED_DEBTORS", {"output_format": "csv", "business_date": "2026-09-30"})
    assert not ok and "already succeeded" in refused
    ok, again = svc.execute_job_now(
        "SL_AGED_DEBTORS", {"output_format": "csv", "business_date": "2026-09-30"}, force_reason="receipts keyed late"
    )
    assert ok, again
    ok, detail = svc.wait_for(again, timeout=60)
    assert ok and detail["state"] == "succeeded", detail
    lines = _lines(engine)
    assert sum(r.total_pence for r in lines.values()) == 34_800
    assert {r.execution_id for r in lines.values()} == {again} != {execution_id}

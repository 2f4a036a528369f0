"""SL_OVERDUE_REMINDERS on both databases: a hand-worked ledger, a demo company, the real engine."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.jobs.sl import overdue_reminders
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models import Customer, DocumentKind, ExecutionState, Reminder, SalesInvoice
from acas_batch.services import JobSchedulerService
from tests.books import Books
from tests.engine_helpers import engine_settings
from tests.sl_support import assert_ledger_sound, at, open_books, receipt, settings_for
from tests.support.context import run_job
from tests.support.users import user
from tests.support.write_lock import lock_seen_during

DAY = date(2026, 6, 30)


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    yield from open_books(engine)


@pytest.fixture
def ledger(books: Books) -> dict[str, int]:
    """At 30/06/2026 with levels at 7, 30 and 60 days (terms 30 days):

    A: £120.00 due 01/05 (60 days) and £24.00 due 19/06 (11 days)   → level 3, for collection
    B: £60.00 due 31/05 (30 days)                                    → level 2
    C: £36.00 due 09/06 (21 days)                                    → level 1
    D: due 25/06 (5 days)                                            → no letter yet
    E: 60 days overdue but disputed; F: 60 days overdue, dunning off → no letter
    """
    b = books
    ids = {k: b.customer() for k in "ABCDEF"}
    inv = {"A1": b.invoice(ids["A"], 10_000, on=date(2026, 4, 1))}
    b.invoice(ids["A"], 2_000, on=date(2026, 5, 20))
    inv["B"] = b.invoice(ids["B"], 5_000, on=date(2026, 5, 1))
    b.invoice(ids["C"], 3_000, on=date(2026, 5, 10))
    b.invoice(ids["D"], 1_000, on=date(2026, 5, 26))
    e = b.invoice(ids["E"], 1_000, on=date(2026, 4, 1))
    b.invoice(ids["F"], 1_000, on=date(2026, 4, 1))
    b.session.execute(update(SalesInvoice).where(SalesInvoice.id == e).values(disputed=True))
    b.session.execute(update(Customer).where(Customer.id == ids["F"]).values(dunning_enabled=False))
    b.session.commit()
    return ids | {f"inv_{k}": v for k, v in inv.items()}


def _levels(engine: Engine) -> dict[int, tuple[int, date | None, bool]]:
    with Session(engine) as s:
        return {c.id: (c.dunning_level, c.last_dunning_on, c.in_collection) for c in s.scalars(select(Customer))}


def _reminders(engine: Engine) -> list[tuple[int, int, date]]:
    with Session(engine) as s:
        return [(r.customer_id, r.level, r.sent_on) for r in s.scalars(select(Reminder).order_by(Reminder.id))]


def test_the_oldest_overdue_item_picks_the_letter_level(
    engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]
) -> None:
    params = {"statutory_interest": True}
    run = run_job(engine, settings_for(db_url, tmp_path), "SL_OVERDUE_REMINDERS", now=at(DAY), params=params)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    a, b, c = ledger["A"], ledger["B"], ledger["C"]
    assert _reminders(engine) == [(a, 3, DAY), (b, 2, DAY), (c, 1, DAY)]
    levels = _levels(engine)
    assert levels[a] == (3, DAY, True) and levels[b] == (2, DAY, False) and levels[c] == (1, DAY, False)
    assert levels[ledger["D"]][0] == levels[ledger["E"]][0] == levels[ledger["F"]][0] == 0
    with Session(engine) as s:
        first = s.scalars(select(Reminder).where(Reminder.customer_id == a)).one()
    # Late Payment Act: 11.75% (8% + 3.75%) simple, 60 days on £144.00... per invoice:
    # £120.00 × 11.75% × 60/365 = 231.78p → 232p; £24.00 × 11.75% × 11/365 = 8.50p → 8p; £40 + £40 compensation
    assert (first.days_overdue, first.overdue_pence, first.invoice_id) == (60, 14_400, ledger["inv_A1"])
    assert (first.interest_pence, first.compensation_pence) == (240, 8_000)
    rows = list(csv.reader(run.context.output("reminders.csv").read_text().splitlines()))
    assert rows[0][4:7] == ["overdue_pence", "interest_pence", "compensation_pence"]
    assert rows[1] == ["C00001", "Customer", "3", "60", "14400", "240", "8000", "2"]
    for name in ("reminder_C00001.pdf", "reminder_C00003.pdf", "reminders_all.pdf"):
        assert run.context.output(name).read_bytes().startswith(b"%PDF"), name
    # A's final notice prints the overdue total, each invoice with its interest and compensation
    printed = " ".join(PdfReader(run.context.output("reminder_C00001.pdf")).pages[0].extract_text().split())
    assert "Final notice before collection" in printed and "The overdue total is 144.00." in printed
    assert "interest 2.40, compensation 80.00 to date" in printed and "Page 1 of 1" in printed
    assert len(PdfReader(run.context.output("reminders_all.pdf")).pages) == 3
    assert_ledger_sound(engine)


def test_no_level_repeats_within_the_repeat_days_none_goes_down_and_paid_customers_reset(
    engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int], books: Books
) -> None:
    settings = settings_for(db_url, tmp_path)
    csv_only = {"output_format": "csv"}
    run_job(engine, settings, "SL_OVERDUE_REMINDERS", now=at(DAY), params=csv_only)
    # The next day: everything was sent yesterday, nothing is sent again
    next_day = run_job(engine, settings, "SL_OVERDUE_REMINDERS", now=at(date(2026, 7, 1)), params=csv_only)
    assert next_day.result is not None and (next_day.result.counts["letters"], next_day.result.counts["held"]) == (0, 3)
    # A pays its oldest invoice; B pays everything
    receipt(books, ledger["A"], 12_000, date(2026, 7, 10), (ledger["inv_A1"], 12_000))
    receipt(books, ledger["B"], 6_000, date(2026, 7, 10), (ledger["inv_B"], 6_000))
    books.session.commit()
    later = date(2026, 7, 15)
    run = run_job(engine, settings, "SL_OVERDUE_REMINDERS", now=at(later), params=csv_only)
    assert run.result is not None
    levels = _levels(engine)
    # A's level-3 item is paid: its level went with it; A's other item, 26 days overdue, earns level 1
    assert levels[ledger["A"]] == (1, later, False)
    # C (36 days) escalates to 2; B, paid up, starts again
    assert levels[ledger["C"]][:2] == (2, later)
    assert levels[ledger["B"]] == (0, DAY, False)
    # D's invoice, due 25/06, is now 20 days overdue: its first letter
    assert _reminders(engine)[3:] == [(ledger["A"], 1, later), (ledger["C"], 2, later), (ledger["D"], 1, later)]
    assert run.result.counts["reset"] == 1


def _history(books: Books, customer: int, *letters: tuple[int | None, int, date]) -> None:
    """Earlier letters to ``customer`` as (invoice id, level, day sent)."""
    for invoice, level, on in letters:
        books.session.add(
            Reminder(customer_id=customer, invoice_id=invoice, level=level, sent_on=on, days_overdue=0, overdue_pence=0)
        )
    books.session.commit()


def test_the_history_decides_repeats_and_levels_belong_to_the_items_still_open(
    engine: Engine, db_url: str, tmp_path: Path, books: Books
) -> None:
    # Given a customer's stored state that disagrees with the reminder history (as an imported ledger's may):
    #   P: a level-3 letter about its invoice 4 days ago, but the customer row says level 1 sent a month ago
    #   Q: a level-2 letter 9 days ago and a level 2 due again by days overdue
    #   R: a June level-1 letter about an invoice since paid (the customer row still says level 1);
    #      its only open invoice is 4 days overdue
    #   S: a level-3 letter about an invoice still open, sent 20 days ago; now only 40 days overdue: stays 3
    b, day = books, date(2026, 7, 30)
    p, q, r, s = (b.customer() for _ in range(4))
    p_inv = b.invoice(p, 10_000, on=date(2026, 4, 20))  # due 20/05: 71 days
    q_inv = b.invoice(q, 5_000, on=date(2026, 5, 20))  # due 19/06: 41 days
    paid = b.invoice(r, 1_000, on=date(2026, 4, 1))
    receipt(b, r, 1_200, date(2026, 7, 1), (paid, 1_200))
    b.invoice(r, 1_000, on=date(2026, 6, 26))  # due 26/07: 4 days
    s_inv = b.invoice(s, 2_000, on=date(2026, 5, 21))  # due 20/06: 40 days
    b.session.commit()
    _history(b, p, (p_inv, 3, day - timedelta(days=4)))
    _history(b, q, (q_inv, 2, day - timedelta(days=9)))
    _history(b, r, (paid, 1, date(2026, 6, 10)))
    _history(b, s, (s_inv, 3, day - timedelta(days=20)))
    for customer in (p, r):
        b.session.execute(
            update(Customer).where(Customer.id == customer).values(dunning_level=1, last_dunning_on=date(2026, 6, 10))
        )
    b.session.commit()
    # When the reminders run
    run = run_job(
        engine, settings_for(db_url, tmp_path), "SL_OVERDUE_REMINDERS", now=at(day), params={"output_format": "csv"}
    )
    # Then P and Q wait for their repeat days, R gets no letter (4 days), S stays at 3
    assert run.result is not None and run.result.counts["held"] == 2
    assert [(c, lvl) for c, lvl, on in _reminders(engine) if on == day] == [(s, 3)]


def test_bad_levels_are_refused_naming_the_field() -> None:
    from acas_batch.batch.registry import REGISTRY
    from acas_batch.errors import ValidationError
    from acas_batch.jobs import load_standard_jobs

    load_standard_jobs()
    with pytest.raises(ValidationError, match="level_days: "):
        REGISTRY.get("SL_OVERDUE_REMINDERS").validate_params({"level_days": [30, 7, 60]})


def test_on_a_demo_company_the_letters_match_an_independent_computation(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    end = date(2026, 11, 23)
    generate(engine, size=DemoSize(customers=20, suppliers=4, items=10, months=6), end=end, seed=12)
    with Session(engine) as s:
        customers = {c.id: c for c in s.scalars(select(Customer))}
        oldest: dict[int, date] = {}
        for d in s.scalars(select(SalesInvoice)):
            if (
                d.kind is DocumentKind.INVOICE
                and d.outstanding_pence
                and d.due_date < end
                and not d.disputed
                and not d.on_hold
                and customers[d.customer_id].dunning_enabled
            ):
                oldest[d.customer_id] = min(oldest.get(d.customer_id, d.due_date), d.due_date)
        history = list(s.scalars(select(Reminder)))
        open_items = {
            d.id
            for d in s.scalars(select(SalesInvoice))
            if d.kind is DocumentKind.INVOICE and d.outstanding_pence and d.due_date < end
        }
        expected, held = [], 0
        for cid, due in sorted(oldest.items(), key=lambda kv: customers[kv[0]].code):
            days = (end - due).days
            floor = max((r.level for r in history if r.customer_id == cid and r.invoice_id in open_items), default=0)
            recent = max((r.level for r in history if r.customer_id == cid and (end - r.sent_on).days < 14), default=0)
            level = max(sum(days >= t for t in (7, 30, 60)), floor)
            repeat = level <= recent
            if level and not repeat:
                expected.append((cid, level, end))
            held += bool(level and repeat)
    run = run_job(
        engine, settings_for(db_url, tmp_path), "SL_OVERDUE_REMINDERS", now=at(end), params={"output_format": "csv"}
    )
    assert run.state is ExecutionState.SUCCEEDED, run.error
    got = [r for r in _reminders(engine) if r[2] == end]
    assert got == expected and len(expected) >= 1
    assert run.result is not None and run.result.counts["held"] == held and held + len(expected) > 2
    assert_ledger_sound(engine)


def test_the_engine_runs_it_end_to_end(engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]) -> None:
    svc = JobSchedulerService(
        engine, settings=engine_settings(db_url, tmp_path, job_modules="acas_batch.jobs.sl"), actor=user(engine, "ann")
    )
    created = svc.create_job("SL_OVERDUE_REMINDERS", "SL", handler="SL_OVERDUE_REMINDERS")
    assert created[0], created
    ok, execution_id = svc.execute_job_now(
        "SL_OVERDUE_REMINDERS", {"output_format": "csv", "business_date": "2026-06-30"}
    )
    assert ok, execution_id
    ok, detail = svc.wait_for(execution_id, timeout=60)
    assert ok and detail["state"] == "succeeded", detail
    assert [lvl for _, lvl, _ in _reminders(engine)] == [3, 2, 1]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_on_sqlite_the_letters_are_laid_out_before_the_job_takes_the_write_lock(
    engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another connection tries the lock as the job writes its CSV and each letter's PDF
    seen = [lock_seen_during(monkeypatch, overdue_reminders, name, db_url) for name in ("write_csv", "write_pages")]
    run = run_job(engine, settings_for(db_url, tmp_path), "SL_OVERDUE_REMINDERS", now=at(DAY))
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert seen == [[True], [True, True, True]]  # the CSV and three letters, the lock free for each
    assert [level for _, level, _ in _reminders(engine)] == [3, 2, 1]

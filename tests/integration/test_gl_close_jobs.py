"""GL_DAILY_CLOSE, GL_PERIOD_CLOSE and GL_YEAR_END_CLOSE on a hand-written ledger, both databases."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.errors import CloseRefused, PeriodClosed
from acas_batch.ledger import balances
from acas_batch.ledger.posting import JournalDraft, dr, post_journal
from acas_batch.models import (
    Account,
    AccountingPeriod,
    AccountPeriodBalance,
    DayBookLine,
    ExecutionState,
    Journal,
    JournalLine,
    JournalSource,
    JournalStatus,
    PeriodClosingBalance,
    PeriodStatus,
    SalesInvoice,
    YearEndLine,
)
from tests.books import Books
from tests.support.context import run_job

APR_END = date(2026, 4, 30)
YEAR_END = date(2027, 3, 31)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 0, tzinfo=UTC)


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    with Session(engine, expire_on_commit=False) as session:
        b = Books.open(session)
        session.commit()
        yield b


def gl(b: Books, on: date, ref: str, *lines: tuple[str, int]) -> int:
    """A pending GL journal from (account code, debit-positive pence) pairs."""
    draft = JournalDraft(on, JournalSource.GL, ref, tuple(dr(b.acc(code), p) for code, p in lines))
    return post_journal(b.session, draft)


def april(b: Books) -> dict[str, int]:
    """Rent 120.00 paid, cash sales 500.00, a credit sale 100.00 + VAT; a May journal; two faulty journals."""
    ids = {
        "rent": gl(b, date(2026, 4, 10), "RENT", ("6100", 12_000), ("1200", -12_000)),
        "cash": gl(b, date(2026, 4, 15), "CASH", ("1200", 50_000), ("4000", -50_000)),
        "may": gl(b, date(2026, 5, 2), "MAY", ("6300", 4_000), ("1200", -4_000)),
        "heat": gl(b, date(2026, 4, 20), "HEAT", ("6200", 3_000), ("1200", -3_000)),
        "odd": gl(b, date(2026, 4, 21), "ODD", ("6400", 1_000), ("1200", -1_000)),
    }
    ids["sale"] = b.invoice(b.customer(), 10_000, on=date(2026, 4, 20))
    ids["sale"] = b.session.get_one(SalesInvoice, ids["sale"]).journal_id
    # Two journals go wrong after they were written: an account closed, a line added by hand.
    b.session.execute(update(Account).where(Account.code == "6200").values(active=False))
    b.session.execute(
        insert(JournalLine).values(journal_id=ids["odd"], line_no=9, account_id=b.acc("6400"), debit_pence=5)
    )
    b.session.commit()
    return ids


def balance_rows(s: Session) -> dict[tuple[str, int], tuple[int, int]]:
    rows = s.execute(
        select(Account.code, AccountPeriodBalance.period_id, AccountPeriodBalance.debit_pence,
               AccountPeriodBalance.credit_pence).join(Account, Account.id == AccountPeriodBalance.account_id)
    )  # fmt: skip
    return {(c, p): (d, k) for c, p, d, k in rows}


def test_daily_close_posts_sound_journals_and_warns_with_each_refused_one(
    engine: Engine, settings: Settings, books: Books
) -> None:
    ids = april(books)

    run = run_job(engine, settings, "GL_DAILY_CLOSE", now=at(APR_END), business_date=APR_END)

    assert run.state is ExecutionState.WARNING, run.error
    assert run.result is not None and run.result.counts == {"posted": 3, "refused": 2}
    reason = run.context.warning or ""
    assert f"journal {ids['heat']} (HEAT): account 6200 is inactive" in reason
    assert f"journal {ids['odd']} (ODD): does not balance: debits 1005 pence, credits 1000 pence" in reason
    s = books.session
    s.rollback()  # a fresh snapshot: the job committed in its own session
    status = {k: s.get_one(Journal, v).status for k, v in ids.items()}
    assert status == {
        "rent": JournalStatus.POSTED, "cash": JournalStatus.POSTED, "sale": JournalStatus.POSTED,
        "may": JournalStatus.PENDING, "heat": JournalStatus.PENDING, "odd": JournalStatus.PENDING,
    }  # fmt: skip
    assert s.get_one(Journal, ids["rent"]).posted_on == APR_END
    apr = s.scalars(select(AccountingPeriod.id).where(AccountingPeriod.start_date == date(2026, 4, 1))).one()
    assert balance_rows(s) == {
        ("6100", apr): (12_000, 0),
        ("1200", apr): (50_000, 12_000),
        ("4000", apr): (0, 60_000),
        ("1100", apr): (12_000, 0),
        ("2200", apr): (0, 2_000),
    }
    # The day book: every journal seen, by source, refusals with their reason.
    assert run.result.totals == {"posted_GL_pence": 62_000, "posted_SL_pence": 12_000}
    with (run.context.folder / "day_book.csv").open() as fh:
        lines = list(csv.DictReader(fh))
    assert [(r["reference"], r["posted"]) for r in lines] == [
        ("RENT", "yes"), ("CASH", "yes"), ("HEAT", "no"), ("ODD", "no"), (lines[4]["reference"], "yes"),
    ]  # fmt: skip
    refused = s.scalars(select(DayBookLine.reason).where(DayBookLine.posted.is_(False))).all()
    assert len(refused) == 2 and all(refused)
    # The posted ledger stays double-entry (the hand-made line is in a journal left pending)
    tb = balances.trial_balance(s, posted_only=True)
    assert sum(r.debit_pence for r in tb) == sum(r.credit_pence for r in tb)
    assert all(rec.difference_pence == 0 for rec in balances.reconcile(s))

    # When it runs again, nothing already posted moves; the faulty journals are refused again.
    again = run_job(engine, settings, "GL_DAILY_CLOSE", now=at(APR_END), business_date=APR_END)
    assert again.result is not None and again.result.counts == {"posted": 0, "refused": 2}
    s.rollback()  # a fresh snapshot: the job committed in its own session
    assert balance_rows(s)[("1200", apr)] == (50_000, 12_000)


def test_daily_close_resumes_after_its_last_committed_chunk(engine: Engine, settings: Settings, books: Books) -> None:
    # Given 7 sound journals posted in chunks of 3
    for n in range(7):
        gl(books, date(2026, 4, 1 + n), f"J{n}", ("6100", 100 * (n + 1)), ("1200", -100 * (n + 1)))
    books.session.commit()
    run = run_job(engine, settings, "GL_DAILY_CLOSE", now=at(APR_END), business_date=APR_END,
                  params={"chunk_size": 3})  # fmt: skip
    # Then three chunks were committed with checkpoints, each journal posted once
    assert run.state is ExecutionState.SUCCEEDED and run.context.checkpoints == 3
    assert run.context.last_checkpoint == {"last_id": max_journal_id(books), "posted": 7, "refused": 0}
    books.session.rollback()  # a fresh snapshot: the job committed in its own session
    assert books.count(DayBookLine) == 7
    assert balances.account_balance(books.session, books.acc("6100"), posted_only=True) == 2_800


def max_journal_id(b: Books) -> int:
    return int(b.session.scalar(select(func.max(Journal.id))) or 0)


def test_period_close_refuses_until_the_ledger_is_ready_then_closes_once(
    engine: Engine, settings: Settings, books: Books
) -> None:
    ids = april(books)
    close = {"output_format": "both"}

    # Before any daily close: refused, naming the pending journals and the missing daily close
    first = run_job(engine, settings, "GL_PERIOD_CLOSE", now=at(APR_END), business_date=APR_END, params=close)
    assert isinstance(first.error, CloseRefused)
    assert "5 journal(s) of the period are still pending" in str(first.error)
    assert "no daily close has finished for 2026-04-30 (last: never)" in str(first.error)

    # After a daily close that refused two journals: still refused
    run_job(engine, settings, "GL_DAILY_CLOSE", now=at(APR_END), business_date=APR_END)
    second = run_job(engine, settings, "GL_PERIOD_CLOSE", now=at(APR_END), business_date=APR_END, params=close)
    assert "2 journal(s) of the period are still pending" in str(second.error)

    # A subledger out of step with its control account is refused too
    s = books.session
    s.execute(update(Account).where(Account.code == "6200").values(active=True))
    s.execute(delete(JournalLine).where(JournalLine.journal_id == ids["odd"], JournalLine.line_no == 9))
    gl(books, date(2026, 4, 30), "BYHAND", ("1100", 1), ("4900", -1))  # a control account posted by hand
    s.commit()
    run_job(engine, settings, "GL_DAILY_CLOSE", now=at(APR_END), business_date=APR_END)
    third = run_job(engine, settings, "GL_PERIOD_CLOSE", now=at(APR_END), business_date=APR_END, params=close)
    assert "debtors control 12001 pence vs subledger 12000 pence (difference 1, tolerance 0)" in str(third.error)
    tolerant = run_job(engine, settings, "GL_PERIOD_CLOSE", now=at(APR_END), business_date=APR_END,
                       params={**close, "control_tolerance": 1})  # fmt: skip

    # Then the period is closed with its closing balances, and the next one is open
    assert tolerant.state is ExecutionState.SUCCEEDED, tolerant.error
    s.rollback()  # a fresh snapshot: the job committed in its own session
    apr = s.scalars(select(AccountingPeriod).where(AccountingPeriod.start_date == date(2026, 4, 1))).one()
    assert apr.status is PeriodStatus.CLOSED and apr.closed_at == at(APR_END)
    closing = {
        code: (o, d, k, c)
        for code, o, d, k, c in s.execute(
            select(Account.code, PeriodClosingBalance.opening_pence, PeriodClosingBalance.debit_pence,
                   PeriodClosingBalance.credit_pence, PeriodClosingBalance.closing_pence)
            .join(Account, Account.id == PeriodClosingBalance.account_id)
            .where(PeriodClosingBalance.period_id == apr.id)
        )
    }  # fmt: skip
    assert closing == {
        "1100": (0, 12_001, 0, 12_001),
        "1200": (0, 50_000, 16_000, 34_000),
        "2200": (0, 0, 2_000, -2_000),
        "4000": (0, 0, 60_000, -60_000),
        "4900": (0, 0, 1, -1),
        "6100": (0, 12_000, 0, 12_000),
        "6200": (0, 3_000, 0, 3_000),
        "6400": (0, 1_000, 0, 1_000),
    }
    assert sum(c for *_x, c in closing.values()) == 0
    out = tolerant.context.folder
    assert (out / "period_trial_balance_2026-01.pdf").read_bytes().startswith(b"%PDF")
    assert "1200,Bank current account,0,50000,16000,34000" in (out / "period_trial_balance_2026-01.csv").read_text()
    may = s.scalars(select(AccountingPeriod).where(AccountingPeriod.start_date == date(2026, 5, 1))).one()
    assert may.status is PeriodStatus.OPEN

    # A posting into the closed period is refused; a second close is refused with a clear message
    with pytest.raises(PeriodClosed, match=r"2026/01 .* is closed"):
        gl(books, date(2026, 4, 29), "LATE", ("6100", 1), ("1200", -1))
    fourth = run_job(engine, settings, "GL_PERIOD_CLOSE", now=at(APR_END), business_date=APR_END, params=close)
    assert isinstance(fourth.error, CloseRefused)
    assert "period P01 FY2026/27 (April 2026), 2026-04-01 to 2026-04-30, is already closed" in str(fourth.error)


def test_year_end_closes_income_and_expense_to_retained_earnings_and_locks_the_year(
    engine: Engine, settings: Settings, books: Books
) -> None:
    # Given a year of trade: rent 120.00 monthly, sales 500.00 monthly
    for month in range(12):
        day = date(2026 + (3 + month) // 12, (3 + month) % 12 + 1, 10)
        gl(books, day, f"RENT{month}", ("6100", 12_000), ("1200", -12_000))
        gl(books, day, f"SALE{month}", ("1200", 50_000), ("4000", -50_000))
    gl(books, date(2026, 4, 1), "CAPITAL", ("1200", 100_000), ("3000", -100_000))
    books.session.commit()
    early = run_job(engine, settings, "GL_YEAR_END_CLOSE", now=at(YEAR_END), business_date=YEAR_END)
    assert isinstance(early.error, CloseRefused) and "period(s) still open: 2026-01" in str(early.error)

    run_job(engine, settings, "GL_DAILY_CLOSE", now=at(YEAR_END), business_date=YEAR_END)
    periods = books.session.scalars(
        select(AccountingPeriod).where(AccountingPeriod.financial_year == 2026).order_by(AccountingPeriod.period_no)
    ).all()
    for p in periods:
        done = run_job(engine, settings, "GL_PERIOD_CLOSE", now=at(p.end_date), business_date=p.end_date,
                       params={"output_format": "csv", "period": f"{p.start_date:%Y-%m}"})  # fmt: skip
        assert done.state is ExecutionState.SUCCEEDED, done.error

    run = run_job(engine, settings, "GL_YEAR_END_CLOSE", now=at(YEAR_END), business_date=YEAR_END)

    # Then profit = 12 x (500.00 - 120.00) = 4,560.00 goes to retained earnings
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert run.result is not None and run.result.totals == {"net_profit_pence": 456_000}
    s = books.session
    s.rollback()  # a fresh snapshot: the job committed in its own session
    tb = {r.code: r.balance_pence for r in balances.trial_balance(s, as_of=YEAR_END, posted_only=True)}
    assert tb["4000"] == 0 and tb["6100"] == 0
    assert tb["3200"] == -456_000
    opening = dict(
        s.execute(
            select(Account.code, YearEndLine.balance_pence)
            .join(Account, Account.id == YearEndLine.account_id)
            .where(YearEndLine.section == "opening")
        ).all()
    )
    # The opening balances of the new year are the closing balance sheet
    assert opening == {"1200": 556_000, "3000": -100_000, "3200": -456_000}
    assert opening == {c: v for c, v in tb.items() if v}
    assert {p.status for p in s.scalars(select(AccountingPeriod).where(AccountingPeriod.financial_year == 2026))} == {
        PeriodStatus.LOCKED
    }
    with pytest.raises(PeriodClosed):
        gl(books, date(2027, 3, 31), "LATE", ("6100", 1), ("1200", -1))
    out = run.context.folder
    assert (out / "year_end_2026.pdf").read_bytes().startswith(b"%PDF")
    assert "closing_journal,,Retained earnings (net result),-456000" in (out / "year_end_2026.csv").read_text()
    books.assert_sound()

    again = run_job(engine, settings, "GL_YEAR_END_CLOSE", now=at(YEAR_END), business_date=YEAR_END)
    assert isinstance(again.error, CloseRefused) and "already closed and locked" in str(again.error)

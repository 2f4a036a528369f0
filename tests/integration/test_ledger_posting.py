"""Posting rules on both databases: what is written, and what is refused with nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.batch.schedules import company_closures
from acas_batch.errors import (
    InsufficientStock,
    InvalidQuantity,
    OverAllocation,
    PeriodClosed,
    PeriodNotFound,
    UnbalancedJournal,
    UnknownAccount,
)
from acas_batch.ledger import balances
from acas_batch.ledger.posting import JournalDraft, cr, dr, post_journal, post_pending, reverse_journal
from acas_batch.ledger.sl import SalesLine, allocate_credit_note, allocate_receipt, post_receipt, post_sales_invoice
from acas_batch.ledger.stock import adjust_stock, issue_stock
from acas_batch.models import (
    AccountingPeriod,
    AccountPeriodBalance,
    ClosureDay,
    ControlKind,
    DocumentKind,
    DocumentStatus,
    Journal,
    JournalLine,
    JournalSource,
    JournalStatus,
    PeriodStatus,
    SalesAllocation,
    SalesInvoice,
    StockMovement,
)
from tests.books import START, Books, S

MAY = date(2026, 5, 12)


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    with Session(engine, expire_on_commit=False) as session:
        b = Books.open(session)
        session.commit()
        yield b


def _gl(books: Books, *lines: tuple[str, int], on: date = MAY) -> JournalDraft:
    """A GL journal from (account code, debit-positive pence) pairs."""
    return JournalDraft(on, JournalSource.GL, "GL1", tuple(dr(books.acc(code), p) for code, p in lines))


def _nothing_written(books: Books) -> None:
    assert books.count(Journal) == 0 and books.count(JournalLine) == 0


def test_a_journal_is_written_pending_and_posted_into_the_period_balances(books: Books) -> None:
    jid = post_journal(books.session, _gl(books, ("6100", 12_000), ("1200", -12_000)))
    journal = books.session.get_one(Journal, jid)
    assert journal.status == JournalStatus.PENDING and journal.total_pence == 12_000
    assert books.count(AccountPeriodBalance) == 0

    post_pending(books.session, jid, posted_on=MAY)
    rows = books.session.execute(
        select(AccountPeriodBalance.account_id, AccountPeriodBalance.debit_pence, AccountPeriodBalance.credit_pence)
    ).all()
    assert sorted(rows) == sorted([(books.acc("6100"), 12_000, 0), (books.acc("1200"), 0, 12_000)])
    with pytest.raises(UnbalancedJournal, match="only pending journals"):
        post_pending(books.session, jid, posted_on=MAY)


def test_an_unbalanced_journal_is_refused_and_nothing_is_written(books: Books) -> None:
    with pytest.raises(UnbalancedJournal, match="debits 12000 pence, credits 11999 pence"):
        post_journal(books.session, _gl(books, ("6100", 12_000), ("1200", -11_999)))
    _nothing_written(books)


def test_an_unknown_account_is_refused_and_nothing_is_written(books: Books) -> None:
    draft = JournalDraft(MAY, JournalSource.GL, "GL1", (dr(books.acc("6100"), 500), cr(9999, 500)))
    with pytest.raises(UnknownAccount, match="9999"):
        post_journal(books.session, draft)
    _nothing_written(books)


@pytest.mark.parametrize("status", [PeriodStatus.CLOSED, PeriodStatus.LOCKED])
def test_posting_to_a_closed_or_locked_period_is_refused(books: Books, status: PeriodStatus) -> None:
    books.session.execute(
        update(AccountingPeriod).where(AccountingPeriod.start_date == date(2026, 5, 1)).values(status=status)
    )
    with pytest.raises(PeriodClosed, match=rf"2026/02 .* is {status.value}"):
        post_journal(books.session, _gl(books, ("6100", 100), ("1200", -100)))
    customer = books.customer()
    with pytest.raises(PeriodClosed):
        books.invoice(customer, 1000, on=MAY)
    _nothing_written(books)
    assert books.count(SalesInvoice) == 0


def test_a_date_outside_every_period_is_refused(books: Books) -> None:
    with pytest.raises(PeriodNotFound, match="2031-01-01"):
        post_journal(books.session, _gl(books, ("6100", 100), ("1200", -100), on=date(2031, 1, 1)))
    _nothing_written(books)


def test_a_pending_journal_whose_period_closed_meanwhile_is_not_posted(books: Books) -> None:
    jid = post_journal(books.session, _gl(books, ("6100", 100), ("1200", -100)))
    books.session.execute(update(AccountingPeriod).values(status=PeriodStatus.CLOSED))
    with pytest.raises(PeriodClosed):
        post_pending(books.session, jid, posted_on=MAY)
    assert books.session.get_one(Journal, jid).status == JournalStatus.PENDING


def test_a_reversal_mirrors_the_journal_and_marks_it_reversed(books: Books) -> None:
    jid = post_journal(books.session, _gl(books, ("6100", 2500), ("2300", -2500)), post=True)
    rid = reverse_journal(books.session, jid, on=date(2026, 6, 1))
    assert books.session.get_one(Journal, jid).status == JournalStatus.REVERSED
    assert books.session.get_one(Journal, rid).reverses_journal_id == jid
    assert balances.account_balance(books.session, books.acc("2300")) == 0
    assert balances.account_balance(books.session, books.acc("2300"), as_of=MAY) == -2500


def test_a_sales_invoice_posts_debtors_income_and_vat_rounded_per_line(books: Books) -> None:
    customer = books.customer(terms=45)
    inv = books.session.get_one(SalesInvoice, books.invoice(customer, 1234, 10, 9))  # VAT 246.8, 2, 1.8 at 20%
    assert (inv.net_pence, inv.vat_pence, inv.gross_pence) == (1253, 247 + 2 + 2, 1504)
    assert inv.due_date == date(2026, 5, 16) and inv.status == DocumentStatus.OPEN
    lines = books.session.execute(
        select(JournalLine.account_id, JournalLine.debit_pence, JournalLine.credit_pence)
        .where(JournalLine.journal_id == inv.journal_id)
        .order_by(JournalLine.line_no)
    ).all()
    assert lines == [
        (books.control(ControlKind.DEBTORS), 1504, 0),
        (books.sales, 0, 1253),
        (books.control(ControlKind.VAT_OUTPUT), 0, 251),
    ]
    books.assert_sound()


def test_receipts_and_credit_notes_settle_invoices_and_over_allocation_is_refused(books: Books) -> None:
    s = books.session
    customer = books.customer()
    inv = books.invoice(customer, 10_000)  # 12,000 gross
    receipt = post_receipt(s, customer_id=customer, amount_pence=5_000, receipt_date=MAY)
    allocate_receipt(s, receipt_id=receipt, invoice_id=inv, amount_pence=5_000, on=MAY)
    assert s.get_one(SalesInvoice, inv).status == DocumentStatus.PART_PAID

    with pytest.raises(OverAllocation, match=r"receipt .* less than 1 pence unallocated"):
        allocate_receipt(s, receipt_id=receipt, invoice_id=inv, amount_pence=1, on=MAY)
    note = post_sales_invoice(
        s,
        customer_id=customer,
        number="CN1",
        invoice_date=MAY,
        lines=[SalesLine(1, 6_000, S, books.sales)],
        kind=DocumentKind.CREDIT_NOTE,
    )  # 7,200 gross against 7,000 outstanding
    with pytest.raises(OverAllocation, match="less than 7200 pence outstanding"):
        allocate_credit_note(s, credit_note_id=note, invoice_id=inv, amount_pence=7_200, on=MAY)
    assert books.count(SalesAllocation) == 1
    assert s.get_one(SalesInvoice, note).outstanding_pence == 7_200  # the refused allocation left no trace

    allocate_credit_note(s, credit_note_id=note, invoice_id=inv, amount_pence=7_000, on=MAY)
    assert s.get_one(SalesInvoice, inv).status == DocumentStatus.PAID
    assert balances.customer_balances_total(s) == -200
    books.assert_sound()


def test_the_schema_itself_forbids_a_negative_outstanding_amount(books: Books) -> None:
    inv = books.invoice(books.customer(), 100)
    books.session.commit()
    with pytest.raises(IntegrityError):
        books.session.execute(
            update(SalesInvoice).where(SalesInvoice.id == inv).values(outstanding_pence=-1, status="paid")
        )
        books.session.flush()


def test_negative_or_excess_stock_issues_are_refused_and_nothing_is_written(books: Books) -> None:
    item = books.item()
    adjust_stock(
        books.session, item_id=item, warehouse_id=books.main, quantity=5, on=MAY, reference="FOUND", unit_cost_pence=100
    )
    before = (books.count(StockMovement), books.count(Journal))
    with pytest.raises(InvalidQuantity, match="must be positive"):
        issue_stock(books.session, item_id=item, warehouse_id=books.main, quantity=-2, on=MAY, reference="X")
    with pytest.raises(InsufficientStock, match=r"cannot issue 6 .* 5 pickable"):
        issue_stock(books.session, item_id=item, warehouse_id=books.main, quantity=6, on=MAY, reference="X")
    assert (books.count(StockMovement), books.count(Journal)) == before
    books.assert_sound()


def test_closure_days_are_read_for_the_business_calendar(books: Books) -> None:
    books.session.add_all([ClosureDay(day=date(2026, 12, 24), description="Stocktake"), ClosureDay(day=START)])
    books.session.flush()
    assert company_closures(books.session) == {date(2026, 12, 24), START}

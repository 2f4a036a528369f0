"""The VAT line of the control account reconciliation, and settling VAT returns, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.errors import VatSettlementRefused
from acas_batch.jobs.gl.period_close import period_close_refusals
from acas_batch.ledger import PaymentAllocation, PurchaseLine, balances, post_purchase_invoice, post_supplier_payment
from acas_batch.ledger.balances import Reconciliation
from acas_batch.ledger.vat import settle_vat_return
from acas_batch.models import (
    AccountingPeriod,
    Company,
    ExecutionState,
    Journal,
    ReconciliationLine,
    VatReturn,
    VatReturnStatus,
    VatScheme,
)
from tests.books import Books, S
from tests.integration.test_gl_close_jobs import gl
from tests.sl_support import at, credit_note, open_books, receipt
from tests.support.context import run_job

Q2_DONE = date(2026, 7, 10)  # the day the 2026-Q2 (April to June) return is computed
PAID = date(2026, 8, 7)  # the day its net VAT goes to HMRC


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    yield from open_books(engine)


def purchase(b: Books, supplier: int, net: int, on: date) -> int:
    """A supplier's invoice for rent (one expense line at the standard rate)."""
    return post_purchase_invoice(
        b.session,
        supplier_id=supplier,
        number=b.next("PI"),
        invoice_date=on,
        lines=[PurchaseLine(1, net, S, account_id=b.acc("6100"))],
    )


def vat_line(s: Session) -> Reconciliation:
    (line,) = [r for r in balances.reconcile(s) if r.name == "vat"]
    return line


def submitted_return(engine: Engine, settings: Settings, b: Books) -> VatReturn:
    """2026-Q2's return, both sides computed by the return jobs, then marked as sent to HMRC."""
    for job in ("SL_VAT_RETURN", "PL_VAT_RETURN"):
        run = run_job(engine, settings, job, now=at(Q2_DONE), business_date=Q2_DONE, params={"quarter": "2026-Q2"})
        assert run.state is ExecutionState.SUCCEEDED, (job, run.error)
    s = b.session
    s.rollback()
    s.execute(
        update(VatReturn).values(status=VatReturnStatus.SUBMITTED, submitted_at=datetime(2026, 7, 20, 10, tzinfo=UTC))
    )
    s.commit()
    return s.scalars(select(VatReturn)).one()


def test_vat_control_against_documents_less_settled_returns_and_a_manual_journal_shows(
    engine: Engine, settings: Settings, books: Books
) -> None:
    # Given April to June: a sale of 1,000.00 (VAT 200.00), rent bought for 400.00 (VAT 80.00)
    # and a credit note of 100.00 (VAT 20.00)
    b, s = books, books.session
    customer, supplier = b.customer(), b.supplier()
    b.invoice(customer, 100_000, on=date(2026, 4, 10))
    purchase(b, supplier, 40_000, date(2026, 4, 20))
    credit_note(b, customer, 10_000, date(2026, 5, 5))
    s.commit()
    # ... whose return declares 200.00 - 20.00 = 180.00 due and 80.00 reclaimed: 100.00 to pay
    q2 = submitted_return(engine, settings, b)
    assert (q2.box3_pence, q2.box4_pence, q2.box5_pence, q2.paid_on) == (18_000, 8_000, 10_000, None)
    # Before it is paid, the GL owes HMRC the whole quarter: 180.00 - 80.00
    assert vat_line(s) == Reconciliation("vat", 10_000, 10_000)

    # When the return is paid on 7 August
    journal_id = settle_vat_return(s, q2.id, on=PAID)
    s.commit()
    # ... and July brings a sale of 500.00 (VAT 100.00) and rent of 250.00 (VAT 50.00), not yet returned
    b.invoice(customer, 50_000, on=date(2026, 7, 15))
    purchase(b, supplier, 25_000, date(2026, 7, 20))
    s.commit()

    # Then the payment cleared each VAT account of the quarter and took 100.00 from the bank ...
    q2 = s.get_one(VatReturn, q2.id)
    assert (q2.paid_on, q2.payment_journal_id) == (PAID, journal_id)
    assert b.journal_lines(journal_id) == [
        (b.acc("2200"), 18_000, 0),
        (b.acc("2201"), 0, 8_000),
        (b.acc("1200"), 0, 10_000),
    ]
    # ... so the VAT accounts hold July's VAT only: output credits 200.00 + 100.00 less debits 20.00 + 180.00,
    # input debits 80.00 + 50.00 less the credit 80.00
    assert balances.account_balance(s, b.acc("2200")) == -10_000
    assert balances.account_balance(s, b.acc("2201")) == 5_000
    # And the subledger says the same: documents 200 - 20 + 100 - (80 + 50) = 150.00, less 100.00 settled
    assert balances.vat_documents_total(s) == 15_000
    assert balances.vat_settled_total(s) == 10_000
    assert vat_line(s) == Reconciliation("vat", 5_000, 5_000)
    s.rollback()
    run = run_job(engine, settings, "GL_ACCOUNT_RECONCILIATION", now=at(PAID), business_date=PAID)
    assert run.state is ExecutionState.SUCCEEDED, (run.error, run.context.warning)

    # When 12.34 of output VAT is written off by a manual journal (no document, no return)
    s.rollback()
    gl(b, date(2026, 8, 20), "VATFIX", ("2200", 1_234), ("6400", -1_234))
    s.commit()

    # Then the VAT line shows it, the reconciliation ends in warning and the period close refuses
    assert vat_line(s) == Reconciliation("vat", 3_766, 5_000)
    s.rollback()
    day = date(2026, 8, 31)
    again = run_job(engine, settings, "GL_ACCOUNT_RECONCILIATION", now=at(day), business_date=day)
    assert again.state is ExecutionState.WARNING
    assert again.context.warning == "vat control differs from its subledger by -1234 pence"
    s.rollback()
    row = s.scalars(
        select(ReconciliationLine).where(
            ReconciliationLine.execution_id == again.execution_id, ReconciliationLine.name == "vat"
        )
    ).one()
    assert (row.section, row.control_pence, row.subledger_pence, row.difference_pence) == (
        "control",
        3_766,
        5_000,
        -1_234,
    )
    august = s.scalars(select(AccountingPeriod).where(AccountingPeriod.start_date == date(2026, 8, 1))).one()
    refusals = period_close_refusals(s, august, tolerance=0, require_daily_close=False)
    assert "vat control 3766 pence vs subledger 5000 pence (difference -1234, tolerance 0)" in refusals
    assert not any("vat" in r for r in period_close_refusals(s, august, tolerance=1_234, require_daily_close=False))


def _return(s: Session, key: str, start: date, end: date, box3: int, box4: int, status: VatReturnStatus) -> VatReturn:
    row = VatReturn(
        period_key=key, start_date=start, end_date=end, status=status, box1_pence=box3, box3_pence=box3,
        box4_pence=box4, box5_pence=abs(box3 - box4), created_at=datetime(2026, 7, 20, tzinfo=UTC),
    )  # fmt: skip
    s.add(row)
    s.flush()
    return row


def _journals(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(Journal)) or 0)


def test_a_return_is_settled_once_after_it_is_submitted_and_a_repayment_comes_into_the_bank(books: Books) -> None:
    s = books.session
    # Given a submitted return with more VAT reclaimed (300.00) than due (120.00), and a draft one
    repaid = _return(s, "26C2", date(2026, 4, 1), date(2026, 6, 30), 12_000, 30_000, VatReturnStatus.SUBMITTED)
    draft = _return(s, "26C3", date(2026, 7, 1), date(2026, 9, 30), 5_000, 1_000, VatReturnStatus.COMPLETE)
    s.commit()

    # When HMRC repays the first on 7 August
    journal_id = settle_vat_return(s, repaid.id, on=PAID)
    s.commit()

    # Then 180.00 comes into the bank: DR bank, with DR VAT output 120.00, CR VAT input 300.00
    assert journal_id is not None
    assert books.journal_lines(journal_id) == [
        (books.acc("2200"), 12_000, 0),
        (books.acc("2201"), 0, 30_000),
        (books.acc("1200"), 18_000, 0),
    ]
    assert s.get_one(Journal, journal_id).description == "VAT repaid by HMRC"
    assert balances.vat_settled_total(s) == -18_000

    # And settling it again, settling a return not yet submitted, or paying inside the quarter is refused,
    # with nothing written
    before = _journals(s)
    with pytest.raises(VatSettlementRefused, match="26C2 was settled on 2026-08-07"):
        settle_vat_return(s, repaid.id, on=date(2026, 8, 8))
    with pytest.raises(VatSettlementRefused, match="26C3 is complete, not submitted"):
        settle_vat_return(s, draft.id, on=date(2026, 11, 7))
    s.execute(update(VatReturn).where(VatReturn.id == draft.id).values(status=VatReturnStatus.SUBMITTED))
    with pytest.raises(VatSettlementRefused, match="covers up to 2026-09-30; it is not paid on 2026-09-30"):
        settle_vat_return(s, draft.id, on=date(2026, 9, 30))
    assert _journals(s) == before
    assert s.get_one(VatReturn, draft.id).paid_on is None
    assert s.get_one(VatReturn, repaid.id).payment_journal_id == journal_id


def test_a_caller_holding_the_return_unsettled_cannot_settle_it_after_another_did(engine: Engine, books: Books) -> None:
    s = books.session
    row = _return(s, "26C2", date(2026, 4, 1), date(2026, 6, 30), 12_000, 3_000, VatReturnStatus.SUBMITTED)
    s.commit()
    with Session(engine, expire_on_commit=False) as other:
        # Given a second caller that read the return while it was unsettled (and holds it)
        stale = other.get_one(VatReturn, row.id)
        assert stale.paid_on is None
        other.commit()
        # When the first caller settles it, then the second tries with what it read
        first = settle_vat_return(s, row.id, on=PAID)
        s.commit()
        before = _journals(s)
        with pytest.raises(VatSettlementRefused, match="26C2 was settled meanwhile"):
            settle_vat_return(other, row.id, on=date(2026, 8, 8))
        other.commit()
    # Then only the first payment is in the books
    s.expire_all()
    assert _journals(s) == before
    assert (s.get_one(VatReturn, row.id).paid_on, s.get_one(VatReturn, row.id).payment_journal_id) == (PAID, first)
    assert balances.account_balance(s, books.acc("1200")) == -9_000


def test_the_schema_refuses_a_paid_draft_and_one_journal_paying_two_returns(books: Books) -> None:
    s = books.session
    one = _return(s, "26C2", date(2026, 4, 1), date(2026, 6, 30), 12_000, 3_000, VatReturnStatus.SUBMITTED)
    two = _return(s, "26C3", date(2026, 7, 1), date(2026, 9, 30), 5_000, 1_000, VatReturnStatus.DRAFT)
    s.commit()
    journal_id = settle_vat_return(s, one.id, on=PAID)
    s.commit()
    # A draft marked paid, a payment dated inside its quarter, a journal without a day, one journal for two returns
    for values in (
        {"paid_on": date(2026, 11, 7)},
        {"status": VatReturnStatus.SUBMITTED, "paid_on": date(2026, 9, 1)},
        {"status": VatReturnStatus.SUBMITTED, "payment_journal_id": journal_id},
        {"status": VatReturnStatus.SUBMITTED, "paid_on": date(2026, 11, 7), "payment_journal_id": journal_id},
    ):
        with pytest.raises(IntegrityError), s.begin_nested():
            s.execute(update(VatReturn).where(VatReturn.id == two.id).values(**values))
    assert s.get_one(VatReturn, two.id).paid_on is None


def test_a_nil_return_is_settled_without_a_journal(books: Books) -> None:
    s = books.session
    nil = _return(s, "26C2", date(2026, 4, 1), date(2026, 6, 30), 0, 0, VatReturnStatus.SUBMITTED)
    s.commit()
    before = _journals(s)
    assert settle_vat_return(s, nil.id, on=PAID) is None
    assert _journals(s) == before
    assert (s.get_one(VatReturn, nil.id).paid_on, balances.vat_settled_total(s)) == (PAID, 0)


def test_cash_scheme_the_vat_of_the_unpaid_half_of_an_invoice_stays_owed(
    engine: Engine, settings: Settings, books: Books
) -> None:
    # Given a company on the cash scheme: a sale of 1,000.00 (VAT 200.00) half paid in May,
    # and rent of 400.00 (VAT 80.00) paid in full in April
    b, s = books, books.session
    s.execute(update(Company).values(vat_scheme=VatScheme.CASH))
    customer, supplier = b.customer(), b.supplier()
    sale = b.invoice(customer, 100_000, on=date(2026, 4, 10))
    receipt(b, customer, 60_000, date(2026, 5, 20), (sale, 60_000))
    rent = purchase(b, supplier, 40_000, date(2026, 4, 20))
    post_supplier_payment(
        s, supplier_id=supplier, payment_date=date(2026, 4, 30), allocations=[PaymentAllocation(rent, 48_000)]
    )
    s.commit()
    # ... whose return declares the VAT of the money moved: 100.00 due (half of 200.00), 80.00 reclaimed
    q2 = submitted_return(engine, settings, b)
    assert (q2.box3_pence, q2.box4_pence) == (10_000, 8_000)

    # When it is paid (20.00)
    settle_vat_return(s, q2.id, on=PAID)
    s.commit()

    # Then the GL still owes the VAT of the unpaid half, 100.00, and so do the documents:
    # 200.00 - 80.00 on them, less the 20.00 settled
    assert balances.account_balance(s, b.acc("2200")) == -10_000
    assert balances.account_balance(s, b.acc("2201")) == 0
    assert vat_line(s) == Reconciliation("vat", 10_000, 10_000)

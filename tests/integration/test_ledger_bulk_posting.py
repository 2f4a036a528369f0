"""Bulk postings on both databases: a batch is written whole, or refused whole with nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.errors import OverAllocation, PeriodClosed, StaleDocuments, UnbalancedJournal, UnknownAccount
from acas_batch.ledger.pl import PaymentAllocation, PurchaseLine, post_purchase_invoice, post_supplier_payment
from acas_batch.ledger.posting import JournalDraft, cr, dr, post_journals
from acas_batch.ledger.supplier_payments import CreditAllocation, PaymentDraft, post_supplier_payments
from acas_batch.models import (
    AccountingPeriod,
    AccountPeriodBalance,
    BankAccount,
    ControlKind,
    DocumentKind,
    DocumentStatus,
    Journal,
    JournalLine,
    JournalSource,
    JournalStatus,
    PaymentMethod,
    PeriodStatus,
    PurchaseAllocation,
    PurchaseInvoice,
    SupplierPayment,
)
from tests.books import Books, S

MAY = date(2026, 5, 12)
JUNE = date(2026, 6, 3)
PAY = date(2026, 7, 2)


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    with Session(engine, expire_on_commit=False) as session:
        b = Books.open(session)
        session.commit()
        yield b


def _gl(books: Books, ref: str, *lines: tuple[str, int], on: date = MAY) -> JournalDraft:
    """A GL journal from (account code, debit-positive pence) pairs."""
    return JournalDraft(on, JournalSource.GL, ref, tuple(dr(books.acc(code), p) for code, p in lines))


def _nothing_written(books: Books) -> None:
    assert books.count(Journal) == 0 and books.count(JournalLine) == 0
    assert books.count(AccountPeriodBalance) == 0


# ---- post_journals ------------------------------------------------------------------------------


def test_a_bulk_post_writes_every_journal_in_order_with_its_lines(books: Books) -> None:
    drafts = [
        _gl(books, "B1", ("6100", 12_000), ("1200", -12_000)),
        _gl(books, "B2", ("6100", 500), ("6400", 250), ("1200", -750), on=JUNE),
        _gl(books, "B3", ("1200", 99), ("4000", -99), ("6400", 0)),  # the zero line is dropped
    ]
    ids = post_journals(books.session, drafts)
    journals = {j.id: j for j in books.session.scalars(select(Journal))}
    assert [journals[i].reference for i in ids] == ["B1", "B2", "B3"]
    assert [journals[i].total_pence for i in ids] == [12_000, 750, 99]
    assert {j.status for j in journals.values()} == {JournalStatus.PENDING}
    may, june = (
        books.session.scalars(select(AccountingPeriod.id).where(AccountingPeriod.start_date == d)).one()
        for d in (date(2026, 5, 1), date(2026, 6, 1))
    )
    assert [journals[i].period_id for i in ids] == [may, june, may]
    lines = books.session.execute(
        select(JournalLine.journal_id, JournalLine.line_no, JournalLine.account_id, JournalLine.debit_pence)
        .add_columns(JournalLine.credit_pence)
        .order_by(JournalLine.journal_id, JournalLine.line_no)
    ).all()
    assert [tuple(r) for r in lines] == [
        (ids[0], 1, books.acc("6100"), 12_000, 0),
        (ids[0], 2, books.acc("1200"), 0, 12_000),
        (ids[1], 1, books.acc("6100"), 500, 0),
        (ids[1], 2, books.acc("6400"), 250, 0),
        (ids[1], 3, books.acc("1200"), 0, 750),
        (ids[2], 1, books.acc("1200"), 99, 0),
        (ids[2], 2, books.acc("4000"), 0, 99),
    ]
    assert books.count(AccountPeriodBalance) == 0  # pending: not yet in the balances
    assert post_journals(books.session, []) == []


def test_a_bulk_post_with_post_true_adds_every_journal_to_its_period_balances(books: Books) -> None:
    post_journals(
        books.session,
        [
            _gl(books, "B1", ("6100", 1_000), ("1200", -1_000)),
            _gl(books, "B2", ("6100", 300), ("1200", -300)),
            _gl(books, "B3", ("6100", 40), ("1200", -40), on=JUNE),
        ],
        post=True,
    )
    rows = books.session.execute(
        select(
            AccountingPeriod.start_date,
            AccountPeriodBalance.account_id,
            AccountPeriodBalance.debit_pence,
            AccountPeriodBalance.credit_pence,
        ).join(AccountingPeriod, AccountingPeriod.id == AccountPeriodBalance.period_id)
    ).all()
    assert sorted(tuple(r) for r in rows) == sorted(
        [
            (date(2026, 5, 1), books.acc("6100"), 1_300, 0),
            (date(2026, 5, 1), books.acc("1200"), 0, 1_300),
            (date(2026, 6, 1), books.acc("6100"), 40, 0),
            (date(2026, 6, 1), books.acc("1200"), 0, 40),
        ]
    )
    assert {j.status for j in books.session.scalars(select(Journal))} == {JournalStatus.POSTED}


def test_an_unbalanced_journal_in_a_bulk_post_refuses_the_whole_batch_and_writes_nothing(books: Books) -> None:
    drafts = [
        _gl(books, "GOOD1", ("6100", 100), ("1200", -100)),
        _gl(books, "BAD", ("6100", 12_000), ("1200", -11_999)),
        _gl(books, "GOOD2", ("6100", 200), ("1200", -200)),
    ]
    with pytest.raises(UnbalancedJournal, match=r"'BAD' does not balance: debits 12000 pence, credits 11999 pence"):
        post_journals(books.session, drafts, post=True)
    _nothing_written(books)


def test_every_problem_of_a_bulk_post_is_named(books: Books) -> None:
    drafts = [_gl(books, "BAD1", ("6100", 5), ("1200", -4)), _gl(books, "BAD2", ("6100", 0))]
    with pytest.raises(UnbalancedJournal, match=r"'BAD1' does not balance.*'BAD2' has no non-zero line"):
        post_journals(books.session, drafts)
    _nothing_written(books)


def test_a_bulk_post_with_one_journal_in_a_closed_period_or_on_an_unknown_account_writes_nothing(
    books: Books,
) -> None:
    books.session.execute(
        update(AccountingPeriod)
        .where(AccountingPeriod.start_date == date(2026, 6, 1))
        .values(status=PeriodStatus.CLOSED)
    )
    drafts = [_gl(books, "MAY", ("6100", 100), ("1200", -100)), _gl(books, "JUNE", ("6100", 7), ("1200", -7), on=JUNE)]
    with pytest.raises(PeriodClosed, match="2026/03"):
        post_journals(books.session, drafts)
    _nothing_written(books)
    unknown = JournalDraft(MAY, JournalSource.GL, "X", (dr(books.acc("6100"), 5), cr(9999, 5)))
    with pytest.raises(UnknownAccount, match="9999"):
        post_journals(books.session, [drafts[0], unknown])
    _nothing_written(books)


# ---- post_supplier_payments ---------------------------------------------------------------------


def _doc(b: Books, supplier: int, net: int, on: date, kind: DocumentKind = DocumentKind.INVOICE) -> int:
    line = PurchaseLine(1, net, S, account_id=b.acc("6400"))
    return post_purchase_invoice(
        b.session, supplier_id=supplier, number=b.next("PI"), invoice_date=on, due_date=on, lines=[line], kind=kind
    )


def _outstanding(books: Books) -> dict[int, tuple[int, DocumentStatus]]:
    rows = books.session.execute(select(PurchaseInvoice.id, PurchaseInvoice.outstanding_pence, PurchaseInvoice.status))
    return {i: (o, st) for i, o, st in rows}


def _payables(books: Books) -> dict[str, int]:
    """X (bank): invoices of 12,000 and 6,000 and a credit note of 1,200; Y (cheque): an invoice of 2,400."""
    x, y = books.supplier(), books.supplier(bank=False)
    return {
        "x": x,
        "y": y,
        "X1": _doc(books, x, 10_000, date(2026, 6, 1)),
        "X2": _doc(books, x, 5_000, date(2026, 6, 2)),
        "XCN": _doc(books, x, 1_000, date(2026, 6, 3), DocumentKind.CREDIT_NOTE),
        "Y1": _doc(books, y, 2_000, date(2026, 6, 4)),
    }


def _drafts(ids: dict[str, int]) -> list[PaymentDraft]:
    # X: the credit note clears 1,200 of X1, the payment the remaining 10,800 and half of X2 (3,000,
    # with 60 discount); Y: its invoice in full.
    return [
        PaymentDraft(
            ids["x"],
            (PaymentAllocation(ids["X1"], 10_800), PaymentAllocation(ids["X2"], 3_000, 60)),
            (CreditAllocation(ids["XCN"], ids["X1"], 1_200),),
            reference="BULK X",
        ),
        PaymentDraft(ids["y"], (PaymentAllocation(ids["Y1"], 2_400),), reference="BULK Y"),
    ]


def test_bulk_supplier_payments_write_journals_payments_allocations_and_outstanding_amounts(books: Books) -> None:
    ids = _payables(books)
    before = _outstanding(books)
    expected = {doc: before[doc][0] for doc in (ids["X1"], ids["X2"], ids["XCN"], ids["Y1"])}
    payment_ids = post_supplier_payments(
        books.session, _drafts(ids), expected=expected, payment_date=PAY, bank_account_id=1, run_key="RUN"
    )
    payments = {p.id: p for p in books.session.scalars(select(SupplierPayment))}
    assert [
        (payments[i].supplier_id, payments[i].amount_pence, payments[i].discount_pence, payments[i].method)
        for i in payment_ids
    ] == [(ids["x"], 13_740, 60, PaymentMethod.BACS), (ids["y"], 2_400, 0, PaymentMethod.CHEQUE)]
    left = _outstanding(books)
    assert left[ids["X1"]] == (0, DocumentStatus.PAID)
    assert left[ids["X2"]] == (3_000, DocumentStatus.PART_PAID)
    assert left[ids["XCN"]] == (0, DocumentStatus.PAID)
    assert left[ids["Y1"]] == (0, DocumentStatus.PAID)
    allocations = books.session.execute(
        select(
            PurchaseAllocation.invoice_id,
            PurchaseAllocation.payment_id,
            PurchaseAllocation.credit_note_id,
            PurchaseAllocation.amount_pence,
            PurchaseAllocation.discount_pence,
        )
    ).all()
    assert sorted(allocations, key=repr) == sorted(
        [
            (ids["X1"], None, ids["XCN"], 1_200, 0),
            (ids["X1"], payment_ids[0], None, 10_800, 0),
            (ids["X2"], payment_ids[0], None, 3_000, 60),
            (ids["Y1"], payment_ids[1], None, 2_400, 0),
        ],
        key=repr,
    )
    # Each payment's journal: DR creditors what it clears, CR bank what is paid, CR discount received.
    bank = books.session.get_one(BankAccount, 1).account_id
    creditors, discount = books.control(ControlKind.CREDITORS), books.control(ControlKind.DISCOUNT_RECEIVED)
    for payment_id, cleared, paid, taken in ((payment_ids[0], 13_800, 13_740, 60), (payment_ids[1], 2_400, 2_400, 0)):
        journal_id = payments[payment_id].journal_id
        lines = books.session.execute(
            select(JournalLine.account_id, JournalLine.debit_pence, JournalLine.credit_pence).where(
                JournalLine.journal_id == journal_id
            )
        ).all()
        assert sorted(tuple(r) for r in lines) == sorted(
            [(creditors, cleared, 0), (bank, 0, paid)] + ([(discount, 0, taken)] if taken else [])
        )
    books.assert_sound()


def test_a_document_paid_elsewhere_after_it_was_read_refuses_the_whole_batch_and_writes_nothing(
    books: Books,
) -> None:
    ids = _payables(books)
    before = _outstanding(books)
    expected = {doc: before[doc][0] for doc in (ids["X1"], ids["X2"], ids["XCN"], ids["Y1"])}
    # Given Y's invoice paid by someone else after the batch was planned
    post_supplier_payment(
        books.session, supplier_id=ids["y"], payment_date=PAY, allocations=[PaymentAllocation(ids["Y1"], 2_400)]
    )
    counts = (books.count(Journal), books.count(JournalLine), books.count(SupplierPayment))
    counts += (books.count(PurchaseAllocation),)
    paid_elsewhere = _outstanding(books)
    # When the batch is posted, then it is refused, naming Y's invoice, and nothing of it is written
    with pytest.raises(StaleDocuments, match="changed since they were read") as refused:
        post_supplier_payments(
            books.session, _drafts(ids), expected=expected, payment_date=PAY, bank_account_id=1, run_key="RUN"
        )
    assert refused.value.document_ids == frozenset({ids["Y1"]})
    assert (books.count(Journal), books.count(JournalLine), books.count(SupplierPayment)) == counts[:3]
    assert books.count(PurchaseAllocation) == counts[3]
    assert _outstanding(books) == paid_elsewhere
    assert paid_elsewhere[ids["X1"]] == before[ids["X1"]]
    books.assert_sound()


def test_bulk_supplier_payments_refuse_over_allocation_and_another_suppliers_invoice(books: Books) -> None:
    ids = _payables(books)
    before = _outstanding(books)
    expected = {doc: before[doc][0] for doc in (ids["X1"], ids["X2"], ids["XCN"], ids["Y1"])}
    too_much = PaymentDraft(ids["y"], (PaymentAllocation(ids["Y1"], 2_401),))
    with pytest.raises(OverAllocation, match=str(ids["Y1"])):
        post_supplier_payments(books.session, [too_much], expected=expected, payment_date=PAY, bank_account_id=1)
    not_theirs = PaymentDraft(ids["y"], (PaymentAllocation(ids["X1"], 100),))
    with pytest.raises(OverAllocation, match=f"belongs to supplier {ids['x']}"):
        post_supplier_payments(books.session, [not_theirs], expected=expected, payment_date=PAY, bank_account_id=1)
    assert books.count(SupplierPayment) == 0 and books.count(PurchaseAllocation) == 0
    assert _outstanding(books) == before

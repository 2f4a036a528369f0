"""The ledger's invariants as queries: trial balance, control accounts vs subledgers, stock valuation.

Balances are debit-positive; a :class:`Reconciliation` is in its control account's natural
sign. By default pending journals count too (they passed every check when written);
``posted_only=True`` gives the posted ledger the period close sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVarTuple

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from acas_batch.ledger.posting import control_account
from acas_batch.models import (
    Account,
    ControlKind,
    DocumentKind,
    Journal,
    JournalLine,
    JournalStatus,
    PurchaseInvoice,
    PurchaseOrderLine,
    Receipt,
    SalesInvoice,
    StockLevel,
    SupplierPayment,
    VatReturn,
)

Ts = TypeVarTuple("Ts")


@dataclass(frozen=True)
class AccountBalance:
    """One trial balance row."""

    account_id: int
    code: str
    name: str
    debit_pence: int
    credit_pence: int

    @property
    def balance_pence(self) -> int:
        """Debit-positive balance."""
        return self.debit_pence - self.credit_pence


@dataclass(frozen=True)
class Reconciliation:
    """A control account against its subledger; both in the account's natural sign."""

    name: str
    control_pence: int
    subledger_pence: int

    @property
    def difference_pence(self) -> int:
        return self.control_pence - self.subledger_pence


def _counted(query: Select[*Ts], as_of: date | None, posted_only: bool) -> Select[*Ts]:
    if as_of is None and not posted_only:
        return query  # every line has its journal (non-null key): the join would filter nothing
    query = query.join(Journal, Journal.id == JournalLine.journal_id)
    if posted_only:
        query = query.where(Journal.status != JournalStatus.PENDING)
    if as_of is not None:
        query = query.where(Journal.journal_date <= as_of)
    return query


def trial_balance(session: Session, *, as_of: date | None = None, posted_only: bool = False) -> list[AccountBalance]:
    """Debits and credits per account with any movement, in code order."""
    sums = _counted(
        select(
            JournalLine.account_id,
            func.sum(JournalLine.debit_pence).label("dr"),
            func.sum(JournalLine.credit_pence).label("cr"),
        ),
        as_of,
        posted_only,
    ).group_by(JournalLine.account_id)
    sub = sums.subquery()
    rows = session.execute(
        select(Account.id, Account.code, Account.name, sub.c.dr, sub.c.cr)
        .join(sub, sub.c.account_id == Account.id)
        .order_by(Account.code)
    )
    return [AccountBalance(int(i), c, n, int(d or 0), int(k or 0)) for i, c, n, d, k in rows]


def account_balance(session: Session, account_id: int, *, as_of: date | None = None, posted_only: bool = False) -> int:
    """Debit-positive balance of one account."""
    query = _counted(
        select(
            func.coalesce(func.sum(JournalLine.debit_pence), 0),
            func.coalesce(func.sum(JournalLine.credit_pence), 0),
            func.count(),
        ),
        as_of,
        posted_only,
    ).where(JournalLine.account_id == account_id)
    row = session.execute(query).one()
    debit, credit = row[0], row[1]
    return int(debit) - int(credit)


def control_balance(session: Session, kind: ControlKind, *, posted_only: bool = False) -> int:
    """Debit-positive balance of the control account playing ``kind``."""
    return account_balance(session, control_account(session, kind), posted_only=posted_only)


def _sum(session: Session, column: Any, *where: Any) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(column), 0)).where(*where)) or 0)


def customer_balances_total(session: Session) -> int:
    """What all customers owe: open invoices less unallocated credit notes and receipts."""
    invoices = _sum(session, SalesInvoice.outstanding_pence, SalesInvoice.kind == DocumentKind.INVOICE)
    notes = _sum(session, SalesInvoice.outstanding_pence, SalesInvoice.kind == DocumentKind.CREDIT_NOTE)
    return invoices - notes - _sum(session, Receipt.unallocated_pence)


def supplier_balances_total(session: Session) -> int:
    """What we owe all suppliers: open invoices less unallocated credit notes and payments."""
    invoices = _sum(session, PurchaseInvoice.outstanding_pence, PurchaseInvoice.kind == DocumentKind.INVOICE)
    notes = _sum(session, PurchaseInvoice.outstanding_pence, PurchaseInvoice.kind == DocumentKind.CREDIT_NOTE)
    return invoices - notes - _sum(session, SupplierPayment.unallocated_pence)


def stock_valuation_total(session: Session) -> int:
    """Value of all stock on hand."""
    return _sum(session, StockLevel.value_pence)


def grni_listing_total(session: Session) -> int:
    """Goods received not invoiced: sum of (received - invoiced) * order price."""
    return _sum(
        session,
        (PurchaseOrderLine.quantity_received - PurchaseOrderLine.quantity_invoiced)
        * PurchaseOrderLine.unit_price_pence,
    )


def vat_documents_total(session: Session) -> int:
    """VAT charged on sales less VAT reclaimable on purchases, over every document by tax point.

    Credit notes subtract on both sides. The posting rules put a document's VAT in the VAT
    accounts on its invoice date under either VAT scheme: the scheme only decides which
    quarter's return declares it (cash: the quarter its money moves), so this total is the
    same for both.
    """
    sales = case((SalesInvoice.kind == DocumentKind.CREDIT_NOTE, -SalesInvoice.vat_pence), else_=SalesInvoice.vat_pence)
    purchases = case(
        (PurchaseInvoice.kind == DocumentKind.CREDIT_NOTE, -PurchaseInvoice.vat_pence), else_=PurchaseInvoice.vat_pence
    )
    return _sum(session, sales) - _sum(session, purchases)


def vat_settled_total(session: Session) -> int:
    """Net VAT of the returns settled with HMRC: paid (box 3 - box 4 > 0) less repaid (< 0)."""
    return _sum(session, VatReturn.box3_pence - VatReturn.box4_pence, VatReturn.paid_on.is_not(None))


def vat_owed_total(session: Session) -> int:
    """What the documents say is owed to HMRC (negative: owed by HMRC) and not yet settled.

    VAT on every sales and purchase document (:func:`vat_documents_total`) less the net VAT
    of the settled returns. Under the accrual scheme that is the VAT of the quarters not yet
    settled; under the cash scheme it also holds the VAT of invoices not yet paid (declared
    when their money moves) and, for good, the VAT of settlement discounts, which no return
    ever declares. Only documents and returns count: VAT put on the VAT accounts by a manual
    journal has no document and shows as a difference, as does a settled return whose
    payment journal moved another amount.
    """
    return vat_documents_total(session) - vat_settled_total(session)


def reconcile(session: Session) -> list[Reconciliation]:
    """Debtors, creditors, stock, GRNI and VAT control accounts against their subledgers.

    VAT: the output and input accounts together, credit-positive (owed to HMRC), against
    :func:`vat_owed_total`.
    """
    vat_control = control_balance(session, ControlKind.VAT_OUTPUT) + control_balance(session, ControlKind.VAT_INPUT)
    return [
        Reconciliation("debtors", control_balance(session, ControlKind.DEBTORS), customer_balances_total(session)),
        Reconciliation("creditors", -control_balance(session, ControlKind.CREDITORS), supplier_balances_total(session)),
        Reconciliation("stock", control_balance(session, ControlKind.STOCK), stock_valuation_total(session)),
        Reconciliation("grni", -control_balance(session, ControlKind.GRNI), grni_listing_total(session)),
        Reconciliation("vat", -vat_control, vat_owed_total(session)),
    ]


def unbalanced_journals(session: Session) -> list[int]:
    """Ids of journals whose lines do not balance (always empty in a sound ledger)."""
    rows = session.execute(
        select(JournalLine.journal_id)
        .group_by(JournalLine.journal_id)
        .having(func.sum(JournalLine.debit_pence) != func.sum(JournalLine.credit_pence))
    )
    return [int(r) for (r,) in rows]

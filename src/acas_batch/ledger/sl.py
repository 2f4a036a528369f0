"""Sales ledger postings: invoices and credit notes, receipts, allocations.

Invoice: DR debtors (gross), CR income per line (net), CR VAT output (VAT); goods lines
also issue stock (DR cost of sales, CR stock). Credit note: the mirror, without stock.
Receipt: DR bank, CR debtors. Allocations move no money in the GL; they only settle items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from acas_batch.errors import InvalidQuantity, OverAllocation, UnknownDocument
from acas_batch.ledger.documents import PricedLine, decrement_open, price_line, rate_of, vat_rates
from acas_batch.ledger.posting import JournalDraft, LineDraft, atomic, control_account, cr, dr, post_journal
from acas_batch.ledger.stock import issue_stock
from acas_batch.models import (
    BankAccount,
    ControlKind,
    Customer,
    DocumentKind,
    DocumentStatus,
    JournalSource,
    Receipt,
    SalesAllocation,
    SalesInvoice,
    SalesInvoiceLine,
)


@dataclass(frozen=True)
class SalesLine:
    """A line to invoice: an income account, and an item and warehouse for goods."""

    quantity: int
    unit_price_pence: int
    vat_code_id: int
    account_id: int
    item_id: int | None = None
    warehouse_id: int | None = None
    description: str = ""


def sales_document_journal(
    *,
    kind: DocumentKind,
    number: str,
    on: date,
    debtors_id: int,
    vat_output_id: int,
    lines: Sequence[tuple[SalesLine, PricedLine]],
) -> JournalDraft:
    """The journal of a sales invoice (or, mirrored, a credit note): one line per income account."""
    income: dict[int, int] = defaultdict(int)
    vat = 0
    for line, priced in lines:
        income[line.account_id] += priced.net_pence
        vat += priced.vat_pence
    gross = sum(income.values()) + vat
    sign = 1 if kind == DocumentKind.INVOICE else -1
    drafts: list[LineDraft] = [dr(debtors_id, sign * gross, number)]
    drafts += [cr(acc, sign * net, number) for acc, net in sorted(income.items())]
    drafts.append(cr(vat_output_id, sign * vat, number))
    return JournalDraft(on, JournalSource.SL, number, tuple(drafts), f"Sales {kind.value} {number}")


def _customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise UnknownDocument(f"customer {customer_id} does not exist")
    return customer


@atomic
def post_sales_invoice(
    session: Session,
    *,
    customer_id: int,
    number: str,
    invoice_date: date,
    lines: Sequence[SalesLine],
    kind: DocumentKind = DocumentKind.INVOICE,
    due_date: date | None = None,
    credits_invoice_id: int | None = None,
) -> int:
    """Write a sales invoice or credit note with its pending journal(s). Returns its id."""
    customer = _customer(session, customer_id)
    if not lines:
        raise InvalidQuantity(f"sales {kind.value} {number} has no lines")
    rates = vat_rates(session)
    priced = [
        (ln, price_line(ln.quantity, ln.unit_price_pence, ln.vat_code_id, rate_of(rates, ln.vat_code_id)))
        for ln in lines
    ]
    net = sum(p.net_pence for _, p in priced)
    vat = sum(p.vat_pence for _, p in priced)
    if net + vat <= 0:
        raise InvalidQuantity(f"sales {kind.value} {number} totals {net + vat} pence; it must be positive")
    draft = sales_document_journal(
        kind=kind,
        number=number,
        on=invoice_date,
        debtors_id=control_account(session, ControlKind.DEBTORS),
        vat_output_id=control_account(session, ControlKind.VAT_OUTPUT),
        lines=priced,
    )
    journal_id = post_journal(session, draft)
    invoice = SalesInvoice(
        number=number,
        kind=kind,
        customer_id=customer.id,
        invoice_date=invoice_date,
        due_date=due_date or invoice_date + timedelta(days=customer.payment_terms_days),
        net_pence=net,
        vat_pence=vat,
        gross_pence=net + vat,
        outstanding_pence=net + vat,
        status=DocumentStatus.OPEN,
        disputed=False,
        on_hold=False,
        credits_invoice_id=credits_invoice_id,
        journal_id=journal_id,
    )
    session.add(invoice)
    session.flush()
    session.execute(
        insert(SalesInvoiceLine),
        [
            {
                "invoice_id": invoice.id,
                "line_no": n,
                "item_id": ln.item_id,
                "warehouse_id": ln.warehouse_id,
                "description": ln.description,
                "quantity": p.quantity,
                "unit_price_pence": p.unit_price_pence,
                "net_pence": p.net_pence,
                "vat_code_id": p.vat_code_id,
                "vat_pence": p.vat_pence,
                "account_id": ln.account_id,
            }
            for n, (ln, p) in enumerate(priced, start=1)
        ],
    )
    if kind == DocumentKind.INVOICE:
        for ln in lines:
            if ln.item_id is not None:
                if ln.warehouse_id is None:
                    raise InvalidQuantity(f"invoice {number}: goods line for item {ln.item_id} needs a warehouse")
                issue_stock(
                    session,
                    item_id=ln.item_id,
                    warehouse_id=ln.warehouse_id,
                    quantity=ln.quantity,
                    on=invoice_date,
                    reference=number,
                )
    session.flush()
    return invoice.id


@atomic
def post_receipt(
    session: Session,
    *,
    customer_id: int,
    amount_pence: int,
    receipt_date: date,
    bank_account_id: int = 1,
    reference: str = "",
) -> int:
    """Money in from a customer: DR bank, CR debtors; unallocated until allocated. Returns its id."""
    _customer(session, customer_id)
    if amount_pence <= 0:
        raise InvalidQuantity(f"receipt of {amount_pence} pence: amount must be positive")
    bank = session.get(BankAccount, bank_account_id)
    if bank is None:
        raise UnknownDocument(f"bank account {bank_account_id} does not exist")
    ref = reference or f"RCT {customer_id} {receipt_date.isoformat()}"
    draft = JournalDraft(
        receipt_date,
        JournalSource.SL,
        ref,
        (dr(bank.account_id, amount_pence, ref), cr(control_account(session, ControlKind.DEBTORS), amount_pence, ref)),
        "Customer receipt",
    )
    journal_id = post_journal(session, draft)
    receipt = Receipt(
        customer_id=customer_id,
        receipt_date=receipt_date,
        amount_pence=amount_pence,
        unallocated_pence=amount_pence,
        reference=ref[:32],
        bank_account_id=bank_account_id,
        journal_id=journal_id,
    )
    session.add(receipt)
    session.flush()
    return receipt.id


def _open_invoice(session: Session, invoice_id: int) -> SalesInvoice:
    invoice = session.get(SalesInvoice, invoice_id)
    if invoice is None or invoice.kind != DocumentKind.INVOICE:
        raise UnknownDocument(f"sales invoice {invoice_id} does not exist")
    return invoice


@atomic
def allocate_receipt(session: Session, *, receipt_id: int, invoice_id: int, amount_pence: int, on: date) -> int:
    """Set part of a receipt against an invoice of the same customer. Returns the allocation id."""
    receipt = session.get(Receipt, receipt_id)
    if receipt is None:
        raise UnknownDocument(f"receipt {receipt_id} does not exist")
    invoice = _open_invoice(session, invoice_id)
    return _allocate(session, invoice, amount_pence, on, receipt_id=receipt.id, source_customer=receipt.customer_id)


@atomic
def allocate_credit_note(session: Session, *, credit_note_id: int, invoice_id: int, amount_pence: int, on: date) -> int:
    """Set part of a credit note against an invoice of the same customer. Returns the allocation id."""
    note = session.get(SalesInvoice, credit_note_id)
    if note is None or note.kind != DocumentKind.CREDIT_NOTE:
        raise UnknownDocument(f"sales credit note {credit_note_id} does not exist")
    invoice = _open_invoice(session, invoice_id)
    return _allocate(session, invoice, amount_pence, on, credit_note_id=note.id, source_customer=note.customer_id)


def _allocate(
    session: Session,
    invoice: SalesInvoice,
    amount: int,
    on: date,
    *,
    source_customer: int,
    receipt_id: int | None = None,
    credit_note_id: int | None = None,
) -> int:
    if amount <= 0:
        raise InvalidQuantity(f"allocation of {amount} pence: amount must be positive")
    if source_customer != invoice.customer_id:
        raise OverAllocation(
            f"invoice {invoice.number} belongs to customer {invoice.customer_id}, not {source_customer}"
        )
    if receipt_id is not None:
        taken = decrement_open(session, Receipt, "unallocated_pence", receipt_id, amount)
        source = f"receipt {receipt_id}"
    else:
        assert credit_note_id is not None
        taken = decrement_open(session, SalesInvoice, "outstanding_pence", credit_note_id, amount)
        source = f"credit note {credit_note_id}"
    if not taken:
        raise OverAllocation(f"{source} has less than {amount} pence unallocated")
    if not decrement_open(session, SalesInvoice, "outstanding_pence", invoice.id, amount):
        raise OverAllocation(f"invoice {invoice.number} has less than {amount} pence outstanding")
    result = session.execute(
        insert(SalesAllocation)
        .values(
            invoice_id=invoice.id,
            receipt_id=receipt_id,
            credit_note_id=credit_note_id,
            amount_pence=amount,
            allocated_on=on,
        )
        .returning(SalesAllocation.id)
    )
    session.expire_all()
    return int(result.scalar_one())


def open_invoices(session: Session, customer_id: int) -> list[tuple[int, int]]:
    """(invoice id, outstanding pence) of a customer's open invoices, oldest due first."""
    rows = session.execute(
        select(SalesInvoice.id, SalesInvoice.outstanding_pence)
        .where(
            SalesInvoice.customer_id == customer_id,
            SalesInvoice.kind == DocumentKind.INVOICE,
            SalesInvoice.outstanding_pence > 0,
        )
        .order_by(SalesInvoice.due_date, SalesInvoice.id)
    )
    return [(int(i), int(o)) for i, o in rows]

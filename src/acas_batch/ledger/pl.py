"""Purchase ledger postings: orders, goods received, invoices and credit notes, payments.

Goods received: DR stock (at cost), CR GRNI (at the order price); for standard-cost items
the difference goes to purchase price variance. Invoice: DR GRNI at the order price for
order lines (clearing the accrual), DR/CR purchase variance for the price difference, DR the
expense account for other lines, DR VAT input, CR creditors (gross). Payment: DR creditors
(invoices cleared, discount included), CR bank (money paid), CR discount received.

So GRNI always equals sum of (received - invoiced) * order price over the order lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from acas_batch.errors import InvalidQuantity, OverAllocation, UnknownDocument
from acas_batch.ledger.documents import decrement_open, price_line, rate_of, vat_rates
from acas_batch.ledger.posting import JournalDraft, LineDraft, atomic, control_account, cr, dr, post_journal
from acas_batch.ledger.stock import add_stock, get_item, receipt_cost
from acas_batch.models import (
    BankAccount,
    ControlKind,
    DocumentKind,
    DocumentStatus,
    GoodsReceivedLine,
    GoodsReceivedNote,
    JournalSource,
    MatchStatus,
    MovementKind,
    OrderStatus,
    PaymentMethod,
    PurchaseAllocation,
    PurchaseInvoice,
    PurchaseInvoiceLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Supplier,
    SupplierPayment,
)


@dataclass(frozen=True)
class OrderLine:
    item_id: int
    quantity: int
    unit_price_pence: int


@dataclass(frozen=True)
class Delivery:
    """Goods arriving against an order line, into a lot."""

    order_line_id: int
    quantity: int
    lot_number: str | None = None
    expiry_date: date | None = None


@dataclass(frozen=True)
class PurchaseLine:
    """An invoice line: against an order line (goods) or to an expense account (services)."""

    quantity: int
    unit_price_pence: int
    vat_code_id: int
    order_line_id: int | None = None
    account_id: int | None = None
    description: str = ""


def _supplier(session: Session, supplier_id: int) -> Supplier:
    supplier = session.get(Supplier, supplier_id)
    if supplier is None:
        raise UnknownDocument(f"supplier {supplier_id} does not exist")
    return supplier


@atomic
def create_purchase_order(
    session: Session,
    *,
    supplier_id: int,
    warehouse_id: int,
    number: str,
    order_date: date,
    lines: Sequence[OrderLine],
    expected_date: date | None = None,
) -> int:
    """An order to a supplier (no posting: nothing is owed until goods arrive). Returns its id."""
    supplier = _supplier(session, supplier_id)
    if not lines:
        raise InvalidQuantity(f"purchase order {number} has no lines")
    for ln in lines:
        get_item(session, ln.item_id)
        if ln.quantity <= 0 or ln.unit_price_pence < 0:
            raise InvalidQuantity(f"purchase order {number}: quantity {ln.quantity} must be positive")
    order = PurchaseOrder(
        number=number,
        supplier_id=supplier.id,
        warehouse_id=warehouse_id,
        order_date=order_date,
        expected_date=expected_date or order_date + timedelta(days=7),
        status=OrderStatus.OPEN,
    )
    session.add(order)
    session.flush()
    session.execute(
        insert(PurchaseOrderLine),
        [
            {
                "order_id": order.id,
                "line_no": n,
                "item_id": ln.item_id,
                "quantity_ordered": ln.quantity,
                "quantity_received": 0,
                "quantity_invoiced": 0,
                "unit_price_pence": ln.unit_price_pence,
            }
            for n, ln in enumerate(lines, start=1)
        ],
    )
    return order.id


@atomic
def receive_goods(
    session: Session, *, order_id: int, number: str, received_on: date, deliveries: Sequence[Delivery]
) -> int:
    """Book a delivery: lots, stock movements, order progress and the pending GRNI journal. Returns the GRN id."""
    order = session.get(PurchaseOrder, order_id)
    if order is None:
        raise UnknownDocument(f"purchase order {order_id} does not exist")
    if order.status in (OrderStatus.CLOSED, OrderStatus.CANCELLED):
        raise InvalidQuantity(f"purchase order {order.number} is {order.status.value}: nothing can be received")
    if not deliveries:
        raise InvalidQuantity(f"goods received note {number} has no lines")
    stock_id = control_account(session, ControlKind.STOCK)
    grni_id = control_account(session, ControlKind.GRNI)
    ppv_id = control_account(session, ControlKind.PURCHASE_VARIANCE)
    lines: list[LineDraft] = []
    planned: list[tuple[Delivery, PurchaseOrderLine, int]] = []
    for d in deliveries:
        po_line = session.get(PurchaseOrderLine, d.order_line_id)
        if po_line is None or po_line.order_id != order.id:
            raise UnknownDocument(f"order line {d.order_line_id} is not on purchase order {order.number}")
        if d.quantity <= 0:
            raise InvalidQuantity(f"cannot receive {d.quantity} of order line {po_line.id}: must be positive")
        item = get_item(session, po_line.item_id)
        cost = receipt_cost(item, po_line.unit_price_pence)
        accrued = d.quantity * po_line.unit_price_pence
        carried = d.quantity * cost
        lines += [dr(stock_id, carried, number), cr(grni_id, accrued, number), dr(ppv_id, accrued - carried, number)]
        planned.append((d, po_line, cost))
    draft = JournalDraft(received_on, JournalSource.ST, number, tuple(lines), f"Goods received {order.number}")
    journal_id = post_journal(session, draft)
    grn = GoodsReceivedNote(number=number, order_id=order.id, received_on=received_on, journal_id=journal_id)
    session.add(grn)
    session.flush()
    for d, po_line, cost in planned:
        item = get_item(session, po_line.item_id)
        lot_id = add_stock(
            session,
            item=item,
            warehouse_id=order.warehouse_id,
            quantity=d.quantity,
            unit_cost_pence=cost,
            on=received_on,
            kind=MovementKind.RECEIPT,
            reference=number,
            lot_number=d.lot_number or f"{number}-{po_line.line_no}",
            expiry_date=d.expiry_date,
            journal_id=journal_id,
        )
        session.execute(
            insert(GoodsReceivedLine).values(
                grn_id=grn.id,
                order_line_id=po_line.id,
                quantity=d.quantity,
                unit_price_pence=po_line.unit_price_pence,
                lot_id=lot_id,
            )
        )
        session.execute(
            update(PurchaseOrderLine)
            .where(PurchaseOrderLine.id == po_line.id)
            .values(quantity_received=PurchaseOrderLine.quantity_received + d.quantity)
        )
    outstanding = session.scalar(
        select(func.count())
        .select_from(PurchaseOrderLine)
        .where(
            PurchaseOrderLine.order_id == order.id,
            PurchaseOrderLine.quantity_received < PurchaseOrderLine.quantity_ordered,
        )
    )
    order.status = OrderStatus.PART_RECEIVED if outstanding else OrderStatus.RECEIVED
    session.flush()
    session.expire_all()
    return grn.id


@atomic
def post_purchase_invoice(
    session: Session,
    *,
    supplier_id: int,
    number: str,
    invoice_date: date,
    lines: Sequence[PurchaseLine],
    kind: DocumentKind = DocumentKind.INVOICE,
    due_date: date | None = None,
) -> int:
    """Write a supplier's invoice (or credit note) with its pending journal. Returns its id.

    Order lines clear GRNI at the order price; credit notes take expense-account lines only.
    Invoices with order lines wait for three-way matching (``approved`` false); invoices
    without are approved at once.
    """
    supplier = _supplier(session, supplier_id)
    if not lines:
        raise InvalidQuantity(f"purchase {kind.value} {number} has no lines")
    rates = vat_rates(session)
    grni_id = control_account(session, ControlKind.GRNI)
    ppv_id = control_account(session, ControlKind.PURCHASE_VARIANCE)
    debits: dict[int, int] = defaultdict(int)
    rows: list[dict[str, object]] = []
    vat = 0
    for n, ln in enumerate(lines, start=1):
        priced = price_line(ln.quantity, ln.unit_price_pence, ln.vat_code_id, rate_of(rates, ln.vat_code_id))
        vat += priced.vat_pence
        item_id = None
        if ln.order_line_id is not None:
            if kind == DocumentKind.CREDIT_NOTE:
                raise InvalidQuantity(f"credit note {number}: credit notes take expense lines, not order lines")
            po_line = session.get(PurchaseOrderLine, ln.order_line_id)
            if po_line is None:
                raise UnknownDocument(f"order line {ln.order_line_id} does not exist")
            item_id = po_line.item_id
            at_order_price = ln.quantity * po_line.unit_price_pence
            debits[grni_id] += at_order_price
            debits[ppv_id] += priced.net_pence - at_order_price
            account_id = grni_id
            match = MatchStatus.UNMATCHED
            session.execute(
                update(PurchaseOrderLine)
                .where(PurchaseOrderLine.id == po_line.id)
                .values(quantity_invoiced=PurchaseOrderLine.quantity_invoiced + ln.quantity)
            )
        elif ln.account_id is not None:
            account_id = ln.account_id
            debits[account_id] += priced.net_pence
            match = MatchStatus.NOT_REQUIRED
        else:
            raise InvalidQuantity(f"purchase {kind.value} {number} line {n} needs an order line or an account")
        rows.append(
            {
                "line_no": n,
                "order_line_id": ln.order_line_id,
                "item_id": item_id,
                "description": ln.description,
                "quantity": ln.quantity,
                "unit_price_pence": ln.unit_price_pence,
                "net_pence": priced.net_pence,
                "vat_code_id": ln.vat_code_id,
                "vat_pence": priced.vat_pence,
                "account_id": account_id,
                "match_status": match,
            }
        )
    net = sum(int(r["net_pence"]) for r in rows)  # type: ignore[call-overload]
    if net + vat <= 0:
        raise InvalidQuantity(f"purchase {kind.value} {number} totals {net + vat} pence; it must be positive")
    sign = 1 if kind == DocumentKind.INVOICE else -1
    drafts = [dr(acc, sign * amount, number) for acc, amount in sorted(debits.items())]
    drafts += [
        dr(control_account(session, ControlKind.VAT_INPUT), sign * vat, number),
        cr(control_account(session, ControlKind.CREDITORS), sign * (net + vat), number),
    ]
    draft = JournalDraft(invoice_date, JournalSource.PL, number, tuple(drafts), f"Purchase {kind.value} {number}")
    journal_id = post_journal(session, draft)
    needs_match = any(r["order_line_id"] is not None for r in rows)
    invoice = PurchaseInvoice(
        supplier_id=supplier.id,
        number=number,
        kind=kind,
        invoice_date=invoice_date,
        due_date=due_date or invoice_date + timedelta(days=supplier.payment_terms_days),
        net_pence=net,
        vat_pence=vat,
        gross_pence=net + vat,
        outstanding_pence=net + vat,
        status=DocumentStatus.OPEN,
        approved=not needs_match,
        on_hold=False,
        journal_id=journal_id,
    )
    session.add(invoice)
    session.flush()
    session.execute(insert(PurchaseInvoiceLine), [r | {"invoice_id": invoice.id} for r in rows])
    session.expire_all()
    return invoice.id


class PaymentAllocation(NamedTuple):
    """How much of one invoice a payment clears, and the discount taken on it (a tuple: a payment
    run holds one per invoice it pays, which then cost the garbage collector nothing)."""

    invoice_id: int
    amount_pence: int
    discount_pence: int = 0


@atomic
def post_supplier_payment(
    session: Session,
    *,
    supplier_id: int,
    payment_date: date,
    allocations: Sequence[PaymentAllocation],
    bank_account_id: int = 1,
    method: PaymentMethod | None = None,
    reference: str = "",
    run_key: str | None = None,
    on_account_pence: int = 0,
) -> int:
    """Pay a supplier and allocate the payment to invoices. Returns the payment id.

    Each allocation's amount clears that much of the invoice; the bank pays the amount less
    the discount. An allocation larger than what is outstanding is refused (and the database's
    CHECK would refuse it too), so an invoice is never paid twice.
    """
    supplier = _supplier(session, supplier_id)
    bank = session.get(BankAccount, bank_account_id)
    if bank is None:
        raise UnknownDocument(f"bank account {bank_account_id} does not exist")
    if on_account_pence < 0:
        raise InvalidQuantity(f"payment on account of {on_account_pence} pence must not be negative")
    cleared = sum(a.amount_pence for a in allocations)
    discount = sum(a.discount_pence for a in allocations)
    paid = cleared - discount + on_account_pence
    for a in allocations:
        if a.amount_pence <= 0 or not 0 <= a.discount_pence <= a.amount_pence:
            raise InvalidQuantity(f"allocation of {a.amount_pence} pence (discount {a.discount_pence}) is invalid")
    if paid <= 0:
        raise InvalidQuantity(f"payment of {paid} pence to supplier {supplier.code}: must be positive")
    ref = reference or f"PAY {supplier.code} {payment_date.isoformat()}"
    draft = JournalDraft(
        payment_date,
        JournalSource.PL,
        ref,
        (
            dr(control_account(session, ControlKind.CREDITORS), cleared + on_account_pence, ref),
            cr(bank.account_id, paid, ref),
            cr(control_account(session, ControlKind.DISCOUNT_RECEIVED), discount, ref),
        ),
        f"Payment to {supplier.code}",
    )
    journal_id = post_journal(session, draft)
    if method is None:
        method = PaymentMethod.BACS if supplier.sort_code else PaymentMethod.CHEQUE
    payment = SupplierPayment(
        supplier_id=supplier.id,
        payment_date=payment_date,
        amount_pence=paid,
        discount_pence=discount,
        unallocated_pence=on_account_pence,
        method=method,
        reference=ref[:32],
        run_key=run_key,
        bank_account_id=bank_account_id,
        journal_id=journal_id,
    )
    session.add(payment)
    session.flush()
    for a in allocations:
        invoice = session.get(PurchaseInvoice, a.invoice_id)
        if invoice is None or invoice.kind != DocumentKind.INVOICE:
            raise UnknownDocument(f"purchase invoice {a.invoice_id} does not exist")
        if invoice.supplier_id != supplier.id:
            raise OverAllocation(
                f"invoice {invoice.number} belongs to supplier {invoice.supplier_id}, not {supplier.id}"
            )
        if not decrement_open(session, PurchaseInvoice, "outstanding_pence", invoice.id, a.amount_pence):
            raise OverAllocation(
                f"invoice {invoice.number} of {supplier.code} has less than {a.amount_pence} pence outstanding"
            )
        session.execute(
            insert(PurchaseAllocation).values(
                invoice_id=invoice.id,
                payment_id=payment.id,
                amount_pence=a.amount_pence,
                discount_pence=a.discount_pence,
                allocated_on=payment_date,
            )
        )
    session.expire_all()
    return payment.id


@atomic
def allocate_purchase_credit_note(
    session: Session, *, credit_note_id: int, invoice_id: int, amount_pence: int, on: date
) -> int:
    """Set part of a supplier's credit note against one of their invoices. Returns the allocation id."""
    note = session.get(PurchaseInvoice, credit_note_id)
    invoice = session.get(PurchaseInvoice, invoice_id)
    if note is None or note.kind != DocumentKind.CREDIT_NOTE:
        raise UnknownDocument(f"purchase credit note {credit_note_id} does not exist")
    if invoice is None or invoice.kind != DocumentKind.INVOICE:
        raise UnknownDocument(f"purchase invoice {invoice_id} does not exist")
    if note.supplier_id != invoice.supplier_id:
        raise OverAllocation(f"credit note {note.number} and invoice {invoice.number} have different suppliers")
    if amount_pence <= 0:
        raise InvalidQuantity(f"allocation of {amount_pence} pence: amount must be positive")
    if not decrement_open(session, PurchaseInvoice, "outstanding_pence", note.id, amount_pence):
        raise OverAllocation(f"credit note {note.number} has less than {amount_pence} pence unallocated")
    if not decrement_open(session, PurchaseInvoice, "outstanding_pence", invoice.id, amount_pence):
        raise OverAllocation(f"invoice {invoice.number} has less than {amount_pence} pence outstanding")
    result = session.execute(
        insert(PurchaseAllocation)
        .values(invoice_id=invoice.id, credit_note_id=note.id, amount_pence=amount_pence, allocated_on=on)
        .returning(PurchaseAllocation.id)
    )
    session.expire_all()
    return int(result.scalar_one())

"""Purchasing and stock on both databases: GRNI, price variance, costing methods, payments."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from acas_batch.errors import InsufficientStock, InvalidQuantity, OverAllocation
from acas_batch.ledger import balances
from acas_batch.ledger.pl import (
    Delivery,
    OrderLine,
    PaymentAllocation,
    PurchaseLine,
    allocate_purchase_credit_note,
    create_purchase_order,
    post_purchase_invoice,
    post_supplier_payment,
    receive_goods,
)
from acas_batch.ledger.stock import adjust_stock, issue_stock, transfer_stock
from acas_batch.models import (
    ControlKind,
    CostMethod,
    DocumentKind,
    DocumentStatus,
    Lot,
    OrderStatus,
    PaymentMethod,
    PurchaseInvoice,
    PurchaseOrder,
    PurchaseOrderLine,
    StockLevel,
    SupplierPayment,
    Warehouse,
)
from tests.books import Books, S

MAY = date(2026, 5, 4)


def _order(books: Books, supplier: int, item: int, qty: int, price: int) -> tuple[int, int]:
    po = create_purchase_order(
        books.session,
        supplier_id=supplier,
        warehouse_id=books.main,
        number=books.next("PO"),
        order_date=MAY,
        lines=[OrderLine(item, qty, price)],
    )
    line = books.session.scalars(select(PurchaseOrderLine.id).where(PurchaseOrderLine.order_id == po)).one()
    return po, line


def _receive(books: Books, po: int, line: int, qty: int, on: date = MAY) -> int:
    return receive_goods(
        books.session, order_id=po, number=books.next("GRN"), received_on=on, deliveries=[Delivery(line, qty)]
    )


def test_part_delivery_then_invoice_at_a_higher_price_leaves_grni_for_the_rest(books: Books) -> None:
    s = books.session
    supplier, item = books.supplier(), books.item(CostMethod.FIFO)
    po, line = _order(books, supplier, item, qty=10, price=500)
    _receive(books, po, line, 6)
    assert s.get_one(PurchaseOrder, po).status == OrderStatus.PART_RECEIVED
    assert -balances.control_balance(s, ControlKind.GRNI) == 3_000

    inv = post_purchase_invoice(
        s,
        supplier_id=supplier,
        number="SUP-1",
        invoice_date=MAY,
        lines=[PurchaseLine(6, 510, S, order_line_id=line)],
    )
    invoice = s.get_one(PurchaseInvoice, inv)
    assert (invoice.net_pence, invoice.vat_pence, invoice.approved) == (3_060, 612, False)
    assert balances.control_balance(s, ControlKind.GRNI) == 0
    assert balances.control_balance(s, ControlKind.PURCHASE_VARIANCE) == 60
    assert -balances.control_balance(s, ControlKind.CREDITORS) == 3_672

    _receive(books, po, line, 4)
    assert s.get_one(PurchaseOrder, po).status == OrderStatus.RECEIVED
    assert balances.grni_listing_total(s) == 2_000
    books.assert_sound()


def test_a_standard_cost_item_is_carried_at_standard_and_the_difference_is_variance(books: Books) -> None:
    s = books.session
    supplier, item = books.supplier(), books.item(CostMethod.STANDARD, standard=450)
    po, line = _order(books, supplier, item, qty=10, price=500)
    _receive(books, po, line, 10)
    assert balances.stock_valuation_total(s) == 4_500
    assert balances.control_balance(s, ControlKind.PURCHASE_VARIANCE) == 500
    issue_stock(s, item_id=item, warehouse_id=books.main, quantity=3, on=MAY, reference="INV1")
    assert balances.control_balance(s, ControlKind.COST_OF_SALES) == 1_350
    books.assert_sound()


def test_fifo_issues_consume_the_oldest_lots_first(books: Books) -> None:
    s = books.session
    supplier, item = books.supplier(), books.item(CostMethod.FIFO)
    po, line = _order(books, supplier, item, qty=20, price=100)
    _receive(books, po, line, 10, on=date(2026, 5, 1))
    po2, line2 = _order(books, supplier, item, qty=10, price=130)
    _receive(books, po2, line2, 10, on=date(2026, 5, 2))
    issue_stock(s, item_id=item, warehouse_id=books.main, quantity=12, on=MAY, reference="INV1")
    assert balances.control_balance(s, ControlKind.COST_OF_SALES) == 10 * 100 + 2 * 130
    assert balances.stock_valuation_total(s) == 8 * 130
    assert sorted(s.scalars(select(Lot.quantity_on_hand))) == [0, 8]
    books.assert_sound()


def test_average_cost_issues_take_the_moving_average_and_the_last_unit_takes_the_rest(books: Books) -> None:
    s = books.session
    item = books.item(CostMethod.AVERAGE)
    adjust_stock(s, item_id=item, warehouse_id=books.main, quantity=2, on=MAY, reference="A1", unit_cost_pence=100)
    adjust_stock(s, item_id=item, warehouse_id=books.main, quantity=1, on=MAY, reference="A2", unit_cost_pence=101)
    issue_stock(s, item_id=item, warehouse_id=books.main, quantity=1, on=MAY, reference="I1")  # 301/3 = 100.33 -> 100
    assert balances.stock_valuation_total(s) == 201
    issue_stock(s, item_id=item, warehouse_id=books.main, quantity=2, on=MAY, reference="I2")  # the rest: 201
    level = s.scalars(select(StockLevel)).one()
    assert (level.quantity, level.value_pence) == (0, 0)
    assert balances.control_balance(s, ControlKind.COST_OF_SALES) == 301
    books.assert_sound()


def test_a_payment_with_settlement_discount_clears_the_invoice_and_never_pays_it_twice(books: Books) -> None:
    s = books.session
    supplier = books.supplier(discount="2.5", days=10)
    overheads = books.acc("6100")
    inv = post_purchase_invoice(
        s,
        supplier_id=supplier,
        number="RENT-5",
        invoice_date=MAY,
        lines=[PurchaseLine(1, 10_000, S, account_id=overheads)],
    )
    assert s.get_one(PurchaseInvoice, inv).approved
    pay = post_supplier_payment(
        s,
        supplier_id=supplier,
        payment_date=MAY,
        allocations=[PaymentAllocation(inv, 12_000, 300)],
        run_key="PAY:2026-05-04",
    )
    payment = s.get_one(SupplierPayment, pay)
    assert (payment.amount_pence, payment.discount_pence, payment.method) == (11_700, 300, PaymentMethod.BACS)
    assert s.get_one(PurchaseInvoice, inv).status == DocumentStatus.PAID
    assert balances.control_balance(s, ControlKind.DISCOUNT_RECEIVED) == -300

    with pytest.raises(OverAllocation, match="less than 12000 pence outstanding"):
        post_supplier_payment(s, supplier_id=supplier, payment_date=MAY, allocations=[PaymentAllocation(inv, 12_000)])
    assert books.count(SupplierPayment) == 1
    books.assert_sound()


def test_purchase_credit_notes_reduce_what_is_owed(books: Books) -> None:
    s = books.session
    supplier, acc = books.supplier(), books.acc("6400")
    inv = post_purchase_invoice(
        s, supplier_id=supplier, number="IT-1", invoice_date=MAY, lines=[PurchaseLine(2, 5_000, S, account_id=acc)]
    )
    note = post_purchase_invoice(
        s,
        supplier_id=supplier,
        number="IT-1C",
        invoice_date=MAY,
        lines=[PurchaseLine(1, 5_000, S, account_id=acc)],
        kind=DocumentKind.CREDIT_NOTE,
    )
    allocate_purchase_credit_note(s, credit_note_id=note, invoice_id=inv, amount_pence=6_000, on=MAY)
    assert s.get_one(PurchaseInvoice, inv).outstanding_pence == 6_000
    assert balances.supplier_balances_total(s) == 6_000
    with pytest.raises(InvalidQuantity, match="credit notes take expense lines"):
        post_purchase_invoice(
            s,
            supplier_id=supplier,
            number="IT-2C",
            invoice_date=MAY,
            lines=[PurchaseLine(1, 5_000, S, order_line_id=1)],
            kind=DocumentKind.CREDIT_NOTE,
        )
    books.assert_sound()


@pytest.mark.parametrize("method", list(CostMethod))
def test_a_transfer_moves_quantity_and_exact_value_between_warehouses(books: Books, method: CostMethod) -> None:
    s = books.session
    north = Warehouse(code="NORTH", name="North")
    s.add(north)
    s.flush()
    item = books.item(method, standard=100)
    adjust_stock(s, item_id=item, warehouse_id=books.main, quantity=2, on=MAY, reference="A1", unit_cost_pence=100)
    adjust_stock(s, item_id=item, warehouse_id=books.main, quantity=1, on=MAY, reference="A2", unit_cost_pence=101)
    before = balances.stock_valuation_total(s)
    transfer_stock(
        s, item_id=item, from_warehouse_id=books.main, to_warehouse_id=north.id, quantity=2, on=MAY, reference="T1"
    )
    levels = {int(w): int(q) for w, q in s.execute(select(StockLevel.warehouse_id, StockLevel.quantity))}
    assert levels == {books.main: 1, north.id: 2}
    assert balances.stock_valuation_total(s) == before
    with pytest.raises(InsufficientStock):
        transfer_stock(
            s, item_id=item, from_warehouse_id=north.id, to_warehouse_id=books.main, quantity=3, on=MAY, reference="T2"
        )
    books.assert_sound()

"""Property: any sequence of ledger transactions leaves a sound double-entry ledger.

After every generated sequence: each journal balances, the trial balance sums to zero,
debtors control = customer balances, creditors control = supplier balances, stock control =
stock valuation, GRNI = the GRNI listing. Refused transactions (e.g. an issue larger than
the stock) are part of the sequences: they must leave no trace.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from acas_batch.errors import LedgerError
from acas_batch.ledger.pl import (
    Delivery,
    OrderLine,
    PaymentAllocation,
    PurchaseLine,
    create_purchase_order,
    post_purchase_invoice,
    post_supplier_payment,
    receive_goods,
)
from acas_batch.ledger.posting import post_pending
from acas_batch.ledger.sl import SalesLine, allocate_receipt, open_invoices, post_receipt, post_sales_invoice
from acas_batch.ledger.stock import adjust_stock
from acas_batch.models import (
    AccountPeriodBalance,
    CostMethod,
    DocumentKind,
    Journal,
    JournalLine,
    JournalStatus,
    PurchaseInvoice,
    PurchaseOrderLine,
)
from tests.books import RC, Books, S, Z

DAY0 = date(2026, 4, 1)


@dataclass(frozen=True)
class Sell:
    customer: int
    nets: tuple[int, ...]
    goods: tuple[tuple[int, int], ...]  # (item index, quantity)
    credit: bool
    day: int


@dataclass(frozen=True)
class Receive:
    customer: int
    amount: int
    day: int


@dataclass(frozen=True)
class Buy:
    supplier: int
    item: int
    ordered: int
    received: int
    invoiced: int
    price: int
    price_delta: int
    day: int


@dataclass(frozen=True)
class Pay:
    supplier: int
    share_pct: int
    discount: int
    day: int


@dataclass(frozen=True)
class Adjust:
    item: int
    quantity: int
    cost: int
    day: int


@dataclass(frozen=True)
class Close:
    day: int


days = st.integers(min_value=0, max_value=300)
ops = st.one_of(
    st.builds(
        Sell,
        st.integers(0, 2),
        st.lists(st.integers(1, 50_000), max_size=3).map(tuple),
        st.lists(st.tuples(st.integers(0, 2), st.integers(-2, 15)), max_size=2).map(tuple),
        st.booleans(),
        days,
    ),
    st.builds(Receive, st.integers(0, 2), st.integers(-5, 80_000), days),
    st.builds(
        Buy,
        st.integers(0, 1),
        st.integers(0, 2),
        st.integers(1, 40),
        st.integers(0, 45),
        st.integers(0, 45),
        st.integers(1, 5_000),
        st.integers(-50, 50),
        days,
    ),
    st.builds(Pay, st.integers(0, 1), st.integers(1, 100), st.integers(0, 500), days),
    st.builds(Adjust, st.integers(0, 2), st.integers(-10, 10), st.integers(0, 3_000), days),
    st.builds(Close, days),
)


class Runner:
    def __init__(self, books: Books) -> None:
        self.b = books
        self.customers = [books.customer() for _ in range(3)]
        self.suppliers = [books.supplier(discount="2"), books.supplier(bank=False)]
        self.items = [books.item(CostMethod.FIFO), books.item(CostMethod.AVERAGE), books.item(CostMethod.STANDARD, 700)]

    def apply(self, op: object) -> None:
        # A refused transaction raises; the invariants checked after the sequence prove it left nothing behind.
        with contextlib.suppress(LedgerError):
            getattr(self, type(op).__name__.lower())(op)

    def sell(self, op: Sell) -> None:
        b = self.b
        lines = [SalesLine(1, n, S if n % 3 else Z, b.sales) for n in op.nets]
        lines += [SalesLine(q, 1_500, S, b.sales, self.items[i], b.main) for i, q in op.goods]
        post_sales_invoice(
            b.session,
            customer_id=self.customers[op.customer],
            number=b.next("INV"),
            invoice_date=DAY0 + timedelta(days=op.day),
            lines=lines,
            kind=DocumentKind.CREDIT_NOTE if op.credit else DocumentKind.INVOICE,
        )

    def receive(self, op: Receive) -> None:
        s, customer, on = self.b.session, self.customers[op.customer], DAY0 + timedelta(days=op.day)
        receipt = post_receipt(s, customer_id=customer, amount_pence=op.amount, receipt_date=on)
        left = op.amount
        for invoice_id, outstanding in open_invoices(s, customer):
            take = min(left, outstanding)
            if take == 0:
                break
            allocate_receipt(s, receipt_id=receipt, invoice_id=invoice_id, amount_pence=take, on=on)
            left -= take

    def buy(self, op: Buy) -> None:
        b, on = self.b, DAY0 + timedelta(days=op.day)
        po = create_purchase_order(
            b.session,
            supplier_id=self.suppliers[op.supplier],
            warehouse_id=b.main,
            number=b.next("PO"),
            order_date=on,
            lines=[OrderLine(self.items[op.item], op.ordered, op.price)],
        )
        line = b.session.scalars(select(PurchaseOrderLine.id).where(PurchaseOrderLine.order_id == po)).one()
        if op.received:
            receive_goods(
                b.session, order_id=po, number=b.next("GRN"), received_on=on, deliveries=[Delivery(line, op.received)]
            )
        if op.invoiced:
            post_purchase_invoice(
                b.session,
                supplier_id=self.suppliers[op.supplier],
                number=b.next("PI"),
                invoice_date=on,
                lines=[
                    PurchaseLine(op.invoiced, max(0, op.price + op.price_delta), S, order_line_id=line),
                    PurchaseLine(1, 1_000, RC, account_id=b.acc("5100")),
                ],
            )

    def pay(self, op: Pay) -> None:
        s, supplier = self.b.session, self.suppliers[op.supplier]
        open_ = s.execute(
            select(PurchaseInvoice.id, PurchaseInvoice.outstanding_pence).where(
                PurchaseInvoice.supplier_id == supplier,
                PurchaseInvoice.kind == DocumentKind.INVOICE,
                PurchaseInvoice.outstanding_pence > 0,
            )
        ).all()
        allocations = []
        for invoice_id, outstanding in open_:
            amount = max(1, outstanding * op.share_pct // 100)
            allocations.append(PaymentAllocation(invoice_id, amount, min(op.discount, amount - 1)))
        post_supplier_payment(
            s,
            supplier_id=supplier,
            payment_date=DAY0 + timedelta(days=op.day),
            allocations=allocations,
            on_account_pence=0,
        )

    def close(self, op: Close) -> None:
        """A daily close: post every pending journal dated on or before the day."""
        s, on = self.b.session, DAY0 + timedelta(days=op.day)
        pending = s.scalars(
            select(Journal.id)
            .where(Journal.status == JournalStatus.PENDING, Journal.journal_date <= on)
            .order_by(Journal.id)
        ).all()
        for journal_id in pending:
            post_pending(s, journal_id, posted_on=on)

    def adjust(self, op: Adjust) -> None:
        adjust_stock(
            self.b.session,
            item_id=self.items[op.item],
            warehouse_id=self.b.main,
            quantity=op.quantity,
            on=DAY0 + timedelta(days=op.day),
            reference=self.b.next("ADJ"),
            unit_cost_pence=op.cost,
        )


def test_random_transaction_sequences_keep_the_ledger_sound(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        runner = Runner(Books.open(session))
        session.commit()

        @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.lists(ops, min_size=1, max_size=12))
        def run(sequence: list[object]) -> None:
            for op in sequence:
                runner.apply(op)
            session.commit()
            runner.b.assert_sound()
            # The period balances hold exactly the posted lines, and they balance.
            posted = session.execute(
                select(JournalLine.account_id, func.sum(JournalLine.debit_pence - JournalLine.credit_pence))
                .join(Journal, Journal.id == JournalLine.journal_id)
                .where(Journal.status == JournalStatus.POSTED)
                .group_by(JournalLine.account_id)
            ).all()
            kept = session.execute(
                select(
                    AccountPeriodBalance.account_id,
                    func.sum(AccountPeriodBalance.debit_pence - AccountPeriodBalance.credit_pence),
                ).group_by(AccountPeriodBalance.account_id)
            ).all()
            assert {a: int(v) for a, v in posted if v} == {a: int(v) for a, v in kept if v}
            assert sum(int(v) for _, v in kept) == 0

        run()
        assert runner.b.count(Journal) > 25  # the sequences did post, not only fail
        assert session.scalar(select(func.count()).where(Journal.status == JournalStatus.POSTED)) > 0

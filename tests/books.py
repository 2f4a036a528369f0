"""Compact ledger fixtures: a test reads like the books it checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acas_batch.ledger import balances
from acas_batch.ledger.chart import install_standard_books
from acas_batch.ledger.sl import SalesLine, post_sales_invoice
from acas_batch.models import (
    Account,
    ControlKind,
    CostMethod,
    Customer,
    Item,
    JournalLine,
    Supplier,
    VatCode,
    Warehouse,
)

START = date(2026, 4, 1)
S, R, Z, EX, OS, RC = 1, 2, 3, 4, 5, 6  # VAT code ids of the standard books


@dataclass
class Books:
    """A company at START with the standard chart; shortcuts to make its parties and post to it."""

    session: Session
    _n: dict[str, int] = field(default_factory=dict)

    @classmethod
    def open(cls, session: Session) -> Books:
        install_standard_books(
            session, name="Test Wholesale Ltd", first_day=START, years=2, created_at=datetime(2026, 4, 1, tzinfo=UTC)
        )
        session.add(Warehouse(code="MAIN", name="Main warehouse"))
        session.flush()
        return cls(session)

    def next(self, prefix: str) -> str:
        self._n[prefix] = self._n.get(prefix, 0) + 1
        return f"{prefix}{self._n[prefix]:05d}"

    def acc(self, code: str) -> int:
        return self.session.scalars(select(Account.id).where(Account.code == code)).one()

    def journal_lines(self, journal_id: int) -> list[tuple[int, int, int]]:
        """A journal's lines in order, as (account id, debit pence, credit pence)."""
        rows = self.session.execute(
            select(JournalLine.account_id, JournalLine.debit_pence, JournalLine.credit_pence)
            .where(JournalLine.journal_id == journal_id)
            .order_by(JournalLine.line_no)
        )
        return [(int(a), int(d), int(c)) for a, d, c in rows]

    def control(self, kind: ControlKind) -> int:
        return self.session.scalars(select(Account.id).where(Account.control == kind)).first() or 0

    @property
    def sales(self) -> int:
        return self.acc("4000")

    @property
    def main(self) -> int:
        return self.session.scalars(select(Warehouse.id).where(Warehouse.code == "MAIN")).one()

    def customer(self, terms: int = 30, limit: int = 1_000_000) -> int:
        c = Customer(
            code=self.next("C"), name="Customer", credit_limit_pence=limit, payment_terms_days=terms, opened_on=START
        )
        self.session.add(c)
        self.session.flush()
        return c.id

    def supplier(self, discount: str = "0", days: int = 0, bank: bool = True) -> int:
        s = Supplier(
            code=self.next("S"),
            name="Supplier",
            payment_terms_days=30,
            settlement_discount_pct=Decimal(discount),
            settlement_days=days,
            sort_code="200000" if bank else None,
            bank_account_number="55779911" if bank else None,
            opened_on=START,
        )
        self.session.add(s)
        self.session.flush()
        return s.id

    def item(self, method: CostMethod = CostMethod.FIFO, standard: int = 0, price: int = 1000) -> int:
        i = Item(
            code=self.next("I"),
            description="Widget",
            cost_method=method,
            standard_cost_pence=standard,
            sell_price_pence=price,
            vat_code_id=S,
        )
        self.session.add(i)
        self.session.flush()
        return i.id

    def invoice(self, customer: int, *nets: int, on: date = START, vat: int = S) -> int:
        """A service invoice: one line per net amount."""
        lines = [SalesLine(1, n, vat, self.sales) for n in nets]
        return post_sales_invoice(
            self.session, customer_id=customer, number=self.next("INV"), invoice_date=on, lines=lines
        )

    def count(self, model: type) -> int:
        return int(self.session.scalar(select(func.count()).select_from(model)) or 0)

    def vat_rate(self, code: int) -> Decimal:
        return self.session.get_one(VatCode, code).rate

    def assert_sound(self) -> None:
        """Every invariant of a double-entry ledger with subledgers."""
        s = self.session
        assert balances.unbalanced_journals(s) == []
        tb = balances.trial_balance(s)
        assert sum(r.debit_pence for r in tb) == sum(r.credit_pence for r in tb)
        for rec in balances.reconcile(s):
            assert rec.difference_pence == 0, rec

"""Sales ledger: customers, salespeople, invoices and credit notes, receipts, allocations, dunning.

Over-allocation is impossible by construction: every document stores what is still open
(``outstanding_pence`` on invoices and credit notes, ``unallocated_pence`` on receipts) under
a CHECK that keeps it between zero and the document's total, and an allocation row is written
in the same transaction as the decrements. An allocation that would take a figure below zero
fails in the database, whatever the application code does.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, Pence, enum_column


class DocumentKind(StrEnum):
    """A ledger document: a demand for money, or its negation."""

    INVOICE = "invoice"  # the customer owes us (or we owe the supplier)
    CREDIT_NOTE = "credit_note"  # reduces what is owed; allocated against invoices


class DocumentStatus(StrEnum):
    """How much of a document is still open; kept with its outstanding amount (CHECK)."""

    OPEN = "open"  # nothing allocated yet
    PART_PAID = "part_paid"  # partly allocated
    PAID = "paid"  # fully allocated (for a credit note: fully used)


#: The CHECK that ties a document's status to its outstanding amount.
STATUS_MATCHES_OUTSTANDING = (
    "(status = 'open' AND outstanding_pence = gross_pence)"
    " OR (status = 'part_paid' AND outstanding_pence > 0 AND outstanding_pence < gross_pence)"
    " OR (status = 'paid' AND outstanding_pence = 0)"
)


class Salesperson(Base):
    """A salesperson and the commission rate on their customers' net sales."""

    __tablename__ = "sl_salesperson_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    commission_rate: Mapped[Decimal] = mapped_column(Numeric(6, 4), doc="0.0250 for 2.5%.")
    email: Mapped[str | None] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (CheckConstraint("commission_rate >= 0 AND commission_rate < 1", name="rate_range"),)


class CommissionTier(Base):
    """A tier of a salesperson's commission: net sales of a period above ``from_pence`` earn ``rate``.

    Marginal, as tax bands are: the salesperson's own rate applies below the first tier.
    """

    __tablename__ = "sl_commission_tier_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    salesperson_id: Mapped[int] = mapped_column(ForeignKey("sl_salesperson_rec.id", ondelete="CASCADE"))
    from_pence: Mapped[int] = mapped_column(Pence, doc="Net sales in the period above this earn the rate.")
    rate: Mapped[Decimal] = mapped_column(Numeric(6, 4), doc="0.0300 for 3%.")

    __table_args__ = (
        UniqueConstraint("salesperson_id", "from_pence"),
        CheckConstraint("from_pence > 0", name="threshold_positive"),
        CheckConstraint("rate >= 0 AND rate < 1", name="rate_range"),
    )


class Customer(Base):
    """A customer account: credit control, terms and dunning state."""

    __tablename__ = "sl_customer_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    credit_limit_pence: Mapped[int] = mapped_column(Pence, default=0)
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    on_stop: Mapped[bool] = mapped_column(Boolean, default=False)
    salesperson_id: Mapped[int | None] = mapped_column(ForeignKey("sl_salesperson_rec.id"))
    statement_email: Mapped[str | None] = mapped_column(String(128))
    dunning_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    dunning_level: Mapped[int] = mapped_column(Integer, default=0, doc="Last reminder level sent (0 none).")
    last_dunning_on: Mapped[date | None] = mapped_column(Date)
    in_collection: Mapped[bool] = mapped_column(Boolean, default=False, doc="Level 3 sent: with collections.")
    opened_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("credit_limit_pence >= 0", name="credit_limit_non_negative"),
        CheckConstraint("payment_terms_days >= 0", name="terms_non_negative"),
        CheckConstraint("dunning_level BETWEEN 0 AND 3", name="dunning_level_range"),
        Index("ix_sl_customer_rec_salesperson", "salesperson_id"),
    )


class SalesInvoice(Base):
    """A sales invoice or credit note. Amounts are positive; ``kind`` gives the sign."""

    __tablename__ = "sl_invoice_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "document_kind"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("sl_customer_rec.id"))
    invoice_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    net_pence: Mapped[int] = mapped_column(Pence)
    vat_pence: Mapped[int] = mapped_column(Pence)
    gross_pence: Mapped[int] = mapped_column(Pence)
    outstanding_pence: Mapped[int] = mapped_column(Pence)
    status: Mapped[DocumentStatus] = mapped_column(enum_column(DocumentStatus, "document_status"))
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    on_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    credits_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("sl_invoice_rec.id"), doc="Credit notes: the invoice credited, if one."
    )
    journal_id: Mapped[int] = mapped_column(ForeignKey("gl_journal_rec.id"))

    __table_args__ = (
        CheckConstraint("net_pence >= 0 AND vat_pence >= 0 AND gross_pence > 0", name="amounts_positive"),
        CheckConstraint("gross_pence = net_pence + vat_pence", name="gross_is_net_plus_vat"),
        CheckConstraint("outstanding_pence >= 0 AND outstanding_pence <= gross_pence", name="outstanding_range"),
        CheckConstraint(STATUS_MATCHES_OUTSTANDING, name="status_matches_outstanding"),
        CheckConstraint("due_date >= invoice_date", name="due_after_date"),
        Index("ix_sl_invoice_rec_customer_due", "customer_id", "due_date"),
        Index("ix_sl_invoice_rec_date", "invoice_date"),
        Index("ix_sl_invoice_rec_open", "status", "due_date"),
    )


class SalesInvoiceLine(Base):
    """An invoice line: goods or a service, with its VAT rounded per line."""

    __tablename__ = "sl_invoice_line_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("sl_invoice_rec.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("st_item_rec.id"))
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("st_warehouse_rec.id"))
    description: Mapped[str] = mapped_column(String(128), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_pence: Mapped[int] = mapped_column(Pence)
    net_pence: Mapped[int] = mapped_column(Pence)
    vat_code_id: Mapped[int] = mapped_column(ForeignKey("vat_code_rec.id"))
    vat_pence: Mapped[int] = mapped_column(Pence)
    account_id: Mapped[int] = mapped_column(ForeignKey("gl_account_rec.id"), doc="The income account.")

    __table_args__ = (
        CheckConstraint("quantity > 0 AND unit_price_pence >= 0 AND net_pence >= 0", name="amounts_positive"),
        CheckConstraint("vat_pence >= 0", name="vat_non_negative"),
        Index("ix_sl_invoice_line_rec_invoice", "invoice_id", "line_no", unique=True),
        Index("ix_sl_invoice_line_rec_item", "item_id"),
    )


class Receipt(Base):
    """Money received from a customer into a bank account."""

    __tablename__ = "sl_receipt_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("sl_customer_rec.id"))
    receipt_date: Mapped[date] = mapped_column(Date)
    amount_pence: Mapped[int] = mapped_column(Pence)
    unallocated_pence: Mapped[int] = mapped_column(Pence)
    reference: Mapped[str] = mapped_column(String(32), default="")
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_account_rec.id"))
    journal_id: Mapped[int] = mapped_column(ForeignKey("gl_journal_rec.id"))

    __table_args__ = (
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint("unallocated_pence >= 0 AND unallocated_pence <= amount_pence", name="unallocated_range"),
        Index("ix_sl_receipt_rec_customer_date", "customer_id", "receipt_date"),
        Index("ix_sl_receipt_rec_date", "receipt_date"),
    )


class SalesAllocation(Base):
    """Part of a receipt or credit note set against an invoice."""

    __tablename__ = "sl_allocation_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("sl_invoice_rec.id"))
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("sl_receipt_rec.id"))
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("sl_invoice_rec.id"))
    amount_pence: Mapped[int] = mapped_column(Pence)
    allocated_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint("(receipt_id IS NULL) <> (credit_note_id IS NULL)", name="one_source"),
        Index("ix_sl_allocation_rec_invoice", "invoice_id"),
        Index("ix_sl_allocation_rec_receipt", "receipt_id"),
        Index("ix_sl_allocation_rec_credit_note", "credit_note_id"),
        Index("ix_sl_allocation_rec_date", "allocated_on"),
    )


class Reminder(Base):
    """A dunning letter sent to a customer (SL_OVERDUE_REMINDERS' history)."""

    __tablename__ = "sl_reminder_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("sl_customer_rec.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("sl_invoice_rec.id"), doc="The oldest overdue item.")
    level: Mapped[int] = mapped_column(Integer)
    sent_on: Mapped[date] = mapped_column(Date)
    days_overdue: Mapped[int] = mapped_column(Integer)
    overdue_pence: Mapped[int] = mapped_column(Pence)
    interest_pence: Mapped[int] = mapped_column(Pence, default=0, doc="Late Payment Act interest stated.")
    compensation_pence: Mapped[int] = mapped_column(Pence, default=0, doc="Late Payment Act fixed sums stated.")
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),
        Index("ix_sl_reminder_rec_customer_sent", "customer_id", "sent_on"),
    )

"""Purchase ledger: suppliers, orders, goods received, invoices, payments, allocations, remittances.

As in the sales ledger, ``outstanding_pence`` under a CHECK makes over-allocation (paying an
invoice twice) impossible; a payment allocates each invoice at most once (unique pair).
"""

from __future__ import annotations

from datetime import date, datetime
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

from acas_batch.models.base import Base, Pence, UTCDateTime, enum_column
from acas_batch.models.sl import STATUS_MATCHES_OUTSTANDING, DocumentKind, DocumentStatus


class OrderStatus(StrEnum):
    """A purchase order's delivery state."""

    OPEN = "open"  # nothing received
    PART_RECEIVED = "part_received"  # some lines or quantities received
    RECEIVED = "received"  # everything ordered has arrived
    CLOSED = "closed"  # closed short; nothing more expected
    CANCELLED = "cancelled"  # never to be received


class MatchStatus(StrEnum):
    """Three-way match result of a purchase invoice line (PL_THREE_WAY_MATCHING)."""

    UNMATCHED = "unmatched"  # not yet checked
    MATCHED = "matched"  # order, receipt and invoice agree within tolerance
    PRICE_VARIANCE = "price_variance"  # invoice price differs from the order beyond tolerance
    QUANTITY_VARIANCE = "quantity_variance"  # invoiced quantity differs from received beyond tolerance
    NO_RECEIPT = "no_receipt"  # ordered, but nothing received yet
    NO_ORDER = "no_order"  # no purchase order line to match (a goods line without an order)
    NOT_REQUIRED = "not_required"  # an expense line (services, overheads): no order expected


class PaymentMethod(StrEnum):
    """How a supplier is paid."""

    BACS = "bacs"  # bank transfer; the supplier has a sort code and account number
    CHEQUE = "cheque"  # printed cheque


class Supplier(Base):
    """A supplier account. Bank details are sensitive: masked in logs and exports."""

    __tablename__ = "pl_supplier_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    settlement_discount_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    settlement_days: Mapped[int] = mapped_column(Integer, default=0, doc="Discount if paid within this many days.")
    sort_code: Mapped[str | None] = mapped_column(String(6), info={"sensitive": True})
    bank_account_number: Mapped[str | None] = mapped_column(String(8), info={"sensitive": True})
    remittance_email: Mapped[str | None] = mapped_column(String(128))
    on_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("payment_terms_days >= 0 AND settlement_days >= 0", name="terms_non_negative"),
        CheckConstraint("settlement_discount_pct >= 0 AND settlement_discount_pct < 100", name="discount_range"),
        CheckConstraint(
            "(sort_code IS NULL AND bank_account_number IS NULL)"
            " OR (length(sort_code) = 6 AND length(bank_account_number) = 8)",
            name="bank_details_complete",
        ),
    )


class PurchaseOrder(Base):
    """A purchase order to a supplier, delivered to one warehouse."""

    __tablename__ = "pl_order_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("pl_supplier_rec.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("st_warehouse_rec.id"))
    order_date: Mapped[date] = mapped_column(Date)
    expected_date: Mapped[date] = mapped_column(Date)
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, "order_status"))

    __table_args__ = (
        Index("ix_pl_order_rec_supplier_date", "supplier_id", "order_date"),
        Index("ix_pl_order_rec_status", "status"),
    )


class PurchaseOrderLine(Base):
    """An order line with what has been received and invoiced against it so far."""

    __tablename__ = "pl_order_line_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("pl_order_rec.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    quantity_ordered: Mapped[int] = mapped_column(Integer)
    quantity_received: Mapped[int] = mapped_column(Integer, default=0)
    quantity_invoiced: Mapped[int] = mapped_column(Integer, default=0)
    unit_price_pence: Mapped[int] = mapped_column(Pence)

    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        CheckConstraint("quantity_ordered > 0", name="ordered_positive"),
        CheckConstraint("quantity_received >= 0 AND quantity_invoiced >= 0", name="progress_non_negative"),
        CheckConstraint("unit_price_pence >= 0", name="price_non_negative"),
        Index("ix_pl_order_line_rec_item", "item_id"),
    )


class GoodsReceivedNote(Base):
    """A delivery against a purchase order."""

    __tablename__ = "pl_grn_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("pl_order_rec.id"))
    received_on: Mapped[date] = mapped_column(Date)
    journal_id: Mapped[int] = mapped_column(ForeignKey("gl_journal_rec.id"))

    __table_args__ = (Index("ix_pl_grn_rec_order", "order_id"), Index("ix_pl_grn_rec_date", "received_on"))


class GoodsReceivedLine(Base):
    """Quantity received against an order line, at the order price, into a lot."""

    __tablename__ = "pl_grn_line_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grn_id: Mapped[int] = mapped_column(ForeignKey("pl_grn_rec.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("pl_order_line_rec.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_pence: Mapped[int] = mapped_column(Pence, doc="The order price: what GRNI is accrued at.")
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("st_lot_rec.id"))

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_pl_grn_line_rec_order_line", "order_line_id"),
        Index("ix_pl_grn_line_rec_grn", "grn_id"),
    )


class PurchaseInvoice(Base):
    """A supplier's invoice or credit note; approved for payment once three-way matched."""

    __tablename__ = "pl_invoice_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("pl_supplier_rec.id"))
    number: Mapped[str] = mapped_column(String(24), doc="The supplier's own invoice number.")
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "document_kind"))
    invoice_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    net_pence: Mapped[int] = mapped_column(Pence)
    vat_pence: Mapped[int] = mapped_column(Pence)
    gross_pence: Mapped[int] = mapped_column(Pence)
    outstanding_pence: Mapped[int] = mapped_column(Pence)
    status: Mapped[DocumentStatus] = mapped_column(enum_column(DocumentStatus, "document_status"))
    approved: Mapped[bool] = mapped_column(Boolean, default=False, doc="Three-way matched: may be paid.")
    on_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_reason: Mapped[str | None] = mapped_column(String(128))
    journal_id: Mapped[int] = mapped_column(ForeignKey("gl_journal_rec.id"))

    __table_args__ = (
        UniqueConstraint("supplier_id", "number"),
        CheckConstraint("net_pence >= 0 AND vat_pence >= 0 AND gross_pence > 0", name="amounts_positive"),
        CheckConstraint("gross_pence = net_pence + vat_pence", name="gross_is_net_plus_vat"),
        CheckConstraint("outstanding_pence >= 0 AND outstanding_pence <= gross_pence", name="outstanding_range"),
        CheckConstraint(STATUS_MATCHES_OUTSTANDING, name="status_matches_outstanding"),
        CheckConstraint("due_date >= invoice_date", name="due_after_date"),
        Index("ix_pl_invoice_rec_supplier_due", "supplier_id", "due_date"),
        Index("ix_pl_invoice_rec_open", "status", "due_date"),
        Index("ix_pl_invoice_rec_date", "invoice_date"),
    )


class PurchaseInvoiceLine(Base):
    """A purchase invoice line, with its three-way match result."""

    __tablename__ = "pl_invoice_line_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("pl_invoice_rec.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("pl_order_line_rec.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("st_item_rec.id"))
    description: Mapped[str] = mapped_column(String(128), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_pence: Mapped[int] = mapped_column(Pence)
    net_pence: Mapped[int] = mapped_column(Pence)
    vat_code_id: Mapped[int] = mapped_column(ForeignKey("vat_code_rec.id"))
    vat_pence: Mapped[int] = mapped_column(Pence)
    account_id: Mapped[int] = mapped_column(ForeignKey("gl_account_rec.id"), doc="GRNI for order lines.")
    match_status: Mapped[MatchStatus] = mapped_column(enum_column(MatchStatus, "match_status"))
    quantity_variance: Mapped[int | None] = mapped_column(Integer, doc="Invoiced - received, when matched.")
    price_variance_pence: Mapped[int | None] = mapped_column(Pence, doc="Invoice - order unit price.")

    __table_args__ = (
        UniqueConstraint("invoice_id", "line_no"),
        CheckConstraint("quantity > 0 AND unit_price_pence >= 0 AND net_pence >= 0", name="amounts_positive"),
        CheckConstraint("vat_pence >= 0", name="vat_non_negative"),
        Index("ix_pl_invoice_line_rec_order_line", "order_line_id"),
        Index("ix_pl_invoice_line_rec_match", "match_status"),
    )


class SupplierPayment(Base):
    """A payment to a supplier (one per supplier per payment run)."""

    __tablename__ = "pl_payment_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("pl_supplier_rec.id"))
    payment_date: Mapped[date] = mapped_column(Date)
    amount_pence: Mapped[int] = mapped_column(Pence, doc="Money paid out.")
    discount_pence: Mapped[int] = mapped_column(Pence, default=0, doc="Settlement discount taken.")
    unallocated_pence: Mapped[int] = mapped_column(Pence, default=0, doc="Paid on account, not yet allocated.")
    method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod, "payment_method"))
    reference: Mapped[str] = mapped_column(String(32), default="")
    run_key: Mapped[str | None] = mapped_column(String(64), doc="The payment run that made it.")
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_account_rec.id"))
    journal_id: Mapped[int] = mapped_column(ForeignKey("gl_journal_rec.id"))

    __table_args__ = (
        CheckConstraint("amount_pence > 0 AND discount_pence >= 0", name="amounts_positive"),
        CheckConstraint(
            "unallocated_pence >= 0 AND unallocated_pence <= amount_pence + discount_pence", name="unallocated_range"
        ),
        # A payment run pays a supplier once.
        UniqueConstraint("run_key", "supplier_id"),
        Index("ix_pl_payment_rec_supplier_date", "supplier_id", "payment_date"),
        Index("ix_pl_payment_rec_date", "payment_date"),
    )


class PurchaseAllocation(Base):
    """Part of a payment (with its discount) or credit note set against a purchase invoice."""

    __tablename__ = "pl_allocation_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("pl_invoice_rec.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("pl_payment_rec.id"))
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("pl_invoice_rec.id"))
    amount_pence: Mapped[int] = mapped_column(Pence, doc="Clears this much of the invoice, discount included.")
    discount_pence: Mapped[int] = mapped_column(Pence, default=0)
    allocated_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("amount_pence > 0 AND discount_pence >= 0", name="amounts_positive"),
        CheckConstraint("discount_pence <= amount_pence", name="discount_within_amount"),
        CheckConstraint("(payment_id IS NULL) <> (credit_note_id IS NULL)", name="one_source"),
        UniqueConstraint("payment_id", "invoice_id"),
        Index("ix_pl_allocation_rec_invoice", "invoice_id"),
        Index("ix_pl_allocation_rec_credit_note", "credit_note_id"),
    )


class Remittance(Base):
    """The remittance advice of a payment (PL_REMITTANCE_ADVICE)."""

    __tablename__ = "pl_remittance_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("pl_payment_rec.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_to: Mapped[str | None] = mapped_column(String(128))
    document: Mapped[str | None] = mapped_column(Text, doc="Path of the PDF in the run's output folder.")

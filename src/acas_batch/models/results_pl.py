"""Result snapshots of the purchase ledger jobs, keyed by the run that wrote them.

A rerun of the same run key replaces its snapshot (delete by run key, then insert), so a
report is never doubled.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, Pence, enum_column
from acas_batch.models.pl import MatchStatus


class AgedCreditorLine(Base):
    """One supplier's open balance in one age bucket (PL_AGED_CREDITORS)."""

    __tablename__ = "pl_aged_creditor_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_key: Mapped[str] = mapped_column(String(64))
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="SET NULL"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("pl_supplier_rec.id"))
    bucket_no: Mapped[int] = mapped_column(Integer, doc="0 = the youngest bucket.")
    bucket_label: Mapped[str] = mapped_column(String(16))
    amount_pence: Mapped[int] = mapped_column(Pence, doc="Invoices less credit notes and unallocated payments.")
    items: Mapped[int] = mapped_column(Integer, doc="Open items in the bucket.")

    __table_args__ = (
        UniqueConstraint("run_key", "supplier_id", "bucket_no"),
        Index("ix_pl_aged_creditor_rec_execution", "execution_id"),
    )


class MatchResultLine(Base):
    """The three-way match of one invoice line as a run found it (PL_THREE_WAY_MATCHING)."""

    __tablename__ = "pl_match_result_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_key: Mapped[str] = mapped_column(String(64))
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="SET NULL"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("pl_invoice_rec.id"))
    invoice_line_id: Mapped[int] = mapped_column(ForeignKey("pl_invoice_line_rec.id"))
    status: Mapped[MatchStatus] = mapped_column(enum_column(MatchStatus, "match_status"))
    quantity_invoiced: Mapped[int] = mapped_column(Integer, doc="Invoiced against the order line so far.")
    quantity_received: Mapped[int] = mapped_column(Integer)
    quantity_variance: Mapped[int | None] = mapped_column(Integer, doc="Invoiced - received.")
    price_variance_pence: Mapped[int | None] = mapped_column(Pence, doc="Invoice - order unit price.")
    variance_amount_pence: Mapped[int | None] = mapped_column(Pence, doc="Price variance x invoiced quantity.")

    __table_args__ = (
        UniqueConstraint("run_key", "invoice_line_id"),
        Index("ix_pl_match_result_rec_execution", "execution_id"),
    )


class PaymentRun(Base):
    """One payment run (PL_PAYMENT_RUN): its dates, totals and bank file; the payments carry its run key."""

    __tablename__ = "pl_payment_run_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_key: Mapped[str] = mapped_column(String(64), unique=True)
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="SET NULL"))
    payment_date: Mapped[date] = mapped_column(Date)
    processing_date: Mapped[date] = mapped_column(Date, doc="Bacs submission: two working days before payment.")
    payments: Mapped[int] = mapped_column(Integer, default=0)
    paid_pence: Mapped[int] = mapped_column(Pence, default=0, doc="Money paid out.")
    discount_pence: Mapped[int] = mapped_column(Pence, default=0, doc="Settlement discount taken.")
    bank_file: Mapped[str | None] = mapped_column(Text, doc="Path of the Bacs or bank CSV file.")
    completed: Mapped[bool] = mapped_column(Boolean, default=False)


class AccrualLine(Base):
    """Goods received not invoiced on one order line at a period end (PL_ACCRUALS_CALCULATION)."""

    __tablename__ = "pl_accrual_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_key: Mapped[str] = mapped_column(String(64))
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="SET NULL"))
    period_end: Mapped[date] = mapped_column(Date)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("pl_order_line_rec.id"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("pl_supplier_rec.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    quantity_received: Mapped[int] = mapped_column(Integer, doc="Received on or before the period end.")
    quantity_invoiced: Mapped[int] = mapped_column(Integer, doc="Invoiced on or before the period end.")
    unit_price_pence: Mapped[int] = mapped_column(Pence, doc="The order price.")
    value_pence: Mapped[int] = mapped_column(Pence, doc="(received - invoiced) x order price.")

    __table_args__ = (
        UniqueConstraint("run_key", "order_line_id"),
        Index("ix_pl_accrual_rec_execution", "execution_id"),
    )

"""Results of the sales ledger jobs: snapshots keyed by the execution that wrote them.

A report job's snapshot is replaced by its next run for the same run key (the rows carry
the run key), so a rerun never leaves two aged-debtors listings for one day.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

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

from acas_batch.models.base import Base, JSONType, Pence, UTCDateTime, enum_column


class CreditAction(StrEnum):
    """What the credit limit check did to a customer's account."""

    STOP = "stop"  # put on stop: over the limit or overdue past the stop days
    RELEASE = "release"  # taken off stop: back under the limit, nothing overdue past the stop days


class CommissionBasis(StrEnum):
    """When a sale earns commission (SL_COMMISSION_CALCULATION)."""

    INVOICED = "invoiced"  # in the period the invoice or credit note is dated
    PAID = "paid"  # as receipts and credit notes settle the invoice; credit notes when dated


class AgedDebtorLine(Base):
    """One customer's open items aged into buckets (SL_AGED_DEBTORS)."""

    __tablename__ = "sl_aged_debtor_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    run_key: Mapped[str] = mapped_column(String(200))
    business_date: Mapped[date] = mapped_column(Date)
    customer_id: Mapped[int] = mapped_column(ForeignKey("sl_customer_rec.id"))
    bucket_labels: Mapped[list[str]] = mapped_column(JSONType)
    bucket_pence: Mapped[list[int]] = mapped_column(JSONType, doc="Outstanding per bucket, oldest last.")
    total_pence: Mapped[int] = mapped_column(Pence)
    items: Mapped[int] = mapped_column(Integer)
    credit_limit_pence: Mapped[int] = mapped_column(Pence)
    over_limit: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_sl_aged_debtor_rec_run_key", "run_key"),
        Index("ix_sl_aged_debtor_rec_execution", "execution_id"),
    )


class CreditChange(Base):
    """A customer put on stop or released by SL_CREDIT_LIMIT_CHECK, with the figures that decided it."""

    __tablename__ = "sl_credit_change_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    business_date: Mapped[date] = mapped_column(Date)
    customer_id: Mapped[int] = mapped_column(ForeignKey("sl_customer_rec.id"))
    action: Mapped[CreditAction] = mapped_column(enum_column(CreditAction, "credit_action"))
    changed_by: Mapped[str] = mapped_column(String(64), doc="The job that made the change.")
    balance_pence: Mapped[int] = mapped_column(Pence, doc="Balance of posted documents.")
    unposted_pence: Mapped[int] = mapped_column(Pence, doc="Open invoices whose journal is not yet posted.")
    exposure_pence: Mapped[int] = mapped_column(Pence)
    credit_limit_pence: Mapped[int] = mapped_column(Pence)
    oldest_overdue_days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_sl_credit_change_rec_customer", "customer_id", "business_date"),
        Index("ix_sl_credit_change_rec_execution", "execution_id"),
    )


class VatReturnRun(Base):
    """The output-side figures an SL_VAT_RETURN run wrote into ``vat_return_rec`` (audit of reruns)."""

    __tablename__ = "sl_vat_return_run_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    vat_return_id: Mapped[int] = mapped_column(ForeignKey("vat_return_rec.id"))
    scheme: Mapped[str] = mapped_column(String(16))
    documents: Mapped[int] = mapped_column(Integer)
    figures: Mapped[dict[str, Any]] = mapped_column(JSONType, doc="Raw pence before rounding, by box.")

    __table_args__ = (Index("ix_sl_vat_return_run_rec_return", "vat_return_id"),)


class StatementLine(Base):
    """One customer's statement for a period (SL_STATEMENT_GENERATION) and its e-mail state."""

    __tablename__ = "sl_statement_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    run_key: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    customer_id: Mapped[int] = mapped_column(ForeignKey("sl_customer_rec.id"))
    customer_code: Mapped[str] = mapped_column(String(12), doc="As printed; the key of the run's pages.")
    customer_name: Mapped[str] = mapped_column(String(128))
    opening_pence: Mapped[int] = mapped_column(Pence)
    debits_pence: Mapped[int] = mapped_column(Pence)
    credits_pence: Mapped[int] = mapped_column(Pence)
    closing_pence: Mapped[int] = mapped_column(Pence)
    transactions: Mapped[int] = mapped_column(Integer)
    aged_0_pence: Mapped[int | None] = mapped_column(Pence, doc="Aged summary, current (NULL in rows before 0029).")
    aged_1_pence: Mapped[int | None] = mapped_column(Pence)
    aged_2_pence: Mapped[int | None] = mapped_column(Pence)
    aged_3_pence: Mapped[int | None] = mapped_column(Pence)
    aged_4_pence: Mapped[int | None] = mapped_column(Pence)
    aged_5_pence: Mapped[int | None] = mapped_column(Pence, doc="Aged summary, the oldest bucket (121+ days).")
    file: Mapped[str | None] = mapped_column(String(255), doc="The customer's PDF, if PDFs were written.")
    email_to: Mapped[str | None] = mapped_column(String(128))
    email_state: Mapped[str | None] = mapped_column(String(16), doc="'queued' until the e-mail work sends it.")

    __table_args__ = (
        CheckConstraint("closing_pence = opening_pence + debits_pence - credits_pence", name="closing_adds_up"),
        Index("ix_sl_statement_rec_run_key_code", "run_key", "customer_code", unique=True),
        Index("ix_sl_statement_rec_execution", "execution_id"),
    )


class CommissionLine(Base):
    """One salesperson's commission for a period (SL_COMMISSION_CALCULATION)."""

    __tablename__ = "sl_commission_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    run_key: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    basis: Mapped[CommissionBasis] = mapped_column(enum_column(CommissionBasis, "commission_basis"))
    salesperson_id: Mapped[int] = mapped_column(ForeignKey("sl_salesperson_rec.id"))
    documents: Mapped[int] = mapped_column(Integer, doc="Invoices and credit notes counted.")
    sales_pence: Mapped[int] = mapped_column(Pence, doc="Net (ex VAT) of the invoices counted.")
    credits_pence: Mapped[int] = mapped_column(Pence, doc="Net (ex VAT) of the credit notes counted, positive.")
    net_sales_pence: Mapped[int] = mapped_column(Pence)
    rate: Mapped[Decimal] = mapped_column(Numeric(6, 4), doc="The salesperson's base rate.")
    tiered: Mapped[bool] = mapped_column(Boolean, doc="Tier rates applied above the base rate.")
    commission_pence: Mapped[int] = mapped_column(Pence, doc="Negative when credit notes exceed sales.")

    __table_args__ = (
        UniqueConstraint("execution_id", "salesperson_id"),
        CheckConstraint("net_sales_pence = sales_pence - credits_pence", name="net_adds_up"),
        CheckConstraint("credits_pence >= 0", name="credits_positive"),
        Index("ix_sl_commission_rec_run_key", "run_key"),
    )


class CommissionDocument(Base):
    """An invoice or credit note counted in a salesperson's commission, and how much of it counted."""

    __tablename__ = "sl_commission_doc_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    salesperson_id: Mapped[int] = mapped_column(ForeignKey("sl_salesperson_rec.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("sl_customer_rec.id"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("sl_invoice_rec.id"))
    settled_pence: Mapped[int] = mapped_column(Pence, doc="Paid basis: gross settled in the period (else 0).")
    net_pence: Mapped[int] = mapped_column(Pence, doc="Net sales counted: negative for a credit note.")

    __table_args__ = (
        UniqueConstraint("execution_id", "invoice_id"),
        Index("ix_sl_commission_doc_rec_salesperson", "execution_id", "salesperson_id"),
    )


class CommissionAccrual(Base):
    """The commission accrual journal of a period: one per period, whatever reruns there are."""

    __tablename__ = "sl_commission_accrual_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, unique=True)
    period_end: Mapped[date] = mapped_column(Date)
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="SET NULL"))
    basis: Mapped[CommissionBasis] = mapped_column(enum_column(CommissionBasis, "commission_basis"))
    journal_id: Mapped[int] = mapped_column(ForeignKey("gl_journal_rec.id"), unique=True)
    amount_pence: Mapped[int] = mapped_column(Pence, doc="Commission accrued (negative: a clawback).")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("amount_pence <> 0", name="amount_non_zero"),)

"""General ledger: chart of accounts, journals and their lines, period balances, budgets, banks."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, Pence, UTCDateTime, enum_column


class AccountType(StrEnum):
    """Where an account sits in the accounts; income and expense close to retained earnings."""

    ASSET = "asset"  # balance sheet, normally debit
    LIABILITY = "liability"  # balance sheet, normally credit
    EQUITY = "equity"  # balance sheet, normally credit
    INCOME = "income"  # profit and loss, normally credit
    EXPENSE = "expense"  # profit and loss, normally debit


class ControlKind(StrEnum):
    """The role an account plays for the posting rules (at most one account per role, bank aside)."""

    DEBTORS = "debtors"  # sales ledger control: sum of customer balances
    CREDITORS = "creditors"  # purchase ledger control: sum of supplier balances
    VAT_OUTPUT = "vat_output"  # VAT charged on sales
    VAT_INPUT = "vat_input"  # VAT reclaimable on purchases
    STOCK = "stock"  # stock control: the stock valuation
    GRNI = "grni"  # goods received not invoiced (accrual)
    BANK = "bank"  # a bank account's ledger account (one per bank account)
    RETAINED_EARNINGS = "retained_earnings"  # where the year-end close takes net profit
    COST_OF_SALES = "cost_of_sales"  # stock issued to customers
    STOCK_ADJUSTMENT = "stock_adjustment"  # counts, write-offs, adjustments
    PURCHASE_VARIANCE = "purchase_variance"  # invoice vs order price, and standard cost differences
    DISCOUNT_RECEIVED = "discount_received"  # settlement discount taken from suppliers


class JournalSource(StrEnum):
    """The ledger a journal comes from."""

    SL = "SL"  # sales ledger: invoices, credit notes, receipts
    PL = "PL"  # purchase ledger: invoices, credit notes, payments
    ST = "ST"  # stock control: receipts, issues, adjustments
    GL = "GL"  # general ledger: manual journals, accruals, closes


class JournalStatus(StrEnum):
    """A journal's life. Lines of posted and reversed journals count in the balances."""

    PENDING = "pending"  # written by a subledger, waiting for GL_DAILY_CLOSE
    POSTED = "posted"  # in the period balances
    REVERSED = "reversed"  # posted, then cancelled by a reversing journal (which is itself posted)


class Account(Base):
    """A nominal account of the chart of accounts."""

    __tablename__ = "gl_account_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    type: Mapped[AccountType] = mapped_column(enum_column(AccountType, "account_type"))
    control: Mapped[ControlKind | None] = mapped_column(enum_column(ControlKind, "control_kind"))
    category: Mapped[str] = mapped_column(String(32), default="", doc="Report grouping (e.g. 'Sales').")
    active: Mapped[bool] = mapped_column(Boolean, default=True, doc="Inactive accounts accept no postings.")

    __table_args__ = (
        # One account per control role; a company may have several bank accounts.
        Index(
            "uq_gl_account_rec_control",
            "control",
            unique=True,
            sqlite_where=text("control IS NOT NULL AND control <> 'bank'"),
            postgresql_where=text("control IS NOT NULL AND control <> 'bank'"),
        ),
    )


class Journal(Base):
    """A journal header. Its lines balance: debits equal credits."""

    __tablename__ = "gl_journal_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    journal_date: Mapped[date] = mapped_column(Date)
    period_id: Mapped[int] = mapped_column(ForeignKey("accounting_period_rec.id"))
    source: Mapped[JournalSource] = mapped_column(enum_column(JournalSource, "journal_source"))
    reference: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[JournalStatus] = mapped_column(enum_column(JournalStatus, "journal_status"))
    total_pence: Mapped[int] = mapped_column(Pence, doc="Sum of the debits (= sum of the credits).")
    posted_on: Mapped[date | None] = mapped_column(Date, doc="Business date of the posting run.")
    reverses_journal_id: Mapped[int | None] = mapped_column(ForeignKey("gl_journal_rec.id"))
    auto_reverse_on: Mapped[date | None] = mapped_column(Date, doc="Accruals: reverse on this date.")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("total_pence > 0", name="total_positive"),
        CheckConstraint("(status = 'pending') = (posted_on IS NULL)", name="posted_has_date"),
        Index("ix_gl_journal_rec_status_date", "status", "journal_date"),
        Index("ix_gl_journal_rec_period_source", "period_id", "source"),
        Index("ix_gl_journal_rec_source_reference", "source", "reference"),
        Index("uq_gl_journal_rec_reverses", "reverses_journal_id", unique=True),
    )


class JournalLine(Base):
    """A journal line: a debit or a credit (exactly one non-zero) to one account."""

    __tablename__ = "gl_journal_line_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    journal_id: Mapped[int] = mapped_column(ForeignKey("gl_journal_rec.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(ForeignKey("gl_account_rec.id"))
    debit_pence: Mapped[int] = mapped_column(Pence, default=0)
    credit_pence: Mapped[int] = mapped_column(Pence, default=0)
    vat_code_id: Mapped[int | None] = mapped_column(ForeignKey("vat_code_rec.id"))
    description: Mapped[str] = mapped_column(String(128), default="")

    __table_args__ = (
        UniqueConstraint("journal_id", "line_no"),
        CheckConstraint(
            "(debit_pence > 0 AND credit_pence = 0) OR (debit_pence = 0 AND credit_pence > 0)",
            name="one_side",
        ),
        Index("ix_gl_journal_line_rec_account", "account_id", "journal_id"),
    )


class AccountPeriodBalance(Base):
    """Posted debits and credits of one account in one period, kept by the posting."""

    __tablename__ = "gl_balance_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("gl_account_rec.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("accounting_period_rec.id"))
    debit_pence: Mapped[int] = mapped_column(Pence, default=0)
    credit_pence: Mapped[int] = mapped_column(Pence, default=0)

    __table_args__ = (
        UniqueConstraint("account_id", "period_id"),
        CheckConstraint("debit_pence >= 0 AND credit_pence >= 0", name="non_negative"),
        Index("ix_gl_balance_rec_period", "period_id"),
    )


class Budget(Base):
    """The budgeted movement of an account in a period (debit positive, credit negative)."""

    __tablename__ = "gl_budget_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("gl_account_rec.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("accounting_period_rec.id"))
    amount_pence: Mapped[int] = mapped_column(Pence)

    __table_args__ = (UniqueConstraint("account_id", "period_id"), Index("ix_gl_budget_rec_period", "period_id"))


class BankAccount(Base):
    """A bank account of the company and its ledger account."""

    __tablename__ = "bank_account_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("gl_account_rec.id"), unique=True)
    sort_code: Mapped[str] = mapped_column(String(6), info={"sensitive": True})
    account_number: Mapped[str] = mapped_column(String(8), info={"sensitive": True})

    __table_args__ = (
        CheckConstraint("length(sort_code) = 6 AND length(account_number) = 8", name="bank_details_length"),
    )


class BankStatementLine(Base):
    """An imported bank statement line (money in positive); matched once to a cash-book line."""

    __tablename__ = "bank_statement_line_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_account_rec.id"))
    statement_date: Mapped[date] = mapped_column(Date)
    amount_pence: Mapped[int] = mapped_column(Pence)
    reference: Mapped[str] = mapped_column(String(32), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    matched_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("gl_journal_line_rec.id"), unique=True, doc="The bank-account journal line it matches."
    )
    matched_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("amount_pence <> 0", name="amount_non_zero"),
        Index("ix_bank_statement_line_rec_account_date", "bank_account_id", "statement_date"),
    )

"""Results of the General Ledger jobs: day book, trial balance, period closing balances, year end, budget variance.

Report rows are snapshots keyed by the execution that wrote them; a rerun writes its own
snapshot (and report jobs delete an earlier snapshot of the same run key). Closing
balances are keyed by period: a period is closed once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, Pence

_EXECUTION = "batch_execution_rec.id"


class DayBookLine(Base):
    """One journal GL_DAILY_CLOSE posted or refused on its business date, with the reason it was refused."""

    __tablename__ = "gl_day_book_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey(_EXECUTION, ondelete="CASCADE"))
    business_date: Mapped[date] = mapped_column(Date)
    journal_id: Mapped[int] = mapped_column(ForeignKey("gl_journal_rec.id"))
    journal_date: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(2))
    reference: Mapped[str] = mapped_column(String(32))
    total_pence: Mapped[int] = mapped_column(Pence)
    posted: Mapped[bool] = mapped_column(Boolean, doc="False: refused, left pending; see reason.")
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Unique("execution_id", "journal_id"),
        CheckConstraint("posted OR reason IS NOT NULL", name="refusal_has_reason"),
        Index("ix_gl_day_book_rec_date", "business_date"),
    )


class TrialBalanceLine(Base):
    """One account of a trial balance at a date, with last year's balance at the same date if asked."""

    __tablename__ = "gl_trial_balance_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey(_EXECUTION, ondelete="CASCADE"))
    run_key: Mapped[str] = mapped_column(String(128))
    as_of: Mapped[date] = mapped_column(Date)
    account_id: Mapped[int] = mapped_column(ForeignKey("gl_account_rec.id"))
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))
    debit_pence: Mapped[int] = mapped_column(Pence, doc="The balance when it is a debit, else 0.")
    credit_pence: Mapped[int] = mapped_column(Pence, doc="The balance when it is a credit, else 0.")
    last_year_pence: Mapped[int | None] = mapped_column(Pence, doc="Debit-positive balance a year earlier.")

    __table_args__ = (
        Unique("execution_id", "account_id"),
        CheckConstraint("debit_pence >= 0 AND credit_pence >= 0", name="non_negative"),
        Index("ix_gl_trial_balance_rec_run_key", "run_key"),
    )


class PeriodClosingBalance(Base):
    """An account's opening balance, posted movements and closing balance for a closed period."""

    __tablename__ = "gl_period_close_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("accounting_period_rec.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("gl_account_rec.id"))
    execution_id: Mapped[int | None] = mapped_column(ForeignKey(_EXECUTION, ondelete="SET NULL"))
    opening_pence: Mapped[int] = mapped_column(Pence, doc="Debit-positive.")
    debit_pence: Mapped[int] = mapped_column(Pence)
    credit_pence: Mapped[int] = mapped_column(Pence)
    closing_pence: Mapped[int] = mapped_column(Pence, doc="Debit-positive: opening + debits - credits.")

    __table_args__ = (
        Unique("period_id", "account_id"),
        CheckConstraint("closing_pence = opening_pence + debit_pence - credit_pence", name="closing_adds_up"),
    )


class YearEndLine(Base):
    """A line of the year-end report: a profit and loss balance closed, or an opening balance carried forward."""

    __tablename__ = "gl_year_end_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    financial_year: Mapped[int] = mapped_column(Integer, doc="The year closed.")
    section: Mapped[str] = mapped_column(String(16), doc="profit_and_loss or opening")
    account_id: Mapped[int] = mapped_column(ForeignKey("gl_account_rec.id"))
    balance_pence: Mapped[int] = mapped_column(Pence, doc="Debit-positive.")
    closing_journal_id: Mapped[int | None] = mapped_column(ForeignKey("gl_journal_rec.id"))
    execution_id: Mapped[int | None] = mapped_column(ForeignKey(_EXECUTION, ondelete="SET NULL"))

    __table_args__ = (
        Unique("financial_year", "section", "account_id"),
        CheckConstraint("section IN ('profit_and_loss', 'opening')", name="section_known"),
    )


class BudgetVarianceLine(Base):
    """Budget against actual for one account: the period and the year to date."""

    __tablename__ = "gl_budget_variance_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey(_EXECUTION, ondelete="CASCADE"))
    run_key: Mapped[str] = mapped_column(String(128))
    period_id: Mapped[int] = mapped_column(ForeignKey("accounting_period_rec.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("gl_account_rec.id"))
    budget_pence: Mapped[int] = mapped_column(Pence, doc="Debit-positive, as gl_budget_rec.")
    actual_pence: Mapped[int] = mapped_column(Pence, doc="Debit-positive posted movement.")
    variance_pence: Mapped[int] = mapped_column(Pence, doc="Favourable positive.")
    variance_pct: Mapped[Decimal | None] = mapped_column(Numeric(9, 2), doc="Of the budget; none without one.")
    ytd_budget_pence: Mapped[int] = mapped_column(Pence)
    ytd_actual_pence: Mapped[int] = mapped_column(Pence)
    ytd_variance_pence: Mapped[int] = mapped_column(Pence)
    ytd_variance_pct: Mapped[Decimal | None] = mapped_column(Numeric(9, 2))
    flagged: Mapped[bool] = mapped_column(Boolean, doc="Adverse beyond threshold_pct in the period.")

    __table_args__ = (Unique("execution_id", "account_id"), Index("ix_gl_budget_variance_rec_run_key", "run_key"))


class ReconciliationLine(Base):
    """A line of GL_ACCOUNT_RECONCILIATION: a matched pair, an unmatched item, the bank proof, or a control account."""

    __tablename__ = "gl_reconciliation_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey(_EXECUTION, ondelete="CASCADE"))
    run_key: Mapped[str] = mapped_column(String(128))
    section: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(64), doc="Bank account code or control account name.")
    statement_line_id: Mapped[int | None] = mapped_column(ForeignKey("bank_statement_line_rec.id"))
    journal_line_id: Mapped[int | None] = mapped_column(ForeignKey("gl_journal_line_rec.id"))
    line_date: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(32), default="")
    rule: Mapped[str | None] = mapped_column(String(16), doc="How a pair matched: reference or date_window.")
    amount_pence: Mapped[int | None] = mapped_column(Pence, doc="Money in positive.")
    control_pence: Mapped[int | None] = mapped_column(Pence)
    subledger_pence: Mapped[int | None] = mapped_column(Pence)
    difference_pence: Mapped[int | None] = mapped_column(Pence)

    __table_args__ = (
        CheckConstraint(
            "section IN ('matched', 'statement_unmatched', 'cashbook_unmatched', 'bank_proof', 'control')",
            name="section_known",
        ),
        Index("ix_gl_reconciliation_rec_run_key", "run_key"),
    )

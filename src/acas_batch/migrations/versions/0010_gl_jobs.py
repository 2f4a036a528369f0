"""gl jobs: day book, trial balance, period closing balances, year end, budget variance, reconciliation

Revision ID: 0010_gl_jobs
Revises: 0004_system
Create Date: 2026-11-24 10:32:30.950324
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_gl_jobs"
down_revision: str | None = "0009_sl_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gl_budget_variance_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_key", sa.String(length=128), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("budget_pence", sa.BigInteger(), nullable=False),
        sa.Column("actual_pence", sa.BigInteger(), nullable=False),
        sa.Column("variance_pence", sa.BigInteger(), nullable=False),
        sa.Column("variance_pct", sa.Numeric(precision=9, scale=2), nullable=True),
        sa.Column("ytd_budget_pence", sa.BigInteger(), nullable=False),
        sa.Column("ytd_actual_pence", sa.BigInteger(), nullable=False),
        sa.Column("ytd_variance_pence", sa.BigInteger(), nullable=False),
        sa.Column("ytd_variance_pct", sa.Numeric(precision=9, scale=2), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["gl_account_rec.id"], name=op.f("fk_gl_budget_variance_rec_account_id_gl_account_rec")
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_gl_budget_variance_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["accounting_period_rec.id"],
            name=op.f("fk_gl_budget_variance_rec_period_id_accounting_period_rec"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_budget_variance_rec")),
        sa.UniqueConstraint(
            "execution_id", "account_id", name=op.f("uq_gl_budget_variance_rec_execution_id_account_id")
        ),
    )
    with op.batch_alter_table("gl_budget_variance_rec", schema=None) as batch_op:
        batch_op.create_index("ix_gl_budget_variance_rec_run_key", ["run_key"], unique=False)

    op.create_table(
        "gl_day_book_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("journal_date", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=2), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("total_pence", sa.BigInteger(), nullable=False),
        sa.Column("posted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint("posted OR reason IS NOT NULL", name=op.f("ck_gl_day_book_rec_refusal_has_reason")),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_gl_day_book_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["gl_journal_rec.id"], name=op.f("fk_gl_day_book_rec_journal_id_gl_journal_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_day_book_rec")),
        sa.UniqueConstraint("execution_id", "journal_id", name=op.f("uq_gl_day_book_rec_execution_id_journal_id")),
    )
    with op.batch_alter_table("gl_day_book_rec", schema=None) as batch_op:
        batch_op.create_index("ix_gl_day_book_rec_date", ["business_date"], unique=False)

    op.create_table(
        "gl_period_close_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("opening_pence", sa.BigInteger(), nullable=False),
        sa.Column("debit_pence", sa.BigInteger(), nullable=False),
        sa.Column("credit_pence", sa.BigInteger(), nullable=False),
        sa.Column("closing_pence", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "closing_pence = opening_pence + debit_pence - credit_pence",
            name=op.f("ck_gl_period_close_rec_closing_adds_up"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["gl_account_rec.id"], name=op.f("fk_gl_period_close_rec_account_id_gl_account_rec")
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_gl_period_close_rec_execution_id_batch_execution_rec"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["accounting_period_rec.id"],
            name=op.f("fk_gl_period_close_rec_period_id_accounting_period_rec"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_period_close_rec")),
        sa.UniqueConstraint("period_id", "account_id", name=op.f("uq_gl_period_close_rec_period_id_account_id")),
    )
    op.create_table(
        "gl_trial_balance_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_key", sa.String(length=128), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("debit_pence", sa.BigInteger(), nullable=False),
        sa.Column("credit_pence", sa.BigInteger(), nullable=False),
        sa.Column("last_year_pence", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("debit_pence >= 0 AND credit_pence >= 0", name=op.f("ck_gl_trial_balance_rec_non_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["gl_account_rec.id"], name=op.f("fk_gl_trial_balance_rec_account_id_gl_account_rec")
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_gl_trial_balance_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_trial_balance_rec")),
        sa.UniqueConstraint("execution_id", "account_id", name=op.f("uq_gl_trial_balance_rec_execution_id_account_id")),
    )
    with op.batch_alter_table("gl_trial_balance_rec", schema=None) as batch_op:
        batch_op.create_index("ix_gl_trial_balance_rec_run_key", ["run_key"], unique=False)

    op.create_table(
        "gl_year_end_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("financial_year", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("balance_pence", sa.BigInteger(), nullable=False),
        sa.Column("closing_journal_id", sa.Integer(), nullable=True),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint("section IN ('profit_and_loss', 'opening')", name=op.f("ck_gl_year_end_rec_section_known")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["gl_account_rec.id"], name=op.f("fk_gl_year_end_rec_account_id_gl_account_rec")
        ),
        sa.ForeignKeyConstraint(
            ["closing_journal_id"],
            ["gl_journal_rec.id"],
            name=op.f("fk_gl_year_end_rec_closing_journal_id_gl_journal_rec"),
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_gl_year_end_rec_execution_id_batch_execution_rec"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_year_end_rec")),
        sa.UniqueConstraint(
            "financial_year", "section", "account_id", name=op.f("uq_gl_year_end_rec_financial_year_section_account_id")
        ),
    )
    op.create_table(
        "gl_reconciliation_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_key", sa.String(length=128), nullable=False),
        sa.Column("section", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("statement_line_id", sa.Integer(), nullable=True),
        sa.Column("journal_line_id", sa.Integer(), nullable=True),
        sa.Column("line_date", sa.Date(), nullable=True),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=True),
        sa.Column("amount_pence", sa.BigInteger(), nullable=True),
        sa.Column("control_pence", sa.BigInteger(), nullable=True),
        sa.Column("subledger_pence", sa.BigInteger(), nullable=True),
        sa.Column("difference_pence", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "section IN ('matched', 'statement_unmatched', 'cashbook_unmatched', 'bank_proof', 'control')",
            name=op.f("ck_gl_reconciliation_rec_section_known"),
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_gl_reconciliation_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["journal_line_id"],
            ["gl_journal_line_rec.id"],
            name=op.f("fk_gl_reconciliation_rec_journal_line_id_gl_journal_line_rec"),
        ),
        sa.ForeignKeyConstraint(
            ["statement_line_id"],
            ["bank_statement_line_rec.id"],
            name=op.f("fk_gl_reconciliation_rec_statement_line_id_bank_statement_line_rec"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_reconciliation_rec")),
    )
    with op.batch_alter_table("gl_reconciliation_rec", schema=None) as batch_op:
        batch_op.create_index("ix_gl_reconciliation_rec_run_key", ["run_key"], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("gl_reconciliation_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_gl_reconciliation_rec_run_key")

    op.drop_table("gl_reconciliation_rec")
    op.drop_table("gl_year_end_rec")
    with op.batch_alter_table("gl_trial_balance_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_gl_trial_balance_rec_run_key")

    op.drop_table("gl_trial_balance_rec")
    op.drop_table("gl_period_close_rec")
    with op.batch_alter_table("gl_day_book_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_gl_day_book_rec_date")

    op.drop_table("gl_day_book_rec")
    with op.batch_alter_table("gl_budget_variance_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_gl_budget_variance_rec_run_key")

    op.drop_table("gl_budget_variance_rec")
    # ### end Alembic commands ###

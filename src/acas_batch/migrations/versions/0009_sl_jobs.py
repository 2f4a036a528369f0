"""sales ledger job results: aged debtors, credit changes, VAT return runs, statements

Revision ID: 0009_sl_jobs
Revises: 0004_system
Create Date: 2026-11-24 10:49:25.001292
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_sl_jobs"
down_revision: str | None = "0008_st_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sl_aged_debtor_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_key", sa.String(length=200), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "bucket_labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "bucket_pence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("total_pence", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("credit_limit_pence", sa.BigInteger(), nullable=False),
        sa.Column("over_limit", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["sl_customer_rec.id"], name=op.f("fk_sl_aged_debtor_rec_customer_id_sl_customer_rec")
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_sl_aged_debtor_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sl_aged_debtor_rec")),
    )
    with op.batch_alter_table("sl_aged_debtor_rec", schema=None) as batch_op:
        batch_op.create_index("ix_sl_aged_debtor_rec_execution", ["execution_id"], unique=False)
        batch_op.create_index("ix_sl_aged_debtor_rec_run_key", ["run_key"], unique=False)

    op.create_table(
        "sl_credit_change_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "action",
            sa.Enum("stop", "release", name="credit_action", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("balance_pence", sa.BigInteger(), nullable=False),
        sa.Column("unposted_pence", sa.BigInteger(), nullable=False),
        sa.Column("exposure_pence", sa.BigInteger(), nullable=False),
        sa.Column("credit_limit_pence", sa.BigInteger(), nullable=False),
        sa.Column("oldest_overdue_days", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["sl_customer_rec.id"], name=op.f("fk_sl_credit_change_rec_customer_id_sl_customer_rec")
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_sl_credit_change_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sl_credit_change_rec")),
    )
    with op.batch_alter_table("sl_credit_change_rec", schema=None) as batch_op:
        batch_op.create_index("ix_sl_credit_change_rec_customer", ["customer_id", "business_date"], unique=False)
        batch_op.create_index("ix_sl_credit_change_rec_execution", ["execution_id"], unique=False)

    op.create_table(
        "sl_statement_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_key", sa.String(length=200), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("opening_pence", sa.BigInteger(), nullable=False),
        sa.Column("debits_pence", sa.BigInteger(), nullable=False),
        sa.Column("credits_pence", sa.BigInteger(), nullable=False),
        sa.Column("closing_pence", sa.BigInteger(), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(length=255), nullable=True),
        sa.Column("email_to", sa.String(length=128), nullable=True),
        sa.Column("email_state", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "closing_pence = opening_pence + debits_pence - credits_pence",
            name=op.f("ck_sl_statement_rec_closing_adds_up"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["sl_customer_rec.id"], name=op.f("fk_sl_statement_rec_customer_id_sl_customer_rec")
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_sl_statement_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sl_statement_rec")),
    )
    with op.batch_alter_table("sl_statement_rec", schema=None) as batch_op:
        batch_op.create_index("ix_sl_statement_rec_execution", ["execution_id"], unique=False)
        batch_op.create_index("ix_sl_statement_rec_run_key", ["run_key"], unique=False)

    op.create_table(
        "sl_vat_return_run_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("vat_return_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column(
            "figures", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_sl_vat_return_run_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vat_return_id"], ["vat_return_rec.id"], name=op.f("fk_sl_vat_return_run_rec_vat_return_id_vat_return_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sl_vat_return_run_rec")),
    )
    with op.batch_alter_table("sl_vat_return_run_rec", schema=None) as batch_op:
        batch_op.create_index("ix_sl_vat_return_run_rec_return", ["vat_return_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sl_vat_return_run_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_sl_vat_return_run_rec_return")

    op.drop_table("sl_vat_return_run_rec")
    with op.batch_alter_table("sl_statement_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_sl_statement_rec_run_key")
        batch_op.drop_index("ix_sl_statement_rec_execution")

    op.drop_table("sl_statement_rec")
    with op.batch_alter_table("sl_credit_change_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_sl_credit_change_rec_execution")
        batch_op.drop_index("ix_sl_credit_change_rec_customer")

    op.drop_table("sl_credit_change_rec")
    with op.batch_alter_table("sl_aged_debtor_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_sl_aged_debtor_rec_run_key")
        batch_op.drop_index("ix_sl_aged_debtor_rec_execution")

    op.drop_table("sl_aged_debtor_rec")

"""pl jobs: aged creditors, three-way match results, payment runs, accruals

Revision ID: 0007_pl_jobs
Revises: 0004_system
Create Date: 2026-11-24 10:37:04.647259
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_pl_jobs"
down_revision: str | None = "0004_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pl_accrual_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_key", sa.String(length=64), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("quantity_received", sa.Integer(), nullable=False),
        sa.Column("quantity_invoiced", sa.Integer(), nullable=False),
        sa.Column("unit_price_pence", sa.BigInteger(), nullable=False),
        sa.Column("value_pence", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_pl_accrual_rec_execution_id_batch_execution_rec"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["item_id"], ["st_item_rec.id"], name=op.f("fk_pl_accrual_rec_item_id_st_item_rec")),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["pl_order_line_rec.id"], name=op.f("fk_pl_accrual_rec_order_line_id_pl_order_line_rec")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["pl_supplier_rec.id"], name=op.f("fk_pl_accrual_rec_supplier_id_pl_supplier_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_accrual_rec")),
        sa.UniqueConstraint("run_key", "order_line_id", name=op.f("uq_pl_accrual_rec_run_key_order_line_id")),
    )
    with op.batch_alter_table("pl_accrual_rec", schema=None) as batch_op:
        batch_op.create_index("ix_pl_accrual_rec_execution", ["execution_id"], unique=False)

    op.create_table(
        "pl_aged_creditor_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_key", sa.String(length=64), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("bucket_no", sa.Integer(), nullable=False),
        sa.Column("bucket_label", sa.String(length=16), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_pl_aged_creditor_rec_execution_id_batch_execution_rec"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["pl_supplier_rec.id"], name=op.f("fk_pl_aged_creditor_rec_supplier_id_pl_supplier_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_aged_creditor_rec")),
        sa.UniqueConstraint(
            "run_key", "supplier_id", "bucket_no", name=op.f("uq_pl_aged_creditor_rec_run_key_supplier_id_bucket_no")
        ),
    )
    with op.batch_alter_table("pl_aged_creditor_rec", schema=None) as batch_op:
        batch_op.create_index("ix_pl_aged_creditor_rec_execution", ["execution_id"], unique=False)

    op.create_table(
        "pl_payment_run_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_key", sa.String(length=64), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("payment_date", sa.Date(), nullable=False),
        sa.Column("processing_date", sa.Date(), nullable=False),
        sa.Column("payments", sa.Integer(), nullable=False),
        sa.Column("paid_pence", sa.BigInteger(), nullable=False),
        sa.Column("discount_pence", sa.BigInteger(), nullable=False),
        sa.Column("bank_file", sa.Text(), nullable=True),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_pl_payment_run_rec_execution_id_batch_execution_rec"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_payment_run_rec")),
        sa.UniqueConstraint("run_key", name=op.f("uq_pl_payment_run_rec_run_key")),
    )
    op.create_table(
        "pl_match_result_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_key", sa.String(length=64), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("invoice_line_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "unmatched",
                "matched",
                "price_variance",
                "quantity_variance",
                "no_receipt",
                "no_order",
                "not_required",
                name="match_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("quantity_invoiced", sa.Integer(), nullable=False),
        sa.Column("quantity_received", sa.Integer(), nullable=False),
        sa.Column("quantity_variance", sa.Integer(), nullable=True),
        sa.Column("price_variance_pence", sa.BigInteger(), nullable=True),
        sa.Column("variance_amount_pence", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_pl_match_result_rec_execution_id_batch_execution_rec"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["pl_invoice_rec.id"], name=op.f("fk_pl_match_result_rec_invoice_id_pl_invoice_rec")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_line_id"],
            ["pl_invoice_line_rec.id"],
            name=op.f("fk_pl_match_result_rec_invoice_line_id_pl_invoice_line_rec"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_match_result_rec")),
        sa.UniqueConstraint("run_key", "invoice_line_id", name=op.f("uq_pl_match_result_rec_run_key_invoice_line_id")),
    )
    with op.batch_alter_table("pl_match_result_rec", schema=None) as batch_op:
        batch_op.create_index("ix_pl_match_result_rec_execution", ["execution_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pl_match_result_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_pl_match_result_rec_execution")

    op.drop_table("pl_match_result_rec")
    op.drop_table("pl_payment_run_rec")
    with op.batch_alter_table("pl_aged_creditor_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_pl_aged_creditor_rec_execution")

    op.drop_table("pl_aged_creditor_rec")
    with op.batch_alter_table("pl_accrual_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_pl_accrual_rec_execution")

    op.drop_table("pl_accrual_rec")

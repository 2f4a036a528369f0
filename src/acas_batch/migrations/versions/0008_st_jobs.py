"""stock control job results

Revision ID: 0008_st_jobs
Revises: 0004_system
Create Date: 2026-11-24 10:45:03.404009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_st_jobs"
down_revision: str | None = "0007_pl_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "st_abc_result_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("consumption_qty", sa.Integer(), nullable=False),
        sa.Column("consumption_value_pence", sa.BigInteger(), nullable=False),
        sa.Column("cumulative_before_pence", sa.BigInteger(), nullable=False),
        sa.Column(
            "abc_class",
            sa.Enum("A", "B", "C", name="abc_class", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_st_abc_result_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["item_id"], ["st_item_rec.id"], name=op.f("fk_st_abc_result_rec_item_id_st_item_rec")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_abc_result_rec")),
        sa.UniqueConstraint("execution_id", "item_id", name=op.f("uq_st_abc_result_rec_execution_id_item_id")),
    )
    op.create_table(
        "st_forecast_accuracy_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("history_months", sa.Integer(), nullable=False),
        sa.Column("holdout_months", sa.Integer(), nullable=False),
        sa.Column("adi", sa.Float(), nullable=True),
        sa.Column("mae", sa.Float(), nullable=True),
        sa.Column("mape", sa.Float(), nullable=True),
        sa.Column("mase", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_st_forecast_accuracy_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["st_item_rec.id"], name=op.f("fk_st_forecast_accuracy_rec_item_id_st_item_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_forecast_accuracy_rec")),
        sa.UniqueConstraint("execution_id", "item_id", name=op.f("uq_st_forecast_accuracy_rec_execution_id_item_id")),
    )
    with op.batch_alter_table("st_forecast_accuracy_rec", schema=None) as batch_op:
        batch_op.create_index("ix_st_forecast_accuracy_item", ["item_id"], unique=False)

    op.create_table(
        "st_forecast_result_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_st_forecast_result_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["st_item_rec.id"], name=op.f("fk_st_forecast_result_rec_item_id_st_item_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_forecast_result_rec")),
        sa.UniqueConstraint(
            "execution_id", "item_id", "month", name=op.f("uq_st_forecast_result_rec_execution_id_item_id_month")
        ),
    )
    op.create_table(
        "st_reorder_result_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("mean_daily", sa.Float(), nullable=False),
        sa.Column("stdev_daily", sa.Float(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("safety_stock", sa.Float(), nullable=False),
        sa.Column("reorder_point", sa.Float(), nullable=False),
        sa.Column("eoq", sa.Float(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("suggested_qty", sa.Integer(), nullable=False),
        sa.Column("unit_cost_pence", sa.BigInteger(), nullable=False),
        sa.Column("order_value_pence", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_st_reorder_result_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["st_item_rec.id"], name=op.f("fk_st_reorder_result_rec_item_id_st_item_rec")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["pl_supplier_rec.id"], name=op.f("fk_st_reorder_result_rec_supplier_id_pl_supplier_rec")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["st_warehouse_rec.id"],
            name=op.f("fk_st_reorder_result_rec_warehouse_id_st_warehouse_rec"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_reorder_result_rec")),
        sa.UniqueConstraint(
            "execution_id",
            "item_id",
            "warehouse_id",
            name=op.f("uq_st_reorder_result_rec_execution_id_item_id_warehouse_id"),
        ),
    )
    op.create_table(
        "st_valuation_result_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column(
            "cost_method",
            sa.Enum("fifo", "average", "standard", name="cost_method", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("value_pence", sa.BigInteger(), nullable=False),
        sa.Column("book_value_pence", sa.BigInteger(), nullable=False),
        sa.Column("difference_pence", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_st_valuation_result_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["st_item_rec.id"], name=op.f("fk_st_valuation_result_rec_item_id_st_item_rec")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["st_warehouse_rec.id"],
            name=op.f("fk_st_valuation_result_rec_warehouse_id_st_warehouse_rec"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_valuation_result_rec")),
        sa.UniqueConstraint(
            "execution_id",
            "item_id",
            "warehouse_id",
            name=op.f("uq_st_valuation_result_rec_execution_id_item_id_warehouse_id"),
        ),
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("st_valuation_result_rec")
    op.drop_table("st_reorder_result_rec")
    op.drop_table("st_forecast_result_rec")
    with op.batch_alter_table("st_forecast_accuracy_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_st_forecast_accuracy_item")

    op.drop_table("st_forecast_accuracy_rec")
    op.drop_table("st_abc_result_rec")
    # ### end Alembic commands ###

"""results of the dead stock, expiry and replenishment jobs; count tasks know their planner

Revision ID: 0011_st_more
Revises: 0010_gl_jobs
Create Date: 2026-11-24 12:36:25.610738
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_st_more"
down_revision: str | None = "0010_gl_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "st_dead_stock_result_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("dead", "slow", name="stock_age", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("value_pence", sa.BigInteger(), nullable=False),
        sa.Column("last_issue_on", sa.Date(), nullable=True),
        sa.Column("last_movement_on", sa.Date(), nullable=True),
        sa.Column("idle_since", sa.Date(), nullable=False),
        sa.Column("idle_days", sa.Integer(), nullable=False),
        sa.Column("oldest_lot_on", sa.Date(), nullable=True),
        sa.Column("average_age_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_st_dead_stock_result_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["st_item_rec.id"], name=op.f("fk_st_dead_stock_result_rec_item_id_st_item_rec")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["st_warehouse_rec.id"],
            name=op.f("fk_st_dead_stock_result_rec_warehouse_id_st_warehouse_rec"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_dead_stock_result_rec")),
        sa.UniqueConstraint(
            "execution_id",
            "item_id",
            "warehouse_id",
            name=op.f("uq_st_dead_stock_result_rec_execution_id_item_id_warehouse_id"),
        ),
    )
    op.create_table(
        "st_expiry_result_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("days_left", sa.Integer(), nullable=False),
        sa.Column("band_days", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("value_pence", sa.BigInteger(), nullable=False),
        sa.Column("quarantined", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_st_expiry_result_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["st_item_rec.id"], name=op.f("fk_st_expiry_result_rec_item_id_st_item_rec")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["st_lot_rec.id"], name=op.f("fk_st_expiry_result_rec_lot_id_st_lot_rec")),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["st_warehouse_rec.id"],
            name=op.f("fk_st_expiry_result_rec_warehouse_id_st_warehouse_rec"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_expiry_result_rec")),
        sa.UniqueConstraint("execution_id", "lot_id", name=op.f("uq_st_expiry_result_rec_execution_id_lot_id")),
    )
    op.create_table(
        "st_replenishment_task_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pick_location_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("bin_quantity", sa.Integer(), nullable=False),
        sa.Column("bin_need", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("from_location_id", sa.Integer(), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "quantity >= 0 AND quantity <= bin_need", name=op.f("ck_st_replenishment_task_rec_quantity_within_need")
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_st_replenishment_task_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_location_id"],
            ["st_location_rec.id"],
            name=op.f("fk_st_replenishment_task_rec_from_location_id_st_location_rec"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["st_item_rec.id"], name=op.f("fk_st_replenishment_task_rec_item_id_st_item_rec")
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["st_lot_rec.id"], name=op.f("fk_st_replenishment_task_rec_lot_id_st_lot_rec")
        ),
        sa.ForeignKeyConstraint(
            ["pick_location_id"],
            ["st_location_rec.id"],
            name=op.f("fk_st_replenishment_task_rec_pick_location_id_st_location_rec"),
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["st_warehouse_rec.id"],
            name=op.f("fk_st_replenishment_task_rec_warehouse_id_st_warehouse_rec"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_replenishment_task_rec")),
        sa.UniqueConstraint(
            "execution_id",
            "pick_location_id",
            "lot_id",
            name=op.f("uq_st_replenishment_task_rec_execution_id_pick_location_id_lot_id"),
        ),
    )
    with op.batch_alter_table("st_count_rec", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index("ix_st_count_rec_execution", ["execution_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_st_count_rec_execution_id_batch_execution_rec"),
            "batch_execution_rec",
            ["execution_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("st_count_rec", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_st_count_rec_execution_id_batch_execution_rec"), type_="foreignkey")
        batch_op.drop_index("ix_st_count_rec_execution")
        batch_op.drop_column("execution_id")

    op.drop_table("st_replenishment_task_rec")
    op.drop_table("st_expiry_result_rec")
    op.drop_table("st_dead_stock_result_rec")

"""run notices: the e-mail a run's notify parameter asked for, sent once

Revision ID: 0013_run_notice
Revises: 0012_sl_commission
Create Date: 2026-11-24 16:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import acas_batch.models.base

revision: str = "0013_run_notice"
down_revision: str | None = "0012_sl_commission"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batch_run_notice_rec",
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("sent_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_batch_run_notice_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("execution_id", name=op.f("pk_batch_run_notice_rec")),
    )


def downgrade() -> None:
    op.drop_table("batch_run_notice_rec")

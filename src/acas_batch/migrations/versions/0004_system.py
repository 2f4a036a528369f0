"""system: backup register (sys_backup_rec)

Revision ID: 0004_system
Revises: 0001_foundation
Create Date: 2026-11-24 09:18:05.572255
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import acas_batch.models.base

revision: str = "0004_system"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sys_backup_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("started_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "row_counts", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("verified_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verify_error", sa.Text(), nullable=True),
        sa.Column(
            "generation",
            sa.Enum("daily", "weekly", "monthly", name="backup_generation", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("deleted_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_sys_backup_rec_size_non_negative")),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_sys_backup_rec_execution_id_batch_execution_rec"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sys_backup_rec")),
        sa.UniqueConstraint("path", name=op.f("uq_sys_backup_rec_path")),
    )
    with op.batch_alter_table("sys_backup_rec", schema=None) as batch_op:
        batch_op.create_index("ix_sys_backup_rec_verified", ["deleted_at", "verified_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sys_backup_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_sys_backup_rec_verified")

    op.drop_table("sys_backup_rec")

"""system: backup register, archive runs and tables, installed catalogue

Revision ID: 0004_system
Revises: 0001_foundation
Create Date: 2026-11-24 09:46:24.589028
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import acas_batch.models.base

revision: str = "0004_system"
down_revision: str | None = "0002_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_statement_line_archive_rec",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("matched_line_id", sa.BigInteger(), nullable=True),
        sa.Column("matched_on", sa.Date(), nullable=True),
        sa.Column("financial_year", sa.Integer(), nullable=False),
        sa.Column("archived_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement_line_archive_rec")),
    )
    with op.batch_alter_table("bank_statement_line_archive_rec", schema=None) as batch_op:
        batch_op.create_index("ix_bank_statement_line_archive_rec_year", ["financial_year"], unique=False)

    op.create_table(
        "gl_journal_line_archive_rec",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("debit_pence", sa.BigInteger(), nullable=False),
        sa.Column("credit_pence", sa.BigInteger(), nullable=False),
        sa.Column("vat_code_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("journal_date", sa.Date(), nullable=False),
        sa.Column("financial_year", sa.Integer(), nullable=False),
        sa.Column("archived_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_journal_line_archive_rec")),
    )
    with op.batch_alter_table("gl_journal_line_archive_rec", schema=None) as batch_op:
        batch_op.create_index("ix_gl_journal_line_archive_rec_journal", ["journal_id"], unique=False)
        batch_op.create_index(
            "ix_gl_journal_line_archive_rec_year_account", ["financial_year", "account_id"], unique=False
        )

    op.create_table(
        "sys_catalogue_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("installed_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('job', 'schedule', 'dependency')", name=op.f("ck_sys_catalogue_rec_kind_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sys_catalogue_rec")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_sys_catalogue_rec_kind_key")),
    )
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
    )
    with op.batch_alter_table("sys_backup_rec", schema=None) as batch_op:
        batch_op.create_index("ix_sys_backup_rec_verified", ["deleted_at", "verified_at"], unique=False)

    op.create_table(
        "sys_archive_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("financial_year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("backup_id", sa.Integer(), nullable=True),
        sa.Column("brought_forward_journal_id", sa.Integer(), nullable=True),
        sa.Column("journal_lines", sa.BigInteger(), nullable=False),
        sa.Column("statement_lines", sa.BigInteger(), nullable=False),
        sa.Column("debit_pence", sa.BigInteger(), nullable=False),
        sa.Column("started_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint("status IN ('running', 'complete')", name=op.f("ck_sys_archive_rec_status_known")),
        sa.ForeignKeyConstraint(
            ["backup_id"],
            ["sys_backup_rec.id"],
            name=op.f("fk_sys_archive_rec_backup_id_sys_backup_rec"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_sys_archive_rec_execution_id_batch_execution_rec"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sys_archive_rec")),
        sa.UniqueConstraint("financial_year", name=op.f("uq_sys_archive_rec_financial_year")),
    )


def downgrade() -> None:
    op.drop_table("sys_archive_rec")
    with op.batch_alter_table("sys_backup_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_sys_backup_rec_verified")

    op.drop_table("sys_backup_rec")
    op.drop_table("sys_catalogue_rec")
    with op.batch_alter_table("gl_journal_line_archive_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_gl_journal_line_archive_rec_year_account")
        batch_op.drop_index("ix_gl_journal_line_archive_rec_journal")

    op.drop_table("gl_journal_line_archive_rec")
    with op.batch_alter_table("bank_statement_line_archive_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_statement_line_archive_rec_year")

    op.drop_table("bank_statement_line_archive_rec")

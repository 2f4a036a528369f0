"""documents: statements, reminders and remittance advices e-mailed once; alerts dismissed with a reason

Revision ID: 0025_documents
Revises: 0027_outputs
Create Date: 2026-12-06 23:30:00

``batch_document_rec`` records every document a job made for a customer or supplier under a
unique ``document_key`` (run key + party + document) and how it was to reach them; the
e-mailed ones wait in ``batch_outbox_rec`` under the same key, their PDF attached from its
file (``attachment_path``) and checked against the SHA-256 taken when queued
(``attachment_sha256``). ``batch_alert_rec`` keeps who resolved or dismissed an alert and why.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import acas_batch.models.base

revision: str = "0025_documents"
down_revision: str | None = "0027_outputs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = acas_batch.models.base.UTCDateTime
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ADD COLUMNs: rebuilding a table (batch mode) on SQLite would break the triggers that name it.
    op.add_column("batch_outbox_rec", sa.Column("attachment_path", sa.Text(), nullable=True))
    op.add_column("batch_outbox_rec", sa.Column("attachment_sha256", sa.String(length=64), nullable=True))
    op.add_column("batch_alert_rec", sa.Column("resolved_by", sa.String(length=64), nullable=True))
    op.add_column("batch_alert_rec", sa.Column("resolution", sa.Text(), nullable=True))
    op.create_table(
        "batch_document_rec",
        sa.Column("id", _BIGID, nullable=False),
        sa.Column("document_key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("execution_id", _BIGID, nullable=True),
        sa.Column("run_key", sa.String(length=200), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("party_code", sa.String(length=32), nullable=False),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("email_to", sa.String(length=255), nullable=True),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('statement', 'reminder', 'remittance')", name=op.f("ck_batch_document_rec_kind_known")
        ),
        sa.CheckConstraint("party IN ('customer', 'supplier')", name=op.f("ck_batch_document_rec_party_known")),
        sa.CheckConstraint(
            "delivery IN ('email', 'no_address', 'email_off', 'no_pdf')",
            name=op.f("ck_batch_document_rec_delivery_known"),
        ),
        sa.CheckConstraint(
            "delivery <> 'email' OR (email_to IS NOT NULL AND sha256 IS NOT NULL)",
            name=op.f("ck_batch_document_rec_email_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_batch_document_rec_execution_id_batch_execution_rec"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_document_rec")),
        sa.UniqueConstraint("document_key", name=op.f("uq_batch_document_rec_document_key")),
    )
    op.create_index("ix_batch_document_rec_execution", "batch_document_rec", ["execution_id"])
    op.create_index("ix_batch_document_rec_run_key", "batch_document_rec", ["run_key"])


def downgrade() -> None:
    op.drop_index("ix_batch_document_rec_run_key", table_name="batch_document_rec")
    op.drop_index("ix_batch_document_rec_execution", table_name="batch_document_rec")
    op.drop_table("batch_document_rec")
    op.drop_column("batch_alert_rec", "resolution")
    op.drop_column("batch_alert_rec", "resolved_by")
    op.drop_column("batch_outbox_rec", "attachment_sha256")
    op.drop_column("batch_outbox_rec", "attachment_path")

"""outputs: the database's identity, which names its folder of job outputs

Revision ID: 0027_outputs
Revises: 0020_faults
Create Date: 2026-12-06 23:30:00

Job outputs were kept in ``<outputs>/<execution id>``, so two databases (two companies, or a
simulation's scratch copy) sharing a data folder wrote their executions 1, 2, 3 ... into the
same folders. ``batch_database_rec`` holds one row: a uuid made by ``acas-batch init`` (or by
the first worker that needs it, for a database migrated without ``init``); outputs now go to
``<outputs>/<database uuid>/<execution id>``. No row is made here, so file copies of a freshly
migrated database (test templates) each make their own. Executions already run keep the
folder they recorded in ``output_dir``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import acas_batch.models.base

revision: str = "0027_outputs"
down_revision: str | None = "0020_faults"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batch_database_rec",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("database_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_batch_database_rec_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_database_rec")),
        sa.UniqueConstraint("database_id", name=op.f("uq_batch_database_rec_database_id")),
    )


def downgrade() -> None:
    op.drop_table("batch_database_rec")

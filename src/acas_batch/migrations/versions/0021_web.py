"""web: the idempotency key of a run started over HTTP, and indexes for the runs page

Revision ID: 0021_web
Revises: 0017_snapshot_checks
Create Date: 2026-12-06 20:00:00

``batch_execution_rec.idempotency_key`` keeps the ``Idempotency-Key`` an HTTP client sent with
run-now: unique, so a retried request finds the execution its first attempt made instead of
making a second one. The runs page lists executions newest first by id, filtered by state or
job; ``(state, id)`` and ``(job_id, id)`` let either filter read one index range in id order
(keyset pagination) instead of scanning the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_web"
down_revision: str | None = "0017_snapshot_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("batch_execution_rec", sa.Column("idempotency_key", sa.String(length=128), nullable=True))
    op.create_index("uq_batch_execution_rec_idempotency_key", "batch_execution_rec", ["idempotency_key"], unique=True)
    op.create_index("ix_batch_execution_rec_state_id", "batch_execution_rec", ["state", "id"])
    op.create_index("ix_batch_execution_rec_job_id", "batch_execution_rec", ["job_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_batch_execution_rec_job_id", table_name="batch_execution_rec")
    op.drop_index("ix_batch_execution_rec_state_id", table_name="batch_execution_rec")
    op.drop_index("uq_batch_execution_rec_idempotency_key", table_name="batch_execution_rec")
    op.drop_column("batch_execution_rec", "idempotency_key")

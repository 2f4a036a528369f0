"""runs indexes: every filter of the runs list reads one index range in id order

Revision ID: 0028_runs_indexes
Revises: 0028_user_zone
Create Date: 2026-12-07 03:00:00

The runs list (page and API) pages newest first by id, filtered by job, state, trigger,
business dates and user. ``(job_id, id)`` and ``(state, id)`` were there; a filter by trigger or
by user, or a business date range with no job named, walked the primary key backwards until it
had a page: at a million executions a rare trigger, a user with few runs or a month long ago
read most of the table. ``(trigger, id)`` and ``(created_by, id)`` give each of those its own
range; ``(business_date, job_id, id)`` holds all a date range needs (the job filter too) to find
a page's ids from the index alone, sorting only ids.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0028_runs_indexes"
down_revision: str | None = "0028_user_zone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_batch_execution_rec_date_id", "batch_execution_rec", ["business_date", "job_id", "id"])
    op.create_index("ix_batch_execution_rec_trigger_id", "batch_execution_rec", ["trigger", "id"])
    op.create_index("ix_batch_execution_rec_user_id", "batch_execution_rec", ["created_by", "id"])


def downgrade() -> None:
    op.drop_index("ix_batch_execution_rec_user_id", table_name="batch_execution_rec")
    op.drop_index("ix_batch_execution_rec_trigger_id", table_name="batch_execution_rec")
    op.drop_index("ix_batch_execution_rec_date_id", table_name="batch_execution_rec")

"""deadlines: who resolved an alert, beside who acknowledged it

Revision ID: 0024_deadlines
Revises: 0027_outputs
Create Date: 2026-12-06 23:45:00

``batch_alert_rec.resolved_by`` names the user who resolved an alert (on the command line, the
Python API or through a mailed link); NULL when the monitor resolved it because its cause went.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_deadlines"
down_revision: str | None = "0027_outputs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: rebuilding the table (batch mode) on SQLite is not needed for a nullable column.
    op.add_column("batch_alert_rec", sa.Column("resolved_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batch_alert_rec") as batch:
        batch.drop_column("resolved_by")

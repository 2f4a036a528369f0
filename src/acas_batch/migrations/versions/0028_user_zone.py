"""user zone: the time zone each user reads times in

Revision ID: 0028_user_zone
Revises: 0025_documents
Create Date: 2026-12-07 02:30:00

``user_rec.time_zone`` holds the IANA zone a user chose on their account page or with
``acas-batch users set-zone`` (``America/New_York``); NULL, as every existing user gets, means
the company's zone (``Europe/London``, GMT or BST). Times are stored in UTC either way: the zone
only changes how the dashboard shows them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_user_zone"
down_revision: str | None = "0025_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("user_rec", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("user_rec", "time_zone")

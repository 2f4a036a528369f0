"""the company's VAT stagger: which months its VAT quarters end in

Revision ID: 0014_vat_stagger
Revises: 0013_run_notice
Create Date: 2026-11-24 19:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_vat_stagger"
down_revision: str | None = "0013_run_notice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("company_rec", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vat_stagger", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_check_constraint(batch_op.f("ck_company_rec_vat_stagger_range"), "vat_stagger BETWEEN 1 AND 3")


def downgrade() -> None:
    with op.batch_alter_table("company_rec", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_company_rec_vat_stagger_range"), type_="check")
        batch_op.drop_column("vat_stagger")

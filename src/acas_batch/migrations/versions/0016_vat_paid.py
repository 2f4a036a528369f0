"""VAT returns settled with HMRC: the day the net VAT was paid (or repaid) and its journal

Revision ID: 0016_vat_paid
Revises: 0015_result_rows
Create Date: 2026-11-24 22:40:00

Existing returns are left unsettled (both columns NULL): nothing in an older database says
which were paid. Until an operator marks them, the GL reconciliation's VAT line counts their
VAT as still owed to HMRC, so a company that paid them shows the payments as a difference.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_vat_paid"
down_revision: str | None = "0015_result_rows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("vat_return_rec", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paid_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("payment_journal_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_vat_return_rec_payment_journal_id_gl_journal_rec"),
            "gl_journal_rec",
            ["payment_journal_id"],
            ["id"],
        )
        batch_op.create_unique_constraint(batch_op.f("uq_vat_return_rec_payment_journal_id"), ["payment_journal_id"])
        batch_op.create_check_constraint(
            batch_op.f("ck_vat_return_rec_paid_when_due"),
            "paid_on IS NULL OR (status = 'submitted' AND paid_on > end_date)",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_vat_return_rec_payment_has_date"), "payment_journal_id IS NULL OR paid_on IS NOT NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("vat_return_rec", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_vat_return_rec_payment_has_date"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_vat_return_rec_paid_when_due"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_vat_return_rec_payment_journal_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_vat_return_rec_payment_journal_id_gl_journal_rec"), type_="foreignkey")
        batch_op.drop_column("payment_journal_id")
        batch_op.drop_column("paid_on")

"""VAT returns settled with HMRC: the day the net VAT was paid (or repaid) and its journal

Revision ID: 0016_vat_paid
Revises: 0015_result_rows
Create Date: 2026-11-24 22:40:00

Which returns of an older database were paid is not recorded, with one exception: the demo
generator's payment journals (source GL, reference ``HMRC VAT <YYYY-MM of the quarter's last
day>``, dated after the quarter). A submitted return with exactly one such journal, which
debits VAT output with its box 3 and credits VAT input with its box 4, is marked settled by
it, so an upgraded demo company still reconciles and closes its periods. Every other return
stays unsettled: until it is marked, the GL reconciliation's VAT line shows its payment as a
difference.
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
    _settle_demo_payments(op.get_bind())


def _settle_demo_payments(conn: sa.Connection) -> None:
    """Mark the returns the demo generator paid (see the module docstring); a handful of rows."""
    returns = sa.table(
        "vat_return_rec",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("end_date", sa.Date),
        sa.column("box3_pence", sa.BigInteger),
        sa.column("box4_pence", sa.BigInteger),
        sa.column("paid_on", sa.Date),
        sa.column("payment_journal_id", sa.Integer),
    )
    journals = sa.table(
        "gl_journal_rec",
        sa.column("id", sa.Integer),
        sa.column("source", sa.String),
        sa.column("reference", sa.String),
        sa.column("journal_date", sa.Date),
    )
    lines = sa.table(
        "gl_journal_line_rec",
        sa.column("journal_id", sa.Integer),
        sa.column("account_id", sa.Integer),
        sa.column("debit_pence", sa.BigInteger),
        sa.column("credit_pence", sa.BigInteger),
    )
    accounts = sa.table("gl_account_rec", sa.column("id", sa.Integer), sa.column("control", sa.String))
    control = dict(
        conn.execute(
            sa.select(accounts.c.control, accounts.c.id).where(accounts.c.control.in_(("vat_output", "vat_input")))
        ).all()
    )
    if len(control) != 2:
        return
    submitted = conn.execute(
        sa.select(returns.c.id, returns.c.end_date, returns.c.box3_pence, returns.c.box4_pence).where(
            returns.c.status == "submitted", returns.c.paid_on.is_(None)
        )
    ).all()
    for return_id, end, box3, box4 in submitted:
        found = conn.execute(
            sa.select(journals.c.id, journals.c.journal_date).where(
                journals.c.source == "GL",
                journals.c.reference == f"HMRC VAT {end:%Y-%m}",
                journals.c.journal_date > end,
            )
        ).all()
        if len(found) != 1:
            continue
        journal_id, day = found[0]
        moved = dict(
            conn.execute(
                sa.select(lines.c.account_id, sa.func.sum(lines.c.debit_pence - lines.c.credit_pence))
                .where(lines.c.journal_id == journal_id)
                .group_by(lines.c.account_id)
            ).all()
        )
        if moved.get(control["vat_output"], 0) == box3 and moved.get(control["vat_input"], 0) == -box4:
            conn.execute(
                sa.update(returns).where(returns.c.id == return_id).values(paid_on=day, payment_journal_id=journal_id)
            )


def downgrade() -> None:
    with op.batch_alter_table("vat_return_rec", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_vat_return_rec_payment_has_date"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_vat_return_rec_paid_when_due"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_vat_return_rec_payment_journal_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_vat_return_rec_payment_journal_id_gl_journal_rec"), type_="foreignkey")
        batch_op.drop_column("payment_journal_id")
        batch_op.drop_column("paid_on")

"""statement figures: a statement's whole row in ``sl_statement_rec``, read back in pages

Revision ID: 0029_statement_figures
Revises: 0028_runs_indexes
Create Date: 2026-12-07 09:30:00

SL_STATEMENT_GENERATION kept one row of figures per customer in memory for the whole run (for
the PDFs, the CSV, the e-mails and the summary): about 1.4 kB a customer, 28 MB more at 25,000
customers than at 5,000. It now writes each statement's row here first, in one INSERT ... SELECT,
and reads the rows back a page at a time in customer code order. The row gains what those
readers need and the table did not hold: the customer's code and name as printed, and the aged
summary (one column per bucket of the aged-debtors bounds, current to 121+). ``(run_key,
customer_code)`` is unique, one statement per customer per period, and is the pages' key; it
replaces the index on ``run_key`` alone. Rows written before keep NULL aged buckets; their code
and name are filled in from the customer.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_statement_figures"
down_revision: str | None = "0028_runs_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUCKETS = 6


def upgrade() -> None:
    with op.batch_alter_table("sl_statement_rec", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_code", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("customer_name", sa.String(length=128), nullable=True))
        for i in range(BUCKETS):
            batch_op.add_column(sa.Column(f"aged_{i}_pence", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE sl_statement_rec SET"
        " customer_code = (SELECT c.code FROM sl_customer_rec c WHERE c.id = sl_statement_rec.customer_id),"
        " customer_name = (SELECT c.name FROM sl_customer_rec c WHERE c.id = sl_statement_rec.customer_id)"
    )
    with op.batch_alter_table("sl_statement_rec", schema=None) as batch_op:
        batch_op.alter_column("customer_code", existing_type=sa.String(length=12), nullable=False)
        batch_op.alter_column("customer_name", existing_type=sa.String(length=128), nullable=False)
        batch_op.drop_index("ix_sl_statement_rec_run_key")
        batch_op.create_index("ix_sl_statement_rec_run_key_code", ["run_key", "customer_code"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("sl_statement_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_sl_statement_rec_run_key_code")
        batch_op.create_index("ix_sl_statement_rec_run_key", ["run_key"], unique=False)
        for i in reversed(range(BUCKETS)):
            batch_op.drop_column(f"aged_{i}_pence")
        batch_op.drop_column("customer_name")
        batch_op.drop_column("customer_code")

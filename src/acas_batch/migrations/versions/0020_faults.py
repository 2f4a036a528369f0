"""faults: processes marked lost, and infrastructure failures counted apart from the job's own

Revision ID: 0020_faults
Revises: 0019_alerting
Create Date: 2026-12-06 21:00:00

``batch_worker_rec.state`` may be ``lost``: a scheduler or worker whose heartbeat stopped for
longer than its lease plus a margin, marked so by whichever live process noticed first.
``batch_execution_rec.infra_failures`` counts the failures of the infrastructure (lease lost,
job process killed, worker shut down, database gone) in the chain of attempts before this
one, so they spend their own budget and not the job's ``max_attempts``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_faults"
down_revision: str | None = "0019_alerting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = ("running", "stopping", "stopped")


def _state_check(states: tuple[str, ...]) -> str:
    return "state IN (" + ", ".join(f"'{s}'" for s in states) + ")"


def upgrade() -> None:
    with op.batch_alter_table("batch_worker_rec", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_batch_worker_rec_worker_state"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_batch_worker_rec_worker_state"), _state_check((*_STATES, "lost"))
        )
    # A plain ADD COLUMN: rebuilding the table (batch mode) on SQLite would break the triggers
    # that name it.
    op.add_column("batch_execution_rec", sa.Column("infra_failures", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.execute("UPDATE batch_worker_rec SET state = 'stopped' WHERE state = 'lost'")
    op.drop_column("batch_execution_rec", "infra_failures")
    with op.batch_alter_table("batch_worker_rec", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_batch_worker_rec_worker_state"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_batch_worker_rec_worker_state"), _state_check(_STATES))

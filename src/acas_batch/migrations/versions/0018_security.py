"""security: role scopes, token scopes, the audit trail's identity columns and hash chain,
login throttling and four-eyes approvals

Revision ID: 0018_security
Revises: 0023_perf
Create Date: 2026-12-06 20:00:00

The standard roles are rewritten to the policy's permissions (their names were placeholders
no code checked); roles an administrator made are left alone. Existing audit rows are
chained in id order so ``audit verify`` covers them too.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import acas_batch.models.base

revision: str = "0018_security"
down_revision: str | None = "0023_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("role_rec", schema=None) as batch_op:
        batch_op.add_column(sa.Column("modules", _JSON, nullable=True))
    with op.batch_alter_table("user_session_rec", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prefix", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("client_addr", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_user_session_rec_role_id_role_rec"), "role_rec", ["role_id"], ["id"])
    with op.batch_alter_table("audit_rec", schema=None) as batch_op:
        batch_op.add_column(sa.Column("os_user", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("host", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("client_addr", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("face", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "login_throttle_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttle_rec")),
        sa.UniqueConstraint("key", name=op.f("uq_login_throttle_rec_key")),
    )
    op.create_table(
        "approval_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("done_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", _JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_rec")),
    )
    with op.batch_alter_table("approval_rec", schema=None) as batch_op:
        batch_op.create_index("ix_approval_rec_state", ["state"], unique=False)
    _standard_roles()
    _chain_existing_rows()


def _standard_roles() -> None:
    from acas_batch.security.policy import STANDARD_ROLES

    role = sa.table(
        "role_rec",
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("permissions", _JSON),
        sa.column("modules", _JSON),
        sa.column("is_standard", sa.Boolean),
    )
    bind = op.get_bind()
    present = {r[0] for r in bind.execute(sa.select(role.c.name))}
    for name, spec in STANDARD_ROLES.items():
        values = {
            "description": spec.description,
            "permissions": sorted(p.value for p in spec.permissions),
            "modules": None if spec.modules is None else sorted(spec.modules),
        }
        if name in present:
            bind.execute(sa.update(role).where(role.c.name == name, role.c.is_standard.is_(True)).values(**values))
        else:
            bind.execute(sa.insert(role).values(name=name, is_standard=True, **values))


def _chain_existing_rows() -> None:
    from sqlalchemy.orm import Session

    from acas_batch.models.audit_chain import row_digest
    from acas_batch.models.security import Audit

    session = Session(bind=op.get_bind())
    prev = ""
    for row in session.scalars(sa.select(Audit).order_by(Audit.id)):
        row.prev_hash = prev
        row.row_hash = row_digest(row)
        prev = row.row_hash
    session.flush()


def downgrade() -> None:
    with op.batch_alter_table("approval_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_approval_rec_state")
    op.drop_table("approval_rec")
    op.drop_table("login_throttle_rec")
    with op.batch_alter_table("audit_rec", schema=None) as batch_op:
        for column in ("row_hash", "prev_hash", "face", "client_addr", "host", "os_user"):
            batch_op.drop_column(column)
    with op.batch_alter_table("user_session_rec", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_user_session_rec_role_id_role_rec"), type_="foreignkey")
        batch_op.drop_column("client_addr")
        batch_op.drop_column("prefix")
        batch_op.drop_column("role_id")
    with op.batch_alter_table("role_rec", schema=None) as batch_op:
        batch_op.drop_column("modules")

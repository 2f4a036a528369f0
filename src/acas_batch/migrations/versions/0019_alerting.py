"""alerting: the notification outbox, alert routes, silences, link nonces, deadlines; thresholds by scope

Revision ID: 0019_alerting
Revises: 0018_security
Create Date: 2026-12-06 20:00:00

``batch_threshold_rec`` gains a ``scope`` (``*``, ``module:GL``, ``job:NAME``) and ``params``;
its unique key becomes (scope, metric): two NULL job ids never collided, so a second global
limit on the same metric was possible before. The table was unused, so no row moves.
``batch_alert_rec`` gains what routing, muting and escalation need.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import acas_batch.models.base

revision: str = "0019_alerting"
down_revision: str | None = "0018_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = acas_batch.models.base.UTCDateTime
_JSON = acas_batch.models.base.JSONType
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "batch_outbox_rec",
        sa.Column("id", _BIGID, nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipients", _JSON, nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachment_name", sa.String(length=255), nullable=True),
        sa.Column("attachment_type", sa.String(length=128), nullable=True),
        sa.Column("attachment", sa.LargeBinary(), nullable=True),
        sa.Column("route", sa.String(length=64), nullable=True),
        sa.Column("alert_ids", _JSON, nullable=True),
        sa.Column("execution_id", _BIGID, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _UTC(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claim_expires_at", _UTC(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", _UTC(timezone=True), nullable=True),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.Column("delivered_at", _UTC(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'delivered', 'failed')", name=op.f("ck_batch_outbox_rec_state_known")
        ),
        sa.CheckConstraint("channel IN ('email', 'webhook')", name=op.f("ck_batch_outbox_rec_channel_known")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_batch_outbox_rec_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_batch_outbox_rec_execution_id_batch_execution_rec"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_outbox_rec")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_batch_outbox_rec_idempotency_key")),
    )
    op.create_index("ix_batch_outbox_rec_due", "batch_outbox_rec", ["state", "next_attempt_at"])
    op.create_index("ix_batch_outbox_rec_created", "batch_outbox_rec", ["created_at"])
    op.create_table(
        "batch_alert_route_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("min_severity", sa.String(length=16), nullable=False),
        sa.Column("module", sa.String(length=8), nullable=True),
        sa.Column("job_name", sa.String(length=64), nullable=True),
        sa.Column("email_to", _JSON, nullable=False),
        sa.Column("webhook_url", sa.String(length=1024), nullable=True),
        sa.Column("escalation", _JSON, nullable=False),
        sa.Column("office_hours_only", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "min_severity IN ('info', 'warning', 'critical')", name=op.f("ck_batch_alert_route_rec_severity_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_alert_route_rec")),
        sa.UniqueConstraint("name", name=op.f("uq_batch_alert_route_rec_name")),
    )
    op.create_table(
        "batch_alert_silence_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("module", sa.String(length=8), nullable=True),
        sa.Column("job_name", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.Column("expires_at", _UTC(timezone=True), nullable=False),
        sa.Column("ended_at", _UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_alert_silence_rec")),
    )
    op.create_index("ix_batch_alert_silence_rec_expires", "batch_alert_silence_rec", ["expires_at"])
    op.create_table(
        "batch_alert_link_rec",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("used_at", _UTC(timezone=True), nullable=False),
        sa.Column("used_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["batch_alert_rec.id"],
            name=op.f("fk_batch_alert_link_rec_alert_id_batch_alert_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_batch_alert_link_rec")),
    )
    op.create_table(
        "batch_deadline_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rule", _JSON, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("shift_policy", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["batch_job_rec.id"],
            name=op.f("fk_batch_deadline_rec_job_id_batch_job_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_deadline_rec")),
        sa.UniqueConstraint("name", name=op.f("uq_batch_deadline_rec_name")),
    )
    with op.batch_alter_table("batch_alert_rec") as batch:
        batch.add_column(sa.Column("notified_count", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("muted_reason", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("escalation_step", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("next_escalation_at", _UTC(timezone=True), nullable=True))
    with op.batch_alter_table("batch_threshold_rec") as batch:
        batch.add_column(sa.Column("scope", sa.String(length=80), server_default="*", nullable=False))
        batch.add_column(sa.Column("params", _JSON, nullable=True))
        batch.drop_constraint("uq_batch_threshold_rec_job_id_metric", type_="unique")
        batch.create_unique_constraint("uq_batch_threshold_rec_scope_metric", ["scope", "metric"])


def downgrade() -> None:
    with op.batch_alter_table("batch_threshold_rec") as batch:
        batch.drop_constraint("uq_batch_threshold_rec_scope_metric", type_="unique")
        batch.create_unique_constraint("uq_batch_threshold_rec_job_id_metric", ["job_id", "metric"])
        batch.drop_column("params")
        batch.drop_column("scope")
    with op.batch_alter_table("batch_alert_rec") as batch:
        batch.drop_column("next_escalation_at")
        batch.drop_column("escalation_step")
        batch.drop_column("muted_reason")
        batch.drop_column("notified_count")
    op.drop_table("batch_deadline_rec")
    op.drop_table("batch_alert_link_rec")
    op.drop_index("ix_batch_alert_silence_rec_expires", table_name="batch_alert_silence_rec")
    op.drop_table("batch_alert_silence_rec")
    op.drop_table("batch_alert_route_rec")
    op.drop_index("ix_batch_outbox_rec_created", table_name="batch_outbox_rec")
    op.drop_index("ix_batch_outbox_rec_due", table_name="batch_outbox_rec")
    op.drop_table("batch_outbox_rec")

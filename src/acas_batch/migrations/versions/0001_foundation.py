"""foundation: batch, security tables

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-24 09:05:24.155966
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import acas_batch.models.base

revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "audit_rec",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("occurred_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_rec")),
    )
    with op.batch_alter_table("audit_rec", schema=None) as batch_op:
        batch_op.create_index("ix_audit_rec_target", ["target_type", "target_id"], unique=False)
        batch_op.create_index("ix_audit_rec_time", ["occurred_at"], unique=False)

    op.create_table(
        "batch_job_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "module",
            sa.Enum("GL", "SL", "PL", "ST", "SYS", name="module", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("handler", sa.String(length=128), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("max_concurrency", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=True),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_backoff_seconds", sa.Integer(), nullable=False),
        sa.Column("retry_backoff_max_seconds", sa.Integer(), nullable=False),
        sa.Column(
            "retry_on",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "recovery_policy",
            sa.Enum("retry", "fail", "hold", name="recovery_policy", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column(
            "resources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "default_params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("dependency_wait_seconds", sa.Integer(), nullable=True),
        sa.Column("is_standard", sa.Boolean(), nullable=False),
        sa.Column("modified_by_user", sa.Boolean(), nullable=False),
        sa.Column("created_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("max_attempts >= 1", name=op.f("ck_batch_job_rec_max_attempts_positive")),
        sa.CheckConstraint("max_concurrency >= 1", name=op.f("ck_batch_job_rec_max_concurrency_positive")),
        sa.CheckConstraint("priority BETWEEN 0 AND 1000", name=op.f("ck_batch_job_rec_priority_range")),
        sa.CheckConstraint("retry_backoff_seconds >= 0", name=op.f("ck_batch_job_rec_backoff_non_negative")),
        sa.CheckConstraint(
            "timeout_seconds IS NULL OR timeout_seconds > 0", name=op.f("ck_batch_job_rec_timeout_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_job_rec")),
        sa.UniqueConstraint("name", name=op.f("uq_batch_job_rec_name")),
    )
    op.create_table(
        "batch_worker_rec",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column(
            "role",
            sa.Enum("scheduler", "worker", name="worker_role", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "running",
                "stopping",
                "stopped",
                name="worker_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column(
            "info",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_worker_rec")),
    )
    with op.batch_alter_table("batch_worker_rec", schema=None) as batch_op:
        batch_op.create_index("ix_batch_worker_rec_role_heartbeat", ["role", "heartbeat_at"], unique=False)

    op.create_table(
        "quarantine_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column(
            "severity",
            sa.Enum(
                "info",
                "warning",
                "critical",
                name="quarantine_severity",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("detected_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("limit_value", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=True),
        sa.Column("resolved_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_rec")),
    )
    with op.batch_alter_table("quarantine_rec", schema=None) as batch_op:
        batch_op.create_index("ix_quarantine_rec_resource_time", ["resource", "detected_at"], unique=False)

    op.create_table(
        "role_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "permissions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_standard", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_rec")),
        sa.UniqueConstraint("name", name=op.f("uq_role_rec_name")),
    )
    op.create_table(
        "batch_dependency_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("depends_on_job_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("wait", "trigger", name="dependency_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column(
            "condition",
            sa.Enum(
                "success",
                "completion",
                "failure",
                name="dependency_condition",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("lookback_days", sa.Integer(), nullable=False),
        sa.Column("is_standard", sa.Boolean(), nullable=False),
        sa.Column("created_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("job_id <> depends_on_job_id", name=op.f("ck_batch_dependency_rec_not_self")),
        sa.CheckConstraint("lookback_days >= 0", name=op.f("ck_batch_dependency_rec_lookback_non_negative")),
        sa.ForeignKeyConstraint(
            ["depends_on_job_id"],
            ["batch_job_rec.id"],
            name=op.f("fk_batch_dependency_rec_depends_on_job_id_batch_job_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["batch_job_rec.id"],
            name=op.f("fk_batch_dependency_rec_job_id_batch_job_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_dependency_rec")),
        sa.UniqueConstraint(
            "job_id",
            "depends_on_job_id",
            "kind",
            name=op.f("uq_batch_dependency_rec_job_id_depends_on_job_id_kind"),
        ),
    )
    with op.batch_alter_table("batch_dependency_rec", schema=None) as batch_op:
        batch_op.create_index("ix_batch_dependency_rec_upstream", ["depends_on_job_id"], unique=False)

    op.create_table(
        "batch_parameter_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "default",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column(
            "allowed_values",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("pattern", sa.String(length=255), nullable=True),
        sa.Column("minimum", sa.String(length=64), nullable=True),
        sa.Column("maximum", sa.String(length=64), nullable=True),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("identifying", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["batch_job_rec.id"],
            name=op.f("fk_batch_parameter_rec_job_id_batch_job_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_parameter_rec")),
        sa.UniqueConstraint("job_id", "name", name=op.f("uq_batch_parameter_rec_job_id_name")),
    )
    op.create_table(
        "batch_schedule_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "daily",
                "weekly",
                "monthly",
                "quarterly",
                "yearly",
                "cron",
                "interval",
                "once",
                name="schedule_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "rule",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column(
            "shift_policy",
            sa.Enum(
                "run_anyway",
                "previous",
                "next",
                "skip",
                name="shift_policy",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "misfire_policy",
            sa.Enum(
                "run_all",
                "run_latest",
                "skip",
                name="misfire_policy",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("misfire_grace_seconds", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("start_held", sa.Boolean(), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("valid_from", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_until", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_fire_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_fire_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_standard", sa.Boolean(), nullable=False),
        sa.Column("modified_by_user", sa.Boolean(), nullable=False),
        sa.Column("created_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("misfire_grace_seconds >= 0", name=op.f("ck_batch_schedule_rec_grace_non_negative")),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["batch_job_rec.id"],
            name=op.f("fk_batch_schedule_rec_job_id_batch_job_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_schedule_rec")),
        sa.UniqueConstraint("job_id", "name", name=op.f("uq_batch_schedule_rec_job_id_name")),
    )
    with op.batch_alter_table("batch_schedule_rec", schema=None) as batch_op:
        batch_op.create_index("ix_batch_schedule_rec_due", ["enabled", "next_fire_at"], unique=False)

    op.create_table(
        "batch_threshold_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("comparison", sa.String(length=2), nullable=False),
        sa.Column("warning_value", sa.Float(), nullable=True),
        sa.Column("critical_value", sa.Float(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.CheckConstraint("comparison IN ('>', '<')", name=op.f("ck_batch_threshold_rec_comparison_known")),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["batch_job_rec.id"],
            name=op.f("fk_batch_threshold_rec_job_id_batch_job_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_threshold_rec")),
        sa.UniqueConstraint("job_id", "metric", name=op.f("uq_batch_threshold_rec_job_id_metric")),
    )
    op.create_table(
        "user_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["role_id"], ["role_rec.id"], name=op.f("fk_user_rec_role_id_role_rec")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_rec")),
        sa.UniqueConstraint("username", name=op.f("uq_user_rec_username")),
    )
    op.create_table(
        "batch_execution_rec",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("nominal_time", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "queued",
                "running",
                "retry_wait",
                "held",
                "succeeded",
                "warning",
                "failed",
                "timed_out",
                "cancelled",
                "skipped",
                name="execution_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "held_from",
            sa.Enum(
                "pending",
                "queued",
                "running",
                "retry_wait",
                "held",
                "succeeded",
                "warning",
                "failed",
                "timed_out",
                "cancelled",
                "skipped",
                name="held_from_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "trigger",
            sa.Enum(
                "schedule",
                "manual",
                "dependency",
                "retry",
                "rerun",
                "recovery",
                name="trigger_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("run_key", sa.String(length=255), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("root_execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("previous_execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("triggered_by_execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("superseded_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fencing_token", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("worker_pid", sa.Integer(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("created_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("queued_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_before", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("wait_deadline", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("progress_done", sa.BigInteger(), nullable=True),
        sa.Column("progress_total", sa.BigInteger(), nullable=True),
        sa.Column(
            "checkpoint",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("error_type", sa.String(length=128), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("output_dir", sa.String(length=512), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "(state <> 'held') OR (held_from IS NOT NULL)",
            name=op.f("ck_batch_execution_rec_held_has_origin"),
        ),
        sa.CheckConstraint(
            "(state <> 'running') OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)",
            name=op.f("ck_batch_execution_rec_running_has_lease"),
        ),
        sa.CheckConstraint("attempt >= 1", name=op.f("ck_batch_execution_rec_attempt_positive")),
        sa.ForeignKeyConstraint(
            ["job_id"], ["batch_job_rec.id"], name=op.f("fk_batch_execution_rec_job_id_batch_job_rec")
        ),
        sa.ForeignKeyConstraint(
            ["previous_execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_batch_execution_rec_previous_execution_id_batch_execution_rec"),
        ),
        sa.ForeignKeyConstraint(
            ["root_execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_batch_execution_rec_root_execution_id_batch_execution_rec"),
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["batch_schedule_rec.id"],
            name=op.f("fk_batch_execution_rec_schedule_id_batch_schedule_rec"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_batch_execution_rec_superseded_by_id_batch_execution_rec"),
        ),
        sa.ForeignKeyConstraint(
            ["triggered_by_execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_batch_execution_rec_triggered_by_execution_id_batch_execution_rec"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_execution_rec")),
        sa.UniqueConstraint("schedule_id", "nominal_time", name="uq_batch_execution_rec_occurrence"),
    )
    with op.batch_alter_table("batch_execution_rec", schema=None) as batch_op:
        batch_op.create_index("ix_batch_execution_rec_claim", ["state", "priority", "id"], unique=False)
        batch_op.create_index("ix_batch_execution_rec_finished", ["finished_at"], unique=False)
        batch_op.create_index("ix_batch_execution_rec_job_created", ["job_id", "created_at"], unique=False)
        batch_op.create_index("ix_batch_execution_rec_job_date", ["job_id", "business_date"], unique=False)
        batch_op.create_index("ix_batch_execution_rec_lease", ["state", "lease_expires_at"], unique=False)
        batch_op.create_index("ix_batch_execution_rec_root", ["root_execution_id"], unique=False)
        batch_op.create_index("ix_batch_execution_rec_run_key", ["run_key", "state"], unique=False)
        batch_op.create_index(
            "uq_batch_execution_rec_run_key_succeeded",
            ["run_key"],
            unique=True,
            sqlite_where=sa.text("state = 'succeeded' AND superseded_by_id IS NULL"),
            postgresql_where=sa.text("state = 'succeeded' AND superseded_by_id IS NULL"),
        )

    op.create_table(
        "user_session_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("created_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_rec.id"],
            name=op.f("fk_user_session_rec_user_id_user_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session_rec")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_session_rec_token_hash")),
    )
    with op.batch_alter_table("user_session_rec", schema=None) as batch_op:
        batch_op.create_index("ix_user_session_rec_expires", ["expires_at"], unique=False)

    op.create_table(
        "batch_alert_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column(
            "severity",
            sa.Enum(
                "info",
                "warning",
                "critical",
                name="alert_severity",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "acknowledged",
                "resolved",
                name="alert_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("first_raised_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_raised_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notified_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_batch_alert_rec_execution_id_batch_execution_rec"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["batch_job_rec.id"],
            name=op.f("fk_batch_alert_rec_job_id_batch_job_rec"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_alert_rec")),
    )
    with op.batch_alter_table("batch_alert_rec", schema=None) as batch_op:
        batch_op.create_index("ix_batch_alert_rec_job", ["job_id"], unique=False)
        batch_op.create_index("ix_batch_alert_rec_state_time", ["state", "last_raised_at"], unique=False)
        batch_op.create_index(
            "uq_batch_alert_rec_open_dedup",
            ["dedup_key"],
            unique=True,
            sqlite_where=sa.text("state <> 'resolved'"),
            postgresql_where=sa.text("state <> 'resolved'"),
        )

    op.create_table(
        "batch_log_rec",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("logged_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "DEBUG",
                "INFO",
                "WARNING",
                "ERROR",
                "CRITICAL",
                name="log_level",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("logger", sa.String(length=128), nullable=True),
        sa.Column(
            "context",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_batch_log_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["batch_job_rec.id"],
            name=op.f("fk_batch_log_rec_job_id_batch_job_rec"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_log_rec")),
    )
    with op.batch_alter_table("batch_log_rec", schema=None) as batch_op:
        batch_op.create_index("ix_batch_log_rec_execution", ["execution_id", "id"], unique=False)
        batch_op.create_index("ix_batch_log_rec_job_time", ["job_id", "logged_at"], unique=False)
        batch_op.create_index("ix_batch_log_rec_level_time", ["level", "logged_at"], unique=False)
        batch_op.create_index("ix_batch_log_rec_time", ["logged_at"], unique=False)

    op.create_table(
        "batch_metrics_rec",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("window_start", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("window_end", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["batch_execution_rec.id"],
            name=op.f("fk_batch_metrics_rec_execution_id_batch_execution_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["batch_job_rec.id"],
            name=op.f("fk_batch_metrics_rec_job_id_batch_job_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_metrics_rec")),
    )
    with op.batch_alter_table("batch_metrics_rec", schema=None) as batch_op:
        batch_op.create_index("ix_batch_metrics_rec_execution", ["execution_id"], unique=False)
        batch_op.create_index("ix_batch_metrics_rec_job_name_time", ["job_id", "name", "recorded_at"], unique=False)
        batch_op.create_index("ix_batch_metrics_rec_name_time", ["name", "recorded_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("batch_metrics_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_batch_metrics_rec_name_time")
        batch_op.drop_index("ix_batch_metrics_rec_job_name_time")
        batch_op.drop_index("ix_batch_metrics_rec_execution")

    op.drop_table("batch_metrics_rec")
    with op.batch_alter_table("batch_log_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_batch_log_rec_time")
        batch_op.drop_index("ix_batch_log_rec_level_time")
        batch_op.drop_index("ix_batch_log_rec_job_time")
        batch_op.drop_index("ix_batch_log_rec_execution")

    op.drop_table("batch_log_rec")
    with op.batch_alter_table("batch_alert_rec", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_batch_alert_rec_open_dedup",
            sqlite_where=sa.text("state <> 'resolved'"),
            postgresql_where=sa.text("state <> 'resolved'"),
        )
        batch_op.drop_index("ix_batch_alert_rec_state_time")
        batch_op.drop_index("ix_batch_alert_rec_job")

    op.drop_table("batch_alert_rec")
    with op.batch_alter_table("user_session_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_user_session_rec_expires")

    op.drop_table("user_session_rec")
    with op.batch_alter_table("batch_execution_rec", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_batch_execution_rec_run_key_succeeded",
            sqlite_where=sa.text("state = 'succeeded' AND superseded_by_id IS NULL"),
            postgresql_where=sa.text("state = 'succeeded' AND superseded_by_id IS NULL"),
        )
        batch_op.drop_index("ix_batch_execution_rec_run_key")
        batch_op.drop_index("ix_batch_execution_rec_root")
        batch_op.drop_index("ix_batch_execution_rec_lease")
        batch_op.drop_index("ix_batch_execution_rec_job_date")
        batch_op.drop_index("ix_batch_execution_rec_job_created")
        batch_op.drop_index("ix_batch_execution_rec_finished")
        batch_op.drop_index("ix_batch_execution_rec_claim")

    op.drop_table("batch_execution_rec")
    op.drop_table("user_rec")
    op.drop_table("batch_threshold_rec")
    with op.batch_alter_table("batch_schedule_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_batch_schedule_rec_due")

    op.drop_table("batch_schedule_rec")
    op.drop_table("batch_parameter_rec")
    with op.batch_alter_table("batch_dependency_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_batch_dependency_rec_upstream")

    op.drop_table("batch_dependency_rec")
    op.drop_table("role_rec")
    with op.batch_alter_table("quarantine_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_rec_resource_time")

    op.drop_table("quarantine_rec")
    with op.batch_alter_table("batch_worker_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_batch_worker_rec_role_heartbeat")

    op.drop_table("batch_worker_rec")
    op.drop_table("batch_job_rec")
    with op.batch_alter_table("audit_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_rec_time")
        batch_op.drop_index("ix_audit_rec_target")

    op.drop_table("audit_rec")

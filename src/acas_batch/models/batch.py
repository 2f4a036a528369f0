"""The spec's batch tables: jobs, schedules, executions, logs, dependencies, parameters,
alerts, metrics, thresholds and resource quarantine; plus the process registry."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, JSONType, MaskedJSON, MaskedText, UTCDateTime, enum_column
from acas_batch.models.enums import (
    AlertSeverity,
    AlertState,
    DependencyCondition,
    DependencyKind,
    ExecutionState,
    LogLevel,
    MisfirePolicy,
    Module,
    RecoveryPolicy,
    ScheduleKind,
    ShiftPolicy,
    TriggerKind,
    WorkerRole,
    WorkerState,
)


class BatchJob(Base):
    """A job definition: what runs, with which defaults and limits."""

    __tablename__ = "batch_job_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    module: Mapped[Module] = mapped_column(enum_column(Module, "module"))
    description: Mapped[str] = mapped_column(Text, default="")
    handler: Mapped[str] = mapped_column(String(128), doc="Registry key of the code that runs the job.")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer, default=50)
    max_concurrency: Mapped[int] = mapped_column(Integer, default=1)
    timeout_seconds: Mapped[int | None] = mapped_column(Integer, default=3600)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    retry_backoff_seconds: Mapped[int] = mapped_column(Integer, default=30)
    retry_backoff_max_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    retry_on: Mapped[list[str] | None] = mapped_column(
        JSONType, default=None, doc="Error types that are retried; None retries every error."
    )
    recovery_policy: Mapped[RecoveryPolicy] = mapped_column(
        enum_column(RecoveryPolicy, "recovery_policy"), default=RecoveryPolicy.RETRY
    )
    resources: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    default_params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    dependency_wait_seconds: Mapped[int | None] = mapped_column(
        Integer, default=None, doc="How long an execution may wait for upstream jobs before failing."
    )
    is_standard: Mapped[bool] = mapped_column(Boolean, default=False)
    modified_by_user: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("priority BETWEEN 0 AND 1000", name="priority_range"),
        CheckConstraint("max_concurrency >= 1", name="max_concurrency_positive"),
        CheckConstraint("max_attempts >= 1", name="max_attempts_positive"),
        CheckConstraint("timeout_seconds IS NULL OR timeout_seconds > 0", name="timeout_positive"),
        CheckConstraint("retry_backoff_seconds >= 0", name="backoff_non_negative"),
    )


class BatchSchedule(Base):
    """When a job runs: a calendar rule in a time zone, with its policies."""

    __tablename__ = "batch_schedule_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("batch_job_rec.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[ScheduleKind] = mapped_column(enum_column(ScheduleKind, "schedule_kind"))
    rule: Mapped[dict[str, Any]] = mapped_column(JSONType, doc="The rule's details, as the calendar reads them.")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    shift_policy: Mapped[ShiftPolicy] = mapped_column(
        enum_column(ShiftPolicy, "shift_policy"), default=ShiftPolicy.RUN_ANYWAY
    )
    misfire_policy: Mapped[MisfirePolicy] = mapped_column(
        enum_column(MisfirePolicy, "misfire_policy"), default=MisfirePolicy.RUN_ALL
    )
    misfire_grace_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    start_held: Mapped[bool] = mapped_column(Boolean, default=False, doc="Executions start HELD.")
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="Next nominal time, UTC.")
    last_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="Last nominal time handled.")
    is_standard: Mapped[bool] = mapped_column(Boolean, default=False)
    modified_by_user: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("job_id", "name"),
        CheckConstraint("misfire_grace_seconds >= 0", name="grace_non_negative"),
        Index("ix_batch_schedule_rec_due", "enabled", "next_fire_at"),
    )


class BatchExecution(Base):
    """One attempt at running a job. Retries and reruns are rows of their own."""

    __tablename__ = "batch_execution_rec"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("batch_job_rec.id"))
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("batch_schedule_rec.id", ondelete="SET NULL"),
        doc="Set on the occurrence's first row only: (schedule_id, nominal_time) is the occurrence.",
    )
    nominal_time: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="The occurrence's instant, UTC.")
    business_date: Mapped[date] = mapped_column(Date)
    state: Mapped[ExecutionState] = mapped_column(enum_column(ExecutionState, "execution_state"))
    held_from: Mapped[ExecutionState | None] = mapped_column(
        enum_column(ExecutionState, "held_from_state"), doc="The state a RELEASE returns to."
    )
    trigger: Mapped[TriggerKind] = mapped_column(enum_column(TriggerKind, "trigger_kind"))
    run_key: Mapped[str] = mapped_column(String(255))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=50)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    infra_failures: Mapped[int] = mapped_column(
        Integer,
        default=0,
        server_default="0",
        doc="Failures of the infrastructure (lease lost, job process killed, worker shut down) in the "
        "attempts before this one: they spend their own budget, not the job's max_attempts.",
    )
    root_execution_id: Mapped[int | None] = mapped_column(
        ForeignKey("batch_execution_rec.id"), doc="The first attempt; NULL on the first attempt itself."
    )
    previous_execution_id: Mapped[int | None] = mapped_column(
        ForeignKey("batch_execution_rec.id"), doc="The attempt or run this one follows."
    )
    triggered_by_execution_id: Mapped[int | None] = mapped_column(ForeignKey("batch_execution_rec.id"))
    superseded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("batch_execution_rec.id"), doc="A forced rerun that replaced this success."
    )
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fencing_token: Mapped[int] = mapped_column(BigInteger, default=0)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker_pid: Mapped[int | None] = mapped_column(Integer)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="Earliest start (retry backoff).")
    wait_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="Fail if upstream not met by then.")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    progress_done: Mapped[int | None] = mapped_column(BigInteger)
    progress_total: Mapped[int | None] = mapped_column(BigInteger)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    result: Mapped[dict[str, Any] | None] = mapped_column(MaskedJSON, doc="The job's summary of what it did (masked).")
    exit_code: Mapped[int | None] = mapped_column(Integer)
    error_type: Mapped[str | None] = mapped_column(String(128))
    error_message: Mapped[str | None] = mapped_column(MaskedText)
    reason: Mapped[str | None] = mapped_column(Text, doc="Why it was skipped, held, cancelled or forced.")
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    output_dir: Mapped[str | None] = mapped_column(String(512))
    created_by: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(
        String(128), doc="The Idempotency-Key of the HTTP request that made it: a retried request finds this row."
    )

    __table_args__ = (
        # One execution per occurrence, whatever the number of schedulers.
        UniqueConstraint("schedule_id", "nominal_time", name="uq_batch_execution_rec_occurrence"),
        # One live success per run key: a rerun must be forced, which supersedes the old one.
        Index(
            "uq_batch_execution_rec_run_key_succeeded",
            "run_key",
            unique=True,
            sqlite_where=text("state = 'succeeded' AND superseded_by_id IS NULL"),
            postgresql_where=text("state = 'succeeded' AND superseded_by_id IS NULL"),
        ),
        CheckConstraint("attempt >= 1", name="attempt_positive"),
        CheckConstraint(
            "(state <> 'running') OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)",
            name="running_has_lease",
        ),
        CheckConstraint("(state <> 'held') OR (held_from IS NOT NULL)", name="held_has_origin"),
        Index("ix_batch_execution_rec_claim", "state", "priority", "id"),
        Index("ix_batch_execution_rec_job_date", "job_id", "business_date"),
        Index("ix_batch_execution_rec_job_created", "job_id", "created_at"),
        Index("ix_batch_execution_rec_run_key", "run_key", "state"),
        Index("ix_batch_execution_rec_lease", "state", "lease_expires_at"),
        Index("ix_batch_execution_rec_root", "root_execution_id"),
        Index("ix_batch_execution_rec_finished", "finished_at"),
        Index("uq_batch_execution_rec_idempotency_key", "idempotency_key", unique=True),
        Index("ix_batch_execution_rec_state_id", "state", "id"),
        Index("ix_batch_execution_rec_job_id", "job_id", "id"),
        Index("ix_batch_execution_rec_date_id", "business_date", "job_id", "id"),
        Index("ix_batch_execution_rec_trigger_id", "trigger", "id"),
        Index("ix_batch_execution_rec_user_id", "created_by", "id"),
    )


class BatchLog(Base):
    """One log line of an execution (or of the system when execution_id is NULL)."""

    __tablename__ = "batch_log_rec"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("batch_job_rec.id", ondelete="SET NULL"))
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    level: Mapped[LogLevel] = mapped_column(enum_column(LogLevel, "log_level"))
    event: Mapped[str] = mapped_column(String(64), doc="Stable event name, e.g. execution_started.")
    message: Mapped[str] = mapped_column(MaskedText, doc="Masked before it is stored; search reads what is stored.")
    logger: Mapped[str | None] = mapped_column(String(128))
    context: Mapped[dict[str, Any] | None] = mapped_column(MaskedJSON)

    __table_args__ = (
        Index("ix_batch_log_rec_execution", "execution_id", "id"),
        Index("ix_batch_log_rec_job_time", "job_id", "logged_at"),
        Index("ix_batch_log_rec_level_time", "level", "logged_at"),
        Index("ix_batch_log_rec_time", "logged_at"),
    )


class BatchDependency(Base):
    """An edge between two jobs: wait for, or be triggered by, the upstream job."""

    __tablename__ = "batch_dependency_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("batch_job_rec.id", ondelete="CASCADE"))
    depends_on_job_id: Mapped[int] = mapped_column(ForeignKey("batch_job_rec.id", ondelete="CASCADE"))
    kind: Mapped[DependencyKind] = mapped_column(
        enum_column(DependencyKind, "dependency_kind"), default=DependencyKind.WAIT
    )
    condition: Mapped[DependencyCondition] = mapped_column(
        enum_column(DependencyCondition, "dependency_condition"), default=DependencyCondition.SUCCESS
    )
    lookback_days: Mapped[int] = mapped_column(
        Integer, default=0, doc="0: the same business date; N: an upstream run within N days before."
    )
    is_standard: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("job_id", "depends_on_job_id", "kind"),
        CheckConstraint("job_id <> depends_on_job_id", name="not_self"),
        CheckConstraint("lookback_days >= 0", name="lookback_non_negative"),
        Index("ix_batch_dependency_rec_upstream", "depends_on_job_id"),
    )


class BatchParameter(Base):
    """A declared parameter of a job: type, default and validation rules."""

    __tablename__ = "batch_parameter_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("batch_job_rec.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32), doc="string, integer, decimal, boolean, date, period, list")
    description: Mapped[str] = mapped_column(Text, default="")
    default: Mapped[Any] = mapped_column(JSONType, default=None)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    allowed_values: Mapped[list[Any] | None] = mapped_column(JSONType)
    pattern: Mapped[str | None] = mapped_column(String(255))
    minimum: Mapped[str | None] = mapped_column(String(64))
    maximum: Mapped[str | None] = mapped_column(String(64))
    secret: Mapped[bool] = mapped_column(Boolean, default=False, doc="Stored encrypted; masked in logs.")
    identifying: Mapped[bool] = mapped_column(Boolean, default=False, doc="Part of the run key.")

    __table_args__ = (UniqueConstraint("job_id", "name"),)


class BatchAlert(Base):
    """An alert: raised by a monitoring rule, deduplicated while open."""

    __tablename__ = "batch_alert_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64), doc="failure, slow_run, late, missed, resource, threshold ...")
    severity: Mapped[AlertSeverity] = mapped_column(enum_column(AlertSeverity, "alert_severity"))
    state: Mapped[AlertState] = mapped_column(enum_column(AlertState, "alert_state"), default=AlertState.OPEN)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("batch_job_rec.id", ondelete="SET NULL"))
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="SET NULL"))
    dedup_key: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(MaskedText)
    details: Mapped[dict[str, Any] | None] = mapped_column(MaskedJSON)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    muted_reason: Mapped[str | None] = mapped_column(
        String(255), doc="Why it was recorded but not sent: silenced, inhibited, capped."
    )
    escalation_step: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", doc="Escalation steps already taken."
    )
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(
        String(64), doc="Who resolved or dismissed it; NULL when it resolved itself."
    )
    resolution: Mapped[str | None] = mapped_column(
        Text, doc="Why it was resolved: the operator's reason for a dismissal, or the cause that cleared."
    )

    __table_args__ = (
        # At most one open (or acknowledged) alert per cause: no duplicate alarms.
        Index(
            "uq_batch_alert_rec_open_dedup",
            "dedup_key",
            unique=True,
            sqlite_where=text("state <> 'resolved'"),
            postgresql_where=text("state <> 'resolved'"),
        ),
        Index("ix_batch_alert_rec_state_time", "state", "last_raised_at"),
        Index("ix_batch_alert_rec_job", "job_id"),
    )


class BatchRunNotice(Base):
    """The e-mail a run's ``notify`` parameter asked for, sent once when the run ended.

    The row is written in the transaction that sends the mail, so two monitors never both
    tell the same outcome: the second one's insert fails on the primary key.
    """

    __tablename__ = "batch_run_notice_rec"

    execution_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("batch_execution_rec.id", ondelete="CASCADE"),
        primary_key=True,
    )
    outcome: Mapped[str] = mapped_column(String(32), doc="succeeded, warning, failed or timed_out.")
    recipients: Mapped[str] = mapped_column(Text, doc="Comma-separated addresses the notice went to.")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BatchMetric(Base):
    """A measured value: per execution, per job over a window, or of the system."""

    __tablename__ = "batch_metrics_rec"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(16))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("batch_job_rec.id", ondelete="CASCADE"))
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    labels: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    __table_args__ = (
        Index("ix_batch_metrics_rec_name_time", "name", "recorded_at"),
        Index("ix_batch_metrics_rec_job_name_time", "job_id", "name", "recorded_at"),
        Index("ix_batch_metrics_rec_execution", "execution_id"),
    )


class BatchThreshold(Base):
    """A limit on a metric, per job, per module or global (``scope`` ``job:NAME``, ``module:GL``, ``*``).

    The most specific scope wins; ``params`` holds a kind's extra settings (a window, a run
    count, a percentile factor). See :mod:`acas_batch.monitoring.thresholds`.
    """

    __tablename__ = "batch_threshold_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("batch_job_rec.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(80), default="*", server_default="*")
    metric: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    comparison: Mapped[str] = mapped_column(String(2), default=">", doc="> or <")
    warning_value: Mapped[float | None] = mapped_column(Float)
    critical_value: Mapped[float | None] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        UniqueConstraint("scope", "metric"),
        CheckConstraint("comparison IN ('>', '<')", name="comparison_known"),
    )


class Quarantine(Base):
    """A system resource finding (disk, memory, database, stuck work) and its resolution."""

    __tablename__ = "quarantine_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), doc="disk, memory, cpu, database, lease ...")
    severity: Mapped[AlertSeverity] = mapped_column(enum_column(AlertSeverity, "quarantine_severity"))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float | None] = mapped_column(Float)
    limit_value: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_quarantine_rec_resource_time", "resource", "detected_at"),)


class BatchWorker(Base):
    """A scheduler or worker process, known by its heartbeat."""

    __tablename__ = "batch_worker_rec"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[WorkerRole] = mapped_column(enum_column(WorkerRole, "worker_role"))
    state: Mapped[WorkerState] = mapped_column(enum_column(WorkerState, "worker_state"))
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[str] = mapped_column(String(32))
    info: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    __table_args__ = (Index("ix_batch_worker_rec_role_heartbeat", "role", "heartbeat_at"),)


class BatchDatabase(Base):
    """This database's identity (one row): a uuid made at ``init`` (or at first need) that
    names its folder of job outputs, so two databases sharing a data folder never mix files."""

    __tablename__ = "batch_database_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    database_id: Mapped[str] = mapped_column(String(36), unique=True, doc="uuid4, as text.")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

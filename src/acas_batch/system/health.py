"""Health checks: each one a function returning a :class:`Finding` with a severity.

Problems (warning or critical) are written to ``quarantine_rec`` under their resource;
an open quarantine row of a check that now passes is resolved. The job fails when any
finding is critical.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from acas_batch.db import rowcount
from acas_batch.models import (
    AlertSeverity,
    AlertState,
    BatchAlert,
    BatchExecution,
    BatchWorker,
    ExecutionState,
    NotificationOutbox,
    Quarantine,
    WorkerRole,
    WorkerState,
)
from acas_batch.models.migrate import pending_migrations
from acas_batch.system.backup_register import latest_verified

#: The alert the outbox raises while a channel cannot deliver (``monitoring.outbox.DELIVERY_RULE``).
DELIVERY_OUTAGE_RULE = "notify_failed"

_ORDER = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}


class HealthLimits(BaseModel):
    """Thresholds of the health check (the job's parameters)."""

    model_config = ConfigDict(extra="forbid")

    db_latency_warn_ms: float = Field(200.0, gt=0)
    disk_free_warn_pct: float = Field(15.0, ge=0, le=100)
    disk_free_critical_pct: float = Field(5.0, ge=0, le=100)
    heartbeat_stale_seconds: int = Field(180, gt=0, description="A process silent this long is presumed dead.")
    stuck_grace_seconds: int = Field(300, ge=0, description="How long past its lease a RUNNING execution may stay.")
    backup_warn_days: int = Field(8, gt=0)
    backup_critical_days: int = Field(15, gt=0)
    require_scheduler: bool = Field(True, description="Warn when no scheduler heartbeats.")
    outbox_delay_warn_seconds: int = Field(
        900, gt=0, description="A notification waiting longer than this in the outbox is a warning."
    )


@dataclass(frozen=True)
class Finding:
    """One check's outcome."""

    check: str
    resource: str
    severity: AlertSeverity
    message: str
    value: float | None = None
    limit: float | None = None

    @property
    def is_problem(self) -> bool:
        return self.severity is not AlertSeverity.INFO


def check_database(engine: Engine, limits: HealthLimits) -> Finding:
    began = time.perf_counter()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        return Finding("database", "database", AlertSeverity.CRITICAL, f"database unreachable: {exc}".splitlines()[0])
    ms = round((time.perf_counter() - began) * 1000, 2)
    slow = ms > limits.db_latency_warn_ms
    return Finding(
        "database",
        "database",
        AlertSeverity.WARNING if slow else AlertSeverity.INFO,
        f"database answered in {ms} ms" + (f" (over {limits.db_latency_warn_ms} ms)" if slow else ""),
        ms,
        limits.db_latency_warn_ms,
    )


def check_disk(path: Path, limits: HealthLimits) -> Finding:
    path.mkdir(parents=True, exist_ok=True)
    usage = shutil.disk_usage(path)
    free_pct = round(usage.free / usage.total * 100, 2) if usage.total else 0.0
    severity = AlertSeverity.INFO
    limit = limits.disk_free_warn_pct
    if free_pct < limits.disk_free_critical_pct:
        severity, limit = AlertSeverity.CRITICAL, limits.disk_free_critical_pct
    elif free_pct < limits.disk_free_warn_pct:
        severity = AlertSeverity.WARNING
    gib = usage.free / 2**30
    return Finding("disk", "disk", severity, f"{free_pct}% ({gib:.1f} GiB) free on the data volume", free_pct, limit)


def check_heartbeats(session: Session, now: datetime, limits: HealthLimits) -> list[Finding]:
    stale_before = now - timedelta(seconds=limits.heartbeat_stale_seconds)
    findings: list[Finding] = []
    for role in (WorkerRole.SCHEDULER, WorkerRole.WORKER):
        rows = list(
            session.scalars(
                # Only the living: a process that stopped, or that a live one marked lost, is not silent.
                select(BatchWorker).where(
                    BatchWorker.role == role, BatchWorker.state.in_((WorkerState.RUNNING, WorkerState.STOPPING))
                )
            )
        )
        alive = [w for w in rows if w.heartbeat_at >= stale_before]
        stale = [w.id for w in rows if w.heartbeat_at < stale_before]
        if stale:
            findings.append(
                Finding(
                    f"{role.value}_heartbeat",
                    role.value,
                    AlertSeverity.WARNING,
                    f"{len(stale)} {role.value}(s) silent for over {limits.heartbeat_stale_seconds} s: "
                    + ", ".join(sorted(stale)[:5]),
                    float(len(stale)),
                    0.0,
                )
            )
        elif not alive and (role is WorkerRole.WORKER or limits.require_scheduler):
            findings.append(
                Finding(
                    f"{role.value}_heartbeat", role.value, AlertSeverity.WARNING, f"no {role.value} is running", 0.0
                )
            )
        else:
            findings.append(
                Finding(
                    f"{role.value}_heartbeat",
                    role.value,
                    AlertSeverity.INFO,
                    f"{len(alive)} {role.value}(s) heartbeating",
                    float(len(alive)),
                )
            )
    return findings


def check_stuck(session: Session, now: datetime, limits: HealthLimits) -> Finding:
    cutoff = now - timedelta(seconds=limits.stuck_grace_seconds)
    ids = list(
        session.scalars(
            select(BatchExecution.id)
            .where(BatchExecution.state == ExecutionState.RUNNING, BatchExecution.lease_expires_at < cutoff)
            .order_by(BatchExecution.id)
        )
    )
    if ids:
        return Finding(
            "stuck_executions",
            "lease",
            AlertSeverity.CRITICAL,
            f"{len(ids)} running execution(s) past their lease by over {limits.stuck_grace_seconds} s "
            f"(lease recovery is not working): {', '.join(map(str, ids[:10]))}",
            float(len(ids)),
            0.0,
        )
    running = session.scalar(
        select(func.count()).select_from(BatchExecution).where(BatchExecution.state == ExecutionState.RUNNING)
    )
    return Finding("stuck_executions", "lease", AlertSeverity.INFO, f"{running or 0} running, none stuck", 0.0)


def check_backup(session: Session, now: datetime, limits: HealthLimits) -> Finding:
    latest = latest_verified(session)
    if latest is None:
        return Finding("backup_age", "backup", AlertSeverity.WARNING, "no verified backup exists")
    age_days = round((now - latest.started_at).total_seconds() / 86400, 2)
    severity = AlertSeverity.INFO
    limit = float(limits.backup_warn_days)
    if age_days > limits.backup_critical_days:
        severity, limit = AlertSeverity.CRITICAL, float(limits.backup_critical_days)
    elif age_days > limits.backup_warn_days:
        severity = AlertSeverity.WARNING
    return Finding(
        "backup_age",
        "backup",
        severity,
        f"latest verified backup is {age_days} days old ({latest.path})",
        age_days,
        limit,
    )


def check_migrations(engine: Engine) -> Finding:
    pending = pending_migrations(engine)
    if pending:
        return Finding(
            "migrations",
            "schema",
            AlertSeverity.CRITICAL,
            f"{len(pending)} migration(s) pending: {', '.join(pending)}; run `acas-batch db upgrade`",
            float(len(pending)),
            0.0,
        )
    return Finding("migrations", "schema", AlertSeverity.INFO, "schema is at the newest version", 0.0)


def check_writable(folder: Path) -> Finding:
    probe = folder / f".health-{uuid.uuid4().hex}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return Finding(
            "output_folder", "output", AlertSeverity.CRITICAL, f"output folder {folder} is not writable: {exc}"
        )
    return Finding("output_folder", "output", AlertSeverity.INFO, f"output folder {folder} is writable")


def check_outbox(session: Session, now: datetime, limits: HealthLimits) -> Finding:
    """Notifications waiting in the outbox: how many, the oldest's age and the last error; a
    delivery outage (the mail server down) as a warning from its first failure, with its reason."""
    ob = NotificationOutbox
    waiting = ob.state.in_(("pending", "sending"))
    count = session.scalar(select(func.count()).select_from(ob).where(waiting)) or 0
    failed = session.scalar(select(func.count()).select_from(ob).where(ob.state == "failed")) or 0
    oldest = session.scalar(select(func.min(ob.created_at)).where(waiting))
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    error = session.scalar(
        select(ob.last_error).where(waiting, ob.last_error.is_not(None)).order_by(ob.last_attempt_at.desc()).limit(1)
    )
    outage = session.scalars(
        select(BatchAlert)
        .where(BatchAlert.rule == DELIVERY_OUTAGE_RULE, BatchAlert.state != AlertState.RESOLVED)
        .order_by(BatchAlert.first_raised_at)
        .limit(1)
    ).first()
    if failed:
        return Finding(
            "outbox",
            "notifications",
            AlertSeverity.CRITICAL,
            f"{failed} notification(s) refused for good by the server; see `acas-batch alerts outbox`",
            float(failed),
            0.0,
        )
    if outage is not None:
        details = outage.details or {}
        reason = details.get("reason") or error
        return Finding(
            "outbox",
            "notifications",
            AlertSeverity.WARNING,
            f"{details.get('channel', 'email')} delivery is down since "
            f"{outage.first_raised_at:%Y-%m-%d %H:%M:%S} UTC: {reason}; {count} notification(s) waiting",
            age,
            float(limits.outbox_delay_warn_seconds),
        )
    if count and age > limits.outbox_delay_warn_seconds:
        return Finding(
            "outbox",
            "notifications",
            AlertSeverity.WARNING,
            f"{count} notification(s) waiting, the oldest for {age / 60:.0f} min; last error: {error}",
            age,
            float(limits.outbox_delay_warn_seconds),
        )
    return Finding(
        "outbox",
        "notifications",
        AlertSeverity.INFO,
        f"{count} notification(s) waiting",
        age,
        float(limits.outbox_delay_warn_seconds),
    )


def run_checks(
    session: Session, engine: Engine, *, now: datetime, data_dir: Path, output_dir: Path, limits: HealthLimits
) -> list[Finding]:
    """Every check, in a fixed order."""
    steps: list[Callable[[], Finding | list[Finding]]] = [
        lambda: check_database(engine, limits),
        lambda: check_disk(data_dir, limits),
        lambda: check_heartbeats(session, now, limits),
        lambda: check_stuck(session, now, limits),
        lambda: check_backup(session, now, limits),
        lambda: check_migrations(engine),
        lambda: check_writable(output_dir),
        lambda: check_outbox(session, now, limits),
    ]
    findings: list[Finding] = []
    for step in steps:
        out = step()
        findings.extend(out if isinstance(out, list) else [out])
    return findings


def record_findings(session: Session, findings: list[Finding], *, now: datetime) -> tuple[int, int]:
    """Quarantine each problem; resolve open quarantine rows of checks that now pass.

    Returns (rows written, rows resolved).
    """
    written = resolved = 0
    for f in findings:
        source = f"health:{f.check}"
        if f.is_problem:
            session.add(
                Quarantine(
                    resource=f.resource,
                    severity=f.severity,
                    detected_at=now,
                    value=f.value,
                    limit_value=f.limit,
                    message=f.message,
                    source=source,
                )
            )
            written += 1
        else:
            resolved += rowcount(
                session.execute(
                    update(Quarantine)
                    .where(Quarantine.source == source, Quarantine.resolved_at.is_(None))
                    .values(resolved_at=now)
                    .execution_options(synchronize_session=False)
                )
            )
    session.flush()
    return written, resolved


def worst(findings: list[Finding]) -> AlertSeverity:
    return max((f.severity for f in findings), key=_ORDER.__getitem__, default=AlertSeverity.INFO)

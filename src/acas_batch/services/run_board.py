"""What the overview, the live pages and a job's page show: counts, running work, the next runs,
open alerts, process heartbeats, the change marker live pages poll, the audit trail and a job's
history. Each read goes through the services' door (``door.py``) with the acting :class:`Actor`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from acas_batch.batch import operations
from acas_batch.batch.status import dashboard
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import (
    JobNotFound,
)
from acas_batch.masking import mask_any
from acas_batch.models import Audit, BatchAlert, BatchExecution, BatchJob, BatchWorker
from acas_batch.models.enums import ExecutionState, WorkerState
from acas_batch.monitoring import open_alerts
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services.runs import (
    MAX_LIMIT,
    check_reading,
    refuse_nul,
    usual_durations,
)
from acas_batch.services.schedules import forecast_rows


def process_heartbeats(engine: Engine, *, now: datetime, stale_after: timedelta) -> list[dict[str, Any]]:
    """Every scheduler and worker that says it is running, each marked alive or dead by its heartbeat."""
    with transaction(engine) as session:
        rows = session.scalars(
            select(BatchWorker).where(BatchWorker.state == WorkerState.RUNNING).order_by(BatchWorker.started_at)
        ).all()
        return [
            {
                "id": w.id,
                "role": w.role.value,
                "host": w.hostname,
                "pid": w.pid,
                "heartbeat_at": w.heartbeat_at,
                "alive": w.heartbeat_at >= now - stale_after,
            }
            for w in rows
        ]


def change_marker(engine: Engine, *, actor: Actor, now: datetime) -> str:
    """A short text that changes whenever a run is created, changes state or reports progress.

    Reads only the newest id, the latest finish and the few live runs, so a page may ask every
    second or two without scanning the table.

    Raises:
        PermissionDenied: the actor may not read executions.
    """
    check_reading(engine, actor, Permission.EXECUTIONS_READ, "follow runs", now)
    live = (
        ExecutionState.PENDING,
        ExecutionState.QUEUED,
        ExecutionState.RUNNING,
        ExecutionState.RETRY_WAIT,
        ExecutionState.HELD,
    )
    with transaction(engine) as session:
        newest = session.scalar(select(func.max(BatchExecution.id)))
        finished = session.scalar(select(func.max(BatchExecution.finished_at)))
        rows = session.execute(
            select(BatchExecution.id, BatchExecution.state, BatchExecution.progress_done)
            .where(BatchExecution.state.in_(live))
            .order_by(BatchExecution.id)
            .limit(500)
        ).all()
        alerts = session.scalar(select(func.max(BatchAlert.last_raised_at)))
    digest = hashlib.sha1(repr((newest, finished, rows, alerts)).encode(), usedforsecurity=False).hexdigest()
    return f"{newest or 0}-{digest[:12]}"


def audit_trail(
    engine: Engine,
    *,
    actor: Actor,
    now: datetime,
    before: int | None = None,
    limit: int = 100,
    target: str | None = None,
) -> list[dict[str, Any]]:
    """Audit lines newest first (keyset by id), optionally for one target (``execution:42``).

    Raises:
        PermissionDenied: the actor may not read the audit trail.
    """
    check_reading(engine, actor, Permission.AUDIT_READ, "read the audit trail", now)
    with transaction(engine) as session:
        stmt = select(Audit).order_by(Audit.id.desc()).limit(min(limit, MAX_LIMIT))
        if before is not None:
            stmt = stmt.where(Audit.id < before)
        if target:
            refuse_nul("target", target)
            kind, _, ident = target.partition(":")
            stmt = stmt.where(Audit.target_type == kind, Audit.target_id == ident)
        return [
            {
                "id": a.id,
                "occurred_at": a.occurred_at,
                "actor": a.actor,
                "action": a.action,
                "target_type": a.target_type,
                "target_id": a.target_id,
                "reason": a.reason,
                "details": mask_any(a.details),
            }
            for a in session.scalars(stmt)
        ]


def overview(engine: Engine, settings: Settings, *, actor: Actor, now: datetime) -> dict[str, Any]:
    """The dashboard's first page: counts by state, running runs with progress, next runs, recent
    failures, open alerts, and every scheduler and worker with its heartbeat (dead ones marked).

    Raises:
        PermissionDenied: the actor may not read executions.
    """
    check_reading(engine, actor, Permission.EXECUTIONS_READ, "read the overview", now)
    stale = timedelta(seconds=max(3 * settings.lease_seconds, 30))
    with transaction(engine) as session:
        board = dashboard(session, now=now, stale_after=stale)
        board["alerts"] = [
            {
                "id": a.id,
                "severity": a.severity.value,
                "state": a.state.value,
                "title": a.title,
                "last_raised_at": a.last_raised_at,
                "execution_id": a.execution_id,
            }
            for a in open_alerts(session)
        ]
    today = operations.local_date(now, settings.timezone)
    _, coming = forecast_rows(engine, settings, today, today + timedelta(days=7))
    board["next_runs"] = [
        {"job": r.job, "schedule": r.schedule, "schedule_id": r.schedule_id, "next_fire_at": r.nominal, "note": r.note}
        for r in coming
        if r.nominal >= now
    ][:12]
    board["processes"] = process_heartbeats(engine, now=now, stale_after=stale)
    board["scheduler_dead"] = not board["scheduler_running"] and any(
        p["role"] == "scheduler" and not p["alive"] for p in board["processes"]
    )
    return board


def liveness(engine: Engine, settings: Settings, *, now: datetime) -> dict[str, Any]:
    """What the health check tells anyone, signed in or not: whether a scheduler runs, and each
    scheduler's and worker's heartbeat (no run, job, alert or log data)."""
    stale = timedelta(seconds=max(3 * settings.lease_seconds, 30))
    with transaction(engine) as session:
        running = bool(dashboard(session, now=now, stale_after=stale)["scheduler_running"])
    return {"scheduler_running": running, "processes": process_heartbeats(engine, now=now, stale_after=stale)}


def job_history(engine: Engine, job: str, *, actor: Actor, now: datetime, limit: int = 200) -> dict[str, Any]:
    """The job's last runs oldest first (id, created, duration, state) with its success rate and p50/p95.

    Raises:
        PermissionDenied: the actor may not read executions.
        JobNotFound: no such job.
    """
    check_reading(engine, actor, Permission.EXECUTIONS_READ, "read a job's history", now)
    with transaction(engine) as session:
        job_id = session.scalar(select(BatchJob.id).where(BatchJob.name == job.upper()))
        if job_id is None:
            raise JobNotFound(f"no job named {job!r}")
        rows = session.execute(
            select(BatchExecution.id, BatchExecution.created_at, BatchExecution.duration_ms, BatchExecution.state)
            .where(
                BatchExecution.job_id == job_id, BatchExecution.state.in_([s for s in ExecutionState if s.is_terminal])
            )
            .order_by(BatchExecution.id.desc())
            .limit(limit)
        ).all()
        usual = usual_durations(session, job_id)
    runs = [{"id": i, "at": at, "duration_ms": ms, "state": st.value} for i, at, ms, st in reversed(rows)]
    good = sum(1 for r in runs if r["state"] in ("succeeded", "warning"))
    return {
        "runs": runs,
        "success_rate": round(100 * good / len(runs), 1) if runs else None,
        "p50_ms": usual["p50_ms"],
        "p95_ms": usual["p95_ms"],
    }

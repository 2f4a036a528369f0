"""Read models for people: execution lists and details, the scheduler dashboard.

The dashboard is what ``acas-batch status`` prints and ``get_scheduler_dashboard()``
returns: counts by state, running executions with progress, the next runs, recent
failures, and the live processes.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acas_batch.batch.executions import get_execution
from acas_batch.errors import ValidationError
from acas_batch.models.batch import BatchExecution, BatchJob, BatchLog, BatchSchedule, BatchWorker
from acas_batch.models.enums import ExecutionState, WorkerState

FAILURE_STATES = (ExecutionState.FAILED, ExecutionState.TIMED_OUT)


def execution_dict(row: BatchExecution, job_name: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "job": job_name,
        "state": row.state.value,
        "business_date": row.business_date.isoformat(),
        "trigger": row.trigger.value,
        "attempt": row.attempt,
        "run_key": row.run_key,
        "priority": row.priority,
        "nominal_time": row.nominal_time,
        "created_at": row.created_at,
        "queued_at": row.queued_at,
        "not_before": row.not_before,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "duration_ms": row.duration_ms,
        "progress": [row.progress_done, row.progress_total] if row.progress_done is not None else None,
        "lease_owner": row.lease_owner,
        "root_execution_id": row.root_execution_id,
        "previous_execution_id": row.previous_execution_id,
        "triggered_by_execution_id": row.triggered_by_execution_id,
        "error_type": row.error_type,
        "error_message": row.error_message,
        "reason": row.reason,
        "forced": row.forced,
        "result": row.result,
        "output_dir": row.output_dir,
        "params": row.params,
    }


#: The most executions one listing returns.
MAX_LIST = 10_000


def list_executions(
    session: Session, *, state: str | None = None, job: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    if not 1 <= limit <= MAX_LIST:
        raise ValidationError(f"limit {limit} must be between 1 and {MAX_LIST}")
    stmt = select(BatchExecution, BatchJob.name).join(BatchJob, BatchJob.id == BatchExecution.job_id)
    if state:
        stmt = stmt.where(BatchExecution.state == ExecutionState(state))
    if job:
        stmt = stmt.where(BatchJob.name == job)
    rows = session.execute(stmt.order_by(BatchExecution.id.desc()).limit(limit)).all()
    return [execution_dict(row, name) for row, name in rows]


def execution_detail(session: Session, execution_id: int, *, log_limit: int = 200) -> dict[str, Any]:
    row = get_execution(session, execution_id)
    job = session.get_one(BatchJob, row.job_id)
    root = row.root_execution_id or row.id
    attempts = session.scalars(
        select(BatchExecution)
        .where((BatchExecution.id == root) | (BatchExecution.root_execution_id == root))
        .order_by(BatchExecution.id)
    ).all()
    logs = session.scalars(
        select(BatchLog).where(BatchLog.execution_id == row.id).order_by(BatchLog.id).limit(log_limit)
    ).all()
    return execution_dict(row, job.name) | {
        "attempts": [
            {"id": a.id, "attempt": a.attempt, "state": a.state.value, "error_type": a.error_type} for a in attempts
        ],
        "logs": [
            {"at": line.logged_at, "level": line.level.value, "event": line.event, "message": line.message}
            for line in logs
        ],
    }


def run_outcome(session: Session, execution_id: int) -> BatchExecution:
    """The newest attempt of the execution's run: its state is the run's outcome once terminal."""
    row = get_execution(session, execution_id)
    root = row.root_execution_id or row.id
    return session.scalars(
        select(BatchExecution)
        .where((BatchExecution.id == root) | (BatchExecution.root_execution_id == root))
        .order_by(BatchExecution.id.desc())
        .limit(1)
    ).one()


def live_workers(session: Session, *, now: datetime, stale_after: timedelta) -> list[BatchWorker]:
    """Schedulers and workers whose heartbeat is recent, less those on this host whose process is gone.

    A process killed or crashed on this machine is not shown running while its heartbeat ages
    (``stale_after``); one on another host is judged by its heartbeat alone.
    """
    here = socket.gethostname()
    return [
        w
        for w in session.scalars(
            select(BatchWorker)
            .where(BatchWorker.state == WorkerState.RUNNING, BatchWorker.heartbeat_at >= now - stale_after)
            .order_by(BatchWorker.started_at)
        )
        if not (w.hostname == here and w.pid and not _process_alive(w.pid))
    ]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def dashboard(session: Session, *, now: datetime, stale_after: timedelta, recent: int = 10) -> dict[str, Any]:
    """The scheduler dashboard (see the module docstring)."""
    counts = {s.value: 0 for s in ExecutionState}
    for state, n in session.execute(select(BatchExecution.state, func.count()).group_by(BatchExecution.state)):
        counts[state.value] = n
    running = session.execute(
        select(BatchExecution, BatchJob.name)
        .join(BatchJob, BatchJob.id == BatchExecution.job_id)
        .where(BatchExecution.state == ExecutionState.RUNNING)
        .order_by(BatchExecution.started_at)
    ).all()
    upcoming = session.execute(
        select(BatchSchedule, BatchJob.name)
        .join(BatchJob, BatchJob.id == BatchSchedule.job_id)
        .where(BatchSchedule.enabled.is_(True), BatchJob.enabled.is_(True), BatchSchedule.next_fire_at.is_not(None))
        .order_by(BatchSchedule.next_fire_at)
        .limit(recent)
    ).all()
    failures = session.execute(
        select(BatchExecution, BatchJob.name)
        .join(BatchJob, BatchJob.id == BatchExecution.job_id)
        .where(BatchExecution.state.in_(FAILURE_STATES))
        .order_by(BatchExecution.finished_at.desc(), BatchExecution.id.desc())
        .limit(recent)
    ).all()
    workers = live_workers(session, now=now, stale_after=stale_after)
    return {
        "now": now,
        "scheduler_running": any(w.role.value == "scheduler" for w in workers),
        "counts": counts,
        "running": [
            {
                "id": row.id,
                "job": name,
                "attempt": row.attempt,
                "started_at": row.started_at,
                "progress_done": row.progress_done,
                "progress_total": row.progress_total,
                "worker": row.lease_owner,
            }
            for row, name in running
        ],
        "next_runs": [
            {"schedule_id": s.id, "job": name, "schedule": s.name, "next_fire_at": s.next_fire_at}
            for s, name in upcoming
        ],
        "recent_failures": [
            {
                "id": row.id,
                "job": name,
                "state": row.state.value,
                "finished_at": row.finished_at,
                "error_type": row.error_type,
                "error_message": row.error_message,
            }
            for row, name in failures
        ],
        "workers": [
            {"id": w.id, "role": w.role.value, "host": w.hostname, "pid": w.pid, "heartbeat_at": w.heartbeat_at}
            for w in workers
        ],
    }


def _in_words(schedule: BatchSchedule) -> str:
    """The schedule's rule as the catalogue says it (``last business day of each month at 22:00``)."""
    from acas_batch.batch.rule_text import describe
    from acas_batch.batch.rules import rule_from_json
    from acas_batch.errors import ValidationError

    try:
        return describe(rule_from_json(schedule.kind, schedule.rule))
    except ValidationError as exc:
        return f"invalid rule: {exc}"


def schedule_list(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(BatchSchedule, BatchJob.name)
        .join(BatchJob, BatchJob.id == BatchSchedule.job_id)
        .order_by(BatchSchedule.next_fire_at, BatchSchedule.id)
    ).all()
    return [
        {
            "id": s.id,
            "job": name,
            "name": s.name,
            "kind": s.kind.value,
            "rule": s.rule,
            "summary": _in_words(s),
            "timezone": s.timezone,
            "shift_policy": s.shift_policy.value,
            "misfire_policy": s.misfire_policy.value,
            "misfire_grace_seconds": s.misfire_grace_seconds,
            "enabled": s.enabled,
            "start_held": s.start_held,
            "next_fire_at": s.next_fire_at,
            "last_fire_at": s.last_fire_at,
        }
        for s, name in rows
    ]

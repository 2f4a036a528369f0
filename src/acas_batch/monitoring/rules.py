"""Monitoring rules: each reads the batch tables as of ``now`` and returns findings.

Rules never write; :mod:`acas_batch.monitoring.monitor` turns findings into alerts.
Durations are compared with the job's own history (median of its last successful
runs), not with fixed limits, so a month-end close that always takes an hour is not
"slow" while a trial balance that usually takes a minute is.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from acas_batch.batch.executions import live_success
from acas_batch.models import (
    AlertSeverity,
    BatchExecution,
    BatchJob,
    BatchSchedule,
    BatchWorker,
    ExecutionState,
    WorkerRole,
)
from acas_batch.models.enums import WorkerState
from acas_batch.monitoring.findings import Finding
from acas_batch.monitoring.thresholds import Limit, ThresholdKind, Thresholds, runtime_limit_ms

FAILED_STATES = (ExecutionState.FAILED, ExecutionState.TIMED_OUT)
DONE_OK = (ExecutionState.SUCCEEDED, ExecutionState.WARNING)


def _about_run(
    ex: BatchExecution,
    rule: str,
    severity: AlertSeverity,
    *,
    title: str,
    message: str,
    details: dict[str, Any],
    key: str | None = None,
) -> Finding:
    """A finding about execution ``ex``, its job and id attached: one alert per execution (key
    ``<rule>:<id>``) unless ``key`` names what its repeated sightings share."""
    return Finding(
        rule=rule,
        severity=severity,
        dedup_key=key if key is not None else f"{rule}:{ex.id}",
        title=title,
        message=message,
        job_id=ex.job_id,
        execution_id=ex.id,
        details=details,
    )


def failures(session: Session, since: datetime, now: datetime) -> list[Finding]:
    """Final failures (no further attempt follows) that finished in (since, now]."""
    nxt = aliased(BatchExecution)
    rows = session.execute(
        select(BatchExecution, BatchJob.name, BatchJob.max_attempts)
        .join(BatchJob, BatchJob.id == BatchExecution.job_id)
        .where(
            BatchExecution.state.in_(FAILED_STATES),
            BatchExecution.finished_at > since,
            BatchExecution.finished_at <= now,
            ~exists().where(nxt.previous_execution_id == BatchExecution.id),
        )
        .order_by(BatchExecution.finished_at)
    ).all()
    found = []
    for ex, name, max_attempts in rows:
        what = "timed out" if ex.state is ExecutionState.TIMED_OUT else "failed"
        of = f"attempt {ex.attempt} of {max(max_attempts, ex.attempt)}"
        done = live_success(session, ex.run_key)
        settled = (
            f"; its run key already succeeded in execution {done.id}, so nothing is left to do "
            "and this alert resolves itself"
            if done is not None
            else ""
        )
        found.append(
            _about_run(
                ex,
                "failure",
                AlertSeverity.CRITICAL,
                key=f"failure:{ex.run_key}",  # every failure of the same work is one alert
                title=f"{name} {what} (business date {ex.business_date.isoformat()}, {of})",
                message=(
                    f"{name} execution {ex.id} {what} on {of}: "
                    f"{ex.error_type or 'error'}: {ex.error_message or 'no message'}{settled}"
                ),
                details={
                    "run_key": ex.run_key,
                    "attempt": ex.attempt,
                    "max_attempts": max_attempts,
                    "state": ex.state.value,
                    "error_type": ex.error_type,
                },
            )
        )
    return found


#: Error types that mean the job could not reach its database, not that its own code failed.
DATABASE_ERRORS = frozenset({"OperationalError", "InterfaceError", "DatabaseUnavailable", "ConnectionError"})


def database_unreachable(failures_found: Sequence[Finding], *, at_least: int = 3) -> list[Finding]:
    """Several final failures in one pass that all lost the database: one cause, one alert
    (it inhibits the job failures it explains)."""
    lost = [f for f in failures_found if f.details.get("error_type") in DATABASE_ERRORS]
    if len(lost) < at_least:
        return []
    return [
        Finding(
            rule="database_unreachable",
            severity=AlertSeverity.CRITICAL,
            dedup_key="database_unreachable",
            title=f"the database was unreachable: {len(lost)} jobs failed on it",
            message=(
                f"{len(lost)} executions failed with database connection errors "
                f"({', '.join(sorted({str(f.details.get('error_type')) for f in lost}))}); "
                "their own failure alerts are held back while this alert is open"
            ),
            details={"jobs": len(lost)},
        )
    ]


def _history_ms(session: Session, job_id: int, before: datetime, limit: int) -> list[int]:
    return [
        int(d)
        for d in session.scalars(
            select(BatchExecution.duration_ms)
            .where(
                BatchExecution.job_id == job_id,
                BatchExecution.state.in_(DONE_OK),
                BatchExecution.duration_ms.is_not(None),
                BatchExecution.finished_at < before,
            )
            .order_by(BatchExecution.finished_at.desc())
            .limit(limit)
        )
        if d is not None
    ]


def _usual(history: Sequence[int], min_history: int) -> float | None:
    return statistics.median(history) if len(history) >= min_history else None


def _runtime_limit(  # noqa: PLR0917
    session: Session, limits: Thresholds | None, job: BatchJob | None, job_id: int, before: datetime, factor: float
) -> float | None:
    limit = (limits or Thresholds(())).get(
        ThresholdKind.MAX_RUNTIME, job.name if job else None, job.module.value if job else None
    )
    if limit is None:
        return None
    if limits is None:  # the caller's own factor (the rule's historical signature)
        limit = Limit(ThresholdKind.MAX_RUNTIME, params={**limit.params, "factor": factor})
    history = _history_ms(session, job_id, before, int(limit.params.get("history", 20)))
    return runtime_limit_ms(limit, history)


def slow_runs(
    session: Session,
    since: datetime,
    now: datetime,
    *,
    factor: float = 2.0,
    min_history: int = 5,
    history: int = 20,
    limits: Thresholds | None = None,
) -> list[Finding]:
    """Successful runs in (since, now] that took more than ``factor`` × the job's usual duration."""
    rows = session.execute(
        select(BatchExecution, BatchJob.name)
        .join(BatchJob, BatchJob.id == BatchExecution.job_id)
        .where(
            BatchExecution.state.in_(DONE_OK),
            BatchExecution.finished_at > since,
            BatchExecution.finished_at <= now,
            BatchExecution.duration_ms.is_not(None),
        )
    ).all()
    found = []
    for ex, name in rows:
        assert ex.finished_at is not None and ex.duration_ms is not None
        usual = _usual(_history_ms(session, ex.job_id, ex.finished_at, history), min_history) or 0
        bound = _runtime_limit(session, limits, session.get(BatchJob, ex.job_id), ex.job_id, ex.finished_at, factor)
        if bound is None or bound <= 0 or ex.duration_ms <= bound:
            continue
        found.append(
            _about_run(
                ex,
                "slow_run",
                AlertSeverity.WARNING,
                title=(
                    f"{name} ran {ex.duration_ms / usual:.1f}× slower than usual"
                    if usual
                    else f"{name} ran past its limit of {bound / 1000:.0f} s"
                ),
                message=(
                    f"{name} execution {ex.id} took {ex.duration_ms / 1000:.1f} s; usually {usual / 1000:.1f} s, "
                    f"limit {bound / 1000:.1f} s"
                ),
                details={"duration_ms": ex.duration_ms, "usual_ms": usual},
            )
        )
    return found


def running_long(
    session: Session,
    now: datetime,
    *,
    factor: float = 2.0,
    min_history: int = 5,
    history: int = 20,
    limits: Thresholds | None = None,
) -> list[Finding]:
    """Running executions already past ``factor`` × their usual duration: predicted late."""
    rows = session.execute(
        select(BatchExecution, BatchJob.name)
        .join(BatchJob, BatchJob.id == BatchExecution.job_id)
        .where(BatchExecution.state == ExecutionState.RUNNING, BatchExecution.started_at.is_not(None))
    ).all()
    found = []
    for ex, name in rows:
        assert ex.started_at is not None
        usual = _usual(_history_ms(session, ex.job_id, now, history), min_history) or 0
        elapsed_ms = (now - ex.started_at).total_seconds() * 1000
        bound = _runtime_limit(session, limits, session.get(BatchJob, ex.job_id), ex.job_id, now, factor)
        if bound is None or bound <= 0 or elapsed_ms <= bound:
            continue
        found.append(
            _about_run(
                ex,
                "running_long",
                AlertSeverity.WARNING,
                title=f"{name} is running longer than usual",
                message=f"{name} execution {ex.id} has run {elapsed_ms / 1000:.0f} s; usually {usual / 1000:.1f} s",
                details={"elapsed_ms": int(elapsed_ms), "usual_ms": usual},
            )
        )
    return found


def late_starts(
    session: Session, now: datetime, *, tolerance: timedelta = timedelta(minutes=30), limits: Thresholds | None = None
) -> list[Finding]:
    """Scheduled executions that have not started ``tolerance`` (or their job's ``late_start``
    threshold, in minutes) after their nominal time."""
    rows = session.execute(
        select(BatchExecution, BatchJob.name)
        .join(BatchJob, BatchJob.id == BatchExecution.job_id)
        .where(
            BatchExecution.state.in_((ExecutionState.PENDING, ExecutionState.QUEUED)),
            BatchExecution.nominal_time.is_not(None),
            BatchExecution.nominal_time < now - (timedelta(0) if limits is not None else tolerance),
        )
    ).all()
    found = []
    for ex, name in rows:
        assert ex.nominal_time is not None
        if limits is not None:
            job = session.get(BatchJob, ex.job_id)
            limit = limits.get(ThresholdKind.LATE_START, name, job.module.value if job else None)
            allowed = timedelta(minutes=limit.warning) if limit and limit.warning is not None else tolerance
            if ex.nominal_time >= now - allowed:
                continue
        late_min = int((now - ex.nominal_time).total_seconds() // 60)
        found.append(
            _about_run(
                ex,
                "late",
                AlertSeverity.WARNING,
                title=f"{name} for {ex.business_date.isoformat()} has not started",
                message=(
                    f"{name} execution {ex.id} was due at {ex.nominal_time.isoformat()} and is still "
                    f"{ex.state.value} {late_min} minutes later"
                ),
                details={"minutes_late": late_min, "state": ex.state.value},
            )
        )
    return found


def missed_schedules(session: Session, now: datetime, *, grace: timedelta = timedelta(minutes=15)) -> list[Finding]:
    """Enabled schedules whose next occurrence passed ``grace`` ago without being taken up."""
    rows = session.execute(
        select(BatchSchedule, BatchJob.name)
        .join(BatchJob, BatchJob.id == BatchSchedule.job_id)
        .where(
            BatchSchedule.enabled.is_(True),
            BatchJob.enabled.is_(True),
            BatchSchedule.next_fire_at.is_not(None),
            BatchSchedule.next_fire_at < now - grace,
        )
    ).all()
    found = []
    for sched, name in rows:
        assert sched.next_fire_at is not None
        found.append(
            Finding(
                rule="missed",
                severity=AlertSeverity.CRITICAL,
                dedup_key=f"missed:{sched.id}:{sched.next_fire_at.isoformat()}",
                title=f"{name}: the run due at {sched.next_fire_at.isoformat()} was not started",
                message=(
                    f"schedule {sched.name!r} of {name} was due at {sched.next_fire_at.isoformat()}; "
                    "no scheduler has taken it up (is the scheduler running?)"
                ),
                job_id=sched.job_id,
                details={"schedule_id": sched.id},
            )
        )
    return found


def lost_processes(session: Session, since: datetime, now: datetime) -> list[Finding]:
    """Schedulers and workers marked lost in (since, now]: one alert each, raised once.

    A live process marks a silent one lost (``batch.liveness``); the mark's time is its
    ``stopped_at``, so a later pass over a later window never sees it again.
    """
    rows = session.scalars(
        select(BatchWorker)
        .where(BatchWorker.state == WorkerState.LOST, BatchWorker.stopped_at > since, BatchWorker.stopped_at <= now)
        .order_by(BatchWorker.stopped_at)
    ).all()
    return [
        Finding(
            rule="process_lost",
            severity=AlertSeverity.WARNING,
            dedup_key=f"process_lost:{w.id}",
            title=f"{w.role.value} {w.id} lost",
            message=(
                f"{w.role.value} {w.id} (host {w.hostname}, pid {w.pid}) stopped heartbeating at "
                f"{w.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC and was marked lost by "
                f"{(w.info or {}).get('lost_by', 'a live process')}; its running work was recovered"
            ),
            details={"process": w.id, "role": w.role.value, "hostname": w.hostname, "pid": w.pid},
        )
        for w in rows
    ]


def scheduler_dead(session: Session, now: datetime, *, limit: timedelta) -> list[Finding]:
    """The sentinel: the newest scheduler tick is older than ``limit`` while schedules are enabled.

    A scheduler records a heartbeat at the end of every tick (``batch_worker_rec``), so a
    killed, hung or stopped scheduler shows here whatever its row's state says. Any process
    that reaches the database can run this (``acas-batch monitor run`` from the system cron).
    An installation whose scheduler never ran has no row and is not alerted.
    """
    last = session.scalar(select(func.max(BatchWorker.heartbeat_at)).where(BatchWorker.role == WorkerRole.SCHEDULER))
    if last is None or now - last <= limit:
        return []
    if session.scalar(select(BatchSchedule.id).where(BatchSchedule.enabled.is_(True)).limit(1)) is None:
        return []
    silent = int((now - last).total_seconds())
    return [
        Finding(
            rule="scheduler_dead",
            severity=AlertSeverity.CRITICAL,
            dedup_key="scheduler_dead",
            title=f"no scheduler has ticked for {silent // 60} min: nothing scheduled will start",
            message=(
                f"the last scheduler tick was at {last.isoformat()} ({silent} s ago, "
                f"limit {int(limit.total_seconds())} s); "
                "start it (`acas-batch scheduler start`) or find out why it stopped"
            ),
            details={"last_tick": last.isoformat(), "silent_seconds": silent},
        )
    ]


def skip_reason_code(reason: str | None) -> str:
    """A machine-readable code for the reason a scheduler recorded on a SKIPPED occurrence."""
    text = (reason or "").lower()
    if text.startswith("misfire (run_latest)"):
        return "misfire_superseded"
    if text.startswith("misfire"):
        return "misfire_past_grace"
    if "already succeeded" in text:
        return "run_key_already_succeeded"
    if any(w in text for w in ("holiday", "weekend", "closure", "business day", "saturday", "sunday")):
        return "non_business_day"
    return "other"


def skipped(session: Session, since: datetime, now: datetime) -> list[Finding]:
    """Occurrences recorded SKIPPED in (since, now]: quiet (info) alerts, each with its reason code."""
    rows = session.execute(
        select(BatchExecution, BatchJob.name)
        .join(BatchJob, BatchJob.id == BatchExecution.job_id)
        .where(
            BatchExecution.state == ExecutionState.SKIPPED,
            BatchExecution.created_at > since,
            BatchExecution.created_at <= now,
        )
    ).all()
    return [
        _about_run(
            ex,
            "skipped",
            AlertSeverity.INFO,
            title=f"{name} for {ex.business_date.isoformat()} was skipped ({skip_reason_code(ex.reason)})",
            message=f"{name} execution {ex.id} skipped: {ex.reason or 'no reason recorded'}",
            details={
                "reason_code": skip_reason_code(ex.reason),
                "reason": ex.reason,
                "nominal_time": ex.nominal_time.isoformat() if ex.nominal_time else None,
            },
        )
        for ex, name in rows
    ]

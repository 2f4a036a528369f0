"""Prometheus metrics read from the database at scrape time.

Every value comes from the tables, so any number of scheduler and worker processes, on any
number of hosts, is counted once. Labels are the job name and the outcome only (a bounded
set); times are seconds since the epoch, durations in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

from acas_batch import __version__
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.models import BatchExecution, BatchJob, BatchSchedule, BatchWorker
from acas_batch.models.enums import ExecutionState, WorkerRole
from acas_batch.monitoring.deadlines import Instance

#: Upper bounds (seconds) of the run duration histogram's buckets.
DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)

_TERMINAL = tuple(s for s in ExecutionState if s.is_terminal)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def exposition(engine: Engine, *, now: datetime, settings: Settings | None = None) -> str:
    """The metrics in Prometheus' text format (version 0.0.4); with ``settings`` (the business
    calendar), each deadline's next due time, predicted finish and slack too."""
    out: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")

    with transaction(engine) as session:
        names: dict[int, str] = dict(session.execute(select(BatchJob.id, BatchJob.name)).all())
        by_outcome = session.execute(
            select(BatchExecution.job_id, BatchExecution.state, func.count())
            .where(BatchExecution.state.in_(_TERMINAL))
            .group_by(BatchExecution.job_id, BatchExecution.state)
        ).all()
        bucket_cols = [
            func.sum(case((BatchExecution.duration_ms <= int(b * 1000), 1), else_=0)) for b in DURATION_BUCKETS
        ]
        durations = session.execute(
            select(
                BatchExecution.job_id,
                func.count(BatchExecution.duration_ms),
                func.coalesce(func.sum(BatchExecution.duration_ms), 0),
                *bucket_cols,
            )
            .where(BatchExecution.duration_ms.is_not(None), BatchExecution.state.in_(_TERMINAL))
            .group_by(BatchExecution.job_id)
        ).all()
        queued, oldest = session.execute(
            select(func.count(), func.min(BatchExecution.queued_at)).where(
                BatchExecution.state == ExecutionState.QUEUED
            )
        ).one()
        last_success = session.execute(
            select(BatchExecution.job_id, func.max(BatchExecution.finished_at))
            .where(BatchExecution.state == ExecutionState.SUCCEEDED)
            .group_by(BatchExecution.job_id)
        ).all()
        next_due = session.execute(
            select(BatchSchedule.job_id, func.min(BatchSchedule.next_fire_at))
            .where(BatchSchedule.enabled.is_(True), BatchSchedule.next_fire_at.is_not(None))
            .group_by(BatchSchedule.job_id)
        ).all()
        last_tick = session.scalar(
            select(func.max(BatchWorker.heartbeat_at)).where(BatchWorker.role == WorkerRole.SCHEDULER)
        )
        deadlines = _next_deadlines(session, settings, now) if settings is not None else []

    family("acas_batch_runs_total", "counter", "Finished executions by job and outcome.")
    for job_id, state, n in sorted(by_outcome, key=lambda r: (names.get(r[0], ""), r[1].value)):
        out.append(f'acas_batch_runs_total{{job="{_label(names.get(job_id, "?"))}",outcome="{state.value}"}} {n}')

    family("acas_batch_run_duration_seconds", "histogram", "Duration of finished executions by job.")
    for row in sorted(durations, key=lambda r: names.get(r[0], "")):
        job = _label(names.get(row[0], "?"))
        count, total = int(row[1]), int(row[2])
        for bound, n in zip(DURATION_BUCKETS, row[3:], strict=True):
            out.append(f'acas_batch_run_duration_seconds_bucket{{job="{job}",le="{_num(bound)}"}} {int(n or 0)}')
        out.append(f'acas_batch_run_duration_seconds_bucket{{job="{job}",le="+Inf"}} {count}')
        out.append(f'acas_batch_run_duration_seconds_sum{{job="{job}"}} {_num(total / 1000)}')
        out.append(f'acas_batch_run_duration_seconds_count{{job="{job}"}} {count}')

    family("acas_batch_queued", "gauge", "Executions waiting for a worker.")
    out.append(f"acas_batch_queued {int(queued)}")
    family("acas_batch_oldest_queued_age_seconds", "gauge", "How long the oldest queued execution has waited.")
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    out.append(f"acas_batch_oldest_queued_age_seconds {_num(round(age, 3))}")

    family("acas_batch_last_success_timestamp_seconds", "gauge", "When each job last succeeded.")
    for job_id, at in sorted(last_success, key=lambda r: names.get(r[0], "")):
        if at is not None:
            out.append(
                f'acas_batch_last_success_timestamp_seconds{{job="{_label(names.get(job_id, "?"))}"}} '
                f"{_num(round(at.timestamp(), 3))}"
            )
    family("acas_batch_next_due_timestamp_seconds", "gauge", "When each job's next scheduled run is due.")
    for job_id, at in sorted(next_due, key=lambda r: names.get(r[0], "")):
        if at is not None:
            out.append(
                f'acas_batch_next_due_timestamp_seconds{{job="{_label(names.get(job_id, "?"))}"}} '
                f"{_num(round(at.timestamp(), 3))}"
            )
    family("acas_batch_scheduler_last_tick_timestamp_seconds", "gauge", "The newest scheduler heartbeat.")
    out.append(
        "acas_batch_scheduler_last_tick_timestamp_seconds "
        + (_num(round(last_tick.timestamp(), 3)) if last_tick is not None else "0")
    )
    if deadlines:
        _deadline_families(out, family, deadlines)
    family("acas_batch_build_info", "gauge", "The running version of acas-batch.")
    out.append(f'acas_batch_build_info{{version="{_label(__version__)}"}} 1')
    return "\n".join(out) + "\n"


def _next_deadlines(session: Session, settings: Settings, now: datetime) -> list[Instance]:
    """Each enabled deadline's next instant (the first not yet due), estimated."""
    from acas_batch.services.deadlines import deadline_instances

    nxt: dict[int, Instance] = {}
    for i in deadline_instances(session, settings, now=now):
        if i.due > now and i.deadline.id not in nxt:
            nxt[i.deadline.id] = i
    return sorted(nxt.values(), key=lambda i: i.deadline.name)


def _deadline_families(out: list[str], family: Callable[[str, str, str], None], found: list[Instance]) -> None:
    def labels(i: Instance) -> str:
        return f'{{deadline="{_label(i.deadline.name)}",job="{_label(i.deadline.job_name)}"}}'

    family("acas_batch_deadline_due_timestamp_seconds", "gauge", "When each deadline next falls due.")
    for i in found:
        out.append(f"acas_batch_deadline_due_timestamp_seconds{labels(i)} {_num(round(i.due.timestamp(), 3))}")
    family(
        "acas_batch_deadline_predicted_finish_timestamp_seconds", "gauge",
        "The predicted finish of the occurrence each deadline watches (absent when blocked or none is due).",
    )  # fmt: skip
    for i in found:
        if i.estimate is not None and i.estimate.finish is not None:
            out.append(
                f"acas_batch_deadline_predicted_finish_timestamp_seconds{labels(i)} "
                f"{_num(round(i.estimate.finish.timestamp(), 3))}"
            )
    family(
        "acas_batch_deadline_slack_seconds", "gauge",
        "Deadline minus predicted finish: negative means it will be missed (absent when blocked or none is due).",
    )  # fmt: skip
    for i in found:
        if i.slack is not None:
            out.append(f"acas_batch_deadline_slack_seconds{labels(i)} {_num(round(i.slack.total_seconds(), 3))}")
    family("acas_batch_deadline_blocked", "gauge", "1 when a failure, cancellation or hold upstream blocks the chain.")
    for i in found:
        out.append(f"acas_batch_deadline_blocked{labels(i)} {int(i.estimate is not None and i.estimate.blocked)}")

"""What the job page shows beside the definition: how dependably the job runs, the jobs around it
with their latest state, and its next runs with what each will wait for.

One read, :func:`job_board`. For each next run, every job it waits for (a WAIT edge) is looked
up on that business date (within the edge's look-back): a run already made (its state), an
occurrence its schedules foresee (*expected at* a time), or nothing, which would leave the run
waiting until its wait deadline: that is what an operator wants to see before month end.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.batch.schedules import company_calendar, forecast_schedules, load_schedules, next_of_schedules
from acas_batch.config import Settings
from acas_batch.errors import JobNotFound
from acas_batch.logs.reliability import reliability_scores
from acas_batch.models import BatchDependency, BatchExecution, BatchJob
from acas_batch.models.enums import DependencyKind, ExecutionState
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services.door import read

#: The window the reliability score covers.
RELIABILITY_DAYS = 30
#: How many next runs and recent failures the page lists.
NEXT_RUNS = 8
LAST_FAILURES = 5
_FAILED = (ExecutionState.FAILED, ExecutionState.TIMED_OUT)


def _latest(session: Session, job_id: int) -> dict[str, Any] | None:
    row = session.scalars(
        select(BatchExecution).where(BatchExecution.job_id == job_id).order_by(BatchExecution.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return {
        "id": row.id,
        "state": row.state.value,
        "business_date": row.business_date,
        "finished_at": row.finished_at,
    }


def _neighbours(session: Session, job_id: int, *, upstream: bool) -> list[dict[str, Any]]:
    """The jobs this one waits for or is triggered by (``upstream``), or that wait for or follow it."""
    mine = BatchDependency.job_id if upstream else BatchDependency.depends_on_job_id
    other = BatchDependency.depends_on_job_id if upstream else BatchDependency.job_id
    rows = session.execute(
        select(BatchDependency, BatchJob.id, BatchJob.name)
        .join(BatchJob, BatchJob.id == other)
        .where(mine == job_id)
        .order_by(BatchJob.name, BatchDependency.kind)
    ).all()
    return [
        {
            "job": name,
            "kind": edge.kind.value,
            "condition": edge.condition.value,
            "lookback_days": edge.lookback_days,
            "latest": _latest(session, other_id),
        }
        for edge, other_id, name in rows
    ]


def _failures(session: Session, job_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(BatchExecution)
        .where(BatchExecution.job_id == job_id, BatchExecution.state.in_(_FAILED))
        .order_by(BatchExecution.id.desc())
        .limit(LAST_FAILURES)
    )
    return [
        {
            "id": r.id,
            "state": r.state.value,
            "business_date": r.business_date,
            "finished_at": r.finished_at,
            "attempt": r.attempt,
            "error": f"{r.error_type}: {r.error_message}" if r.error_type else (r.error_message or ""),
        }
        for r in rows
    ]


def _waits(
    session: Session, settings: Settings, upstream: list[dict[str, Any]], days: list[date]
) -> dict[date, list[dict[str, Any]]]:
    """For each business date in ``days``: every WAIT upstream job and what it has or will have then."""
    waits = [u for u in upstream if u["kind"] == DependencyKind.WAIT.value]
    if not waits or not days:
        return {}
    calendar = company_calendar(session, settings)
    first = min(days) - timedelta(days=max(u["lookback_days"] for u in waits))
    last = max(days)
    out: dict[date, list[dict[str, Any]]] = {d: [] for d in days}
    for u in waits:
        up_id = session.scalar(select(BatchJob.id).where(BatchJob.name == u["job"]))
        made = session.execute(
            select(BatchExecution.id, BatchExecution.state, BatchExecution.business_date)
            .where(
                BatchExecution.job_id == up_id,
                BatchExecution.business_date >= first,
                BatchExecution.business_date <= last,
            )
            .order_by(BatchExecution.id)
        ).all()
        # A long range (a yearly job's next runs) is forecast up to a year ahead; beyond it, say so.
        horizon = min(last, first + timedelta(days=366))
        foreseen = forecast_schedules(load_schedules(session, job=u["job"]), calendar, first, horizon)
        for day in days:
            earliest = day - timedelta(days=u["lookback_days"])
            runs = [(i, s) for i, s, d in made if earliest <= d <= day]
            planned = [o for _, o in foreseen if earliest <= o.business_date <= day and o.skipped_reason is None]
            entry: dict[str, Any] = {"job": u["job"], "condition": u["condition"]}
            if runs:
                entry |= {"status": runs[-1][1].value, "execution_id": runs[-1][0]}
            elif planned:
                entry |= {"status": "expected", "at": planned[0].nominal}
            elif day > horizon:
                entry |= {"status": "not forecast"}
            else:
                entry |= {"status": "no run scheduled"}
            out[day].append(entry)
    return out


def job_board(engine: Engine, settings: Settings, actor: Actor, job: str, *, now: datetime) -> dict[str, Any]:
    """The job's reliability, its neighbours with their latest state and its next runs with their waits.

    Returns ``reliability`` (score, runs, successes and first-attempt successes over
    :data:`RELIABILITY_DAYS`), ``last_failures``, ``upstream`` and ``downstream`` (job, kind,
    condition, latest run) and ``next_runs`` (nominal time, business date, note, ``waits``).

    Raises:
        JobNotFound: no such job.
        PermissionDenied: the actor may not read jobs.
    """

    def act(session: Session) -> dict[str, Any]:
        job_id = session.scalar(select(BatchJob.id).where(BatchJob.name == job.upper()))
        if job_id is None:
            raise JobNotFound(f"no job named {job!r}")
        name = job.upper()
        scores = reliability_scores(session, since=now - timedelta(days=RELIABILITY_DAYS), job=name)
        upstream = _neighbours(session, job_id, upstream=True)
        calendar = company_calendar(session, settings)
        coming = [o for _, o in next_of_schedules(load_schedules(session, job=name), calendar, now, NEXT_RUNS)]
        waits = _waits(session, settings, upstream, sorted({o.business_date for o in coming}))
        return {
            "reliability": scores[0].as_dict() | {"days": RELIABILITY_DAYS} if scores else None,
            "last_failures": _failures(session, job_id),
            "upstream": upstream,
            "downstream": _neighbours(session, job_id, upstream=False),
            "next_runs": [
                {
                    "nominal": o.nominal,
                    "business_date": o.business_date,
                    "skipped_reason": o.skipped_reason,
                    "note": "" if o.skipped_reason is None else calendar.non_business_reason(o.business_date) or "",
                    "waits": waits.get(o.business_date, []),
                }
                for o in coming
            ],
        }

    return read(engine, actor, Permission.JOBS_READ, act, what=f"job {job}", now=now)

"""Executions as the dashboard and the REST API list and read them (starting and acting on
them: ``run_actions.py``; the overview, live marker and a job's history: ``run_board.py``).

The runs list is filtered by job, module, state, trigger, business dates and user, with
negative job patterns (``-SYS_*``), and paged by keyset (``id < cursor``, newest first): no
``COUNT(*)`` and no ``OFFSET``, so the first page costs the same at a million rows as at ten.

Every function takes the acting :class:`Actor` and asks the services' door (``door.py``) before it
reads anything: the faces check no permission themselves. A refusal raises
:class:`PermissionDenied` and writes nothing but its own audit row.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.orm import Session

from acas_batch.batch import operations
from acas_batch.batch.outputs import recorded_folder
from acas_batch.batch.status import execution_detail
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import (
    ExecutionNotFound,
    NotFound,
    ValidationError,
)
from acas_batch.masking import mask_any
from acas_batch.models import BatchDependency, BatchExecution, BatchJob
from acas_batch.models.enums import ExecutionState, Module, TriggerKind
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services import door, inputs

#: Rows per page when the caller names no limit, and the most a caller may ask for.
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class RunQuery:
    """A filter over executions; every field is optional. Parsed from a URL by :func:`parse_run_query`."""

    jobs: tuple[str, ...] = ()  # names or shell patterns (GL_*) to include
    hide: tuple[str, ...] = ()  # names or shell patterns to leave out (SYS_*)
    module: Module | None = None
    states: tuple[ExecutionState, ...] = ()
    triggers: tuple[TriggerKind, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    user: str | None = None
    before: int | None = None  # keyset cursor: ids below this one
    limit: int = DEFAULT_LIMIT

    def as_params(self) -> dict[str, str]:
        """The filter as URL query parameters (the cursor and limit left out)."""
        out: dict[str, str] = {}
        if self.jobs:
            out["job"] = ",".join(self.jobs)
        if self.hide:
            out["hide"] = ",".join(self.hide)
        if self.module:
            out["module"] = self.module.value
        if self.states:
            out["state"] = ",".join(s.value for s in self.states)
        if self.triggers:
            out["trigger"] = ",".join(t.value for t in self.triggers)
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        if self.user:
            out["user"] = self.user
        return out


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


def _day(name: str, value: str | None) -> date | None:
    if not value:
        return None
    return operations.parse_business_date(value) if value.strip() else None


def parse_run_query(raw: Mapping[str, str | None]) -> RunQuery:
    """Read a runs filter from URL parameters: ``job``, ``hide``, ``module``, ``state``, ``trigger``
    (comma-separated), ``from``, ``to`` (business dates), ``user``, ``before``, ``limit``.

    A job given as ``-NAME`` or ``!NAME`` is a negative filter, as ``hide`` is.

    Raises:
        ValidationError: naming the parameter and the value.
    """
    for key, value in raw.items():
        refuse_nul(key, value)
    include: list[str] = []
    exclude = list(_split(raw.get("hide")))
    for name in _split(raw.get("job")):
        if name[0] in "-!":
            exclude.append(name[1:].upper())
        else:
            include.append(name.upper())
    try:
        module = Module(str(raw["module"]).upper()) if raw.get("module") else None
    except ValueError:
        raise ValidationError(f"module {raw.get('module')!r} is not one of GL, SL, PL, ST, SYS") from None
    states = []
    for value in _split(raw.get("state")):
        try:
            states.append(ExecutionState(value.lower()))
        except ValueError:
            known = ", ".join(s.value for s in ExecutionState)
            raise ValidationError(f"state {value!r} is not one of {known}") from None
    triggers = []
    for value in _split(raw.get("trigger")):
        try:
            triggers.append(TriggerKind(value.lower()))
        except ValueError:
            known = ", ".join(t.value for t in TriggerKind)
            raise ValidationError(f"trigger {value!r} is not one of {known}") from None
    try:
        date_from = _day("from", raw.get("from"))
        date_to = _day("to", raw.get("to"))
    except ValidationError as exc:
        raise ValidationError(str(exc).replace("business_date", "date")) from None
    if date_from and date_to and date_to < date_from:
        raise ValidationError(f"to {date_to} is before from {date_from}")
    before = _int("before", raw.get("before"), minimum=1)
    limit = _int("limit", raw.get("limit"), minimum=1) or DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise ValidationError(f"limit {limit} is more than {MAX_LIMIT}")
    return RunQuery(
        jobs=tuple(include),
        hide=tuple(p.upper() for p in exclude),
        module=module,
        states=tuple(states),
        triggers=tuple(triggers),
        date_from=date_from,
        date_to=date_to,
        user=(raw.get("user") or "").strip() or None,
        before=before,
        limit=limit,
    )


def refuse_nul(name: str, value: str | None) -> None:
    """Refuse a NUL character, which no name holds (and PostgreSQL cannot compare text with).

    Raises:
        ValidationError: naming the parameter.
    """
    if value and "\x00" in value:
        raise ValidationError(f"{name} holds a NUL character", fields={name: "NUL character"})


def _int(name: str, value: str | None, *, minimum: int) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = int(str(value))
    except ValueError:
        raise ValidationError(f"{name} {value!r} is not a whole number") from None
    if number < minimum:
        raise ValidationError(f"{name} {number} is below {minimum}")
    if number > 2**63 - 1:
        raise ValidationError(f"{name} {number} is too large")
    return number


@dataclass(frozen=True)
class RunPage:
    """One page of runs, newest first, and the cursor of the next (None on the last page)."""

    rows: list[dict[str, Any]]
    next_before: int | None
    newest_id: int | None = None
    jobs: list[str] = field(default_factory=list)


def _jobs(session: Session) -> list[tuple[int, str, Module]]:
    """Every job's id, name and module (a few dozen rows)."""
    return [(i, n, m) for i, n, m in session.execute(select(BatchJob.id, BatchJob.name, BatchJob.module))]


def _job_ids(jobs: list[tuple[int, str, Module]], q: RunQuery) -> list[int] | None:
    """The ids of the jobs the filter allows; None when it allows every job."""
    if not (q.jobs or q.hide or q.module):
        return None
    chosen = []
    for job_id, name, module in jobs:
        if q.module is not None and module is not q.module:
            continue
        if q.jobs and not any(fnmatch.fnmatchcase(name, p) for p in q.jobs):
            continue
        if any(fnmatch.fnmatchcase(name, p) for p in q.hide):
            continue
        chosen.append(job_id)
    return chosen


def run_filter(session: Session, q: RunQuery, jobs: list[tuple[int, str, Module]] | None = None) -> list[Any]:
    """The filter as conditions on executions; each has an index that leads with its column and
    ends with the id, so a page is read in id order from one index range (see ``0028_runs_indexes``)."""
    conds: list[Any] = []
    ids = _job_ids(_jobs(session) if jobs is None else jobs, q)
    if ids is not None:
        conds.append(BatchExecution.job_id.in_(ids) if ids else BatchExecution.id < 0)
    if q.states:
        conds.append(BatchExecution.state.in_(q.states))
    if q.triggers:
        conds.append(BatchExecution.trigger.in_(q.triggers))
    if q.date_from:
        conds.append(BatchExecution.business_date >= q.date_from)
    if q.date_to:
        conds.append(BatchExecution.business_date <= q.date_to)
    if q.user:
        conds.append(BatchExecution.created_by == q.user)
    return conds


#: What a runs list shows of an execution: never its parameters, checkpoint or result, which may be large.
_LISTED = (
    BatchExecution.id,
    BatchExecution.job_id,
    BatchExecution.state,
    BatchExecution.trigger,
    BatchExecution.business_date,
    BatchExecution.attempt,
    BatchExecution.created_at,
    BatchExecution.started_at,
    BatchExecution.finished_at,
    BatchExecution.duration_ms,
    BatchExecution.progress_done,
    BatchExecution.progress_total,
    BatchExecution.created_by,
    BatchExecution.error_type,
)


def _row(e: Any, job: str) -> dict[str, Any]:
    return {
        "id": e.id,
        "job": job,
        "state": e.state.value,
        "trigger": e.trigger.value,
        "business_date": e.business_date.isoformat(),
        "attempt": e.attempt,
        "created_at": e.created_at,
        "started_at": e.started_at,
        "finished_at": e.finished_at,
        "duration_ms": e.duration_ms,
        "progress": [e.progress_done, e.progress_total] if e.progress_done is not None else None,
        "created_by": e.created_by,
        "error_type": e.error_type,
    }


def check_reading(engine: Engine, actor: Actor, permission: Permission, what: str, now: datetime) -> None:
    """Check a read permission through the door (a refusal is audited).

    Raises:
        PermissionDenied: the actor lacks ``permission``.
    """
    door.read(engine, actor, permission, lambda _s: None, what=what, now=now)


#: A business-date range at most this wide is read through its own index (see :func:`list_runs`).
NARROW_RANGE = timedelta(days=92)


def _narrow(q: RunQuery, today: date) -> bool:
    """Whether ``q`` names a business-date range of at most :data:`NARROW_RANGE` (an open end: today)."""
    if q.date_from is None:
        return False
    return (q.date_to or max(today, q.date_from)) - q.date_from <= NARROW_RANGE


def list_runs(engine: Engine, q: RunQuery, *, actor: Actor, now: datetime) -> RunPage:
    """One page of executions matching ``q``, newest first (see the module docstring).

    Raises:
        PermissionDenied: the actor may not read executions.
    """
    check_reading(engine, actor, Permission.EXECUTIONS_READ, "list runs", now)
    with transaction(engine) as session:
        jobs = _jobs(session)
        conds = run_filter(session, q, jobs)
        if q.before is not None:
            conds.append(BatchExecution.id < q.before)
        # The page's ids first (from an index alone where one covers the filter), then the listed
        # columns of those rows alone.
        newest = BatchExecution.id.desc()
        if _narrow(q, now.date()):
            # Both planners walk the primary key newest first expecting a match every few rows; for
            # dates in the past the first comes only after every newer run (half the table for a month
            # a year and a half back). A narrow range's own index holds a few thousand entries: read
            # those and sort their ids ("+ 0" keeps the primary key's order out of the plan).
            newest = (BatchExecution.id + 0).desc()
        page = select(BatchExecution.id).where(and_(True, *conds)).order_by(newest).limit(q.limit + 1).subquery()
        found = session.execute(
            select(*_LISTED).where(BatchExecution.id.in_(select(page.c.id))).order_by(BatchExecution.id.desc())
        ).all()
    names = {job_id: name for job_id, name, _ in jobs}
    rows = [_row(e, names[e.job_id]) for e in found[: q.limit]]
    more = len(found) > q.limit
    return RunPage(
        rows=rows,
        next_before=rows[-1]["id"] if more and rows else None,
        newest_id=rows[0]["id"] if rows else None,
        jobs=sorted(names.values()),
    )


def count_newer(engine: Engine, q: RunQuery, after_id: int, *, actor: Actor, now: datetime) -> int:
    """How many executions matching ``q`` are newer than ``after_id`` (the "N new runs" control).

    Counts only the id range above ``after_id``, which the primary key bounds.

    Raises:
        PermissionDenied: the actor may not read executions.
    """
    check_reading(engine, actor, Permission.EXECUTIONS_READ, "count new runs", now)
    with transaction(engine) as session:
        conds = [*run_filter(session, q), BatchExecution.id > after_id]
        return int(session.scalar(select(func.count()).select_from(BatchExecution).where(*conds)) or 0)


def usual_durations(session: Session, job_id: int) -> dict[str, int | None]:
    """The job's median and 95th percentile duration over its last 50 successes."""
    durations = sorted(
        d
        for d in session.scalars(
            select(BatchExecution.duration_ms)
            .where(
                BatchExecution.job_id == job_id,
                BatchExecution.state == ExecutionState.SUCCEEDED,
                BatchExecution.duration_ms.is_not(None),
            )
            .order_by(BatchExecution.id.desc())
            .limit(50)
        )
        if d is not None
    )
    if not durations:
        return {"p50_ms": None, "p95_ms": None, "runs": 0}
    return {
        "p50_ms": durations[len(durations) // 2],
        "p95_ms": durations[min(len(durations) - 1, int(len(durations) * 0.95))],
        "runs": len(durations),
    }


def _neighbours(session: Session, row: BatchExecution, *, upstream: bool) -> list[dict[str, Any]]:
    """The latest run on the same business date of each job this one waits for (or that waits for it)."""
    if upstream:
        edge_jobs = select(BatchDependency.depends_on_job_id).where(BatchDependency.job_id == row.job_id)
    else:
        edge_jobs = select(BatchDependency.job_id).where(BatchDependency.depends_on_job_id == row.job_id)
    jobs = session.execute(select(BatchJob.id, BatchJob.name).where(BatchJob.id.in_(edge_jobs))).all()
    out = []
    for job_id, name in sorted(jobs, key=lambda j: j[1]):
        latest = session.scalars(
            select(BatchExecution)
            .where(BatchExecution.job_id == job_id, BatchExecution.business_date == row.business_date)
            .order_by(BatchExecution.id.desc())
            .limit(1)
        ).first()
        out.append({"job": name, "id": latest.id if latest else None, "state": latest.state.value if latest else None})
    return out


def output_files(settings: Settings, output_dir: str | None) -> list[dict[str, Any]]:
    """The files an execution wrote (name, size), from its output folder."""
    folder = recorded_folder(settings, output_dir)
    if folder is None or not folder.is_dir():
        return []
    return [
        {"name": str(p.relative_to(folder)), "size": p.stat().st_size}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    ]


def run_detail(
    engine: Engine, settings: Settings, execution_id: int, *, actor: Actor, now: datetime, log_limit: int = 500
) -> dict[str, Any]:
    """One execution for people: parameters masked, attempts, its job's usual duration, files,
    upstream and downstream runs, log lines.

    Raises:
        PermissionDenied: the actor may not read executions.
        ExecutionNotFound: no execution has this id.
    """
    inputs.check_id("execution id", execution_id)
    check_reading(engine, actor, Permission.EXECUTIONS_READ, "read a run", now)
    with transaction(engine) as session:
        detail = execution_detail(session, execution_id, log_limit=log_limit)
        row = session.get_one(BatchExecution, execution_id)
        detail["params"] = mask_any(detail["params"])
        detail["usual"] = usual_durations(session, row.job_id)
        detail["upstream"] = _neighbours(session, row, upstream=True)
        detail["downstream"] = _neighbours(session, row, upstream=False)
        detail["created_by"] = row.created_by
        detail["cancel_requested"] = row.cancel_requested
    detail["files"] = output_files(settings, detail.get("output_dir"))
    return detail


def run_file(engine: Engine, settings: Settings, execution_id: int, name: str, *, actor: Actor, now: datetime) -> Path:
    """The path of one file an execution wrote, checked to lie inside its output folder.

    Raises:
        PermissionDenied: the actor may not read executions.
        ExecutionNotFound: no execution has this id.
        NotFound: the execution wrote no file of that name.
    """
    check_reading(engine, actor, Permission.EXECUTIONS_READ, "read a run's file", now)
    with transaction(engine) as session:
        row = session.get(BatchExecution, execution_id)
        if row is None:
            raise ExecutionNotFound(f"no execution has id {execution_id}")
        output_dir = row.output_dir
    folder = recorded_folder(settings, output_dir)
    for entry in output_files(settings, output_dir):
        if folder is not None and entry["name"] == name:
            return folder / name
    raise NotFound(f"execution {execution_id} wrote no file named {name!r}")

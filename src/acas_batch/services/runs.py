"""Executions as the dashboard and the REST API read and start them.

The runs list is filtered by job, module, state, trigger, business dates and user, with
negative job patterns (``-SYS_*``), and paged by keyset (``id < cursor``, newest first): no
``COUNT(*)`` and no ``OFFSET``, so the first page costs the same at a million rows as at ten.
Run-now honours an ``Idempotency-Key``: it is stored on the execution, so a retried request
returns the execution its first attempt made.

Every function takes the acting :class:`Actor` and asks the services' door (``door.py``) before it
reads or changes anything: the faces check no permission themselves. A refusal raises
:class:`PermissionDenied` and writes nothing but its own audit row.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.batch import operations
from acas_batch.batch.executions import audit
from acas_batch.batch.outputs import recorded_folder
from acas_batch.batch.registry import REGISTRY
from acas_batch.batch.status import dashboard, execution_detail
from acas_batch.batch.worker import load_job_modules
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import (
    ApprovalRequired,
    ExecutionNotFound,
    InvalidStateTransition,
    JobNotFound,
    NotFound,
    PermissionDenied,
    RunKeyAlreadySucceeded,
    ValidationError,
)
from acas_batch.masking import mask_any
from acas_batch.models import Audit, BatchAlert, BatchDependency, BatchExecution, BatchJob, BatchWorker
from acas_batch.models.enums import ExecutionState, Module, TriggerKind, WorkerState
from acas_batch.monitoring import open_alerts
from acas_batch.secretbox import SecretBox
from acas_batch.security.actor import Actor
from acas_batch.security.policy import CLOSE_JOBS, Permission, check
from acas_batch.services import approvals, door, inputs
from acas_batch.services.guards import execution_module
from acas_batch.services.schedules import forecast_rows

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
        _no_nul(key, value)
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


def _no_nul(name: str, value: str | None) -> None:
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


def _where(session: Session, q: RunQuery, jobs: list[tuple[int, str, Module]] | None = None) -> list[Any]:
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


def _reading(engine: Engine, actor: Actor, permission: Permission, what: str, now: datetime) -> None:
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
    _reading(engine, actor, Permission.EXECUTIONS_READ, "list runs", now)
    with transaction(engine) as session:
        jobs = _jobs(session)
        conds = _where(session, q, jobs)
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
    _reading(engine, actor, Permission.EXECUTIONS_READ, "count new runs", now)
    with transaction(engine) as session:
        conds = [*_where(session, q), BatchExecution.id > after_id]
        return int(session.scalar(select(func.count()).select_from(BatchExecution).where(*conds)) or 0)


def _usual(session: Session, job_id: int) -> dict[str, int | None]:
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
    _reading(engine, actor, Permission.EXECUTIONS_READ, "read a run", now)
    with transaction(engine) as session:
        detail = execution_detail(session, execution_id, log_limit=log_limit)
        row = session.get_one(BatchExecution, execution_id)
        detail["params"] = mask_any(detail["params"])
        detail["usual"] = _usual(session, row.job_id)
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
    _reading(engine, actor, Permission.EXECUTIONS_READ, "read a run's file", now)
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


def run_now(
    engine: Engine,
    settings: Settings,
    job: str,
    params: Mapping[str, Any],
    *,
    business_date: object | None,
    actor: Actor,
    now: datetime,
    force_reason: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[int, bool]:
    """Start ``job`` now as ``actor``; returns the execution id and whether this call created it.

    Needs ``jobs:run`` for the job's module (``periods:close`` too for a close, and
    ``executions:force`` to force work that succeeded already). With an ``idempotency_key``
    that an earlier call already used, nothing is created and that call's execution is
    returned (the same key for another job is refused).

    Raises:
        PermissionDenied: the actor may not run the job (audited; nothing else written).
        JobNotFound: no such job.
        ValidationError: a bad parameter (``fields`` names each), business date or key.
        RunKeyAlreadySucceeded: the work was done before and no ``force_reason`` was given.
    """
    door.allowed(engine, actor, Permission.JOBS_RUN, what="job.run", now=now)
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 128):
        raise ValidationError("Idempotency-Key must be 1 to 128 characters")
    inputs.check_name("job", job)
    params = inputs.check_params(params)
    inputs.check_recipients(settings, params)
    force_reason = inputs.check_reason(force_reason)
    when = (
        operations.local_date(now, settings.timezone)
        if business_date in (None, "")
        else operations.parse_business_date(business_date)
    )
    name = job.upper()
    extra: tuple[Permission, ...] = (Permission.PERIODS_CLOSE,) if name in CLOSE_JOBS else ()
    if force_reason is not None:
        extra += (Permission.EXECUTIONS_FORCE,)

    def act(session: Session) -> tuple[int, bool]:
        if idempotency_key:
            earlier = _by_key(session, idempotency_key, name)
            if earlier is not None:
                return earlier, False
        row = operations.enqueue(
            session,
            name,
            params,
            now=now,
            business_date=when,
            actor=actor.username,
            force_reason=force_reason,
            wait_default_seconds=settings.dependency_wait_seconds,
            seal=lambda clear: SecretBox.for_settings(settings).seal(clear),
        )
        row.idempotency_key = idempotency_key
        session.flush()
        return row.id, True

    try:
        return door.perform(
            engine,
            actor,
            Permission.JOBS_RUN,
            "job.run",
            ("job", name),
            act,
            now=now,
            module=_job_module(name),
            extra=extra,
            details=lambda r: {"execution_id": r[0], "replayed": not r[1], "business_date": when.isoformat()},
        )
    except IntegrityError:
        # Another request with the same key won the race: its execution is the answer.
        if idempotency_key:
            with transaction(engine) as session:
                earlier = _by_key(session, idempotency_key, name)
            if earlier is not None:
                return earlier, False
        raise


def _job_module(name: str) -> door.ModuleOf:
    """The module of job ``name`` for the door (None for an unknown job: ``enqueue`` then names it)."""

    def find(session: Session) -> str | None:
        module = session.scalar(select(BatchJob.module).where(BatchJob.name == name))
        return None if module is None else str(module.value)

    return find


def _by_key(session: Session, key: str, job: str) -> int | None:
    found = session.execute(
        select(BatchExecution.id, BatchJob.name)
        .join(BatchJob, BatchJob.id == BatchExecution.job_id)
        .where(BatchExecution.idempotency_key == key)
    ).first()
    if found is None:
        return None
    if found[1] != job.upper():
        raise ValidationError(f"Idempotency-Key {key!r} was used for a run of {found[1]}, not {job.upper()}")
    return int(found[0])


def param_fields(engine: Engine, job: str, *, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    """The run-now form of a job: one field per parameter of its model, with type, default and help.

    Raises:
        PermissionDenied: the actor may not read jobs.
        JobNotFound: no such job, or its code is not loaded.
    """
    _reading(engine, actor, Permission.JOBS_READ, "read a job's parameters", now)
    with transaction(engine) as session:
        row = session.scalars(select(BatchJob).where(BatchJob.name == job.upper())).first()
        if row is None:
            raise JobNotFound(f"no job named {job!r}")
        handler, defaults = row.handler, dict(row.default_params or {})
    if handler not in REGISTRY:
        raise JobNotFound(f"job {job!r}: no code is registered under {handler!r}")
    schema = REGISTRY.get(handler).params_model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        shape = _resolve(prop, defs)
        default = defaults.get(name, prop.get("default"))
        fields.append(
            {
                "name": name,
                "title": name.replace("_", " "),
                "type": "date" if shape.get("format") == "date" else shape.get("type") or "object",
                "required": name in required,
                "default": "" if default is None else default,
                "help": prop.get("description") or shape.get("description", ""),
                "choices": shape.get("enum"),
            }
        )
    return fields


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A property's own shape: ``$ref`` followed, the non-null branch of ``anyOf`` taken."""
    for _ in range(5):
        if "$ref" in prop:
            prop = {
                **defs.get(str(prop["$ref"]).rsplit("/", 1)[-1], {}),
                **{k: v for k, v in prop.items() if k != "$ref"},
            }
        elif "allOf" in prop and len(prop["allOf"]) == 1:
            prop = {**prop["allOf"][0], **{k: v for k, v in prop.items() if k != "allOf"}}
        elif "anyOf" in prop:
            branches = [a for a in prop["anyOf"] if a.get("type") != "null"]
            prop = {**(branches[0] if branches else {}), **{k: v for k, v in prop.items() if k != "anyOf"}}
        else:
            break
    return prop


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


class RunAction(StrEnum):
    """What an operator may do to a run from the dashboard or the API."""

    CANCEL = "cancel"  # stop it; a running one is terminated by its worker
    HOLD = "hold"  # keep a waiting one from starting
    RELEASE = "release"  # return a held one to where it was
    RERUN = "rerun"  # run a finished one's work again (a success needs force)
    MARK_SUCCEEDED = "mark-succeeded"  # record the work as done by other means


def load_jobs(settings: Settings) -> None:
    """Import the job code the settings name, so run-now can validate parameters."""
    load_job_modules(settings)


def _apply(
    session: Session,
    settings: Settings,
    action: RunAction,
    execution_id: int,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
    force: bool,
) -> BatchExecution:
    wait = settings.dependency_wait_seconds
    if action is RunAction.CANCEL:
        return operations.cancel(session, execution_id, actor=actor, reason=reason, now=now)
    if action is RunAction.HOLD:
        return operations.hold(session, execution_id, actor=actor, reason=reason, now=now)
    if action is RunAction.RELEASE:
        return operations.release(session, execution_id, actor=actor, reason=reason, now=now)
    if action is RunAction.RERUN:
        return operations.rerun(
            session, execution_id, actor=actor, reason=reason, now=now, force=force, wait_default_seconds=wait
        )
    if not reason:
        raise ValidationError("marking a run succeeded needs a reason", fields={"reason": "required"})
    return operations.mark_succeeded(
        session, execution_id, actor=actor, reason=reason, now=now, wait_default_seconds=wait
    )


#: The audit trail's name for each action (and the four-eyes setting's).
ACTION_NAMES: dict[RunAction, str] = {
    RunAction.CANCEL: "execution.cancel",
    RunAction.HOLD: "execution.hold",
    RunAction.RELEASE: "execution.release",
    RunAction.RERUN: "execution.rerun",
    RunAction.MARK_SUCCEEDED: "execution.mark_succeeded",
}


def _permission_of(action: RunAction, *, force: bool = False) -> Permission:
    if action is RunAction.MARK_SUCCEEDED or force:
        return Permission.EXECUTIONS_FORCE
    return Permission.EXECUTIONS_CONTROL


def _name_of(action: RunAction, *, force: bool = False) -> str:
    return "execution.force_rerun" if action is RunAction.RERUN and force else ACTION_NAMES[action]


def parse_action(value: str) -> RunAction:
    """An action by name.

    Raises:
        ValidationError: naming the actions there are.
    """
    try:
        return RunAction(value)
    except ValueError:
        known = ", ".join(a.value for a in RunAction)
        raise ValidationError(f"action {value!r} is not one of {known}", fields={"action": "unknown"}) from None


def act_on_run(
    engine: Engine,
    settings: Settings,
    action: RunAction,
    execution_id: int,
    *,
    actor: Actor,
    reason: str | None,
    now: datetime,
    force: bool = False,
) -> dict[str, Any]:
    """Apply one operator action as ``actor``, audited with its reason; returns the execution's id
    and new state (a rerun returns the new execution).

    Needs ``executions:control`` (``executions:force`` to mark succeeded or force a rerun) for the
    module of the execution's job. An action the four-eyes setting names is recorded as a request
    for a second user's approval instead of done.

    Raises:
        PermissionDenied: the actor may not (audited; nothing else written).
        ApprovalRequired: recorded as a four-eyes request, not done.
        ExecutionNotFound: no such execution.
        InvalidStateTransition: the action does not apply to its state.
    """
    inputs.check_id("execution id", execution_id)
    name = _name_of(action, force=force)
    # Refused before its input is judged: whoever may not act learns nothing more (module scope below).
    door.allowed(engine, actor, _permission_of(action, force=force), what=name, now=now)
    reason = inputs.check_reason(reason, required=action is RunAction.MARK_SUCCEEDED or force)

    def act(session: Session) -> dict[str, Any]:
        if approvals.required(settings, actor, name, approvals.job_of_execution(session, execution_id)):
            request = approvals.request(
                session, actor, name, ("execution", execution_id), params={}, reason=reason, now=now
            )
            return {"approval_id": request.id}
        row = _apply(session, settings, action, execution_id, actor=actor.username, reason=reason, now=now, force=force)
        return {"id": row.id, "state": row.state.value, "cancel_requested": row.cancel_requested}

    done = door.perform(
        engine,
        actor,
        _permission_of(action, force=force),
        name,
        ("execution", execution_id),
        act,
        now=now,
        reason=reason,
        module=execution_module(execution_id),
    )
    if "approval_id" in done:
        raise ApprovalRequired(
            f"{name} of execution {execution_id} needs a second user's approval: request {done['approval_id']} "
            f"recorded (acas-batch approvals approve {done['approval_id']})",
            approval_id=int(done["approval_id"]),
        )
    return done


#: The most executions one bulk action may touch.
BULK_LIMIT = 10_000


def bulk_preview(engine: Engine, q: RunQuery, action: RunAction, *, actor: Actor, now: datetime) -> list[int]:
    """The ids a bulk action over the filter would touch: the matching runs in a state the action applies to.

    Raises:
        PermissionDenied: the actor may not take the action on any module.
    """
    door.allowed(engine, actor, _permission_of(action), what=ACTION_NAMES[action], now=now)
    allowed = _BULK_STATES[action]
    with transaction(engine) as session:
        conds = [*_where(session, q), BatchExecution.state.in_(allowed)]
        return list(
            session.scalars(
                select(BatchExecution.id).where(*conds).order_by(BatchExecution.id.desc()).limit(BULK_LIMIT)
            )
        )


_BULK_STATES: dict[RunAction, tuple[ExecutionState, ...]] = {
    RunAction.CANCEL: (*operations.CANCELLABLE, ExecutionState.RUNNING),
    RunAction.HOLD: operations.HOLDABLE,
    RunAction.RELEASE: (ExecutionState.HELD,),
    RunAction.RERUN: (ExecutionState.FAILED, ExecutionState.TIMED_OUT, ExecutionState.CANCELLED),
    RunAction.MARK_SUCCEEDED: operations.MARKABLE,
}


def bulk_act(
    engine: Engine,
    settings: Settings,
    action: RunAction,
    ids: list[int],
    *,
    actor: Actor,
    reason: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Apply one action to many runs in one transaction as ``actor``, audited as one operation
    listing its items.

    A run whose state no longer allows the action, whose job's module the actor's role does not
    cover, or which the four-eyes setting keeps for a second user, is skipped and reported. An
    ``idempotency_key`` already used by an earlier bulk action returns that action's result instead.

    Raises:
        PermissionDenied: the actor may not take the action at all (audited; nothing else written).
        ValidationError: no reason, no runs or too many.
    """
    permission = _permission_of(action)
    name = ACTION_NAMES[action]
    door.allowed(engine, actor, permission, what=name, now=now)
    if idempotency_key:
        with transaction(engine) as session:
            earlier = session.scalars(
                select(Audit).where(Audit.action == "execution.bulk", Audit.target_id == idempotency_key[:64])
            ).first()
            if earlier is not None and earlier.details is not None:
                return dict(earlier.details) | {"replayed": True}
    if not reason or not reason.strip():
        raise ValidationError("a bulk action needs a reason", fields={"reason": "required"})
    if not ids:
        raise ValidationError("no runs were chosen", fields={"ids": "empty"})
    if len(ids) > BULK_LIMIT:
        raise ValidationError(f"{len(ids)} runs is more than {BULK_LIMIT} at once", fields={"ids": "too many"})
    refused: list[tuple[int, PermissionDenied]] = []

    def act(session: Session) -> dict[str, Any]:
        done, skipped = [], []
        for execution_id in ids:
            try:
                job = approvals.job_of_execution(session, execution_id)
                module = session.scalar(select(BatchJob.module).where(BatchJob.name == job))
                try:
                    check(actor, permission, module.value if module else None, what=f"{name} {execution_id}")
                except PermissionDenied as exc:
                    refused.append((execution_id, exc))
                    raise
                if approvals.required(settings, actor, name, job):
                    skipped.append(
                        {"id": execution_id, "why": f"{name} needs a second user's approval: act on it alone"}
                    )
                    continue
                with session.begin_nested():
                    _apply(
                        session, settings, action, execution_id, actor=actor.username, reason=reason, now=now,
                        force=False,
                    )  # fmt: skip
                done.append(execution_id)
            except (InvalidStateTransition, ExecutionNotFound, RunKeyAlreadySucceeded, PermissionDenied) as exc:
                skipped.append({"id": execution_id, "why": str(exc)})
        result = {"action": action.value, "done": done, "skipped": skipped}
        audit(
            session,
            actor=actor.username,
            action="execution.bulk",
            target_type="bulk",
            target_id=idempotency_key[:64] if idempotency_key else None,
            now=now,
            reason=reason,
            details=result,
        )
        return result

    result = door.perform(engine, actor, permission, "execution.bulk", ("bulk", idempotency_key), act, now=now)
    for execution_id, exc in refused:  # each run refused for its module is audited as a refusal
        door.audit_refusal(engine, actor, exc, action=name, target=("execution", execution_id), now=now)
    return result | {"replayed": False}


def change_marker(engine: Engine, *, actor: Actor, now: datetime) -> str:
    """A short text that changes whenever a run is created, changes state or reports progress.

    Reads only the newest id, the latest finish and the few live runs, so a page may ask every
    second or two without scanning the table.

    Raises:
        PermissionDenied: the actor may not read executions.
    """
    _reading(engine, actor, Permission.EXECUTIONS_READ, "follow runs", now)
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
    _reading(engine, actor, Permission.AUDIT_READ, "read the audit trail", now)
    with transaction(engine) as session:
        stmt = select(Audit).order_by(Audit.id.desc()).limit(min(limit, MAX_LIMIT))
        if before is not None:
            stmt = stmt.where(Audit.id < before)
        if target:
            _no_nul("target", target)
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
    _reading(engine, actor, Permission.EXECUTIONS_READ, "read the overview", now)
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


def params_from_form(fields: list[dict[str, Any]], form: Mapping[str, str]) -> dict[str, Any]:
    """A job's parameters from a form's text fields (see :func:`param_fields`): an empty field keeps the
    default, a list is comma-separated, an object is JSON, a checkbox is ``true`` when ticked.

    Raises:
        ValidationError: a JSON field that is not JSON (``fields`` names it).
    """
    params: dict[str, Any] = {}
    for f in fields:
        name, kind = f["name"], f["type"]
        raw = form.get(name)
        if kind == "boolean":
            params[name] = raw in ("true", "on", "1")
            continue
        if raw is None or raw.strip() == "":
            continue
        text = raw.strip()
        if kind == "array":
            params[name] = [p.strip() for p in text.strip("[]").split(",") if p.strip()]
        elif kind == "object":
            try:
                params[name] = json.loads(text)
            except json.JSONDecodeError:
                raise ValidationError(f"{name}: not JSON", fields={name: 'not JSON (e.g. {"key": 1})'}) from None
        else:
            params[name] = text
    return params


def job_history(engine: Engine, job: str, *, actor: Actor, now: datetime, limit: int = 200) -> dict[str, Any]:
    """The job's last runs oldest first (id, created, duration, state) with its success rate and p50/p95.

    Raises:
        PermissionDenied: the actor may not read executions.
        JobNotFound: no such job.
    """
    _reading(engine, actor, Permission.EXECUTIONS_READ, "read a job's history", now)
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
        usual = _usual(session, job_id)
    runs = [{"id": i, "at": at, "duration_ms": ms, "state": st.value} for i, at, ms, st in reversed(rows)]
    good = sum(1 for r in runs if r["state"] in ("succeeded", "warning"))
    return {
        "runs": runs,
        "success_rate": round(100 * good / len(runs), 1) if runs else None,
        "p50_ms": usual["p50_ms"],
        "p95_ms": usual["p95_ms"],
    }

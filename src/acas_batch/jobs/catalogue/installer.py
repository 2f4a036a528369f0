"""Installing the standard catalogue into the database, idempotently, and reading it back.

Running the installer twice changes nothing. An upgrade that brings new jobs, schedules
or dependencies adds them; a standard row an operator has edited (``modified_by_user``)
is never overwritten, one an operator deleted is not brought back (``sys_catalogue_rec``
remembers what was installed), and rows that are not standard are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.batch.schedules import forecast_schedules, load_schedules
from acas_batch.errors import JobNotFound
from acas_batch.jobs.catalogue.definitions import STANDARD_JOBS, JobDef, ScheduleDef, order_day
from acas_batch.models.batch import BatchDependency, BatchJob, BatchSchedule
from acas_batch.models.enums import DependencyKind, Module
from acas_batch.models.system import CatalogueItem


@dataclass
class CatalogueReport:
    """What :func:`install_catalogue` did."""

    jobs_created: int = 0
    jobs_updated: int = 0
    jobs_kept: int = 0
    schedules_created: int = 0
    held_schedules_created: int = 0
    schedules_updated: int = 0
    dependencies_created: int = 0
    deleted_kept_deleted: int = 0
    kept_names: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobs_created": self.jobs_created,
            "jobs_updated": self.jobs_updated,
            "jobs_kept": self.jobs_kept,
            "schedules_created": self.schedules_created,
            "held_schedules_created": self.held_schedules_created,
            "schedules_updated": self.schedules_updated,
            "dependencies_created": self.dependencies_created,
            "deleted_kept_deleted": self.deleted_kept_deleted,
        }


def _job_values(d: JobDef) -> dict[str, Any]:
    return {
        "module": d.module,
        "description": d.description,
        "handler": d.handler,
        "priority": d.priority,
        "timeout_seconds": d.timeout_seconds,
        "max_attempts": d.max_attempts,
        "recovery_policy": d.recovery_policy,
        "resources": [dict(r) for r in d.resources],
        "default_params": dict(d.params),
    }


def _schedule_values(s: ScheduleDef, fy_start_month: int | None) -> dict[str, Any]:
    rule = dict(s.rule)
    if fy_start_month is not None and "fy_start_month" in rule:
        rule["fy_start_month"] = fy_start_month
    return {
        "kind": s.kind,
        "rule": rule,
        "timezone": s.timezone,
        "shift_policy": s.shift_policy,
        "misfire_policy": s.misfire_policy,
        "misfire_grace_seconds": s.misfire_grace_seconds,
        "start_held": s.start_held,
    }


def _apply(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


class _Installed:
    """The register of catalogue items ever installed (``sys_catalogue_rec``)."""

    def __init__(self, session: Session, now: datetime) -> None:
        self._session, self._now = session, now
        self._keys = {(i.kind, i.key) for i in session.scalars(select(CatalogueItem))}

    def __contains__(self, item: tuple[str, str]) -> bool:
        return item in self._keys

    def add(self, kind: str, key: str) -> None:
        if (kind, key) not in self._keys:
            self._session.add(CatalogueItem(kind=kind, key=key, installed_at=self._now))
            self._keys.add((kind, key))


def install_catalogue(
    session: Session,
    *,
    now: datetime,
    jobs: Sequence[JobDef] = STANDARD_JOBS,
    fy_start_month: int | None = None,
    with_jobs: bool = True,
    with_schedules: bool = True,
) -> CatalogueReport:
    """Create or bring up to date the standard jobs, schedules and dependencies.

    An item is created only the first time it appears in the catalogue: one an operator
    deleted stays deleted. ``fy_start_month`` (the company's) replaces the catalogue's
    default in the yearly schedule's rule. ``with_jobs=False`` installs schedules for the
    standard jobs already present (the spec's ``create_default_schedules``);
    ``with_schedules=False`` installs jobs and their dependencies only.
    """
    report = CatalogueReport()
    installed = _Installed(session, now)
    existing = {j.name: j for j in session.scalars(select(BatchJob))}
    rows: dict[str, BatchJob] = {}
    for d in jobs:
        row = existing.get(d.name)
        if not with_jobs:
            if row is not None:
                rows[d.name] = row
            continue
        if row is None and ("job", d.name) in installed:
            report.deleted_kept_deleted += 1
            continue
        if row is None:
            row = BatchJob(name=d.name, is_standard=True, created_at=now, updated_at=now, created_by="catalogue")
            _apply(row, _job_values(d))
            session.add(row)
            report.jobs_created += 1
        elif row.modified_by_user or not row.is_standard:
            report.jobs_kept += 1
            report.kept_names.append(d.name)
        elif _apply(row, _job_values(d)):
            row.updated_at = now
            report.jobs_updated += 1
        installed.add("job", d.name)
        rows[d.name] = row
    session.flush()

    for d in jobs:
        if with_schedules and d.schedule is not None and d.name in rows:
            _install_schedule(
                session,
                rows[d.name],
                d.schedule,
                now=now,
                report=report,
                installed=installed,
                fy_start_month=fy_start_month,
            )
    if with_jobs:
        _install_dependencies(session, jobs, rows, now=now, report=report, installed=installed)
    session.flush()
    return report


def _install_schedule(
    session: Session,
    job: BatchJob,
    s: ScheduleDef,
    *,
    now: datetime,
    report: CatalogueReport,
    installed: _Installed,
    fy_start_month: int | None,
) -> None:
    key = f"{job.name}/{s.name}"
    values = _schedule_values(s, fy_start_month)
    row = session.scalar(select(BatchSchedule).where(BatchSchedule.job_id == job.id, BatchSchedule.name == s.name))
    if row is None and ("schedule", key) in installed:
        report.deleted_kept_deleted += 1
        return
    if row is None:
        row = BatchSchedule(job_id=job.id, name=s.name, is_standard=True, params={}, created_at=now, updated_at=now)
        _apply(row, values)
        session.add(row)
        if s.start_held:
            report.held_schedules_created += 1
        else:
            report.schedules_created += 1
    elif row.is_standard and not row.modified_by_user and _apply(row, values):
        row.updated_at = now
        report.schedules_updated += 1
    installed.add("schedule", key)


def _install_dependencies(
    session: Session,
    jobs: Iterable[JobDef],
    rows: dict[str, BatchJob],
    *,
    now: datetime,
    report: CatalogueReport,
    installed: _Installed,
) -> None:
    have = {(d.job_id, d.depends_on_job_id, d.kind) for d in session.scalars(select(BatchDependency))}
    for d in jobs:
        if d.name not in rows:
            continue
        for dep in d.depends_on:
            key = f"{d.name}<-{dep.upstream}:{dep.kind.value}"
            upstream = rows.get(dep.upstream) or session.scalar(select(BatchJob).where(BatchJob.name == dep.upstream))
            if upstream is None:
                if ("job", dep.upstream) in installed:
                    continue  # its upstream was deleted by an operator: nothing to wait for
                raise JobNotFound(f"standard job {d.name} depends on {dep.upstream!r}, which does not exist")
            if (rows[d.name].id, upstream.id, dep.kind) in have:
                installed.add("dependency", key)
                continue
            if ("dependency", key) in installed:
                report.deleted_kept_deleted += 1
                continue
            session.add(
                BatchDependency(
                    job_id=rows[d.name].id,
                    depends_on_job_id=upstream.id,
                    kind=dep.kind,
                    condition=dep.condition,
                    lookback_days=dep.lookback_days,
                    is_standard=True,
                    created_at=now,
                )
            )
            have.add((rows[d.name].id, upstream.id, dep.kind))
            installed.add("dependency", key)
            report.dependencies_created += 1


# ---- reading the catalogue back ------------------------------------------------------


@dataclass(frozen=True)
class JobSummary:
    """One line of ``acas-batch jobs list``."""

    name: str
    module: str
    enabled: bool
    priority: int
    schedule: str
    description: str


def describe_schedule(s: BatchSchedule) -> str:
    """A schedule in words: ``daily 23:00``, ``weekly sun 08:00``, ``monthly last 22:00 (held)``."""
    rule = s.rule or {}
    parts = [s.kind.value]
    if "weekdays" in rule:
        parts.append(",".join(rule["weekdays"]))
    if "day" in rule:
        parts.append(str(rule["day"]))
    if "at" in rule:
        parts.append(str(rule["at"]))
    text = " ".join(parts)
    if s.start_held:
        text += " (held)"
    if not s.enabled:
        text += " (disabled)"
    return text


def list_jobs(session: Session, *, module: Module | None = None) -> list[JobSummary]:
    """The job definitions, ordered by module then name, with their schedules in words."""
    query = select(BatchJob).order_by(BatchJob.module, BatchJob.name)
    if module is not None:
        query = query.where(BatchJob.module == module)
    schedules: dict[int, list[str]] = {}
    for s in session.scalars(select(BatchSchedule).order_by(BatchSchedule.id)):
        schedules.setdefault(s.job_id, []).append(describe_schedule(s))
    return [
        JobSummary(j.name, j.module.value, j.enabled, j.priority, "; ".join(schedules.get(j.id, [])), j.description)
        for j in session.scalars(query)
    ]


def show_job(session: Session, name: str) -> dict[str, Any]:
    """Everything about one job definition: its settings, schedules and dependencies both ways.

    Raises:
        JobNotFound: no job has this name.
    """
    job = session.scalar(select(BatchJob).where(BatchJob.name == name))
    if job is None:
        raise JobNotFound(f"no job named {name!r}")
    names: dict[int, str] = {row.id: row.name for row in session.execute(select(BatchJob.id, BatchJob.name))}
    deps = list(session.scalars(select(BatchDependency).where(BatchDependency.job_id == job.id)))
    downs = list(session.scalars(select(BatchDependency).where(BatchDependency.depends_on_job_id == job.id)))
    schedules = session.scalars(select(BatchSchedule).where(BatchSchedule.job_id == job.id).order_by(BatchSchedule.id))
    return {
        "name": job.name,
        "module": job.module.value,
        "description": job.description,
        "handler": job.handler,
        "enabled": job.enabled,
        "priority": job.priority,
        "timeout_seconds": job.timeout_seconds,
        "max_attempts": job.max_attempts,
        "recovery_policy": job.recovery_policy.value,
        "resources": job.resources,
        "default_params": job.default_params,
        "is_standard": job.is_standard,
        "modified_by_user": job.modified_by_user,
        "schedules": [
            {
                "name": s.name,
                "kind": s.kind.value,
                "rule": s.rule,
                "timezone": s.timezone,
                "shift_policy": s.shift_policy.value,
                "misfire_policy": s.misfire_policy.value,
                "start_held": s.start_held,
                "enabled": s.enabled,
                "summary": describe_schedule(s),
            }
            for s in schedules
        ],
        "depends_on": [
            {
                "job": names[d.depends_on_job_id],
                "kind": d.kind.value,
                "condition": d.condition.value,
                "lookback_days": d.lookback_days,
            }
            for d in deps
        ],
        "dependants": [{"job": names[d.job_id], "kind": d.kind.value} for d in downs],
    }


def day_order(session: Session, calendar: BusinessCalendar, day: date) -> list[dict[str, Any]]:
    """The enabled schedules' runs with business date ``day``, in the order they can start.

    A job waits (same business date) for its upstream jobs due that day, whatever its own
    time: ``late_by_wait`` marks a job whose upstream is due later than itself.
    """
    runs = forecast_schedules(load_schedules(session), calendar, day, day)
    nominal: dict[str, str] = {}
    for stored, occurrence in runs:
        at = occurrence.local.strftime("%H:%M")
        nominal[stored.job_name] = min(at, nominal.get(stored.job_name, at))
    down, up = aliased(BatchJob), aliased(BatchJob)
    waits: dict[str, list[str]] = {}
    edges = session.execute(
        select(down.name, up.name)
        .select_from(BatchDependency)
        .join(down, down.id == BatchDependency.job_id)
        .join(up, up.id == BatchDependency.depends_on_job_id)
        .where(BatchDependency.kind == DependencyKind.WAIT, BatchDependency.lookback_days == 0)
    )
    for job, upstream in edges:
        waits.setdefault(job, []).append(upstream)
    return [
        {
            "position": n,
            "job": e.job,
            "nominal": e.nominal,
            "after": list(e.after),
            "late_by_wait": any(nominal[u] > e.nominal for u in e.after),
        }
        for n, e in enumerate(order_day(nominal, waits), start=1)
    ]

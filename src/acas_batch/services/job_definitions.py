"""``BatchJobDefinitionsService``: the standard jobs and their default schedules (the spec's facade)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.errors import NotFound, ValidationError
from acas_batch.jobs.catalogue import STANDARD_JOBS, CatalogueReport, JobDef, install_catalogue, list_jobs, show_job
from acas_batch.models.audit_chain import append_audit
from acas_batch.models.batch import BatchJob
from acas_batch.models.enums import Module
from acas_batch.security.policy import Permission
from acas_batch.services.base import Facade, Outcome


def _definition(d: JobDef) -> dict[str, Any]:
    return {
        "name": d.name,
        "module": d.module.value,
        "description": d.description,
        "params": dict(d.params),
        "timeout_seconds": d.timeout_seconds,
        "max_attempts": d.max_attempts,
        "priority": d.priority,
        "resources": [dict(r) for r in d.resources],
        "schedule": None
        if d.schedule is None
        else {"kind": d.schedule.kind.value, "rule": dict(d.schedule.rule), "held": d.schedule.start_held},
        "depends_on": [
            {"job": dep.upstream, "kind": dep.kind.value, "condition": dep.condition.value} for dep in d.depends_on
        ],
    }


class BatchJobDefinitionsService(Facade):
    """Install and read the 32 standard jobs, their dependencies and default schedules."""

    def _audit(self, session: Session, action: str, report: CatalogueReport, **details: Any) -> None:
        """The action's one audit row, chained, with what it created (the door then adds none)."""
        append_audit(
            session,
            actor=self.actor.username,
            action=action,
            target_type="catalogue",
            target_id=details.get("module"),
            now=self.clock.now(),
            details=report.as_dict() | details,
        )

    def create_standard_batch_jobs(self) -> Outcome:
        """Create the standard jobs and their dependencies: ``(True, {"jobs_created": 32, ...})``.

        Idempotent: a second call creates nothing and never overwrites an operator's edits.
        """

        def act(session: Session) -> dict[str, Any]:
            report = install_catalogue(session, now=self.clock.now(), with_schedules=False)
            self._audit(session, "catalogue.create_jobs", report)
            return {
                "jobs_created": report.jobs_created,
                "jobs_updated": report.jobs_updated,
                "jobs_kept": report.jobs_kept,
                "dependencies_created": report.dependencies_created,
                "total_jobs": len(STANDARD_JOBS),
            }

        return self._guarded(Permission.JOBS_WRITE, "catalogue.create_jobs", ("catalogue", None), act)

    def create_default_schedules(self) -> Outcome:
        """Create the spec's 25 default schedules (and the held year-end schedule).

        ``schedules_created`` counts the spec's default schedules; the year-end close's
        yearly schedule, which starts held, is counted in ``held_schedules_created``.
        """

        def act(session: Session) -> dict[str, Any]:
            have = session.scalar(select(BatchJob.id).where(BatchJob.is_standard.is_(True)).limit(1))
            if have is None:
                raise ValidationError("there are no standard jobs yet: run create_standard_batch_jobs() first")
            report = install_catalogue(session, now=self.clock.now(), with_jobs=False)
            self._audit(session, "catalogue.create_schedules", report)
            return {
                "schedules_created": report.schedules_created,
                "held_schedules_created": report.held_schedules_created,
                "schedules_updated": report.schedules_updated,
            }

        return self._guarded(Permission.SCHEDULES_WRITE, "catalogue.create_schedules", ("catalogue", None), act)

    def create_module_jobs(self, module: str) -> Outcome:
        """Create the standard jobs of one module (GL, SL, PL, ST, SYS) with their schedules.

        Dependencies on jobs of other modules are added only where those jobs exist.
        """
        try:
            mod = Module(module.upper())
        except ValueError:
            return self._failed(
                ValidationError(f"module {module!r} is not one of {', '.join(m.value for m in Module)}")
            )

        def act(session: Session) -> dict[str, Any]:
            present = set(session.scalars(select(BatchJob.name)))
            chosen = [d for d in STANDARD_JOBS if d.module is mod]
            names = {d.name for d in chosen} | present
            jobs = [replace(d, depends_on=tuple(dep for dep in d.depends_on if dep.upstream in names)) for d in chosen]
            report = install_catalogue(session, now=self.clock.now(), jobs=jobs)
            self._audit(session, "catalogue.create_module_jobs", report, module=mod.value)
            return report.as_dict() | {"module": mod.value}

        return self._guarded(Permission.JOBS_WRITE, "catalogue.create_module_jobs", ("catalogue", mod.value), act)

    def create_gl_jobs(self) -> Outcome:
        return self.create_module_jobs("GL")

    def create_sl_jobs(self) -> Outcome:
        return self.create_module_jobs("SL")

    def create_pl_jobs(self) -> Outcome:
        return self.create_module_jobs("PL")

    def create_stock_jobs(self) -> Outcome:
        return self.create_module_jobs("ST")

    def create_system_jobs(self) -> Outcome:
        return self.create_module_jobs("SYS")

    def get_standard_job_definitions(self) -> list[dict[str, Any]]:
        """The catalogue as data: the 32 definitions with params, schedule and dependencies."""
        return [_definition(d) for d in STANDARD_JOBS]

    def list_jobs(self, module: str | None = None) -> Outcome:
        """The installed job definitions (optionally of one module)."""
        try:
            mod = Module(module.upper()) if module else None
        except ValueError:
            return self._failed(ValidationError(f"module {module!r} is not one of GL, SL, PL, ST, SYS"))
        return self._reading(
            Permission.JOBS_READ, "list jobs", lambda s: [j.__dict__ for j in list_jobs(s, module=mod)]
        )

    def get_job_definition(self, name: str) -> Outcome:
        """One installed job with its schedules and dependencies both ways."""

        def act(session: Session) -> dict[str, Any]:
            if session.scalar(select(BatchJob.id).where(BatchJob.name == name)) is None:
                raise NotFound(f"no job is named {name!r}")
            return show_job(session, name)

        return self._reading(Permission.JOBS_READ, "read a job", act)

"""The job definitions as people read them: the list, one job in full, a day's running order."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from acas_batch.batch.schedules import calendar_from_settings
from acas_batch.config import Settings
from acas_batch.errors import ValidationError
from acas_batch.jobs.catalogue import JobSummary, day_order, list_jobs, show_job
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services import door
from acas_batch.services.inputs import parse_module
from acas_batch.services.schedules import LATEST_FORECAST_DAY

__all__ = ["JobSummary", "job_details", "job_list", "job_order"]


def job_list(engine: Engine, *, actor: Actor, now: datetime, module: str | None = None) -> list[JobSummary]:
    """Every job definition (of one ledger's ``module`` when given), with its schedules in words.

    Raises:
        PermissionDenied: ``actor`` may not read jobs (audited).
        ValidationError: an unknown module.
    """
    wanted = parse_module(module)
    return door.read(engine, actor, Permission.JOBS_READ, lambda s: list_jobs(s, module=wanted), what="jobs", now=now)


def job_details(engine: Engine, name: str, *, actor: Actor, now: datetime) -> dict[str, Any]:
    """One job: settings, default parameters, resources, schedules, dependencies both ways.

    Raises:
        PermissionDenied: ``actor`` may not read jobs (audited).
        JobNotFound: no job has the name.
    """
    return door.read(
        engine, actor, Permission.JOBS_READ, lambda s: show_job(s, name.upper()), what=f"job {name}", now=now
    )


def job_order(engine: Engine, settings: Settings, day: date, *, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    """The jobs scheduled on business date ``day`` in the order they can start (a wait beats a time).

    Raises:
        PermissionDenied: ``actor`` may not read jobs (audited).
        ValidationError: ``day`` is past the calendar's last forecastable day.
    """
    if day > LATEST_FORECAST_DAY:
        raise ValidationError(f"business date {day.isoformat()} is after {LATEST_FORECAST_DAY.isoformat()}")
    calendar = calendar_from_settings(settings)
    return door.read(
        engine, actor, Permission.JOBS_READ, lambda s: day_order(s, calendar, day), what="job order", now=now
    )

"""The job definitions as people read them: the list, one job in full, a day's running order."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine

from acas_batch.batch.schedules import calendar_from_settings
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import ValidationError
from acas_batch.jobs.catalogue import JobSummary, day_order, list_jobs, show_job
from acas_batch.services.inputs import parse_module
from acas_batch.services.schedules import LATEST_FORECAST_DAY

__all__ = ["JobSummary", "job_details", "job_list", "job_order"]


def job_list(engine: Engine, *, module: str | None = None) -> list[JobSummary]:
    """Every job definition (of one ledger's ``module`` when given), with its schedules in words.

    Raises:
        ValidationError: an unknown module.
    """
    wanted = parse_module(module)
    with transaction(engine) as session:
        return list_jobs(session, module=wanted)


def job_details(engine: Engine, name: str) -> dict[str, Any]:
    """One job: settings, default parameters, resources, schedules, dependencies both ways.

    Raises:
        JobNotFound: no job has the name.
    """
    with transaction(engine) as session:
        return show_job(session, name.upper())


def job_order(engine: Engine, settings: Settings, day: date) -> list[dict[str, Any]]:
    """The jobs scheduled on business date ``day`` in the order they can start (a wait beats a time).

    Raises:
        ValidationError: ``day`` is past the calendar's last forecastable day.
    """
    if day > LATEST_FORECAST_DAY:
        raise ValidationError(f"business date {day.isoformat()} is after {LATEST_FORECAST_DAY.isoformat()}")
    with transaction(engine) as session:
        return day_order(session, calendar_from_settings(settings), day)

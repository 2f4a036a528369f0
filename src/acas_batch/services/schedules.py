"""When the schedules run: a forecast over business dates, a schedule's next runs, a rule's preview.

The rows carry what every face shows: the job and schedule, the nominal instant (UTC), the
local wall time, the business date and, for an occurrence the calendar skips, why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from acas_batch.batch.calendar import BusinessCalendar, Occurrence, ScheduleSpec, describe, rule_from_json
from acas_batch.batch.schedules import (
    StoredSchedule,
    calendar_from_settings,
    company_calendar,
    find_schedules,
    forecast_schedules,
    load_schedules,
    next_of_schedules,
)
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import ValidationError
from acas_batch.models.enums import ShiftPolicy
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services import door

#: A forecast without an end covers this many days.
DEFAULT_FORECAST_DAYS = 31


def utc_text(instant: datetime) -> str:
    """``2026-12-01T09:00:00Z``."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class RunRow:
    """One occurrence of a schedule."""

    job: str
    schedule: str
    schedule_id: int
    nominal: datetime
    local: datetime
    timezone: str
    business_date: date
    skipped_reason: str | None
    #: A short note for tables ("skipped: Christmas Day"); the full reason is ``skipped_reason``.
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "schedule": self.schedule,
            "schedule_id": self.schedule_id,
            "nominal": utc_text(self.nominal),
            "local": self.local.isoformat(),
            "timezone": self.timezone,
            "business_date": self.business_date.isoformat(),
            "skipped_reason": self.skipped_reason,
        }


def _rows(pairs: list[tuple[StoredSchedule, Occurrence]], calendar: BusinessCalendar) -> list[RunRow]:
    rows = []
    for stored, o in pairs:
        note = "" if o.skipped_reason is None else f"skipped: {calendar.holiday_name(o.business_date) or 'weekend'}"
        rows.append(
            RunRow(
                stored.job_name,
                stored.name,
                stored.id,
                o.nominal,
                o.local,
                stored.spec.timezone,
                o.business_date,
                o.skipped_reason,
                note,
            )
        )
    return rows


def schedule_summary(stored: StoredSchedule) -> dict[str, Any]:
    """What a schedule is, in words."""
    return {
        "schedule_id": stored.id,
        "job": stored.job_name,
        "schedule": stored.name,
        "rule": describe(stored.spec.rule),
        "timezone": stored.spec.timezone,
        "shift_policy": stored.spec.shift.value,
        "enabled": stored.enabled,
    }


#: The longest range one forecast covers: a year and a day, so a whole financial year fits.
MAX_FORECAST_DAYS = 367
#: The last business date a forecast (or job order) may name: a run is computed from the
#: day after, and the schedules' rules look a little ahead, so the calendar's year 9999 is out.
LATEST_FORECAST_DAY = date(9998, 12, 31)


def forecast(
    engine: Engine,
    settings: Settings,
    first: date,
    last: date | None = None,
    *,
    actor: Actor,
    now: datetime,
    job: str | None = None,
) -> tuple[date, list[RunRow]]:
    """Every run of the enabled schedules whose business date lies in ``first``..``last`` (inclusive),
    as ``actor`` may read them (``jobs:read``).

    Returns the last date used (default: :data:`DEFAULT_FORECAST_DAYS` after ``first``) and the rows.

    Raises:
        PermissionDenied: ``actor`` may not read jobs and their schedules (audited).
        ValidationError: see :func:`forecast_rows`.
    """
    door.may_read(engine, actor, Permission.JOBS_READ, what="schedule forecast", now=now)
    return forecast_rows(engine, settings, first, last, job=job)


def forecast_rows(
    engine: Engine, settings: Settings, first: date, last: date | None = None, *, job: str | None = None
) -> tuple[date, list[RunRow]]:
    """The rows of :func:`forecast`, for a service that has checked its own read permission.

    Raises:
        ValidationError: ``last`` before ``first``, a range longer than :data:`MAX_FORECAST_DAYS`,
            or dates whose runs would fall beyond the calendar's last year.
    """
    if first > LATEST_FORECAST_DAY or (last is not None and last > LATEST_FORECAST_DAY):
        raise ValidationError(
            f"forecast dates must be on or before {LATEST_FORECAST_DAY.isoformat()} "
            f"(--from {first.isoformat()}{', --to ' + last.isoformat() if last else ''})"
        )
    last = last or min(first + timedelta(days=DEFAULT_FORECAST_DAYS), LATEST_FORECAST_DAY)
    if last < first:
        raise ValidationError(f"--to: {last.isoformat()} is before --from {first.isoformat()}")
    if (last - first).days >= MAX_FORECAST_DAYS:
        raise ValidationError(
            f"a forecast covers at most {MAX_FORECAST_DAYS} days; {first.isoformat()} to {last.isoformat()} "
            f"is {(last - first).days + 1}: forecast a shorter range"
        )
    with transaction(engine) as session:
        stored = load_schedules(session, job=job)
        calendar = company_calendar(session, settings)
    return last, _rows(forecast_schedules(stored, calendar, first, last), calendar)


def next_runs(
    engine: Engine,
    settings: Settings,
    schedule_or_job: str,
    *,
    after: datetime,
    count: int,
    actor: Actor,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[RunRow]]:
    """The next ``count`` runs after ``after`` of a schedule (by id) or of every enabled schedule of a job.

    Returns the schedules' summaries and the rows.

    Raises:
        PermissionDenied: ``actor`` may not read jobs and their schedules (audited).
        NotFound: no schedule or job by that id or name.
    """
    stored, calendar = door.read(
        engine,
        actor,
        Permission.JOBS_READ,
        lambda s: (find_schedules(s, schedule_or_job), company_calendar(s, settings)),
        what=f"next runs of {schedule_or_job}",
        now=now,
    )
    return [schedule_summary(s) for s in stored], _rows(next_of_schedules(stored, calendar, after, count), calendar)


def preview(
    settings: Settings,
    kind: str,
    rule_json: str,
    *,
    timezone: str | None,
    shift: ShiftPolicy,
    after: datetime,
    count: int,
) -> tuple[dict[str, Any], list[RunRow]]:
    """Check a rule given as JSON and its next ``count`` runs, without a database.

    Raises:
        ValidationError: the rule is not JSON, or not a valid rule of ``kind``.
    """
    try:
        data = json.loads(rule_json)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"rule: {rule_json!r} is not JSON: {exc.msg}") from None
    spec = ScheduleSpec(rule_from_json(kind, data), timezone or settings.timezone, shift)
    stored = StoredSchedule(id=0, job_name="(preview)", name=kind, spec=spec)
    calendar = calendar_from_settings(settings)
    summary = schedule_summary(stored) | {"kind": kind, "rule_json": spec.rule.to_json()}
    return summary, _rows(next_of_schedules([stored], calendar, after, count), calendar)


def schedule_summaries(engine: Engine, *, actor: Actor, now: datetime, job: str | None = None) -> list[dict[str, Any]]:
    """Every schedule (of ``job`` when given, enabled or not) in words.

    Raises:
        PermissionDenied: ``actor`` may not read jobs and their schedules (audited).
    """
    stored = door.read(
        engine,
        actor,
        Permission.JOBS_READ,
        lambda s: load_schedules(s, job=job.upper() if job else None, include_disabled=True),
        what="schedules",
        now=now,
    )
    return [schedule_summary(s) for s in stored]

"""Schedules as the calendar sees them, loaded from ``batch_schedule_rec`` (and the job's name)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.batch.calendar import Occurrence, ScheduleSpec, next_occurrence, next_occurrences, rule_from_json
from acas_batch.batch.forecast import forecast_days
from acas_batch.config import Settings
from acas_batch.errors import JobNotFound, ScheduleNotFound, ValidationError
from acas_batch.models.batch import BatchJob, BatchSchedule
from acas_batch.models.company import ClosureDay

_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class StoredSchedule:
    """A schedule row with its parsed spec and the name of its job."""

    id: int
    job_name: str
    name: str
    spec: ScheduleSpec
    enabled: bool = True
    valid_from: datetime | None = None  # inclusive
    valid_until: datetime | None = None  # inclusive

    def in_force(self, instant: datetime) -> bool:
        """Whether ``instant`` lies within the schedule's validity period."""
        if self.valid_from is not None and instant < self.valid_from:
            return False
        return self.valid_until is None or instant <= self.valid_until


def spec_of(row: BatchSchedule) -> ScheduleSpec:
    """The calendar spec stored in a schedule row.

    Raises:
        ValidationError: the stored rule, zone or shift policy is invalid; names the schedule.
    """
    try:
        return ScheduleSpec(rule_from_json(row.kind, row.rule), row.timezone, row.shift_policy)
    except ValidationError as exc:
        raise ValidationError(f"schedule {row.id} ({row.name!r}): {exc}") from exc


def _stored(row: BatchSchedule, job_name: str) -> StoredSchedule:
    return StoredSchedule(
        id=row.id,
        job_name=job_name,
        name=row.name,
        spec=spec_of(row),
        enabled=row.enabled,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )


def load_schedules(session: Session, *, job: str | None = None, include_disabled: bool = False) -> list[StoredSchedule]:
    """The schedules of every job (or of ``job``), by job name then schedule name.

    Without ``include_disabled`` only enabled schedules of enabled jobs are returned:
    the ones that will run.

    Raises:
        JobNotFound: ``job`` names no job.
        ValidationError: a stored rule is invalid (the message names the schedule).
    """
    query = select(BatchSchedule, BatchJob.name).join(BatchJob, BatchSchedule.job_id == BatchJob.id)
    if job is not None:
        if session.scalar(select(BatchJob.id).where(BatchJob.name == job)) is None:
            raise JobNotFound(f"no job is named {job!r}")
        query = query.where(BatchJob.name == job)
    if not include_disabled:
        query = query.where(BatchSchedule.enabled.is_(True), BatchJob.enabled.is_(True))
    query = query.order_by(BatchJob.name, BatchSchedule.name, BatchSchedule.id)
    return [_stored(row, job_name) for row, job_name in session.execute(query)]


def find_schedules(session: Session, schedule_or_job: str) -> list[StoredSchedule]:
    """A schedule by id (enabled or not), or the enabled schedules of a job by name.

    Raises:
        ScheduleNotFound: no schedule has that id, or the job has no enabled schedule.
        JobNotFound: the name is neither a schedule id nor a job.
    """
    if schedule_or_job.isdigit():
        found = session.execute(
            select(BatchSchedule, BatchJob.name)
            .join(BatchJob, BatchSchedule.job_id == BatchJob.id)
            .where(BatchSchedule.id == int(schedule_or_job))
        ).first()
        if found is None:
            raise ScheduleNotFound(f"no schedule has id {schedule_or_job}")
        return [_stored(found[0], found[1])]
    stored = load_schedules(session, job=schedule_or_job)
    if not stored:
        raise ScheduleNotFound(f"job {schedule_or_job!r} has no enabled schedule")
    return stored


def calendar_from_settings(settings: Settings, closures: Iterable[date] = ()) -> BusinessCalendar:
    """The business calendar of the settings' holiday country and subdivision, plus closure days."""
    return BusinessCalendar(settings.holiday_country, settings.holiday_subdivision, closures)


def company_closures(session: Session) -> set[date]:
    """The company's own closure days (``closure_day_rec``), which are not business days."""
    return set(session.scalars(select(ClosureDay.day)))


def company_calendar(session: Session, settings: Settings) -> BusinessCalendar:
    """The settings' bank holidays plus the company's closure days: the calendar schedules run on."""
    return calendar_from_settings(settings, company_closures(session))


def forecast_schedules(
    stored: Sequence[StoredSchedule], calendar: BusinessCalendar, first: date, last: date
) -> list[tuple[StoredSchedule, Occurrence]]:
    """Every occurrence with a business date from ``first`` to ``last``, within each schedule's validity."""
    rows = forecast_days([(s, s.spec) for s in stored], calendar, first, last)
    return [(s, occurrence) for s, occurrence in rows if s.in_force(occurrence.nominal)]


def next_of_schedules(
    stored: Sequence[StoredSchedule], calendar: BusinessCalendar, after: datetime, n: int
) -> list[tuple[StoredSchedule, Occurrence]]:
    """The first ``n`` occurrences after ``after`` across ``stored``, within each one's validity."""
    rows: list[tuple[StoredSchedule, Occurrence]] = []
    for s in stored:
        start = after if s.valid_from is None else max(after, s.valid_from - _TICK)
        rows.extend((s, o) for o in next_occurrences(s.spec, calendar, start, n) if s.in_force(o.nominal))
    rows.sort(key=lambda row: (row[1].nominal, row[0].job_name, row[0].name, row[0].id))
    return rows[: max(n, 0)]


def next_fire_times(
    stored: Sequence[StoredSchedule], calendar: BusinessCalendar, after: datetime
) -> list[tuple[StoredSchedule, Occurrence | None]]:
    """Each schedule's first occurrence after ``after`` within its validity (None: it has no more).

    What ``batch_schedule_rec.next_fire_at`` should hold for each one.
    """
    rows: list[tuple[StoredSchedule, Occurrence | None]] = []
    for s in stored:
        start = after if s.valid_from is None else max(after, s.valid_from - _TICK)
        found = next_occurrence(s.spec, calendar, start)
        rows.append((s, found if found is not None and s.in_force(found.nominal) else None))
    return rows

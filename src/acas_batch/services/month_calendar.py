"""The business calendar of one month as people read it: working days, bank holidays, closures,
period and VAT-quarter ends, clock changes, and each day's runs, expected and actual.

One function, :func:`month_calendar`, gives the dashboard's calendar page everything it shows.
A day's entries are the schedules' forecast for its business date with the run each occurrence
made laid on top (matched by schedule and nominal time), then the runs no schedule foresaw
(run now, triggers, reruns). An occurrence with no run is *expected* while its time is to come
and *not run* once it has passed.
"""

from __future__ import annotations

import calendar as stdlib_calendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.batch.schedules import company_calendar
from acas_batch.config import Settings
from acas_batch.errors import NotFound, ValidationError
from acas_batch.ledger.company import company_vat
from acas_batch.models import AccountingPeriod, BatchExecution, BatchJob
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services.door import read
from acas_batch.services.schedules import LATEST_FORECAST_DAY, forecast_rows

#: The entries a day lists before the rest are left to the runs page.
ENTRIES_PER_DAY = 8
EARLIEST_YEAR = 1970


@dataclass(frozen=True)
class CalendarEntry:
    """One line of a day: a scheduled occurrence, the run it made, or a run no schedule foresaw."""

    job: str
    #: Local wall time of the occurrence or of the run's creation (``08:00``).
    time: str
    #: ``expected`` (to come), ``not run`` (its time passed with no run), ``before records`` (it fell
    #: before the first run this database holds), ``skipped`` (the calendar skips it), or the run's state.
    status: str
    execution_id: int | None = None
    #: Why an occurrence is skipped, or what made an unscheduled run (``manual by sam``).
    note: str = ""
    #: The instant :attr:`time` shows: the occurrence's nominal time, or the run's creation (UTC).
    at: datetime | None = None

    @property
    def expected(self) -> bool:
        return self.execution_id is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "time": self.time,
            "status": self.status,
            "execution_id": self.execution_id,
            "note": self.note,
            "at": self.at.astimezone(UTC).isoformat().replace("+00:00", "Z") if self.at else None,
        }


@dataclass(frozen=True)
class CalendarDay:
    """One day of the month view (days of the neighbouring months fill its first and last weeks)."""

    day: date
    in_month: bool
    business_day: bool
    #: The bank holiday's or closure's name, if any.
    holiday: str | None
    #: Period ends, VAT-quarter ends, month end, clock changes: short texts.
    marks: tuple[str, ...]
    entries: tuple[CalendarEntry, ...]
    today: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def weekend(self) -> bool:
        return self.day.weekday() >= 5

    @property
    def shown(self) -> tuple[CalendarEntry, ...]:
        """The entries a day cell lists; the rest are counted in :attr:`more`.

        When a day holds more than a cell shows, the runs that happened come before the
        occurrences still expected (each group in time order): what a run did is news.
        """
        if len(self.entries) <= ENTRIES_PER_DAY:
            return self.entries
        return tuple(sorted(self.entries, key=lambda e: e.expected))[:ENTRIES_PER_DAY]

    @property
    def more(self) -> int:
        return max(0, len(self.entries) - ENTRIES_PER_DAY)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "in_month": self.in_month,
            "business_day": self.business_day,
            "holiday": self.holiday,
            "marks": list(self.marks),
            "today": self.today,
            "counts": dict(self.counts),
            "entries": [e.as_dict() for e in self.entries],
        }


@dataclass(frozen=True)
class MonthCalendar:
    """A month as weeks of days, Monday first, with the months either side for navigation."""

    year: int
    month: int
    weeks: tuple[tuple[CalendarDay, ...], ...]
    timezone: str
    previous: str | None
    next: str | None

    @property
    def key(self) -> str:
        """``2026-12``: the month as the URL names it."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def title(self) -> str:
        return f"{stdlib_calendar.month_name[self.month]} {self.year}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.key,
            "timezone": self.timezone,
            "previous": self.previous,
            "next": self.next,
            "weeks": [[d.as_dict() for d in week] for week in self.weeks],
        }


def parse_month(value: str | None, *, today: date) -> tuple[int, int]:
    """``YYYY-MM`` as (year, month); empty means the month of ``today``.

    Raises:
        ValidationError: anything else, naming the value.
    """
    if not value or not value.strip():
        return today.year, today.month
    text = value.strip()
    year_text, sep, month_text = text.partition("-")
    if not sep or not (year_text.isdigit() and month_text.isdigit()) or len(year_text) != 4:
        raise ValidationError(f"month {value!r} is not YYYY-MM (e.g. 2026-12)", fields={"month": "YYYY-MM"})
    year, month = int(year_text), int(month_text)
    last = LATEST_FORECAST_DAY
    if not 1 <= month <= 12 or not (EARLIEST_YEAR, 1) <= (year, month) <= (last.year, last.month - 1):
        raise ValidationError(
            f"month {value!r} must be a month from {EARLIEST_YEAR}-01 to {last.year}-{last.month - 1:02d}",
            fields={"month": "out of range"},
        )
    return year, month


def _shift(year: int, month: int, by: int) -> str | None:
    index = year * 12 + (month - 1) + by
    y, m = divmod(index, 12)
    last = LATEST_FORECAST_DAY
    if not (EARLIEST_YEAR, 1) <= (y, m + 1) <= (last.year, last.month - 1):
        return None
    return f"{y:04d}-{m + 1:02d}"


def _clock_change(day: date, zone: ZoneInfo) -> str | None:
    """``clocks go forward 1 h (BST begins)`` on a day whose UTC offset changes, else None."""
    start = datetime.combine(day, time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    before, after = start.utcoffset(), end.utcoffset()
    if before is None or after is None or before == after:
        return None
    delta = after - before
    hours = abs(delta.total_seconds()) / 3600
    amount = f"{hours:g} h"
    name = end.tzname() or ""
    if delta > timedelta(0):
        return f"clocks go forward {amount} ({name} begins)"
    return f"clocks go back {amount} ({name} begins)"


def _marks(session: Session, first: date, last: date) -> dict[date, list[str]]:
    """Period ends and VAT-quarter ends between ``first`` and ``last``."""
    marks: dict[date, list[str]] = {}
    for period in session.scalars(
        select(AccountingPeriod).where(AccountingPeriod.end_date >= first, AccountingPeriod.end_date <= last)
    ):
        label = f"P{period.period_no:02d} FY{period.financial_year}/{(period.financial_year + 1) % 100:02d}"
        text = f"period {label} ends" + (" (year end)" if period.period_no == 12 else "")
        marks.setdefault(period.end_date, []).append(text)
    try:
        vat = company_vat(session)
    except NotFound:
        return marks  # no company yet: no VAT quarters to mark
    month = date(first.year, first.month, 1)
    while month <= last:
        end = date(month.year, month.month, stdlib_calendar.monthrange(month.year, month.month)[1])
        if month.month in vat.quarter_end_months and first <= end <= last:
            marks.setdefault(end, []).append("VAT quarter ends")
        month = end + timedelta(days=1)
    return marks


def _runs(session: Session, first: date, last: date) -> list[tuple[BatchExecution, str]]:
    """The newest attempt of every run with a business date from ``first`` to ``last``."""
    jobs: dict[int, str] = {i: n for i, n in session.execute(select(BatchJob.id, BatchJob.name))}  # noqa: C416
    if not jobs:
        return []
    # Naming every job lets both databases use the (job_id, business_date) index, so a month of a
    # million-row table reads only that month's rows.
    rows = session.scalars(
        select(BatchExecution)
        .where(
            BatchExecution.job_id.in_(list(jobs)),
            BatchExecution.business_date >= first,
            BatchExecution.business_date <= last,
        )
        .order_by(BatchExecution.id)
    ).all()
    newest: dict[int, BatchExecution] = {}
    for row in rows:
        newest[row.root_execution_id or row.id] = row  # ordered by id: the last attempt wins
    return [(row, jobs[row.job_id]) for row in newest.values()]


def _note(row: BatchExecution) -> str:
    trigger = row.trigger.value
    return f"{trigger} by {row.created_by}" if row.created_by else trigger


def month_calendar(
    engine: Engine, settings: Settings, actor: Actor, month: str | None, *, now: datetime
) -> MonthCalendar:
    """The month ``YYYY-MM`` (default: this month in the company's zone) with its days' runs.

    Business dates, bank holidays and clock changes are the company's; the entries' wall times
    are in the actor's own zone if they chose one (``timezone`` says which).

    Raises:
        ValidationError: a month that is not ``YYYY-MM`` or out of range.
        PermissionDenied: the actor may not read executions.
    """
    zone = ZoneInfo(settings.timezone)
    shown = ZoneInfo(actor.zone or settings.timezone)
    today = now.astimezone(zone).date()
    year, mon = parse_month(month, today=today)
    weeks = stdlib_calendar.Calendar(firstweekday=0).monthdatescalendar(year, mon)
    first, last = weeks[0][0], weeks[-1][-1]

    def act(session: Session) -> tuple[Any, dict[date, list[str]], list[tuple[BatchExecution, str]], datetime]:
        oldest = session.scalar(select(BatchExecution.created_at).order_by(BatchExecution.id).limit(1))
        runs = _runs(session, first, last)
        return company_calendar(session, settings), _marks(session, first, last), runs, oldest or now

    business, marks, runs, records_start = read(
        engine, actor, Permission.EXECUTIONS_READ, act, what="calendar", now=now
    )
    _, occurrences = forecast_rows(engine, settings, first, last)

    by_occurrence = {(row.schedule_id, row.nominal_time): row for row, _ in runs if row.nominal_time is not None}
    used: set[int] = set()
    per_day: dict[date, list[tuple[datetime, CalendarEntry]]] = {}
    for o in occurrences:
        run = by_occurrence.get((o.schedule_id, o.nominal))
        local = o.nominal.astimezone(shown).strftime("%H:%M")
        if run is not None:
            used.add(run.id)
            entry = CalendarEntry(o.job, local, run.state.value, run.id, o.note, o.nominal)
        elif o.skipped_reason is not None:
            entry = CalendarEntry(o.job, local, "skipped", None, o.note, o.nominal)
        else:
            passed = "not run" if o.nominal >= records_start else "before records"
            status = "expected" if o.nominal > now else passed
            entry = CalendarEntry(o.job, local, status, None, o.note, o.nominal)
        per_day.setdefault(o.business_date, []).append((o.nominal, entry))
    for row, job in runs:
        if row.id in used:
            continue
        at = row.nominal_time or row.created_at
        entry = CalendarEntry(job, at.astimezone(shown).strftime("%H:%M"), row.state.value, row.id, _note(row), at)
        per_day.setdefault(row.business_date, []).append((at, entry))

    days: list[tuple[CalendarDay, ...]] = []
    for week in weeks:
        cells = []
        for day in week:
            entries = tuple(e for _, e in sorted(per_day.get(day, []), key=lambda p: (p[0], p[1].job)))
            mark = list(marks.get(day, []))
            if day.month == mon and day.day == stdlib_calendar.monthrange(year, mon)[1]:
                mark.insert(0, "month end")
            change = _clock_change(day, zone)
            if change:
                mark.append(change)
            cells.append(
                CalendarDay(
                    day=day,
                    in_month=day.month == mon,
                    business_day=business.is_business_day(day),
                    holiday=business.holiday_name(day),
                    marks=tuple(mark),
                    entries=entries,
                    today=day == today,
                    counts=dict(Counter(e.status for e in entries)),
                )
            )
        days.append(tuple(cells))
    return MonthCalendar(year, mon, tuple(days), shown.key, previous=_shift(year, mon, -1), next=_shift(year, mon, 1))

"""When schedules run: a rule, a time zone and a shift policy become UTC occurrences.

Pure functions over values: no database, no clock. ``occurrences()`` is the one
generator everything else (next run, forecast, the scheduler's tick) is built on.

Order of operations for a date rule, on each of the rule's local days:
1. the shift policy moves a non-business day (or marks it skipped),
2. each wall time on the resulting day becomes an instant under :data:`DST_POLICY`,
3. instants at or before the last one yielded are dropped: two occurrences that land on
   the same instant (a daily rule with the ``previous`` policy maps Saturday and Sunday
   onto Friday; two wall times in a spring-forward gap both map to its end) run once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.batch.cron import CronRule
from acas_batch.batch.localtime import DEFAULT_TIMEZONE, DST_POLICY, DstPolicy, resolve, zone
from acas_batch.batch.rule_text import describe
from acas_batch.batch.rules import (
    DailyRule,
    DateRule,
    IntervalRule,
    MonthlyRule,
    OnceRule,
    Overflow,
    QuarterlyRule,
    Rule,
    WeeklyRule,
    YearlyRule,
    rule_from_json,
)
from acas_batch.errors import ValidationError
from acas_batch.models.enums import ShiftPolicy

__all__ = [
    "DST_POLICY",
    "NEXT_OCCURRENCE_HORIZON",
    "BusinessCalendar",
    "CronRule",
    "DailyRule",
    "DateRule",
    "DstPolicy",
    "IntervalRule",
    "MonthlyRule",
    "Occurrence",
    "OnceRule",
    "Overflow",
    "QuarterlyRule",
    "Rule",
    "ScheduleSpec",
    "ShiftPolicy",
    "WeeklyRule",
    "YearlyRule",
    "describe",
    "next_occurrence",
    "next_occurrences",
    "occurrences",
    "rule_from_json",
]

NEXT_OCCURRENCE_HORIZON = timedelta(days=366 * 10)  # 29 February recurs within 8 years
_ONE_DAY = timedelta(days=1)
# Module constants: an enum attribute lookup costs as much as the rest of a daily rule's step.
_RUN_ANYWAY, _PREVIOUS, _NEXT, _SKIP = ShiftPolicy.RUN_ANYWAY, ShiftPolicy.PREVIOUS, ShiftPolicy.NEXT, ShiftPolicy.SKIP


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """What the calendar needs to know about a schedule.

    ``shift`` says what happens to an occurrence on a weekend, bank holiday or closure
    day (see :class:`ShiftPolicy`): ``previous``/``next`` move its date to the nearest
    business day and keep its wall time; ``skip`` keeps it, marked with the reason.
    """

    rule: Rule
    timezone: str = DEFAULT_TIMEZONE
    shift: ShiftPolicy = ShiftPolicy.RUN_ANYWAY

    def __post_init__(self) -> None:
        zone(self.timezone)  # raises ValidationError naming an unknown zone
        object.__setattr__(self, "shift", ShiftPolicy(self.shift))
        if isinstance(self.rule, IntervalRule) and self.shift in (ShiftPolicy.PREVIOUS, ShiftPolicy.NEXT):
            raise ValidationError(
                f"shift_policy: {self.shift.value!r} does not apply to an interval rule (use run_anyway or skip)"
            )


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One nominal run of a schedule.

    ``business_date`` is the local date of ``nominal`` (after any shift). A skipped
    occurrence (shift policy ``skip`` on a non-business day) is still an occurrence, so
    the scheduler records it as SKIPPED with ``skipped_reason`` instead of losing it.

    Compare instants through ``nominal``: by PEP 495, ``local == nominal`` is False
    when ``local`` is an ambiguous wall time (01:30 BST on the fall-back Sunday), even
    though both name the same instant.
    """

    nominal: datetime  # aware, UTC
    local: datetime  # aware, the same instant in the schedule's zone
    business_date: date
    skipped_reason: str | None = None


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{name}: {value.isoformat()} has no time zone; give an aware datetime")


def occurrences(
    spec: ScheduleSpec, calendar: BusinessCalendar, after: datetime, until: datetime
) -> Iterator[Occurrence]:
    """The occurrences with ``after`` < nominal <= ``until``, strictly increasing.

    Raises:
        ValidationError: ``after`` or ``until`` is naive.
    """
    _require_aware("after", after)
    _require_aware("until", until)
    if isinstance(spec.rule, IntervalRule):
        return _interval(spec, spec.rule, calendar, after, until)
    return _dated(spec, spec.rule, calendar, after, until, last=until.astimezone(zone(spec.timezone)).date())


def _interval(
    spec: ScheduleSpec, rule: IntervalRule, calendar: BusinessCalendar, after: datetime, until: datetime
) -> Iterator[Occurrence]:
    tz = zone(spec.timezone)
    skip = spec.shift is _SKIP
    for nominal in rule.instants(after):
        if nominal > until:
            return
        local = nominal.astimezone(tz)
        day = local.date()
        reason = calendar.non_business_reason(day) if skip else None
        yield Occurrence(nominal.astimezone(UTC), local, day, reason)


def _dated(
    spec: ScheduleSpec,
    rule: DateRule,
    calendar: BusinessCalendar,
    after: datetime,
    until: datetime,
    *,
    last: date,
) -> Iterator[Occurrence]:
    """The occurrences of a date rule on the local days up to ``last`` (the local date of ``until``)."""
    tz_name = spec.timezone
    shift = spec.shift
    # Wall-time resolution never decreases, so a wall time on a local day before that of
    # ``after`` resolves to an instant at or before it: the scan starts on that day.
    # A move policy also scans the days whose occurrences it can move into the window.
    first = after.astimezone(zone(tz_name)).date()
    if shift is _NEXT:
        first = calendar.previous_business_day(first)
    elif shift is _PREVIOUS:
        last = calendar.next_business_day(last)
    times = rule.times
    previous_day: date | None = None
    latest = after
    for raw in rule.dates(first, last, calendar):
        reason = None
        if shift is _RUN_ANYWAY:
            day = raw
        elif shift is _SKIP:
            day, reason = raw, calendar.non_business_reason(raw)
        elif shift is _PREVIOUS:
            day = calendar.on_or_before(raw)
        else:
            day = calendar.on_or_after(raw)
        if day == previous_day:  # moved onto a day already run: the same instants again
            continue
        previous_day = day
        for at in times:
            nominal, local = resolve(day, at, tz_name)
            if nominal <= latest:  # before the window, or a collapse onto the last one
                continue
            if nominal > until:
                return
            latest = nominal
            yield Occurrence(nominal, local, local.date(), reason)


def next_occurrence(spec: ScheduleSpec, calendar: BusinessCalendar, after: datetime) -> Occurrence | None:
    """The first occurrence strictly after ``after``, or None (a past one-off; nothing within ten years)."""
    _require_aware("after", after)
    until = after + NEXT_OCCURRENCE_HORIZON
    if isinstance(spec.rule, IntervalRule):
        return next(_interval(spec, spec.rule, calendar, after, until), None)
    # The scan ends within days for all but rare rules: bound it by date arithmetic
    # instead of converting ``until`` to the zone.
    last = after.date() + NEXT_OCCURRENCE_HORIZON + _ONE_DAY
    return next(_dated(spec, spec.rule, calendar, after, until, last=last), None)


def next_occurrences(spec: ScheduleSpec, calendar: BusinessCalendar, after: datetime, n: int) -> list[Occurrence]:
    """The first ``n`` occurrences strictly after ``after``; fewer only if the schedule ends.

    It searches ten-year windows from the last one found and stops at a window with none.
    """
    found: list[Occurrence] = []
    start = after
    while len(found) < n:
        before = len(found)
        for occurrence in occurrences(spec, calendar, start, start + NEXT_OCCURRENCE_HORIZON):
            found.append(occurrence)
            if len(found) == n:
                break
        if len(found) == before:
            break
        start = found[-1].nominal
    return found

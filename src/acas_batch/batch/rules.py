"""Schedule rules: frozen values parsed from ``batch_schedule_rec.kind`` + ``.rule`` (JSON).

A date rule (every kind but ``interval``) names local calendar days and the wall-clock
times on each; :mod:`acas_batch.batch.calendar` turns those into instants under the DST
policy and applies the schedule's business-day shift. ``interval`` counts in UTC.
The JSON shapes are documented in ``docs/schedules.md``.
"""

from __future__ import annotations

import calendar as stdlib_calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Literal

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.batch.cron import CronRule
from acas_batch.batch.localtime import format_hhmm
from acas_batch.batch.rule_fields import MonthEnd, RuleFields
from acas_batch.errors import ValidationError
from acas_batch.models.enums import ScheduleKind

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_BUSINESS_DAYS_IN_MONTH = 23
_ONE_DAY = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Overflow(StrEnum):
    """What a monthly "day N" rule does in a month with fewer than N days."""

    LAST_DAY = "last_day"  # run on the month's last day: day 31 runs on 30 April and 28/29 February
    SKIP = "skip"  # no occurrence that month: day 31 runs in the seven 31-day months only


def _days_in_month(year: int, month: int) -> int:
    return stdlib_calendar.monthrange(year, month)[1]


def _months(start: date, end: date) -> Iterator[tuple[int, int]]:
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        month += 1
        if month == 13:
            year, month = year + 1, 1


def _nth_business_day(cal: BusinessCalendar, year: int, month: int, n: int) -> date | None:
    """The n-th business day of the month (n < 0 counts from the end), or None if it has fewer."""
    if n > 0:
        day, step = date(year, month, 1), _ONE_DAY
    else:
        day, step = date(year, month, _days_in_month(year, month)), -_ONE_DAY
    seen = 0
    while day.month == month:
        if cal.is_business_day(day):
            seen += 1
            if seen == abs(n):
                return day
        day += step
    return None


def _month_end(cal: BusinessCalendar, year: int, month: int, which: MonthEnd) -> date | None:
    if which == "last":
        return date(year, month, _days_in_month(year, month))
    return _nth_business_day(cal, year, month, -1)


@dataclass(frozen=True, slots=True)
class DailyRule:
    """Every day at ``at`` (or every business day with ``business_days_only``).

    Month end and leap years change nothing. Across a DST change ``at`` keeps its wall
    time: 01:30 on the spring-forward Sunday runs at 02:00 BST, on the fall-back Sunday
    once, at 01:30 BST.
    """

    kind: ClassVar[ScheduleKind] = ScheduleKind.DAILY
    at: time
    business_days_only: bool = False

    @property
    def times(self) -> tuple[time, ...]:
        return (self.at,)

    def dates(self, start: date, end: date, cal: BusinessCalendar) -> Iterator[date]:
        day = start
        while day <= end:
            if not self.business_days_only or cal.is_business_day(day):
                yield day
            day += _ONE_DAY

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"at": format_hhmm(self.at)}
        if self.business_days_only:
            data["business_days_only"] = True
        return data

    @classmethod
    def from_json(cls, data: object) -> DailyRule:
        f = RuleFields(cls.kind, data, ("at", "business_days_only"))
        only = f.data.get("business_days_only", False)
        if not isinstance(only, bool):
            raise ValidationError(f"{f.name('business_days_only')}: {only!r} is not true or false")
        return cls(f.at(), only)


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    """On the chosen weekdays (0 = Monday .. 6 = Sunday) at ``at``.

    Month end changes nothing. Across a DST change as :class:`DailyRule`: the Sunday 01:00
    backup runs once on both clock-change Sundays.
    """

    kind: ClassVar[ScheduleKind] = ScheduleKind.WEEKLY
    at: time
    weekdays: frozenset[int]

    @property
    def times(self) -> tuple[time, ...]:
        return (self.at,)

    def dates(self, start: date, end: date, cal: BusinessCalendar) -> Iterator[date]:
        day = start
        while day <= end:
            if day.weekday() in self.weekdays:
                yield day
            day += _ONE_DAY

    def to_json(self) -> dict[str, Any]:
        return {"at": format_hhmm(self.at), "weekdays": [WEEKDAYS[d] for d in sorted(self.weekdays)]}

    @classmethod
    def from_json(cls, data: object) -> WeeklyRule:
        f = RuleFields(cls.kind, data, ("at", "weekdays"))
        names = f.get("weekdays")
        if not isinstance(names, list) or not names:
            raise ValidationError(f"{f.name('weekdays')}: {names!r} is not a non-empty list of mon..sun")
        days = set()
        for name in names:
            if not isinstance(name, str) or name.lower() not in WEEKDAYS:
                raise ValidationError(f"{f.name('weekdays')}: {name!r} is not one of {', '.join(WEEKDAYS)}")
            days.add(WEEKDAYS.index(name.lower()))
        return cls(f.at(), frozenset(days))


@dataclass(frozen=True, slots=True)
class MonthlyRule:
    """Once a month at ``at``: on day N, on the last day, or on the N-th business day.

    Exactly one of ``day`` and ``business_day`` is set. Month end: day 31 in a 30-day
    month, and day 29-31 in February, follow ``overflow`` (default: the month's last day,
    so 28 February, or 29 in a leap year). ``business_day`` N counts business days from
    the 1st (N > 0) or back from the month's end (-1 = the last business day, which is
    Friday 28 August 2026 because Monday 31 August is the Summer bank holiday); a month
    with fewer than |N| business days has no occurrence. DST: as :class:`DailyRule`.
    """

    kind: ClassVar[ScheduleKind] = ScheduleKind.MONTHLY
    at: time
    day: int | Literal["last"] | None = None
    business_day: int | None = None
    overflow: Overflow = Overflow.LAST_DAY

    def __post_init__(self) -> None:
        if (self.day is None) == (self.business_day is None):
            raise ValidationError("monthly: give exactly one of day and business_day")

    @property
    def times(self) -> tuple[time, ...]:
        return (self.at,)

    def day_in(self, year: int, month: int, cal: BusinessCalendar) -> date | None:
        """The rule's day in one month, or None if it has none there."""
        if self.business_day is not None:
            return _nth_business_day(cal, year, month, self.business_day)
        last = _days_in_month(year, month)
        if self.day == "last":
            return date(year, month, last)
        assert self.day is not None
        if self.day <= last:
            return date(year, month, self.day)
        return date(year, month, last) if self.overflow is Overflow.LAST_DAY else None

    def dates(self, start: date, end: date, cal: BusinessCalendar) -> Iterator[date]:
        for year, month in _months(start, end):
            day = self.day_in(year, month, cal)
            if day is not None and start <= day <= end:
                yield day

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"at": format_hhmm(self.at)}
        if self.business_day is not None:
            data["business_day"] = self.business_day
        else:
            data["day"] = self.day
            if self.overflow is not Overflow.LAST_DAY and self.day != "last":
                data["overflow"] = self.overflow.value
        return data

    @classmethod
    def from_json(cls, data: object) -> MonthlyRule:
        f = RuleFields(cls.kind, data, ("at", "day", "business_day", "overflow"))
        at = f.at()
        if f.has("day") == f.has("business_day"):
            raise ValidationError("monthly: give exactly one of day and business_day")
        if f.has("business_day"):
            if f.has("overflow"):
                raise ValidationError(f"{f.name('overflow')}: only applies to a day number")
            n = f.integer("business_day", -MAX_BUSINESS_DAYS_IN_MONTH, MAX_BUSINESS_DAYS_IN_MONTH)
            if n == 0:
                raise ValidationError(f"{f.name('business_day')}: 0 is not a business day count (1 = first, -1 = last)")
            return cls(at, business_day=n)
        if f.get("day") == "last":
            if f.has("overflow"):
                raise ValidationError(f"{f.name('overflow')}: only applies to a day number")
            return cls(at, day="last")
        if isinstance(f.get("day"), str):
            raise ValidationError(f"{f.name('day')}: {f.get('day')!r} is not a day number 1 to 31 or 'last'")
        day = f.integer("day", 1, 31)
        raw = f.data.get("overflow", Overflow.LAST_DAY.value)
        if raw not in {o.value for o in Overflow}:
            raise ValidationError(f"{f.name('overflow')}: {raw!r} is not 'last_day' or 'skip'")
        return cls(at, day=day, overflow=Overflow(raw))


@dataclass(frozen=True, slots=True)
class QuarterlyRule:
    """At each quarter end at ``at``: its last day, or its last business day.

    Quarters are those of a financial year starting in ``fy_start_month`` (1 = calendar
    quarters ending March, June, September, December; 4 = quarters ending June,
    September, December, March). A quarter ending on a weekend or a bank holiday runs on
    that day with ``"last"`` (the shift policy may move it) and on the business day
    before with ``"last_business"``. DST: as :class:`DailyRule`.
    """

    kind: ClassVar[ScheduleKind] = ScheduleKind.QUARTERLY
    at: time
    day: MonthEnd = "last"
    fy_start_month: int = 1

    @property
    def times(self) -> tuple[time, ...]:
        return (self.at,)

    @property
    def months(self) -> frozenset[int]:
        """The months in which a quarter ends."""
        return frozenset((self.fy_start_month + 2 + 3 * q - 1) % 12 + 1 for q in range(4))

    def dates(self, start: date, end: date, cal: BusinessCalendar) -> Iterator[date]:
        months = self.months
        for year, month in _months(start, end):
            if month in months:
                day = _month_end(cal, year, month, self.day)
                if day is not None and start <= day <= end:
                    yield day

    def to_json(self) -> dict[str, Any]:
        return {"at": format_hhmm(self.at), "day": self.day, "fy_start_month": self.fy_start_month}

    @classmethod
    def from_json(cls, data: object) -> QuarterlyRule:
        f = RuleFields(cls.kind, data, ("at", "day", "fy_start_month"))
        return cls(f.at(), f.month_end(), f.integer("fy_start_month", 1, 12, default=1))


@dataclass(frozen=True, slots=True)
class YearlyRule:
    """At financial year end at ``at``: the last (business) day of the month before ``fy_start_month``.

    ``fy_start_month`` 4 (the UK's April year) ends on 31 March; 1 ends on 31 December;
    3 ends on 28 or 29 February. DST: as :class:`DailyRule`.
    """

    kind: ClassVar[ScheduleKind] = ScheduleKind.YEARLY
    at: time
    day: MonthEnd = "last"
    fy_start_month: int = 1

    @property
    def times(self) -> tuple[time, ...]:
        return (self.at,)

    @property
    def end_month(self) -> int:
        return (self.fy_start_month - 2) % 12 + 1

    def dates(self, start: date, end: date, cal: BusinessCalendar) -> Iterator[date]:
        for year in range(start.year, end.year + 1):
            day = _month_end(cal, year, self.end_month, self.day)
            if day is not None and start <= day <= end:
                yield day

    def to_json(self) -> dict[str, Any]:
        return {"at": format_hhmm(self.at), "day": self.day, "fy_start_month": self.fy_start_month}

    @classmethod
    def from_json(cls, data: object) -> YearlyRule:
        f = RuleFields(cls.kind, data, ("at", "day", "fy_start_month"))
        return cls(f.at(), f.month_end(), f.integer("fy_start_month", 1, 12, default=1))


@dataclass(frozen=True, slots=True)
class OnceRule:
    """Once, at the local wall time ``at`` in the schedule's zone.

    A nonexistent or repeated ``at`` follows the DST policy like any other rule. The
    shift policy applies to its date.
    """

    kind: ClassVar[ScheduleKind] = ScheduleKind.ONCE
    at: datetime  # naive: a wall time in the schedule's zone

    @property
    def times(self) -> tuple[time, ...]:
        return (self.at.time(),)

    def dates(self, start: date, end: date, cal: BusinessCalendar) -> Iterator[date]:
        if start <= self.at.date() <= end:
            yield self.at.date()

    def to_json(self) -> dict[str, Any]:
        spec = "minutes" if self.at.second == 0 and self.at.microsecond == 0 else "auto"
        return {"at": self.at.isoformat(timespec=spec)}

    @classmethod
    def from_json(cls, data: object) -> OnceRule:
        f = RuleFields(cls.kind, data, ("at",))
        raw = f.get("at")
        try:
            at = datetime.fromisoformat(raw) if isinstance(raw, str) and "T" in raw else None
        except ValueError:
            at = None
        if at is None or at.tzinfo is not None:
            raise ValidationError(
                f"{f.name('at')}: {raw!r} is not a local date and time YYYY-MM-DDTHH:MM (no offset: "
                "it is read in the schedule's time zone)"
            )
        return cls(at)


@dataclass(frozen=True, slots=True)
class IntervalRule:
    """Every ``every_seconds`` from ``anchor`` (an instant; the epoch if not given), in UTC.

    UTC arithmetic: DST and month ends change nothing, every interval is the same length.
    The business date is the local date in the schedule's zone. Only the ``run_anyway``
    and ``skip`` shift policies apply.
    """

    kind: ClassVar[ScheduleKind] = ScheduleKind.INTERVAL
    every_seconds: int
    anchor: datetime = EPOCH  # aware

    @property
    def step(self) -> timedelta:
        return timedelta(seconds=self.every_seconds)

    def instants(self, after: datetime) -> Iterator[datetime]:
        """The instants strictly after ``after``, increasing, without end."""
        k = 0 if after < self.anchor else (after - self.anchor) // self.step + 1
        instant = self.anchor + k * self.step
        while True:
            yield instant
            instant += self.step

    def to_json(self) -> dict[str, Any]:
        anchor = self.anchor.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return {"every_seconds": self.every_seconds, "anchor": anchor}

    @classmethod
    def from_json(cls, data: object) -> IntervalRule:
        f = RuleFields(cls.kind, data, ("every_seconds", "anchor"))
        every = f.integer("every_seconds", 1, 366 * 86400)
        if not f.has("anchor"):
            return cls(every)
        raw = f.get("anchor")
        try:
            anchor = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            anchor = None
        if anchor is None or anchor.tzinfo is None:
            raise ValidationError(f"{f.name('anchor')}: {raw!r} is not an instant such as 2026-01-01T00:00:00Z")
        return cls(every, anchor.astimezone(UTC))


DateRule = DailyRule | WeeklyRule | MonthlyRule | QuarterlyRule | YearlyRule | CronRule | OnceRule
Rule = DateRule | IntervalRule

RULE_TYPES: dict[ScheduleKind, type[Rule]] = {
    cls.kind: cls
    for cls in (DailyRule, WeeklyRule, MonthlyRule, QuarterlyRule, YearlyRule, CronRule, IntervalRule, OnceRule)
}


def rule_from_json(kind: ScheduleKind | str, data: object) -> Rule:
    """The rule stored as ``kind`` + ``data`` in ``batch_schedule_rec``.

    Raises:
        ValidationError: unknown kind, unknown or missing field, or a bad value (named).
    """
    try:
        schedule_kind = ScheduleKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in ScheduleKind)
        raise ValidationError(f"kind: {kind!r} is not a schedule kind ({kinds})") from None
    return RULE_TYPES[schedule_kind].from_json(data)

"""Schedule rules: frozen values parsed from ``batch_schedule_rec.kind`` + ``.rule`` (JSON).

A date rule (every kind but ``interval``) names local calendar days and the wall-clock
times on each; :mod:`acas_batch.batch.calendar` turns those into instants under the DST
policy and applies the schedule's business-day shift. ``interval`` counts in UTC.
The JSON shapes are documented in ``docs/schedules.md``.
"""

from __future__ import annotations

import calendar as stdlib_calendar
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import product
from typing import Any, ClassVar, Literal

from croniter import croniter

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.batch.localtime import format_hhmm, parse_hhmm
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


MonthEnd = Literal["last", "last_business"]


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


class _Fields:
    """Reads one rule's JSON object, naming ``kind.field`` and the value in every error."""

    def __init__(self, kind: ScheduleKind, data: object, allowed: tuple[str, ...]) -> None:
        if not isinstance(data, Mapping):
            raise ValidationError(f"{kind.value} rule: {data!r} is not a JSON object")
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise ValidationError(f"{kind.value}.{unknown[0]}: unknown field (allowed: {', '.join(allowed)})")
        self.kind, self.data = kind, data

    def name(self, key: str) -> str:
        return f"{self.kind.value}.{key}"

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str) -> Any:
        if key not in self.data:
            raise ValidationError(f"{self.name(key)}: required field is missing")
        return self.data[key]

    def at(self) -> time:
        return parse_hhmm(self.name("at"), self.get("at"))

    def integer(self, key: str, low: int, high: int, default: int | None = None) -> int:
        value = self.data.get(key, default) if default is not None else self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(f"{self.name(key)}: {value!r} is not a whole number from {low} to {high}")
        return value

    def month_end(self) -> MonthEnd:
        value = self.get("day")
        if value not in ("last", "last_business"):
            raise ValidationError(f"{self.name('day')}: {value!r} is not 'last' or 'last_business'")
        return "last" if value == "last" else "last_business"


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
        f = _Fields(cls.kind, data, ("at", "business_days_only"))
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
        f = _Fields(cls.kind, data, ("at", "weekdays"))
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
        f = _Fields(cls.kind, data, ("at", "day", "business_day", "overflow"))
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
        f = _Fields(cls.kind, data, ("at", "day", "fy_start_month"))
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
        f = _Fields(cls.kind, data, ("at", "day", "fy_start_month"))
        return cls(f.at(), f.month_end(), f.integer("fy_start_month", 1, 12, default=1))


@dataclass(frozen=True, slots=True)
class CronRule:
    """A five-field cron expression (minute hour day-of-month month day-of-week), in local time.

    Parsed by croniter; a day-of-month and a day-of-week both given match either (as
    Vixie cron). ``L``, ``W`` and ``#`` are refused (use a monthly rule). Month end: day 31
    simply does not match a 30-day month. DST: each matching wall time follows the DST
    policy, so ``30 1 * * *`` runs once on both clock-change Sundays, and
    ``*/15 1 * * *`` runs once (at 02:00 BST) on the spring-forward Sunday, where its four
    wall times all fall in the gap, and four times (in BST only) on the fall-back Sunday.
    """

    kind: ClassVar[ScheduleKind] = ScheduleKind.CRON
    expr: str
    times: tuple[time, ...] = field(init=False, compare=False, repr=False)
    month_set: frozenset[int] = field(init=False, compare=False, repr=False)
    dom_set: frozenset[int] | None = field(init=False, compare=False, repr=False)
    dow_set: frozenset[int] | None = field(init=False, compare=False, repr=False)  # 0 = Monday

    def __post_init__(self) -> None:
        fields = self.expr.split()
        where = f"cron.expr: {self.expr!r}"
        if len(fields) != 5:
            raise ValidationError(f"{where} has {len(fields)} fields, not 5 (minute hour day month weekday)")
        # Only where they mean something: month and weekday names (JUL, WED) contain L and W.
        if any(c in fields[2].upper() for c in "LW") or any(c in fields[4].upper() for c in "L#"):
            raise ValidationError(f"{where}: L, W and # are not supported; use a monthly rule")
        try:
            (minutes, hours, doms, months, dows), _ = croniter.expand(self.expr)
        except (ValueError, KeyError, IndexError) as exc:
            raise ValidationError(f"{where} is not a valid cron expression: {exc}") from exc
        set_ = object.__setattr__
        set_(self, "times", tuple(time(h, m) for h, m in product(sorted(hours), sorted(minutes))))  # type: ignore[arg-type]
        set_(self, "month_set", frozenset(range(1, 13)) if months == ["*"] else frozenset(months))
        set_(self, "dom_set", None if doms == ["*"] else frozenset(doms))
        set_(self, "dow_set", None if dows == ["*"] else frozenset((int(d) - 1) % 7 for d in dows))
        if self.dow_set is None and self.dom_set is not None:
            longest = max(29 if m == 2 else _days_in_month(2001, m) for m in self.month_set)
            if min(self.dom_set) > longest:
                raise ValidationError(f"{where} can never run: no chosen month has day {min(self.dom_set)}")

    def matches(self, day: date) -> bool:
        if day.month not in self.month_set:
            return False
        if self.dom_set is None:
            return self.dow_set is None or day.weekday() in self.dow_set
        if self.dow_set is None:
            return day.day in self.dom_set
        return day.day in self.dom_set or day.weekday() in self.dow_set

    def dates(self, start: date, end: date, cal: BusinessCalendar) -> Iterator[date]:
        day = start
        while day <= end:
            if day.month not in self.month_set:  # jump to the next month
                day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
                continue
            if self.matches(day):
                yield day
            day += _ONE_DAY

    def to_json(self) -> dict[str, Any]:
        return {"expr": self.expr}

    @classmethod
    def from_json(cls, data: object) -> CronRule:
        f = _Fields(cls.kind, data, ("expr",))
        expr = f.get("expr")
        if not isinstance(expr, str):
            raise ValidationError(f"{f.name('expr')}: {expr!r} is not a string")
        return cls(" ".join(expr.split()))


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
        f = _Fields(cls.kind, data, ("at",))
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
        f = _Fields(cls.kind, data, ("every_seconds", "anchor"))
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

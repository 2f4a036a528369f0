"""Cron rules: five-field expressions parsed by croniter, matched against local calendar days."""

from __future__ import annotations

import calendar as stdlib_calendar
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from itertools import product
from typing import Any, ClassVar

from croniter import croniter

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.batch.rule_fields import RuleFields
from acas_batch.errors import ValidationError
from acas_batch.models.enums import ScheduleKind

_ONE_DAY = timedelta(days=1)


def _longest_month(month: int) -> int:
    return 29 if month == 2 else stdlib_calendar.monthrange(2001, month)[1]


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
            longest = max(_longest_month(m) for m in self.month_set)
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
        f = RuleFields(cls.kind, data, ("expr",))
        expr = f.get("expr")
        if not isinstance(expr, str):
            raise ValidationError(f"{f.name('expr')}: {expr!r} is not a string")
        return cls(" ".join(expr.split()))

"""Schedule rules in plain English, for tables, the dashboard and audit messages."""

from __future__ import annotations

from calendar import month_abbr

from acas_batch.batch.cron import CronRule
from acas_batch.batch.localtime import format_hhmm
from acas_batch.batch.rules import (
    WEEKDAYS,
    DailyRule,
    IntervalRule,
    MonthlyRule,
    OnceRule,
    Overflow,
    QuarterlyRule,
    Rule,
    WeeklyRule,
    YearlyRule,
)

_UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _every(seconds: int) -> str:
    for size, unit in _UNITS:
        if seconds % size == 0:
            count = seconds // size
            return f"every {unit}" if count == 1 else f"every {count} {unit}s"
    raise AssertionError("unreachable: every whole number of seconds divides by 1")


def _business_day(n: int) -> str:
    if n == -1:
        return "last business day"
    if n < 0:
        return f"{_ordinal(-n)}-last business day"
    return f"{_ordinal(n)} business day"


def describe(rule: Rule) -> str:
    """``"last business day of each month at 22:00"``, ``"every 15 minutes (UTC)"``, ..."""
    match rule:
        case DailyRule(at=at, business_days_only=only):
            return f"every {'business day' if only else 'day'} at {format_hhmm(at)}"
        case WeeklyRule(at=at, weekdays=days):
            names = ", ".join(WEEKDAYS[d].capitalize() for d in sorted(days))
            return f"every {names} at {format_hhmm(at)}"
        case MonthlyRule(at=at, day=day, business_day=business_day, overflow=overflow):
            if business_day is not None:
                what = _business_day(business_day)
            elif day == "last":
                what = "last day"
            else:
                assert isinstance(day, int)
                shorter = "skipped in shorter months" if overflow is Overflow.SKIP else "or the last day if shorter"
                what = f"day {day}" + (f" ({shorter})" if day > 28 else "")
            return f"{what} of each month at {format_hhmm(at)}"
        case QuarterlyRule(at=at, day=day):
            months = ", ".join(month_abbr[m] for m in sorted(rule.months))
            what = "last business day" if day == "last_business" else "last day"
            return f"{what} of each quarter ({months}) at {format_hhmm(at)}"
        case YearlyRule(at=at, day=day):
            what = "last business day" if day == "last_business" else "last day"
            return f"{what} of the financial year (end of {month_abbr[rule.end_month]}) at {format_hhmm(at)}"
        case CronRule(expr=expr):
            return f"cron {expr}"
        case IntervalRule(every_seconds=seconds, anchor=anchor):
            return f"{_every(seconds)} from {anchor.strftime('%Y-%m-%d %H:%M:%SZ')}"
        case OnceRule(at=at):
            return f"once at {at.strftime('%Y-%m-%d %H:%M')}"
    raise AssertionError(f"unreachable: no description for {rule!r}")

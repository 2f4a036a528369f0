"""Schedule rules as stored JSON: the accepted shapes, and errors that name the field and value."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from acas_batch.batch.calendar import (
    BusinessCalendar,
    CronRule,
    DailyRule,
    IntervalRule,
    MonthlyRule,
    OnceRule,
    Overflow,
    QuarterlyRule,
    ScheduleSpec,
    ShiftPolicy,
    WeeklyRule,
    YearlyRule,
    describe,
    rule_from_json,
)
from acas_batch.errors import ConfigError, ValidationError
from acas_batch.models.enums import ScheduleKind


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        ("daily", {"at": "23:00"}, DailyRule(time(23, 0))),
        ("daily", {"at": "05:00", "business_days_only": True}, DailyRule(time(5, 0), business_days_only=True)),
        ("weekly", {"at": "08:00", "weekdays": ["sun"]}, WeeklyRule(time(8, 0), frozenset({6}))),
        ("weekly", {"at": "08:00", "weekdays": ["fri", "mon"]}, WeeklyRule(time(8, 0), frozenset({0, 4}))),
        ("monthly", {"at": "22:00", "day": 15}, MonthlyRule(time(22, 0), day=15)),
        (
            "monthly",
            {"at": "22:00", "day": 31, "overflow": "skip"},
            MonthlyRule(time(22, 0), day=31, overflow=Overflow.SKIP),
        ),
        ("monthly", {"at": "22:00", "day": "last"}, MonthlyRule(time(22, 0), day="last")),
        ("monthly", {"at": "22:00", "business_day": 3}, MonthlyRule(time(22, 0), business_day=3)),
        ("monthly", {"at": "22:00", "business_day": -1}, MonthlyRule(time(22, 0), business_day=-1)),
        ("quarterly", {"at": "10:00", "day": "last"}, QuarterlyRule(time(10, 0), "last", 1)),
        (
            "quarterly",
            {"at": "10:00", "day": "last_business", "fy_start_month": 4},
            QuarterlyRule(time(10, 0), "last_business", 4),
        ),
        ("yearly", {"at": "18:00", "fy_start_month": 4, "day": "last"}, YearlyRule(time(18, 0), "last", 4)),
        ("cron", {"expr": "0 23 * * 1-5"}, CronRule("0 23 * * 1-5")),
        (
            "interval",
            {"every_seconds": 900, "anchor": "2026-01-01T00:00:00Z"},
            IntervalRule(900, datetime(2026, 1, 1, tzinfo=UTC)),
        ),
        ("once", {"at": "2026-12-31T23:00"}, OnceRule(datetime(2026, 12, 31, 23, 0))),
    ],
)
def test_documented_shapes_are_accepted(kind: str, data: dict[str, Any], expected: object) -> None:
    rule = rule_from_json(kind, data)
    assert rule == expected
    assert rule_from_json(ScheduleKind(kind), rule.to_json()) == rule


def test_to_json_writes_the_documented_shapes() -> None:
    assert rule_from_json("weekly", {"at": "08:00", "weekdays": ["sun", "mon"]}).to_json() == {
        "at": "08:00",
        "weekdays": ["mon", "sun"],
    }
    assert rule_from_json("interval", {"every_seconds": 60, "anchor": "2026-01-01T01:00:00+01:00"}).to_json() == {
        "every_seconds": 60,
        "anchor": "2026-01-01T00:00:00Z",
    }
    assert rule_from_json("quarterly", {"at": "10:00", "day": "last"}).to_json() == {
        "at": "10:00",
        "day": "last",
        "fy_start_month": 1,
    }


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("hourly", {"at": "10:00"}, "kind: 'hourly' is not a schedule kind"),
        ("daily", ["23:00"], "daily rule: ['23:00'] is not a JSON object"),
        ("daily", {}, "daily.at: required field is missing"),
        ("daily", {"at": "24:00"}, "daily.at: '24:00' is not a time of day HH:MM"),
        ("daily", {"at": "9:00"}, "daily.at: '9:00' is not a time of day"),
        ("daily", {"at": 900}, "daily.at: 900 is not a time of day"),
        ("daily", {"at": "09:00", "tz": "UTC"}, "daily.tz: unknown field"),
        ("daily", {"at": "09:00", "business_days_only": "yes"}, "daily.business_days_only: 'yes' is not true or false"),
        ("weekly", {"at": "08:00", "weekdays": []}, "weekly.weekdays: [] is not a non-empty list"),
        ("weekly", {"at": "08:00", "weekdays": ["sunday"]}, "weekly.weekdays: 'sunday' is not one of mon"),
        ("monthly", {"at": "22:00", "day": 32}, "monthly.day: 32 is not a whole number from 1 to 31"),
        ("monthly", {"at": "22:00", "day": 0}, "monthly.day: 0 is not a whole number from 1 to 31"),
        ("monthly", {"at": "22:00", "day": True}, "monthly.day: True is not a whole number"),
        ("monthly", {"at": "22:00", "day": "first"}, "monthly.day: 'first' is not a day number 1 to 31 or 'last'"),
        ("monthly", {"at": "22:00"}, "monthly: give exactly one of day and business_day"),
        ("monthly", {"at": "22:00", "day": 1, "business_day": 1}, "monthly: give exactly one of day and business_day"),
        ("monthly", {"at": "22:00", "business_day": 0}, "monthly.business_day: 0 is not a business day count"),
        (
            "monthly",
            {"at": "22:00", "business_day": 24},
            "monthly.business_day: 24 is not a whole number from -23 to 23",
        ),
        (
            "monthly",
            {"at": "22:00", "day": 31, "overflow": "next"},
            "monthly.overflow: 'next' is not 'last_day' or 'skip'",
        ),
        (
            "monthly",
            {"at": "22:00", "day": "last", "overflow": "skip"},
            "monthly.overflow: only applies to a day number",
        ),
        ("quarterly", {"at": "10:00"}, "quarterly.day: required field is missing"),
        ("quarterly", {"at": "10:00", "day": 31}, "quarterly.day: 31 is not 'last' or 'last_business'"),
        ("quarterly", {"at": "10:00", "day": "last", "fy_start_month": 13}, "quarterly.fy_start_month: 13 is not"),
        ("yearly", {"day": "last"}, "yearly.at: required field is missing"),
        ("cron", {"expr": "0 23 * *"}, "cron.expr: '0 23 * *' has 4 fields, not 5"),
        ("cron", {"expr": "0 0 23 * * 1"}, "has 6 fields, not 5"),
        ("cron", {"expr": "61 23 * * *"}, "cron.expr: '61 23 * * *' is not a valid cron expression"),
        ("cron", {"expr": "0 23 L * *"}, "L, W and # are not supported"),
        ("cron", {"expr": "0 23 * * mon#2"}, "L, W and # are not supported"),
        ("cron", {"expr": "0 23 15W * *"}, "L, W and # are not supported"),
        ("cron", {"expr": "0 23 * * 5L"}, "L, W and # are not supported"),
        ("cron", {"expr": 5}, "cron.expr: 5 is not a string"),
        ("cron", {"expr": "0 0 31 4,6,9,11 *"}, "can never run: no chosen month has day 31"),
        ("interval", {"every_seconds": 0}, "interval.every_seconds: 0 is not a whole number"),
        (
            "interval",
            {"every_seconds": 60, "anchor": "2026-01-01T00:00"},
            "interval.anchor: '2026-01-01T00:00' is not an instant",
        ),
        ("once", {"at": "2026-12-31"}, "once.at: '2026-12-31' is not a local date and time"),
        ("once", {"at": "2026-12-31T23:00Z"}, "once.at: '2026-12-31T23:00Z' is not a local date and time"),
        ("once", {"at": "2026-02-30T23:00"}, "once.at: '2026-02-30T23:00' is not a local date and time"),
    ],
)
def test_invalid_rules_name_the_field_and_the_value(kind: str, data: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        rule_from_json(kind, data)
    assert message in str(caught.value)


def test_cron_fields_expand_as_cron_does() -> None:
    rule = CronRule("*/30 8-9 * jan,jul sun")
    assert rule.times == (time(8, 0), time(8, 30), time(9, 0), time(9, 30))
    assert rule.month_set == frozenset({1, 7})
    assert rule.dow_set == frozenset({6})  # Sunday, as Python counts weekdays
    assert rule.matches(date(2026, 7, 5))  # a Sunday in July
    assert not rule.matches(date(2026, 8, 2))  # a Sunday in August


def test_cron_sunday_may_be_0_or_7() -> None:
    assert CronRule("0 1 * * 7").dow_set == CronRule("0 1 * * 0").dow_set == frozenset({6})


def test_quarter_end_months_for_each_financial_year_start() -> None:
    assert QuarterlyRule(time(10), "last", 1).months == frozenset({3, 6, 9, 12})
    assert QuarterlyRule(time(10), "last", 4).months == frozenset({6, 9, 12, 3})
    assert QuarterlyRule(time(10), "last", 2).months == frozenset({4, 7, 10, 1})
    assert YearlyRule(time(18), "last", 4).end_month == 3
    assert YearlyRule(time(18), "last", 1).end_month == 12


# --- the business calendar itself -------------------------------------------------------


def test_holiday_names_come_from_the_country_and_subdivision() -> None:
    england = BusinessCalendar("GB", "ENG")
    scotland = BusinessCalendar("GB", "SCT")
    assert england.holiday_name(date(2026, 8, 31)) == "Late Summer Bank Holiday"
    assert scotland.holiday_name(date(2026, 8, 31)) is None
    assert scotland.holiday_name(date(2026, 11, 30)) == "Saint Andrew's Day"
    assert england.is_business_day(date(2026, 1, 2))
    assert not scotland.is_business_day(date(2026, 1, 2))
    assert england.holiday_name(date(2026, 8, 28)) is None


def test_weekends_only_without_a_country() -> None:
    plain = BusinessCalendar(None)
    assert plain.is_business_day(date(2026, 12, 25))
    assert not plain.is_business_day(date(2026, 12, 26))
    assert plain.holiday_name(date(2026, 12, 25)) is None


def test_unknown_country_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="holiday_country: no holiday calendar for country 'XX'"):
        BusinessCalendar("XX", None)
    with pytest.raises(ConfigError, match="holiday_subdivision: 'ZZZ' is not a subdivision of 'GB'"):
        BusinessCalendar("GB", "ZZZ")


def test_bacs_submission_two_working_days_before_payment() -> None:
    cal = BusinessCalendar()
    # Paying on Tuesday 7 April 2026 (after Easter): submit on Wednesday 1 April.
    assert cal.add_business_days(date(2026, 4, 7), -2) == date(2026, 4, 1)
    assert cal.business_days_between(date(2026, 4, 1), date(2026, 4, 7)) == 2
    assert cal.business_days_between(date(2026, 4, 7), date(2026, 4, 1)) == -2
    assert cal.add_business_days(date(2026, 4, 4), 1) == date(2026, 4, 7)  # Saturday + 1


@pytest.mark.parametrize(
    ("kind", "data", "text"),
    [
        ("daily", {"at": "05:00", "business_days_only": True}, "every business day at 05:00"),
        ("weekly", {"at": "08:00", "weekdays": ["sun", "mon"]}, "every Mon, Sun at 08:00"),
        ("monthly", {"at": "22:00", "day": 31}, "day 31 (or the last day if shorter) of each month at 22:00"),
        (
            "monthly",
            {"at": "22:00", "day": 30, "overflow": "skip"},
            "day 30 (skipped in shorter months) of each month at 22:00",
        ),
        ("monthly", {"at": "22:00", "business_day": -1}, "last business day of each month at 22:00"),
        ("monthly", {"at": "22:00", "business_day": -2}, "2nd-last business day of each month at 22:00"),
        ("monthly", {"at": "07:00", "business_day": 11}, "11th business day of each month at 07:00"),
        (
            "quarterly",
            {"at": "10:00", "day": "last", "fy_start_month": 4},
            "last day of each quarter (Mar, Jun, Sep, Dec) at 10:00",
        ),
        (
            "yearly",
            {"at": "18:00", "day": "last_business", "fy_start_month": 4},
            "last business day of the financial year (end of Mar) at 18:00",
        ),
        ("cron", {"expr": "0 23 * * 1-5"}, "cron 0 23 * * 1-5"),
        ("interval", {"every_seconds": 900}, "every 15 minutes from 1970-01-01 00:00:00Z"),
        (
            "interval",
            {"every_seconds": 7200, "anchor": "2026-01-01T00:00:00Z"},
            "every 2 hours from 2026-01-01 00:00:00Z",
        ),
        ("once", {"at": "2026-12-31T23:00"}, "once at 2026-12-31 23:00"),
    ],
)
def test_rules_in_plain_english(kind: str, data: dict[str, Any], text: str) -> None:
    assert describe(rule_from_json(kind, data)) == text


def test_closure_days_must_be_dates() -> None:
    with pytest.raises(ValidationError, match=r"closures: datetime.datetime\(2026, 12, 29, 0, 0\) is not a date"):
        BusinessCalendar(closures=[datetime(2026, 12, 29)])


def test_specs_are_values() -> None:
    one = ScheduleSpec(rule_from_json("cron", {"expr": "0  23 * * 1-5"}), shift=ShiftPolicy.SKIP)
    two = ScheduleSpec(rule_from_json("cron", {"expr": "0 23 * * 1-5"}), "Europe/London", ShiftPolicy("skip"))
    assert one == two
    assert len({one, two}) == 1

"""The calendar on the dates that go wrong elsewhere: month ends, leap days, bank holidays, clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

import pytest

from acas_batch.batch.calendar import (
    BusinessCalendar,
    Occurrence,
    ScheduleSpec,
    ShiftPolicy,
    next_occurrence,
    next_occurrences,
    occurrences,
    rule_from_json,
)
from acas_batch.batch.localtime import DST_POLICY, DstPolicy, resolve
from acas_batch.errors import ValidationError

CAL = BusinessCalendar("GB", "ENG")
DAY = timedelta(days=1)


def spec(
    kind: str, rule: dict[str, Any], shift: ShiftPolicy = ShiftPolicy.RUN_ANYWAY, tz: str = "Europe/London"
) -> ScheduleSpec:
    return ScheduleSpec(rule_from_json(kind, rule), tz, shift)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def between(s: ScheduleSpec, first: date, last: date, cal: BusinessCalendar = CAL) -> list[Occurrence]:
    """Occurrences with a business date from first to last."""
    after = datetime.combine(first - DAY * 2, time(), tzinfo=UTC)
    until = datetime.combine(last + DAY * 2, time(), tzinfo=UTC)
    return [o for o in occurrences(s, cal, after, until) if first <= o.business_date <= last]


def days(found: list[Occurrence]) -> list[date]:
    return [o.business_date for o in found]


# --- month ends and leap years -------------------------------------------------------


def test_day_31_runs_on_the_last_day_of_a_30_day_month() -> None:
    found = between(spec("monthly", {"at": "22:00", "day": 31}), date(2026, 4, 1), date(2026, 7, 31))
    assert days(found) == [date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30), date(2026, 7, 31)]
    # 22:00 BST is 21:00 UTC
    assert found[0].nominal == utc(2026, 4, 30, 21, 0)


def test_day_31_with_overflow_skip_runs_only_in_31_day_months() -> None:
    found = between(
        spec("monthly", {"at": "22:00", "day": 31, "overflow": "skip"}), date(2026, 1, 1), date(2026, 12, 31)
    )
    assert [d.month for d in days(found)] == [1, 3, 5, 7, 8, 10, 12]


@pytest.mark.parametrize(("year", "expected"), [(2027, date(2027, 2, 28)), (2028, date(2028, 2, 29))])
def test_day_29_in_february_is_the_28th_except_in_a_leap_year(year: int, expected: date) -> None:
    found = between(
        spec("monthly", {"at": "08:00", "day": 29}), date(year, 2, 1), date(year, 2, 29 if year % 4 == 0 else 28)
    )
    assert days(found) == [expected]


def test_29_february_with_overflow_skip_runs_only_in_leap_years() -> None:
    s = spec("monthly", {"at": "08:00", "day": 29, "overflow": "skip"})
    febs = [o.business_date for o in between(s, date(2026, 1, 1), date(2033, 12, 31)) if o.business_date.month == 2]
    assert febs == [date(2028, 2, 29), date(2032, 2, 29)]


def test_cron_on_29_february_waits_for_the_next_leap_year() -> None:
    s = spec("cron", {"expr": "0 6 29 2 *"})
    assert [o.business_date for o in next_occurrences(s, CAL, utc(2026, 1, 1), 2)] == [
        date(2028, 2, 29),
        date(2032, 2, 29),
    ]


def test_cron_that_can_never_run_is_refused() -> None:
    with pytest.raises(ValidationError, match="can never run"):
        rule_from_json("cron", {"expr": "0 0 30 2 *"})


def test_yearly_end_of_a_february_financial_year_follows_leap_years() -> None:
    s = spec("yearly", {"at": "18:00", "day": "last", "fy_start_month": 3})
    assert days(next_occurrences(s, CAL, utc(2027, 1, 1), 2)) == [date(2027, 2, 28), date(2028, 2, 29)]


# --- last business day, bank holidays ------------------------------------------------


@pytest.mark.parametrize(
    ("month_start", "expected"),
    [
        (date(2026, 1, 1), date(2026, 1, 30)),  # 31 January 2026 is a Saturday
        (date(2026, 5, 1), date(2026, 5, 29)),  # 31 May 2026 is a Sunday
        (date(2026, 8, 1), date(2026, 8, 28)),  # 31 August 2026 is the Summer bank holiday (Monday)
        (date(2026, 9, 1), date(2026, 9, 30)),  # an ordinary Wednesday
        (date(2024, 3, 1), date(2024, 3, 28)),  # 31 March 2024 Sunday, 29 March Good Friday
    ],
)
def test_last_business_day_of_the_month(month_start: date, expected: date) -> None:
    s = spec("monthly", {"at": "22:00", "business_day": -1})
    assert days(next_occurrences(s, CAL, datetime.combine(month_start, time(), tzinfo=UTC), 1)) == [expected]


def test_third_business_day_skips_the_new_year_bank_holiday() -> None:
    # 1 January 2027 is a Friday and a bank holiday: business days are 4, 5, 6 January.
    s = spec("monthly", {"at": "07:00", "business_day": 3})
    assert days(next_occurrences(s, CAL, utc(2026, 12, 31), 1)) == [date(2027, 1, 6)]


@pytest.mark.parametrize(
    ("shift", "expected_day", "reason"),
    [
        (ShiftPolicy.RUN_ANYWAY, date(2026, 8, 31), None),
        (ShiftPolicy.PREVIOUS, date(2026, 8, 28), None),
        (ShiftPolicy.NEXT, date(2026, 9, 1), None),
        (ShiftPolicy.SKIP, date(2026, 8, 31), "Monday 2026-08-31 is not a business day (Late Summer Bank Holiday)"),
    ],
)
def test_month_end_on_the_summer_bank_holiday_under_each_shift_policy(
    shift: ShiftPolicy, expected_day: date, reason: str | None
) -> None:
    found = next_occurrence(spec("monthly", {"at": "22:00", "day": "last"}, shift), CAL, utc(2026, 8, 20))
    assert found is not None
    assert found.business_date == expected_day
    assert found.local.time() == time(22, 0)  # a move keeps the wall time
    assert found.skipped_reason == reason


def test_good_friday_and_easter_monday_are_not_business_days() -> None:
    s = spec("daily", {"at": "23:00", "business_days_only": True})
    assert days(between(s, date(2026, 4, 1), date(2026, 4, 8))) == [
        date(2026, 4, 1),
        date(2026, 4, 2),
        date(2026, 4, 7),
        date(2026, 4, 8),
    ]
    assert CAL.holiday_name(date(2026, 4, 3)) == "Good Friday"
    assert CAL.holiday_name(date(2026, 4, 6)) == "Easter Monday"


def test_christmas_and_boxing_day_on_a_weekend_move_to_monday_and_tuesday() -> None:
    # 2027: Christmas Saturday, Boxing Day Sunday; substitute days Monday 27 and Tuesday 28.
    assert CAL.holiday_name(date(2027, 12, 27)) == "Christmas Day (observed)"
    assert CAL.holiday_name(date(2027, 12, 28)) == "Boxing Day (observed)"
    s = spec("daily", {"at": "23:00"}, ShiftPolicy.NEXT)
    found = between(s, date(2027, 12, 23), date(2027, 12, 31))
    # Saturday 25 to Tuesday 28 all move to Wednesday 29 and run there once.
    assert days(found) == [
        date(2027, 12, 23),
        date(2027, 12, 24),
        date(2027, 12, 29),
        date(2027, 12, 30),
        date(2027, 12, 31),
    ]


def test_boxing_day_on_saturday_2026_gives_monday_28_as_substitute() -> None:
    assert CAL.holiday_name(date(2026, 12, 26)) == "Boxing Day"
    assert CAL.holiday_name(date(2026, 12, 28)) == "Boxing Day (observed)"
    assert CAL.next_business_day(date(2026, 12, 24)) == date(2026, 12, 29)


def test_daily_with_previous_shift_runs_once_for_a_weekend() -> None:
    # Friday, Saturday and Sunday all land on Friday 23:00: one occurrence, not three.
    s = spec("daily", {"at": "23:00"}, ShiftPolicy.PREVIOUS)
    found = between(s, date(2026, 11, 19), date(2026, 11, 24))
    assert days(found) == [date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24)]
    assert len({o.nominal for o in found}) == len(found)


def test_skip_keeps_the_occurrence_and_says_why() -> None:
    s = spec("daily", {"at": "23:00"}, ShiftPolicy.SKIP)
    found = {o.business_date: o for o in between(s, date(2026, 12, 24), date(2026, 12, 29))}
    assert len(found) == 6
    assert found[date(2026, 12, 27)].skipped_reason == "Sunday 2026-12-27 is not a business day"
    assert found[date(2026, 12, 25)].skipped_reason == "Friday 2026-12-25 is not a business day (Christmas Day)"
    assert found[date(2026, 12, 24)].skipped_reason is None


def test_company_closure_days_are_not_business_days() -> None:
    cal = BusinessCalendar("GB", "ENG", closures=[date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)])
    s = spec("monthly", {"at": "22:00", "business_day": -1})
    assert days(next_occurrences(s, cal, utc(2026, 12, 1), 1)) == [date(2026, 12, 24)]
    assert cal.holiday_name(date(2026, 12, 30)) == "Company closure"


# --- clock changes -------------------------------------------------------------------

SPRING = (date(2026, 3, 29), date(2027, 3, 28))
AUTUMN = (date(2026, 10, 25), date(2027, 10, 31))


@pytest.mark.parametrize("day", SPRING)
@pytest.mark.parametrize("at", ["01:00", "01:30"])
def test_spring_forward_runs_once_at_the_end_of_the_gap(day: date, at: str) -> None:
    # 01:00-01:59 does not exist: the run is at 02:00 BST (01:00 UTC), the first valid instant.
    wall = time.fromisoformat(at)
    found = between(spec("daily", {"at": at}), day - DAY, day + DAY)
    assert [o.nominal for o in found] == [
        datetime.combine(day - DAY, wall, UTC),  # GMT the day before
        datetime.combine(day, time(1, 0), UTC),  # 02:00 BST
        datetime.combine(day + DAY, wall, UTC) - timedelta(hours=1),  # BST the day after
    ]
    assert found[1].local.strftime("%H:%M %Z") == "02:00 BST"


@pytest.mark.parametrize("day", AUTUMN)
@pytest.mark.parametrize("at", ["01:00", "01:30"])
def test_fall_back_runs_once_at_the_first_of_the_two_times(day: date, at: str) -> None:
    # 01:00-01:59 happens twice: the run is in BST (00:xx UTC) and not again in GMT.
    found = between(spec("daily", {"at": at}), day, day)
    wall = time.fromisoformat(at)
    assert [o.nominal for o in found] == [datetime.combine(day, wall.replace(hour=0), UTC)]
    assert found[0].local.strftime("%H:%M %Z") == f"{at} BST"


@pytest.mark.parametrize("day", SPRING + AUTUMN)
def test_sunday_backup_runs_exactly_once_on_each_clock_change(day: date) -> None:
    s = spec("weekly", {"at": "01:00", "weekdays": ["sun"]})
    assert days(between(s, day - DAY * 6, day)) == [day]


def test_cron_times_inside_the_gap_collapse_into_one_run() -> None:
    s = spec("cron", {"expr": "*/15 1 * * *"})
    found = between(s, date(2026, 3, 29), date(2026, 3, 29))
    assert [o.nominal for o in found] == [utc(2026, 3, 29, 1, 0)]


def test_cron_in_the_repeated_hour_runs_only_in_its_first_pass() -> None:
    s = spec("cron", {"expr": "*/30 1 * * *"})
    found = between(s, date(2026, 10, 25), date(2026, 10, 25))
    assert [o.nominal for o in found] == [utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30)]


def test_interval_ignores_clock_changes() -> None:
    s = spec("interval", {"every_seconds": 3600, "anchor": "2026-01-01T00:00:00Z"})
    found = list(occurrences(s, CAL, utc(2026, 3, 28, 23, 30), utc(2026, 3, 29, 23, 30)))
    assert len(found) == 24
    assert {(b.nominal - a.nominal).total_seconds() for a, b in pairwise(found)} == {3600}
    assert found[1].local.strftime("%H:%M %Z") == "02:00 BST"  # 01:00 UTC


def test_new_york_schedule_uses_its_own_clock_change() -> None:
    # US clocks go forward on 8 March 2026 at 02:00; 02:30 does not exist there.
    found = between(spec("daily", {"at": "02:30"}, tz="America/New_York"), date(2026, 3, 8), date(2026, 3, 8))
    assert [o.local.strftime("%H:%M %Z") for o in found] == ["03:00 EDT"]


# --- financial years -----------------------------------------------------------------


def test_quarters_of_a_financial_year_starting_in_april() -> None:
    s = spec("quarterly", {"at": "10:00", "day": "last", "fy_start_month": 4})
    assert days(next_occurrences(s, CAL, utc(2026, 4, 1), 4)) == [
        date(2026, 6, 30),
        date(2026, 9, 30),
        date(2026, 12, 31),
        date(2027, 3, 31),
    ]


def test_calendar_quarters_by_default() -> None:
    s = spec("quarterly", {"at": "10:00", "day": "last"})
    assert [d.month for d in days(next_occurrences(s, CAL, utc(2026, 1, 1), 4))] == [3, 6, 9, 12]


def test_financial_year_end_on_a_saturday_after_good_friday() -> None:
    # 31 March 2029 is a Saturday and 30 March is Good Friday: the last business day is the 29th.
    s = spec("yearly", {"at": "18:00", "day": "last_business", "fy_start_month": 4})
    assert days(next_occurrences(s, CAL, utc(2029, 1, 1), 1)) == [date(2029, 3, 29)]
    plain = spec("yearly", {"at": "18:00", "day": "last", "fy_start_month": 4})
    assert days(next_occurrences(plain, CAL, utc(2029, 1, 1), 1)) == [date(2029, 3, 31)]


def test_next_occurrences_reaches_beyond_ten_years() -> None:
    s = spec("yearly", {"at": "18:00", "day": "last", "fy_start_month": 4})
    found = next_occurrences(s, CAL, utc(2026, 1, 1), 15)
    assert [d.year for d in days(found)] == list(range(2026, 2041))


# --- one-offs, cron semantics, errors ------------------------------------------------


def test_once_runs_once_and_then_never() -> None:
    s = spec("once", {"at": "2026-12-31T23:00"})
    found = next_occurrence(s, CAL, utc(2026, 1, 1))
    assert found is not None
    assert found.nominal == utc(2026, 12, 31, 23, 0)
    assert next_occurrence(s, CAL, found.nominal) is None


def test_cron_day_of_month_and_weekday_match_either() -> None:
    s = spec("cron", {"expr": "0 9 1 * mon"})
    assert days(between(s, date(2026, 6, 1), date(2026, 6, 30))) == [
        date(2026, 6, 1),  # the 1st, and a Monday
        date(2026, 6, 8),
        date(2026, 6, 15),
        date(2026, 6, 22),
        date(2026, 6, 29),
    ]


def test_cron_on_weekdays_at_23_00() -> None:
    s = spec("cron", {"expr": "0 23 * * 1-5"})
    found = between(s, date(2026, 11, 20), date(2026, 11, 24))
    assert days(found) == [date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24)]
    assert {o.local.time() for o in found} == {time(23, 0)}


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"after: .* has no time zone"):
        next_occurrence(spec("daily", {"at": "23:00"}), CAL, datetime(2026, 1, 1))


def test_interval_cannot_move_to_another_day() -> None:
    with pytest.raises(ValidationError, match="shift_policy: 'previous' does not apply to an interval"):
        spec("interval", {"every_seconds": 60}, ShiftPolicy.PREVIOUS)


def test_unknown_time_zone_is_named() -> None:
    with pytest.raises(ValidationError, match="timezone: unknown time zone 'Europe/Londres'"):
        spec("daily", {"at": "23:00"}, tz="Europe/Londres")


# --- window edges ----------------------------------------------------------------------

EDGE_RULES = [
    ("monthly", {"at": "22:00", "day": "last"}),  # 31 Jan 2026 Sat, 31 May Sun, 31 Aug bank holiday
    ("monthly", {"at": "00:30", "day": 1}),  # 1 Feb 2026 Sun, 1 Aug Sat
    ("quarterly", {"at": "10:00", "day": "last", "fy_start_month": 4}),
    ("weekly", {"at": "01:30", "weekdays": ["sat"]}),
    ("daily", {"at": "23:00"}),
    ("cron", {"expr": "0 1,23 * * 0,6"}),
]
EDGE_WINDOWS = [
    (utc(2026, 1, 28), utc(2026, 2, 4)),
    (utc(2026, 3, 26), utc(2026, 4, 8)),  # clocks forward, Easter
    (utc(2026, 5, 27), utc(2026, 6, 3)),
    (utc(2026, 8, 27), utc(2026, 9, 3)),
    (utc(2026, 10, 22), utc(2026, 11, 3)),  # clocks back
    (utc(2026, 12, 22), utc(2027, 1, 6)),  # Christmas, New Year
]


@pytest.mark.parametrize("shift", list(ShiftPolicy))
@pytest.mark.parametrize(("kind", "rule"), EDGE_RULES)
def test_every_window_edge_agrees_with_one_long_run(kind: str, rule: dict[str, Any], shift: ShiftPolicy) -> None:
    # Given the occurrences of a whole year, computed in one go
    s = spec(kind, rule, shift)
    whole = list(occurrences(s, CAL, utc(2025, 12, 1), utc(2027, 7, 1)))
    for start, end in EDGE_WINDOWS:
        cut = start
        while cut <= end:
            # Then a window that starts or ends at any hour agrees with it, as does the next run.
            assert list(occurrences(s, CAL, utc(2025, 12, 1), cut)) == [o for o in whole if o.nominal <= cut]
            assert list(occurrences(s, CAL, cut, utc(2027, 7, 1))) == [o for o in whole if o.nominal > cut]
            assert next_occurrence(s, CAL, cut) == next(o for o in whole if o.nominal > cut)
            cut += timedelta(hours=1)


# --- the DST policy itself --------------------------------------------------------------


def test_resolve_moves_a_nonexistent_time_to_the_end_of_the_gap() -> None:
    assert DST_POLICY is DstPolicy.GAP_FORWARD_FOLD_FIRST
    # Lord Howe Island moves its clocks by half an hour: 02:00-02:29 does not exist on 4 October 2026.
    nominal, local = resolve(date(2026, 10, 4), time(2, 15), "Australia/Lord_Howe")
    assert local.strftime("%H:%M") == "02:30"
    assert nominal == utc(2026, 10, 3, 15, 30)
    # London, clocks back: 01:30 is the BST one, with fold 0.
    nominal, local = resolve(date(2026, 10, 25), time(1, 30), "Europe/London")
    assert (nominal, local.fold, local.utcoffset()) == (utc(2026, 10, 25, 0, 30), 0, timedelta(hours=1))

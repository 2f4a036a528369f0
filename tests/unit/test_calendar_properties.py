"""Properties of the calendar over random rules, zones, windows and closure days (hypothesis)."""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from acas_batch.batch.calendar import (
    BusinessCalendar,
    IntervalRule,
    Occurrence,
    Rule,
    ScheduleSpec,
    ShiftPolicy,
    next_occurrence,
    occurrences,
    rule_from_json,
)
from acas_batch.errors import ValidationError
from acas_batch.models.enums import ScheduleKind

# Zones with clock changes at 01:00, 02:00 and by half an hour, and one without any.
ZONES = ("Europe/London", "Europe/Dublin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FIRST, LAST = datetime(2020, 1, 1, tzinfo=UTC), datetime(2036, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
CALENDAR = BusinessCalendar("GB", "ENG")

hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))
# Times in and around the London and Dublin clock changes turn up often.
at_times = st.one_of(hhmm, st.sampled_from(["00:30", "01:00", "01:30", "01:59", "02:00", "02:30", "23:59", "00:00"]))
month_end = st.sampled_from(["last", "last_business"])
fy_month = st.integers(1, 12)


def _cron_expr(minute: str, hour: str, dom: str, month: str, dow: str) -> dict[str, Any]:
    return {"expr": f"{minute} {hour} {dom} {month} {dow}"}


cron_rules = st.builds(
    _cron_expr,
    st.sampled_from(["0", "30", "*/15", "5,35", "59"]),
    st.sampled_from(["1", "2", "0,12", "*/6", "23", "1-2"]),
    st.sampled_from(["*", "1", "15", "28", "29", "31", "1,15"]),
    st.sampled_from(["*", "2", "1-6", "3,6,9,12"]),
    st.sampled_from(["*", "1-5", "0", "6"]),
)

rule_json = st.one_of(
    st.tuples(
        st.just("daily"), st.fixed_dictionaries({"at": at_times}, optional={"business_days_only": st.booleans()})
    ),
    st.tuples(
        st.just("weekly"),
        st.fixed_dictionaries(
            {"at": at_times, "weekdays": st.lists(st.sampled_from(WEEKDAYS), min_size=1, unique=True)}
        ),
    ),
    st.tuples(
        st.just("monthly"),
        st.one_of(
            st.fixed_dictionaries(
                {"at": at_times, "day": st.integers(1, 31)},
                optional={"overflow": st.sampled_from(["skip", "last_day"])},
            ),
            st.fixed_dictionaries({"at": at_times, "day": st.just("last")}),
            st.fixed_dictionaries({"at": at_times, "business_day": st.integers(-23, 23).filter(bool)}),
        ),
    ),
    st.tuples(
        st.just("quarterly"),
        st.fixed_dictionaries({"at": at_times, "day": month_end}, optional={"fy_start_month": fy_month}),
    ),
    st.tuples(
        st.just("yearly"),
        st.fixed_dictionaries({"at": at_times, "day": month_end}, optional={"fy_start_month": fy_month}),
    ),
    st.tuples(st.just("cron"), cron_rules),
    st.tuples(
        st.just("interval"),
        st.fixed_dictionaries(
            {"every_seconds": st.sampled_from([60, 900, 3600, 5400, 86400, 90061])},
            optional={"anchor": st.sampled_from(["2026-01-01T00:00:00Z", "2025-06-30T13:07:00+01:00"])},
        ),
    ),
    st.tuples(
        st.just("once"),
        st.builds(lambda d, t: {"at": f"{d.isoformat()}T{t}"}, st.dates(FIRST.date(), LAST.date() - DAY), at_times),
    ),
)


def _rule_or_none(kind: str, data: dict[str, Any]) -> Rule | None:
    try:
        return rule_from_json(kind, data)
    except ValidationError:  # a cron expression that can never run
        return None


rules = rule_json.map(lambda pair: _rule_or_none(*pair)).filter(lambda r: r is not None)


@st.composite
def specs(draw: st.DrawFn, rule_strategy: st.SearchStrategy[Rule | None] = rules) -> ScheduleSpec:
    rule = draw(rule_strategy)
    assert rule is not None
    shifts = list(ShiftPolicy)
    if isinstance(rule, IntervalRule):
        shifts = [ShiftPolicy.RUN_ANYWAY, ShiftPolicy.SKIP]
    return ScheduleSpec(rule, draw(st.sampled_from(ZONES)), draw(st.sampled_from(shifts)))


afters = st.datetimes(FIRST.replace(tzinfo=None), LAST.replace(tzinfo=None), timezones=st.just(UTC))
spans = st.timedeltas(timedelta(minutes=1), timedelta(days=75))


@st.composite
def calendars(draw: st.DrawFn, around: datetime) -> BusinessCalendar:
    """The England and Wales calendar plus some closure days near ``around``."""
    offsets = draw(st.lists(st.integers(-10, 80), max_size=12))
    return BusinessCalendar("GB", "ENG", [around.date() + DAY * k for k in offsets])


def _check_window(found: list[Occurrence], spec: ScheduleSpec, after: datetime, until: datetime) -> None:
    for occurrence in found:
        assert after < occurrence.nominal <= until
        assert occurrence.nominal.utcoffset() == timedelta(0)
        # (not local == nominal: Python never equates an ambiguous wall time with another zone's instant)
        assert occurrence.local.astimezone(UTC) == occurrence.nominal
        assert occurrence.local.tzinfo == ZoneInfo(spec.timezone)
        assert occurrence.business_date == occurrence.local.date()
    assert all(a.nominal < b.nominal for a, b in pairwise(found)), "not strictly increasing"


@settings(deadline=None)
@given(spec=specs(), after=afters, span=spans, data=st.data())
def test_occurrences_strictly_increase_inside_the_window(
    spec: ScheduleSpec, after: datetime, span: timedelta, data: st.DataObject
) -> None:
    cal = data.draw(calendars(after))
    found = list(occurrences(spec, cal, after, after + span))
    _check_window(found, spec, after, after + span)


@settings(deadline=None)
@given(spec=specs(), after=afters, span=spans, cut=st.floats(0, 1), data=st.data())
def test_splitting_the_window_loses_and_doubles_nothing(
    spec: ScheduleSpec, after: datetime, span: timedelta, cut: float, data: st.DataObject
) -> None:
    # Given a window cut at any instant (a clock change, a month end, a leap day ...)
    cal = data.draw(calendars(after))
    middle = after + span * cut
    # Then the two halves are exactly the whole.
    whole = list(occurrences(spec, cal, after, after + span))
    halves = list(occurrences(spec, cal, after, middle)) + list(occurrences(spec, cal, middle, after + span))
    assert halves == whole


@settings(deadline=None, max_examples=60)
@given(spec=specs(), after=afters, span=st.timedeltas(timedelta(minutes=1), timedelta(days=20)))
def test_next_occurrence_walks_through_the_same_occurrences(
    spec: ScheduleSpec, after: datetime, span: timedelta
) -> None:
    expected = list(occurrences(spec, CALENDAR, after, after + span))
    walked: list[Occurrence] = []
    cursor = after
    while (found := next_occurrence(spec, CALENDAR, cursor)) is not None and found.nominal <= after + span:
        walked.append(found)
        cursor = found.nominal
    assert walked == expected


@settings(deadline=None)
@given(spec=specs(), after=afters, span=spans, data=st.data())
def test_shift_policies_land_on_business_days(
    spec: ScheduleSpec, after: datetime, span: timedelta, data: st.DataObject
) -> None:
    cal = data.draw(calendars(after))
    for occurrence in occurrences(spec, cal, after, after + span):
        business = cal.is_business_day(occurrence.business_date)
        if spec.shift in (ShiftPolicy.PREVIOUS, ShiftPolicy.NEXT):
            assert business, occurrence
        if spec.shift is ShiftPolicy.SKIP:
            assert (occurrence.skipped_reason is None) == business, occurrence
        else:
            assert occurrence.skipped_reason is None


daily_rules = st.builds(lambda at: rule_from_json("daily", {"at": at}), at_times)


@settings(deadline=None)
@given(rule=daily_rules, tz=st.sampled_from(ZONES), after=afters, days=st.integers(2, 400))
def test_a_daily_rule_runs_once_on_every_local_day_across_clock_changes(
    rule: Rule, tz: str, after: datetime, days: int
) -> None:
    spec = ScheduleSpec(rule, tz)
    found = list(occurrences(spec, CALENDAR, after, after + DAY * days))
    first_full = after.astimezone(ZoneInfo(tz)).date() + DAY
    last_full = (after + DAY * days).astimezone(ZoneInfo(tz)).date() - DAY
    dates = [o.business_date for o in found if first_full <= o.business_date <= last_full]
    assert dates == [first_full + DAY * k for k in range((last_full - first_full).days + 1)]


@settings(deadline=None)
@given(day=st.integers(1, 31), after=afters, months=st.integers(1, 60))
def test_a_monthly_day_runs_once_a_month_on_that_day_or_the_last(day: int, after: datetime, months: int) -> None:
    spec = ScheduleSpec(rule_from_json("monthly", {"at": "12:00", "day": day}))
    found = list(occurrences(spec, CALENDAR, after, after + DAY * 31 * months))
    by_month = [(o.business_date.year, o.business_date.month) for o in found]
    assert len(by_month) == len(set(by_month)), "two runs in one month"
    for occurrence in found:
        d = occurrence.business_date
        assert d.day == min(day, stdlib_calendar.monthrange(d.year, d.month)[1])
    # every month strictly inside the window has its run
    inner = {(y, m) for y, m in by_month[1:-1]}
    assert len(inner) == max(len(by_month) - 2, 0)


@settings(deadline=None)
@given(n=st.integers(-23, 23).filter(bool), after=afters, data=st.data())
def test_nth_business_day_is_a_business_day_and_the_nth(n: int, after: datetime, data: st.DataObject) -> None:
    cal = data.draw(calendars(after))
    spec = ScheduleSpec(rule_from_json("monthly", {"at": "09:00", "business_day": n}))
    for occurrence in occurrences(spec, cal, after, after + DAY * 120):
        d = occurrence.business_date
        assert cal.is_business_day(d)
        month_days = [date(d.year, d.month, k) for k in range(1, stdlib_calendar.monthrange(d.year, d.month)[1] + 1)]
        business = [x for x in month_days if cal.is_business_day(x)]
        assert business[n - 1 if n > 0 else n] == d


@settings(deadline=None)
@given(pair=rule_json)
def test_rules_survive_a_json_round_trip(pair: tuple[str, dict[str, Any]]) -> None:
    rule = _rule_or_none(*pair)
    assume(rule is not None)
    assert rule is not None
    again = rule_from_json(ScheduleKind(pair[0]), rule.to_json())
    assert again == rule
    assert again.to_json() == rule.to_json()


@settings(deadline=None)
@given(every=st.integers(1, 86400 * 3), after=afters, span=st.timedeltas(timedelta(0), timedelta(days=10)))
def test_intervals_are_exact_in_utc(every: int, after: datetime, span: timedelta) -> None:
    rule = rule_from_json("interval", {"every_seconds": every, "anchor": "2026-03-29T00:59:59Z"})
    assert isinstance(rule, IntervalRule)
    found = list(occurrences(ScheduleSpec(rule), CALENDAR, after, after + span))[:2000]
    for occurrence in found:
        assert (occurrence.nominal - rule.anchor).total_seconds() % every == 0
        assert occurrence.nominal >= rule.anchor
    assert {(b.nominal - a.nominal).total_seconds() for a, b in pairwise(found)} <= {every}


business_days = st.dates(date(2020, 1, 1), date(2035, 12, 31))


@settings(deadline=None)
@given(day=business_days, n=st.integers(-40, 40), data=st.data())
def test_adding_business_days(day: date, n: int, data: st.DataObject) -> None:
    closures = data.draw(st.lists(st.integers(-60, 60), max_size=10))
    cal = BusinessCalendar("GB", "ENG", [day + DAY * k for k in closures])
    moved = cal.add_business_days(day, n)
    if n == 0:
        assert moved == day
        return
    assert cal.is_business_day(moved)
    assert (moved > day) == (n > 0)
    if n > 0:
        assert cal.business_days_between(day, moved) == n
    if cal.is_business_day(day):
        assert cal.add_business_days(moved, -n) == day


@settings(deadline=None)
@given(a=business_days, offset=st.integers(-799, 799))
def test_business_days_between_counts_them(a: date, offset: int) -> None:
    b = a + DAY * offset  # drawn near a, not filtered: filtering trips Hypothesis's health check
    lo, hi = min(a, b), max(a, b)
    count = sum(1 for k in range(1, (hi - lo).days + 1) if CALENDAR.is_business_day(lo + DAY * k))
    assert CALENDAR.business_days_between(a, b) == (count if b >= a else -count)


@settings(deadline=None)
@given(day=business_days)
def test_next_and_previous_business_days_are_the_nearest(day: date) -> None:
    after, before = CALENDAR.next_business_day(day), CALENDAR.previous_business_day(day)
    assert before < day < after
    assert CALENDAR.is_business_day(after)
    assert CALENDAR.is_business_day(before)
    gap = [before + DAY * k for k in range(1, (after - before).days)]
    assert [d for d in gap if d != day and CALENDAR.is_business_day(d)] == []

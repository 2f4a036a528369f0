"""Forecasts merge many schedules into one time order, and the benchmark's schedules are valid."""

from __future__ import annotations

from datetime import UTC, date, datetime

from benchmarks import bench_calendar
from hypothesis import given, settings
from hypothesis import strategies as st

from acas_batch.batch.calendar import BusinessCalendar, ScheduleSpec, ShiftPolicy, occurrences, rule_from_json
from acas_batch.batch.forecast import forecast, forecast_days, next_across
from acas_batch.batch.schedules import StoredSchedule, next_fire_times, next_of_schedules

CAL = BusinessCalendar("GB", "ENG")

ENTRIES = [
    ("GL_DAILY_CLOSE", ScheduleSpec(rule_from_json("daily", {"at": "23:00"}), shift=ShiftPolicy.PREVIOUS)),
    ("GL_PERIOD_CLOSE", ScheduleSpec(rule_from_json("monthly", {"at": "22:00", "business_day": -1}))),
    ("NY_SWEEP", ScheduleSpec(rule_from_json("daily", {"at": "20:00"}), "America/New_York")),
    ("SAME_TIME", ScheduleSpec(rule_from_json("daily", {"at": "23:00"}))),
]


def test_forecast_is_every_schedule_in_time_order() -> None:
    after, until = datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 31, tzinfo=UTC)
    rows = forecast(ENTRIES, CAL, after, until)
    assert [o.nominal for _, o in rows] == sorted(o.nominal for _, o in rows)
    for job, spec in ENTRIES:
        assert [o for j, o in rows if j == job] == list(occurrences(spec, CAL, after, until))
    # two schedules at the same instant keep the order of the entries
    same = [job for job, o in rows if o.nominal == datetime(2026, 12, 1, 23, tzinfo=UTC)]
    assert same == ["GL_DAILY_CLOSE", "SAME_TIME"]


def test_forecast_days_selects_by_each_schedules_own_business_date() -> None:
    rows = forecast_days(ENTRIES, CAL, date(2026, 12, 31), date(2026, 12, 31))
    # 20:00 in New York on the 31st is 01:00 UTC on 1 January, and still belongs to the 31st.
    assert {(job, o.business_date) for job, o in rows} == {
        ("GL_DAILY_CLOSE", date(2026, 12, 31)),
        ("GL_PERIOD_CLOSE", date(2026, 12, 31)),
        ("NY_SWEEP", date(2026, 12, 31)),
        ("SAME_TIME", date(2026, 12, 31)),
    }
    assert next(o for job, o in rows if job == "NY_SWEEP").nominal == datetime(2027, 1, 1, 1, tzinfo=UTC)


@settings(deadline=None, max_examples=40)
@given(n=st.integers(0, 40), day=st.dates(date(2024, 1, 1), date(2030, 12, 31)))
def test_next_across_is_the_start_of_the_forecast(n: int, day: date) -> None:
    after = datetime.combine(day, datetime.min.time(), UTC)
    rows = next_across(ENTRIES, CAL, after, n)
    assert len(rows) == n
    window = forecast(ENTRIES, CAL, after, rows[-1][1].nominal) if rows else []
    assert [(j, o.nominal) for j, o in rows] == [(j, o.nominal) for j, o in window][:n]


def test_benchmark_schedules_cover_every_kind_and_policy() -> None:
    specs = bench_calendar.varied_schedules(400)
    assert {type(s.rule).__name__ for s in specs} == {
        "DailyRule", "WeeklyRule", "MonthlyRule", "QuarterlyRule", "YearlyRule", "CronRule", "IntervalRule", "OnceRule",
    }  # fmt: skip
    assert {s.shift for s in specs} == set(ShiftPolicy)
    figures = dict(bench_calendar.run(n=200, passes=1))
    assert all(value.endswith((" ms", " us", " CPUs")) for value in figures.values())
    assert any("200 schedules" in name for name in figures)


def test_next_fire_times_respect_each_schedules_validity() -> None:
    daily = ScheduleSpec(rule_from_json("daily", {"at": "23:00"}))
    stored = [
        StoredSchedule(1, "A", "always", daily),
        StoredSchedule(2, "B", "from january", daily, valid_from=datetime(2027, 1, 1, 23, tzinfo=UTC)),
        StoredSchedule(3, "C", "ended", daily, valid_until=datetime(2026, 12, 1, tzinfo=UTC)),
        StoredSchedule(4, "D", "past one-off", ScheduleSpec(rule_from_json("once", {"at": "2026-01-01T09:00"}))),
    ]
    after = datetime(2026, 12, 10, 12, tzinfo=UTC)
    found = {s.id: o.nominal if o else None for s, o in next_fire_times(stored, CAL, after)}
    assert found == {
        1: datetime(2026, 12, 10, 23, tzinfo=UTC),
        2: datetime(2027, 1, 1, 23, tzinfo=UTC),  # valid_from is inclusive
        3: None,
        4: None,
    }
    # next_of_schedules agrees on the first one of each
    merged = next_of_schedules(stored, CAL, after, 50)
    assert {s.id for s, _ in merged} == {1, 2}

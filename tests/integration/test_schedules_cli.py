"""``acas-batch schedules``: the CLI prints exactly what the calendar functions compute, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, update

from acas_batch.batch.calendar import BusinessCalendar, ScheduleSpec, next_occurrences, occurrences, rule_from_json
from acas_batch.batch.schedules import load_schedules
from acas_batch.db import transaction
from acas_batch.models.batch import BatchJob, BatchSchedule
from acas_batch.models.company import ClosureDay
from acas_batch.models.enums import Module, ScheduleKind, ShiftPolicy
from tests.integration.test_cli import acas

NOW = datetime(2026, 11, 1, tzinfo=UTC)

# (job, enabled job, schedule, kind, rule, zone, shift, enabled schedule, valid_until)
SCHEDULES: list[tuple[str, bool, str, str, dict[str, Any], str, ShiftPolicy, bool, datetime | None]] = [
    ("GL_DAILY_CLOSE", True, "daily", "daily", {"at": "23:00"}, "Europe/London", ShiftPolicy.PREVIOUS, True, None),
    ("GL_PERIOD_CLOSE", True, "month end", "monthly", {"at": "22:00", "business_day": -1}, "Europe/London",
     ShiftPolicy.RUN_ANYWAY, True, None),
    ("SL_VAT_RETURN", True, "quarter end", "quarterly", {"at": "10:00", "day": "last", "fy_start_month": 4},
     "Europe/London", ShiftPolicy.NEXT, True, None),
    ("SYS_DATABASE_BACKUP", True, "sunday", "weekly", {"at": "01:00", "weekdays": ["sun"]}, "Europe/London",
     ShiftPolicy.RUN_ANYWAY, True, None),
    ("SYS_DATABASE_BACKUP", True, "weekday nights", "cron", {"expr": "30 1 * * 1-5"}, "Europe/London",
     ShiftPolicy.SKIP, True, None),
    ("SYS_HEALTH_CHECK", True, "new york", "interval", {"every_seconds": 21600, "anchor": "2026-01-01T00:00:00Z"},
     "America/New_York", ShiftPolicy.SKIP, True, datetime(2027, 1, 10, tzinfo=UTC)),
    ("SYS_LOG_CLEANUP", True, "switched off", "daily", {"at": "03:00"}, "Europe/London", ShiftPolicy.RUN_ANYWAY,
     False, None),
    ("ST_DEMAND_FORECAST", False, "job disabled", "daily", {"at": "07:00"}, "Europe/London", ShiftPolicy.RUN_ANYWAY,
     True, None),
]  # fmt: skip


def seed(engine: Engine) -> None:
    with transaction(engine, write=True) as session:
        jobs: dict[str, BatchJob] = {}
        for job_name, job_enabled, name, kind, rule, tz, shift, enabled, valid_until in SCHEDULES:
            if job_name not in jobs:
                jobs[job_name] = BatchJob(
                    name=job_name,
                    module=Module(job_name.split("_")[0]),
                    handler=job_name.lower(),
                    enabled=job_enabled,
                    created_at=NOW,
                    updated_at=NOW,
                )
                session.add(jobs[job_name])
                session.flush()
            session.add(
                BatchSchedule(
                    job_id=jobs[job_name].id,
                    name=name,
                    kind=ScheduleKind(kind),
                    rule=rule,
                    timezone=tz,
                    shift_policy=shift,
                    enabled=enabled,
                    valid_until=valid_until,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )


def _row(
    job: str, schedule: str, tz: str, nominal: datetime, local: datetime, business: date, reason: str | None
) -> dict[str, Any]:
    return {
        "job": job,
        "schedule": schedule,
        "nominal": nominal.isoformat().replace("+00:00", "Z"),
        "local": local.isoformat(),
        "timezone": tz,
        "business_date": business.isoformat(),
        "skipped_reason": reason,
    }


def expected_forecast(first: date, last: date, job: str | None = None) -> list[dict[str, Any]]:
    """The forecast computed straight from the definitions above with the calendar functions."""
    cal = BusinessCalendar("GB", "ENG")
    rows = []
    for job_name, job_enabled, name, kind, rule, tz, shift, enabled, valid_until in SCHEDULES:
        if not (job_enabled and enabled) or (job is not None and job_name != job):
            continue
        spec = ScheduleSpec(rule_from_json(kind, rule), tz, shift)
        after = datetime.combine(first - timedelta(days=3), time(), UTC)
        until = datetime.combine(last + timedelta(days=3), time(), UTC)
        for o in occurrences(spec, cal, after, until):
            if first <= o.business_date <= last and (valid_until is None or o.nominal <= valid_until):
                rows.append(_row(job_name, name, tz, o.nominal, o.local, o.business_date, o.skipped_reason))
    return sorted(rows, key=lambda r: (r["nominal"], r["job"], r["schedule"]))


def _without_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert all(isinstance(r.pop("schedule_id"), int) for r in rows)
    return rows


def test_forecast_json_matches_the_calendar(engine: Engine, db_url: str) -> None:
    # Given eight schedules: one disabled, one of a disabled job, one ending on 10 January
    seed(engine)
    # When the CLI forecasts December and January
    result = acas(
        "schedules", "forecast", "--from", "2026-12-01", "--to", "20270131", "--json", "--database-url", db_url
    )
    # Then it prints exactly the calendar's occurrences of the six that run
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    expected = expected_forecast(date(2026, 12, 1), date(2027, 1, 31))
    assert (document["from"], document["to"], document["count"]) == ("2026-12-01", "2027-01-31", len(expected))
    assert _without_ids(document["occurrences"]) == expected
    jobs = {r["job"] for r in expected}
    assert jobs == {"GL_DAILY_CLOSE", "GL_PERIOD_CLOSE", "SL_VAT_RETURN", "SYS_DATABASE_BACKUP", "SYS_HEALTH_CHECK"}
    # Christmas 2026 with the previous policy: the daily close runs on the 24th for 24th-28th, once.
    daily = [r["business_date"] for r in expected if r["job"] == "GL_DAILY_CLOSE"]
    assert "2026-12-24" in daily
    assert not {"2026-12-25", "2026-12-26", "2026-12-27", "2026-12-28"} & set(daily)
    assert max(r["nominal"] for r in expected if r["job"] == "SYS_HEALTH_CHECK") <= "2027-01-10T00:00:00Z"


def test_forecast_of_one_job_as_a_table(engine: Engine, db_url: str) -> None:
    seed(engine)
    result = acas("schedules", "forecast", "--from", "2027-03-01", "--to", "2027-03-31", "--job", "SL_VAT_RETURN",
                  "--database-url", db_url)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "SL_VAT_RETURN" in result.stdout
    assert "2027-03-31" in result.stdout  # a Wednesday: the quarter end of an April year runs on its day
    assert "GL_DAILY_CLOSE" not in result.stdout
    as_json = acas("schedules", "forecast", "--from", "2027-03-01", "--to", "2027-03-31", "--job", "SL_VAT_RETURN",
                   "--json", "--database-url", db_url)  # fmt: skip
    assert _without_ids(json.loads(as_json.stdout)["occurrences"]) == expected_forecast(
        date(2027, 3, 1), date(2027, 3, 31), job="SL_VAT_RETURN"
    )


def test_next_runs_of_a_job_across_its_schedules(engine: Engine, db_url: str) -> None:
    seed(engine)
    result = acas("schedules", "next", "SYS_DATABASE_BACKUP", "-n", "6", "--after", "2026-10-24T12:00:00Z", "--json",
                  "--database-url", db_url)  # fmt: skip
    assert result.returncode == 0, result.stderr
    cal = BusinessCalendar("GB", "ENG")
    after = datetime(2026, 10, 24, 12, tzinfo=UTC)
    expected = []
    for job_name, _, name, kind, rule, tz, shift, _, _ in SCHEDULES:
        if job_name == "SYS_DATABASE_BACKUP":
            spec = ScheduleSpec(rule_from_json(kind, rule), tz, shift)
            expected += [_row(job_name, name, tz, o.nominal, o.local, o.business_date, o.skipped_reason)
                         for o in next_occurrences(spec, cal, after, 6)]  # fmt: skip
    expected = sorted(expected, key=lambda r: (r["nominal"], r["schedule"]))[:6]
    document = json.loads(result.stdout)
    assert _without_ids(document["occurrences"]) == expected
    assert [(s["schedule"], s["rule"], s["shift_policy"]) for s in document["schedules"]] == [
        ("sunday", "every Sun at 01:00", "run_anyway"),
        ("weekday nights", "cron 30 1 * * 1-5", "skip"),
    ]
    # The clocks go back that night: the Sunday backup runs once, at 01:00 BST.
    assert expected[0]["nominal"] == "2026-10-25T00:00:00Z"


def test_next_runs_of_a_schedule_by_id_even_when_disabled(engine: Engine, db_url: str) -> None:
    seed(engine)
    with transaction(engine) as session:
        disabled = next(s for s in load_schedules(session, include_disabled=True) if s.name == "switched off")
    result = acas("schedules", "next", str(disabled.id), "-n", "2", "--after", "2026-12-01T12:00", "--json",
                  "--database-url", db_url)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [r["nominal"] for r in json.loads(result.stdout)["occurrences"]] == [
        "2026-12-02T03:00:00Z",
        "2026-12-03T03:00:00Z",
    ]


def test_loading_only_what_will_run(engine: Engine) -> None:
    seed(engine)
    with transaction(engine) as session:
        running = {(s.job_name, s.name) for s in load_schedules(session)}
        everything = load_schedules(session, include_disabled=True)
    assert ("SYS_LOG_CLEANUP", "switched off") not in running
    assert ("ST_DEMAND_FORECAST", "job disabled") not in running
    assert len(running) == 6
    assert len(everything) == 8
    assert [s.job_name for s in everything] == sorted(s.job_name for s in everything)


def test_errors_name_the_schedule_or_job(engine: Engine, db_url: str) -> None:
    seed(engine)
    missing = acas("schedules", "next", "NO_SUCH_JOB", "--database-url", db_url)
    assert missing.returncode == 66
    assert missing.stderr.strip() == "error: no job is named 'NO_SUCH_JOB'"
    no_id = acas("schedules", "next", "9999", "--database-url", db_url)
    assert no_id.stderr.strip() == "error: no schedule has id 9999"
    # A rule broken in the database is reported with its schedule, not as a traceback.
    with transaction(engine, write=True) as session:
        session.execute(update(BatchSchedule).where(BatchSchedule.name == "daily").values(rule={"at": "25:00"}))
    broken = acas("schedules", "forecast", "--from", "2026-12-01", "--to", "2026-12-02", "--database-url", db_url)
    assert broken.returncode == 65
    assert "'daily'): daily.at: '25:00' is not a time of day" in broken.stderr
    assert len(broken.stderr.strip().splitlines()) == 1
    backwards = acas("schedules", "forecast", "--from", "2026-12-02", "--to", "2026-12-01", "--database-url", db_url)
    assert backwards.stderr.strip() == "error: --to: 2026-12-01 is before --from 2026-12-02"


def test_preview_checks_a_rule_without_a_database() -> None:
    # Given a rule typed by an operator, before any schedule exists
    result = acas("schedules", "preview", "monthly", '{"at": "22:00", "business_day": -1}', "-n", "3",
                  "--after", "2026-07-01T00:00:00Z", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    # Then it shows what the calendar computes, and the rule in words
    spec = ScheduleSpec(rule_from_json("monthly", {"at": "22:00", "business_day": -1}))
    expected = next_occurrences(spec, BusinessCalendar("GB", "ENG"), datetime(2026, 7, 1, tzinfo=UTC), 3)
    assert [r["nominal"] for r in document["occurrences"]] == [
        o.nominal.isoformat().replace("+00:00", "Z") for o in expected
    ]
    assert [r["business_date"] for r in document["occurrences"]] == ["2026-07-31", "2026-08-28", "2026-09-30"]
    assert document["schedule"]["rule"] == "last business day of each month at 22:00"
    # And a wrong rule is one line naming the field and the value
    wrong = acas("schedules", "preview", "monthly", '{"at": "22:00", "day": 32}')
    assert wrong.returncode == 65
    assert wrong.stderr.strip() == "error: monthly.day: 32 is not a whole number from 1 to 31"
    not_json = acas("schedules", "preview", "daily", "{at}")
    assert not_json.stderr.startswith("error: rule: '{at}' is not JSON")


def test_company_closure_days_shift_the_forecast(engine: Engine, db_url: str) -> None:
    # Given the company closes on Tuesday 29 December 2026 and the weekday backup skips non-business days
    seed(engine)
    with transaction(engine, write=True) as session:
        session.add(ClosureDay(day=date(2026, 12, 29), description="stocktake"))
    # When the forecast covers that week
    out = acas(
        "schedules", "forecast", "--from", "2026-12-28", "--to", "2026-12-31",
        "--job", "SYS_DATABASE_BACKUP", "--database-url", db_url, "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = [r for r in json.loads(out.stdout)["occurrences"] if r["schedule"] == "weekday nights"]
    # Then the closure day's run is skipped like a bank holiday; the 28th is the Boxing Day substitute
    skipped = {r["business_date"] for r in rows if r["skipped_reason"]}
    assert skipped == {"2026-12-28", "2026-12-29"}
    assert {r["business_date"] for r in rows if not r["skipped_reason"]} == {"2026-12-30", "2026-12-31"}

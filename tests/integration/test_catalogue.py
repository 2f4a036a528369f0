"""Installing the catalogue: idempotent, additive, and never overwriting an operator's edits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, func, select

from acas_batch.clock import SimulatedClock
from acas_batch.db import transaction
from acas_batch.jobs.catalogue import STANDARD_JOBS, JobDef, daily, install_catalogue, list_jobs, show_job, wait
from acas_batch.models import BatchDependency, BatchJob, BatchSchedule, Module, ScheduleKind
from acas_batch.services.bootstrap import initialise
from tests.integration.test_cli import acas

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _counts(engine: Engine) -> tuple[int, int, int]:
    with transaction(engine) as s:
        return (
            s.scalar(select(func.count()).select_from(BatchJob)) or 0,
            s.scalar(select(func.count()).select_from(BatchSchedule)) or 0,
            s.scalar(select(func.count()).select_from(BatchDependency)) or 0,
        )


def test_install_creates_the_catalogue_then_changes_nothing(engine: Engine) -> None:
    with transaction(engine, write=True) as s:
        first = install_catalogue(s, now=NOW)
    assert (first.jobs_created, first.schedules_created, first.dependencies_created) == (32, 25, 15)
    assert first.held_schedules_created == 1  # the year-end close starts held
    assert _counts(engine) == (32, 26, 15)

    with transaction(engine, write=True) as s:
        again = install_catalogue(s, now=NOW)
    assert again.as_dict() == {
        "jobs_created": 0,
        "jobs_updated": 0,
        "jobs_kept": 0,
        "schedules_created": 0,
        "held_schedules_created": 0,
        "schedules_updated": 0,
        "dependencies_created": 0,
        "deleted_kept_deleted": 0,
    }
    assert _counts(engine) == (32, 26, 15)

    with transaction(engine) as s:
        year_end = s.scalars(select(BatchSchedule).join(BatchJob).where(BatchJob.name == "GL_YEAR_END_CLOSE")).one()
        assert year_end.kind is ScheduleKind.YEARLY and year_end.start_held
        assert year_end.timezone == "Europe/London"


def test_jobs_first_then_schedules_as_the_spec_does(engine: Engine) -> None:
    with transaction(engine, write=True) as s:
        jobs_only = install_catalogue(s, now=NOW, with_schedules=False)
    assert (jobs_only.jobs_created, jobs_only.schedules_created, jobs_only.dependencies_created) == (32, 0, 15)
    assert _counts(engine) == (32, 0, 15)
    with transaction(engine, write=True) as s:
        schedules = install_catalogue(s, now=NOW, with_jobs=False)
    assert (schedules.jobs_created, schedules.schedules_created, schedules.held_schedules_created) == (0, 25, 1)
    assert _counts(engine) == (32, 26, 15)


def test_an_upgrade_adds_what_is_new_and_keeps_user_edits(engine: Engine) -> None:
    with transaction(engine, write=True) as s:
        install_catalogue(s, now=NOW)
        # An operator edits a job and its schedule.
        job = s.scalars(select(BatchJob).where(BatchJob.name == "GL_DAILY_CLOSE")).one()
        job.priority, job.modified_by_user = 123, True
        sched = s.scalars(select(BatchSchedule).where(BatchSchedule.job_id == job.id)).one()
        sched.rule, sched.modified_by_user = {"at": "21:30"}, True
        # And someone changed another standard job without marking it edited.
        drifted = s.scalars(select(BatchJob).where(BatchJob.name == "SL_AGED_DEBTORS")).one()
        drifted.timeout_seconds = 5

    # A newer catalogue brings one more job that waits for an existing one.
    newer = (
        *STANDARD_JOBS,
        JobDef("GL_NEW_REPORT", Module.GL, "new", schedule=daily("12:00"), depends_on=(wait("GL_DAILY_CLOSE"),)),
    )
    with transaction(engine, write=True) as s:
        report = install_catalogue(s, now=NOW, jobs=newer)
    assert (report.jobs_created, report.jobs_kept, report.jobs_updated) == (1, 1, 1)
    assert (report.schedules_created, report.dependencies_created) == (1, 1)

    with transaction(engine) as s:
        shown = show_job(s, "GL_DAILY_CLOSE")
        assert shown["priority"] == 123
        assert shown["schedules"][0]["rule"] == {"at": "21:30"}
        assert {"job": "GL_NEW_REPORT", "kind": "wait"} in shown["dependants"]
        assert show_job(s, "SL_AGED_DEBTORS")["timeout_seconds"] == 1800
        assert len(list_jobs(s, module=Module.SYS)) == 6


def test_init_reports_the_catalogue_once(engine: Engine) -> None:
    first = initialise(engine, clock=SimulatedClock(NOW))
    assert first.as_dict()["jobs_created"] == 32
    assert first.as_dict()["schedules_created"] == 25
    assert first.as_dict()["held_schedules_created"] == 1
    second = initialise(engine, clock=SimulatedClock(NOW))
    assert second.as_dict()["jobs_created"] == second.as_dict()["schedules_created"] == 0


def test_jobs_list_and_show_from_the_command_line(db_url: str) -> None:
    assert acas("init", "--database-url", db_url).returncode == 0
    listed = acas("jobs", "list", "--module", "sys", "--database-url", db_url, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["name"] for r in rows] == sorted(j.name for j in STANDARD_JOBS if j.module is Module.SYS)
    assert {r["name"]: r["schedule"] for r in rows}["SYS_DATABASE_BACKUP"] == "weekly sun 01:00"

    shown = acas("jobs", "show", "GL_PERIOD_CLOSE", "--database-url", db_url, "--json")
    data = json.loads(shown.stdout)
    assert data["schedules"][0]["summary"] == "monthly last 22:00"
    assert {d["job"] for d in data["depends_on"]} == {"GL_DAILY_CLOSE", "PL_ACCRUALS_CALCULATION", "ST_STOCK_VALUATION"}

    text = acas("jobs", "show", "GL_YEAR_END_CLOSE", "--database-url", db_url)
    assert "yearly last 23:30 (held)" in text.stdout

    missing = acas("jobs", "show", "NO_SUCH_JOB", "--database-url", db_url)
    assert missing.returncode == 66
    assert missing.stderr.strip() == "error: no job named 'NO_SUCH_JOB'"


def test_what_an_operator_deleted_stays_deleted(engine: Engine) -> None:
    # Given the catalogue, from which an operator deleted a schedule, a dependency and a job
    with transaction(engine, write=True) as s:
        install_catalogue(s, now=NOW)
        ids = {j.name: j.id for j in s.scalars(select(BatchJob))}
        s.execute(delete(BatchSchedule).where(BatchSchedule.job_id == ids["ST_DEAD_STOCK_ANALYSIS"]))
        s.execute(
            delete(BatchDependency).where(
                BatchDependency.job_id == ids["PL_PAYMENT_RUN"],
                BatchDependency.depends_on_job_id == ids["PL_THREE_WAY_MATCHING"],
            )
        )
        s.execute(delete(BatchJob).where(BatchJob.name == "SL_COMMISSION_CALCULATION"))
    # When init runs again
    with transaction(engine, write=True) as s:
        report = install_catalogue(s, now=NOW)
    # Then nothing comes back
    assert (report.jobs_created, report.schedules_created, report.dependencies_created) == (0, 0, 0)
    assert report.deleted_kept_deleted == 3
    assert _counts(engine) == (31, 24, 14)


def test_the_year_end_follows_the_companys_financial_year(engine: Engine) -> None:
    with transaction(engine, write=True) as s:
        install_catalogue(s, now=NOW, fy_start_month=1)
    with transaction(engine) as s:
        shown = show_job(s, "GL_YEAR_END_CLOSE")
    assert shown["schedules"][0]["rule"] == {"at": "23:30", "fy_start_month": 1, "day": "last"}


def test_init_gives_the_year_end_the_companys_financial_year(engine: Engine) -> None:
    from sqlalchemy import insert

    from acas_batch.models import Company

    initialise(engine, clock=SimulatedClock(NOW))
    with transaction(engine, write=True) as s:
        s.execute(insert(Company).values(id=1, name="Calendar Year Ltd", year_start_month=1, created_at=NOW))
    report = initialise(engine, clock=SimulatedClock(NOW))
    assert report.catalogue.schedules_updated == 1
    with transaction(engine) as s:
        assert show_job(s, "GL_YEAR_END_CLOSE")["schedules"][0]["rule"]["fy_start_month"] == 1


def test_jobs_order_shows_waits_beating_default_times(db_url: str) -> None:
    assert acas("init", "--database-url", db_url).returncode == 0
    # 31 March 2027: a month end, a quarter end and (April start) the financial year end
    result = acas("jobs", "order", "20270331", "--database-url", db_url, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["business_date"] == "2027-03-31"
    rows = {r["job"]: r for r in data["order"]}
    order = [r["job"] for r in data["order"]]
    assert len(order) == 19  # 7 daily + 9 month-end + 2 quarter-end + the year end; no weekly job on a Wednesday
    assert order.index("GL_DAILY_CLOSE") < order.index("GL_PERIOD_CLOSE") < order.index("SL_VAT_RETURN")
    assert order.index("SL_VAT_RETURN") < order.index("PL_VAT_RETURN")
    assert rows["GL_PERIOD_CLOSE"]["nominal"] == "22:00" and rows["GL_PERIOD_CLOSE"]["late_by_wait"] is True
    assert rows["SL_VAT_RETURN"]["after"] == ["GL_PERIOD_CLOSE"] and rows["SL_VAT_RETURN"]["late_by_wait"] is True
    assert rows["PL_PAYMENT_RUN"]["after"] == ["PL_THREE_WAY_MATCHING"] and not rows["PL_PAYMENT_RUN"]["late_by_wait"]
    assert rows["GL_YEAR_END_CLOSE"]["after"] == ["GL_PERIOD_CLOSE"]
    assert rows["SYS_ARCHIVE_DATA"]["after"] == []  # its backup wait looks back 8 days

    text = acas("jobs", "order", "2027-03-31", "--database-url", db_url)
    assert "GL_PERIOD_CLOSE" in text.stdout and "(later than due)" in text.stdout

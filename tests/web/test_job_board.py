"""The job page's reliability, the jobs around it with their latest state, and its next runs' waits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.errors import JobNotFound, PermissionDenied
from acas_batch.models import BatchExecution, BatchJob, BatchSchedule
from acas_batch.security.actor import Actor
from acas_batch.services.job_board import job_board
from acas_batch.services.run_actions import run_now
from tests.web.conftest import sign_in

#: Who these tests act as: the local administrator console.
CONSOLE = Actor.console()

NOW = datetime(2030, 12, 10, 12, 0, tzinfo=UTC)
READER = Actor("viewer", "viewer", frozenset({"jobs:read"}), None, face="web")


def _fail(engine: Engine, execution_id: int) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(BatchExecution)
            .where(BatchExecution.id == execution_id)
            .values(state="failed", error_type="PeriodClosed", error_message="period 2030/08 is closed")
        )


def test_next_runs_say_what_they_wait_for(engine: Engine, settings: Settings, identities: object) -> None:
    # Given the standard GL_PERIOD_CLOSE (month end, 22:00), which waits for the daily close, the
    # accruals and the stock valuation; a stock valuation already made for 31 December; and the
    # accruals' schedules switched off
    made, _ = run_now(
        engine, settings, "ST_STOCK_VALUATION", {}, business_date=date(2030, 12, 31), actor=CONSOLE, now=NOW
    )
    with Session(engine) as session, session.begin():
        accruals = session.scalar(select(BatchJob.id).where(BatchJob.name == "PL_ACCRUALS_CALCULATION"))
        session.execute(update(BatchSchedule).where(BatchSchedule.job_id == accruals).values(enabled=False))

    # When the job's board is read on 10 December 2030
    board = job_board(engine, settings, READER, "GL_PERIOD_CLOSE", now=NOW)

    # Then the next run (31 December) waits for a run already made, one expected, and one nothing will make
    first = board["next_runs"][0]
    assert first["business_date"] == date(2030, 12, 31)
    waits = {w["job"]: w for w in first["waits"]}
    assert (waits["ST_STOCK_VALUATION"]["status"], waits["ST_STOCK_VALUATION"]["execution_id"]) == ("queued", made)
    assert waits["GL_DAILY_CLOSE"]["status"] == "expected"
    assert waits["GL_DAILY_CLOSE"]["at"] == datetime(2030, 12, 31, 23, 0, tzinfo=UTC)
    assert waits["PL_ACCRUALS_CALCULATION"]["status"] == "no run scheduled"
    # The jobs around it, each with its latest run (none yet for most)
    upstream = {n["job"]: n for n in board["upstream"]}
    assert set(upstream) == {"GL_DAILY_CLOSE", "PL_ACCRUALS_CALCULATION", "ST_STOCK_VALUATION"}
    assert upstream["ST_STOCK_VALUATION"]["latest"]["id"] == made
    assert upstream["GL_DAILY_CLOSE"]["latest"] is None
    assert {n["job"] for n in board["downstream"]} >= {"GL_TRIAL_BALANCE", "GL_YEAR_END_CLOSE"}


def test_reliability_and_last_failures(engine: Engine, settings: Settings, identities: object) -> None:
    # Given two runs of the period close in the last month: one failed, one succeeded
    bad, _ = run_now(engine, settings, "GL_PERIOD_CLOSE", {}, business_date=date(2030, 11, 30), actor=CONSOLE, now=NOW)
    good, _ = run_now(
        engine,
        settings,
        "GL_PERIOD_CLOSE",
        {},
        business_date=date(2030, 10, 31),
        actor=CONSOLE,
        now=NOW - timedelta(1),
    )
    _fail(engine, bad)
    with Session(engine) as session, session.begin():
        session.execute(update(BatchExecution).where(BatchExecution.id == good).values(state="succeeded"))

    board = job_board(engine, settings, READER, "gl_period_close", now=NOW)

    (failure,) = board["last_failures"]
    assert (failure["id"], failure["error"]) == (bad, "PeriodClosed: period 2030/08 is closed")
    rel = board["reliability"]
    assert (rel["runs"], rel["succeeded"], rel["days"]) == (2, 1, 30)
    assert rel["score"] < 100


def test_the_board_needs_jobs_read_and_a_known_job(engine: Engine, settings: Settings, identities: object) -> None:
    with pytest.raises(PermissionDenied):
        job_board(engine, settings, Actor("guest", "guest", frozenset(), None, face="web"), "GL_PERIOD_CLOSE", now=NOW)
    with pytest.raises(JobNotFound):
        job_board(engine, settings, READER, "NO_SUCH_JOB", now=NOW)


def test_a_viewer_reads_the_job_page_with_its_neighbours_and_no_run_form(app_client: TestClient) -> None:
    sign_in(app_client, "viewer")
    page = app_client.get("/jobs/GL_PERIOD_CLOSE")
    assert page.status_code == 200
    assert 'id="neighbours"' in page.text and "GL_PERIOD_CLOSE waits for it" in page.text
    assert 'id="reliability"' in page.text and "No failure recorded." in page.text
    assert 'waits for <a href="/jobs/GL_DAILY_CLOSE">' in page.text
    assert 'id="run-now"' not in page.text

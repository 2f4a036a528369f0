"""The spec's facade, ``JobSchedulerService(db)``: (success, result) pairs over the engine."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from acas_batch.services import JobSchedulerService
from tests.engine_helpers import engine_settings, wait_until
from tests.support.users import user


def test_the_facade_runs_jobs_and_manages_definitions(engine: Engine, db_url: str, tmp_path: Path) -> None:
    svc = JobSchedulerService(engine, settings=engine_settings(db_url, tmp_path), actor=user(engine, "ann"))
    assert svc.create_job("GL_DAILY_CLOSE", "GL", handler="TEST_WRITE")[0]
    assert svc.create_job("GL_TRIAL_BALANCE", "GL", handler="TEST_NOOP")[0]
    ok, error = svc.create_job("GL_DAILY_CLOSE", "GL", handler="TEST_WRITE")
    assert (ok, error) == (False, "a job named 'GL_DAILY_CLOSE' already exists")
    ok, schedule_id = svc.create_schedule("GL_DAILY_CLOSE", "daily", {"at": "23:00"})
    assert ok and isinstance(schedule_id, int)
    assert svc.create_schedule("GL_DAILY_CLOSE", "daily", {"at": "25:00"})[0] is False
    assert svc.add_dependency("GL_TRIAL_BALANCE", "GL_DAILY_CLOSE", kind="trigger")[0]
    ok, cycle = svc.add_dependency("GL_DAILY_CLOSE", "GL_TRIAL_BALANCE")
    assert not ok and "GL_DAILY_CLOSE -> GL_TRIAL_BALANCE -> GL_DAILY_CLOSE" in cycle

    ok, problem = svc.execute_job_now("GL_DAILY_CLOSE", {"rows": "many"})
    assert not ok and "rows: Input should be a valid integer" in problem
    ok, execution_id = svc.execute_job_now("GL_DAILY_CLOSE", {"rows": 2, "business_date": 20241201})
    assert ok and isinstance(execution_id, int)

    ok, started = svc.start_scheduler(workers=1)
    assert ok and set(started) == {"scheduler_id", "worker_id"}
    assert svc.start_scheduler() == (False, "the scheduler is already running in this process")
    try:
        # The trial balance is triggered by the daily close's success, for the same business date.
        def both_done() -> bool:
            ok, rows = svc.list_executions()
            return ok and [(r["job"], r["state"]) for r in rows] == [
                ("GL_TRIAL_BALANCE", "succeeded"),
                ("GL_DAILY_CLOSE", "succeeded"),
            ]

        wait_until(both_done, timeout=60)
        board = svc.get_scheduler_dashboard()
    finally:
        assert svc.stop_scheduler()[0]
    assert board["counts"]["succeeded"] == 2
    assert board["scheduler_running"] is True
    assert [r["job"] for r in board["next_runs"]] == ["GL_DAILY_CLOSE"]
    ok, rows = svc.list_executions(job="GL_TRIAL_BALANCE")
    assert ok and rows[0]["business_date"] == "2024-12-01"
    assert svc.disable_job("GL_DAILY_CLOSE")[0]
    ok, refused = svc.execute_job_now("GL_DAILY_CLOSE", {"business_date": "2024-12-02"})
    assert not ok and refused == "job 'GL_DAILY_CLOSE' is disabled"
    assert svc.stop_scheduler() == (False, "the scheduler is not running in this process")


def test_a_business_date_outside_the_open_financial_years_is_refused_before_anything_is_created(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from acas_batch.ledger.chart import install_standard_books
    from acas_batch.models import BatchExecution

    # Given a company whose financial years run from 1 April 2026 to 31 March 2028
    with Session(engine) as s:
        install_standard_books(s, name="T Ltd", first_day=date(2026, 4, 1), years=2, created_at=datetime.now(UTC))
        s.commit()
    svc = JobSchedulerService(engine, settings=engine_settings(db_url, tmp_path), actor=user(engine, "ann"))
    assert svc.create_job("GL_DAILY_CLOSE", "GL", handler="TEST_NOOP")[0]
    # When runs are asked for at the ends of the calendar and just outside the years
    for day in ("9999-12-31", "0001-01-01", "2026-03-31", "2028-04-01"):
        ok, problem = svc.execute_job_now("GL_DAILY_CLOSE", {"business_date": day})
        # Then each is refused in one line naming the years, and nothing is created
        assert not ok and problem == (
            f"business_date {day} is outside the company's open financial years (2026-04-01 to 2028-03-31)"
        )
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(BatchExecution)) == 0
    ok, execution_id = svc.execute_job_now("GL_DAILY_CLOSE", {"business_date": "2028-03-31"})
    assert ok and isinstance(execution_id, int)


def test_simulate_refuses_a_live_ledger_unless_confirmed(engine: Engine, db_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import func, select, update
    from sqlalchemy.orm import Session

    from acas_batch.ledger.chart import install_standard_books
    from acas_batch.models import BatchExecution, Company

    # Given a real company's books (not demo data)
    with Session(engine) as s:
        install_standard_books(s, name="Real Ltd", first_day=date(2026, 4, 1), years=2, created_at=datetime.now(UTC))
        s.commit()
        assert s.scalar(select(Company.demo_seed)) is None
    svc = JobSchedulerService(engine, settings=engine_settings(db_url, tmp_path), actor=user(engine, "ann"))
    # When a simulation is asked for without confirmation, it is refused and nothing runs
    ok, problem = svc.simulate(date(2026, 12, 7), date(2026, 12, 8), workers=1)
    assert not ok and "live ledger of Real Ltd" in problem and "--confirm-live" in problem
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(BatchExecution)) == 0
    # A demo company is scratch: the same simulation is accepted
    with Session(engine) as s:
        s.execute(update(Company).values(demo_seed=1))
        s.commit()
    ok, report = svc.simulate(date(2026, 12, 7), date(2026, 12, 7), workers=1)
    assert ok, report

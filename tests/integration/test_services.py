"""The spec's facade, ``JobSchedulerService(db)``: (success, result) pairs over the engine."""

from __future__ import annotations

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

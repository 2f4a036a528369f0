"""The specification's usage examples, run as written (only the import path adapted)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models import BatchExecution, BatchJob, BatchLog, BatchSchedule, LogLevel
from tests.support.users import user


@pytest.fixture
def db(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """A fresh database holding a small demo company; settings from the environment, as an app's would be."""
    for key, value in {
        "ACAS_DATABASE_URL": db_url,
        "ACAS_DATA_DIR": str(tmp_path),
        "ACAS_LEASE_SECONDS": "5",
        "ACAS_POLL_SECONDS": "0.05",
        "ACAS_SHUTDOWN_GRACE_SECONDS": "5",
    }.items():
        monkeypatch.setenv(key, value)
    generate(engine, size=DemoSize(customers=8, suppliers=3, items=10, months=3), end=date.today(), seed=3)
    # The examples act as the user "accountant"; here that user installs the catalogue too, so an administrator.
    user(engine, "accountant", "admin")
    return engine


def test_the_specs_usage_examples(db: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    current_user = "accountant"

    # --- the spec's examples, verbatim ---------------------------------------------------
    # fmt: off
    from acas_batch.services import (  # noqa: I001
        JobSchedulerService,
        BatchJobDefinitionsService,
        BatchMonitoringService,
        BatchLogViewerService,
    )

    # Initialize services
    scheduler = JobSchedulerService(db)
    definitions = BatchJobDefinitionsService(db, current_user)
    monitoring = BatchMonitoringService(db, current_user)
    log_viewer = BatchLogViewerService(db, current_user)

    # Create all standard batch jobs
    success, result = definitions.create_standard_batch_jobs()
    print(f"Created {result['jobs_created']} batch jobs")

    # Create default schedules
    success, result = definitions.create_default_schedules()
    print(f"Created {result['schedules_created']} schedules")

    # Start the scheduler
    scheduler.start_scheduler()

    # Execute a job immediately
    success, execution_id = scheduler.execute_job_now('GL_DAILY_CLOSE', {
        'period': 'CURRENT',
        'warehouse': 'ALL'
    })

    # Get scheduler dashboard
    dashboard = scheduler.get_scheduler_dashboard()

    # Monitor jobs and send alerts
    monitoring_summary = monitoring.monitor_batch_jobs({
        'check_failures': True,
        'check_performance': True,
        'send_alerts': True
    })

    # Get execution logs
    log_data = log_viewer.get_execution_logs({
        'job_name': 'GL_DAILY_CLOSE',
        'date_from': 20241201,
        'log_level': 'ERROR'
    })

    # Export logs
    success, file_path = log_viewer.export_logs({
        'job_name': 'GL_DAILY_CLOSE',
        'format': 'CSV',
        'date_from': 20241201
    })
    # fmt: on
    # --- end of the spec's examples ----------------------------------------------------------

    try:
        ok, finished = scheduler.wait_for(execution_id, timeout=120)
    finally:
        scheduler.stop_scheduler()
    printed = capsys.readouterr().out
    assert "Created 32 batch jobs" in printed
    assert "Created 25 schedules" in printed
    assert isinstance(execution_id, int)
    assert ok and finished["state"] in ("succeeded", "warning"), finished
    assert dashboard["scheduler_running"] is True
    assert monitoring_summary["success"] is True
    assert log_data["success"] is True
    assert success and Path(file_path).exists()
    with Session(db) as s:
        assert s.scalar(select(func.count()).select_from(BatchJob)) == 32
        assert s.scalar(select(func.count()).select_from(BatchSchedule)) == 26
        run = s.get(BatchExecution, execution_id)
        assert run is not None and run.params["period"] == "CURRENT"
        errors = s.scalar(
            select(func.count())
            .select_from(BatchLog)
            .join(BatchJob, BatchJob.id == BatchLog.job_id)
            .where(BatchJob.name == "GL_DAILY_CLOSE", BatchLog.level.in_((LogLevel.ERROR, LogLevel.CRITICAL)))
        )
        lines = s.scalar(
            select(func.count())
            .select_from(BatchLog)
            .join(BatchJob, BatchJob.id == BatchLog.job_id)
            .where(BatchJob.name == "GL_DAILY_CLOSE")
        )
    # The examples read the logs straight after starting the run; read them again now it is done.
    after = log_viewer.get_execution_logs({"job_name": "GL_DAILY_CLOSE", "date_from": 20241201, "log_level": "ERROR"})
    assert after["total"] == errors
    assert Path(file_path).read_text().startswith("id,logged_at,level,job_name")
    success, file_path = log_viewer.export_logs({"job_name": "GL_DAILY_CLOSE", "format": "CSV", "date_from": 20241201})
    with Path(file_path).open() as fh:
        assert len(list(csv.DictReader(fh))) == lines > 0

"""The spec's other three facades: job definitions, monitoring and the log viewer."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from acas_batch.clock import SimulatedClock
from acas_batch.models import (
    Audit,
    BatchExecution,
    BatchJob,
    BatchLog,
    BatchSchedule,
    ExecutionState,
    LogLevel,
    Quarantine,
    TriggerKind,
)
from acas_batch.services import BatchJobDefinitionsService, BatchLogViewerService, BatchMonitoringService
from tests.engine_helpers import engine_settings
from tests.support.users import user

NOW = datetime(2024, 12, 2, 9, 0, tzinfo=UTC)


def test_definitions_install_jobs_then_schedules_and_module_jobs(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = engine_settings(db_url, tmp_path)
    svc = BatchJobDefinitionsService(engine, user(engine, "ann"), settings=settings, clock=SimulatedClock(NOW))
    ok, refused = svc.create_default_schedules()
    assert not ok and "create_standard_batch_jobs() first" in refused
    ok, result = svc.create_standard_batch_jobs()
    assert ok and result["jobs_created"] == 32 and result["dependencies_created"] == 15
    ok, result = svc.create_default_schedules()
    assert ok and (result["schedules_created"], result["held_schedules_created"]) == (25, 1)
    assert svc.create_standard_batch_jobs()[1]["jobs_created"] == 0
    ok, job = svc.get_job_definition("PL_PAYMENT_RUN")
    assert ok and job["name"] == "PL_PAYMENT_RUN"
    assert svc.get_job_definition("NOPE") == (False, "no job is named 'NOPE'")
    assert len(svc.get_standard_job_definitions()) == 32
    with Session(engine) as s:
        actions = s.scalars(select(Audit.action).where(Audit.actor == "ann").order_by(Audit.id)).all()
    assert actions == ["catalogue.create_jobs", "catalogue.create_schedules", "catalogue.create_jobs"]


def test_module_jobs_alone(engine: Engine, db_url: str, tmp_path: Path) -> None:
    svc = BatchJobDefinitionsService(engine, None, settings=engine_settings(db_url, tmp_path))
    ok, result = svc.create_stock_jobs()
    assert ok and result["jobs_created"] == 8
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(BatchJob)) == 8
        # Seven have a default schedule; ST_LOCATION_REPLENISHMENT is triggered by the reorder calculation.
        assert s.scalar(select(func.count()).select_from(BatchSchedule)) == 7
    assert svc.create_module_jobs("XX")[0] is False


def _history(engine: Engine) -> None:
    with Session(engine) as s:
        job = BatchJob(name="GL_DAILY_CLOSE", module="GL", handler="GL_DAILY_CLOSE", created_at=NOW, updated_at=NOW)
        s.add(job)
        s.flush()
        for day, state in enumerate([ExecutionState.SUCCEEDED, ExecutionState.SUCCEEDED, ExecutionState.FAILED]):
            finished = NOW - timedelta(days=3 - day) + timedelta(hours=1)
            ex = BatchExecution(
                job_id=job.id,
                business_date=date(2024, 11, 29) + timedelta(days=day),
                state=state,
                trigger=TriggerKind.SCHEDULE,
                run_key=f"GL_DAILY_CLOSE:{day}",
                created_at=finished - timedelta(minutes=1),
                started_at=finished - timedelta(minutes=1),
                finished_at=finished,
                duration_ms=60_000,
                error_message="journal 12 does not balance" if state is ExecutionState.FAILED else None,
            )
            s.add(ex)
            s.flush()
            level = LogLevel.ERROR if state is ExecutionState.FAILED else LogLevel.INFO
            s.add(
                BatchLog(
                    execution_id=ex.id,
                    job_id=job.id,
                    logged_at=finished,
                    level=level,
                    event="job_error" if level is LogLevel.ERROR else "job_log",
                    message=f"day {day}: password=secret{day}",
                )
            )
        s.commit()


def test_log_viewer_as_the_spec_calls_it(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _history(engine)
    viewer = BatchLogViewerService(
        engine, user(engine, "ann"), settings=engine_settings(db_url, tmp_path), clock=SimulatedClock(NOW)
    )
    log_data = viewer.get_execution_logs({"job_name": "GL_DAILY_CLOSE", "date_from": 20241201, "log_level": "ERROR"})
    assert log_data["success"] and [line["message"] for line in log_data["logs"]] == ["day 2: password=****"]
    log_data = viewer.get_execution_logs({"job_name": "GL_DAILY_CLOSE", "date_to": 20241130, "log_level": "INFO"})
    assert log_data["total"] == 2
    assert viewer.get_execution_logs({"date_from": 20241399})["success"] is False

    success, file_path = viewer.export_logs({"job_name": "GL_DAILY_CLOSE", "format": "CSV", "date_from": 20241129})
    assert success
    with Path(file_path).open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and not any("secret" in r["message"] for r in rows)
    assert viewer.export_logs({"format": "PDF"})[0] is False

    ok, scores = viewer.get_reliability_scores(days=30)
    assert ok and scores == [
        {
            "job": "GL_DAILY_CLOSE",
            "runs": 3,
            "succeeded": 2,
            "first_attempt_succeeded": 2,
            "error_lines": 1,
            "score": round(100 * (0.6 * 2 / 3 + 0.3 * 2 / 3 + 0.1 * (1 - 1 / 3 / 10)), 1),
        }
    ]
    ok, cleaned = viewer.cleanup_logs({"info": 2, "error": 365})
    assert ok and cleaned["deleted"] == {"INFO": 1}  # the info line of 3 days ago; the one of yesterday stays
    assert viewer.cleanup_logs({"loud": 3})[0] is False


def test_monitoring_as_the_spec_calls_it(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _history(engine)
    monitoring = BatchMonitoringService(
        engine, user(engine, "ann"), settings=engine_settings(db_url, tmp_path), clock=SimulatedClock(NOW)
    )
    summary = monitoring.monitor_batch_jobs({"check_failures": True, "check_performance": True, "send_alerts": True})
    assert summary["success"] and summary["alerts_raised"] == 1
    assert summary["notify_error"] == "no alert recipients configured (ACAS_ALERT_EMAIL_TO)"
    ok, alerts = monitoring.get_alerts()
    assert ok and [a["rule"] for a in alerts] == ["failure"]
    assert monitoring.acknowledge_alert(alerts[0]["id"])[1]["acknowledged_by"] == "ann"
    assert monitoring.monitor_batch_jobs({"check_everything": True})["success"] is False

    ok, resources = monitoring.check_system_resources({"require_scheduler": False})
    assert ok and {c["check"] for c in resources["checks"]} >= {"database", "disk", "migrations"}
    with Session(engine) as s:
        quarantined = s.scalar(select(func.count()).select_from(Quarantine))
    assert quarantined == resources["quarantined"]

    ok, metrics = monitoring.get_performance_metrics(days=7)
    assert ok and metrics["GL_DAILY_CLOSE"]["runs"] == 3 and metrics["GL_DAILY_CLOSE"]["succeeded"] == 2

"""The alert that must never be missing: a killed scheduler is reported by `acas-batch monitor run`,
and every skipped occurrence is recorded with a machine-readable reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.clock import FileClock
from acas_batch.models import (
    AlertState,
    BatchAlert,
    BatchExecution,
    BatchJob,
    BatchSchedule,
    BatchWorker,
    ExecutionState,
    Module,
    ScheduleKind,
    TriggerKind,
    WorkerRole,
)
from acas_batch.monitoring import MonitorOptions, run_checks
from tests.acceptance.processes import engine_env, processes
from tests.engine_helpers import wait_until
from tests.integration.test_cli import acas

T0 = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)


def _scheduler_rows(engine: Engine) -> list[BatchWorker]:
    with Session(engine) as s:
        return list(s.scalars(select(BatchWorker).where(BatchWorker.role == WorkerRole.SCHEDULER)))


def test_a_killed_scheduler_is_reported_by_monitor_run(engine: Engine, db_url: str, tmp_path: Path) -> None:
    # Given a scheduler with an enabled schedule, on a shared simulated clock
    with Session(engine) as s:
        job = BatchJob(name="TEST_OK", module=Module.SYS, handler="TEST_OK", created_at=T0, updated_at=T0)
        s.add(job)
        s.flush()
        s.add(BatchSchedule(job_id=job.id, name="nightly", kind=ScheduleKind.DAILY, rule={"at": "23:00"},
                            created_at=T0, updated_at=T0))  # fmt: skip
        s.commit()
    clock = tmp_path / "clock"
    FileClock(clock).set(T0)
    env = engine_env(db_url, tmp_path, ACAS_CLOCK_FILE=str(clock), ACAS_MONITOR_INTERVAL_SECONDS="0",
                     ACAS_SCHEDULER_SILENCE_SECONDS="300")  # fmt: skip
    with processes(env, tmp_path) as procs:
        scheduler = procs.start("scheduler", "start", "--workers", "1")
        wait_until(lambda: bool(_scheduler_rows(engine)), timeout=60)
        # When it is killed (no clean stop: its row still says running)
        scheduler.kill()
        scheduler.wait()
    healthy = acas("monitor", "run", "--no-send", "--json", env=env)
    FileClock(clock).set(T0 + timedelta(minutes=10))
    dead = acas("monitor", "run", "--no-send", "--json", env=env)
    # Then the first pass (tick 0 s ago) finds nothing; ten minutes later the sentinel is critical
    assert healthy.returncode == 0, healthy.stderr
    assert "scheduler_dead" not in json.loads(healthy.stdout)["by_rule"]
    assert dead.returncode == 0, dead.stderr
    assert json.loads(dead.stdout)["by_rule"]["scheduler_dead"] == 1
    with Session(engine) as s:
        alert = s.scalars(select(BatchAlert).where(BatchAlert.rule == "scheduler_dead")).one()
    assert alert.severity.value == "critical" and alert.state is AlertState.OPEN
    assert "no scheduler has ticked for 10 min" in alert.title


def test_a_skipped_occurrence_is_recorded_quietly_with_its_reason_code(engine: Engine) -> None:
    with Session(engine) as s:
        job = BatchJob(name="GL_DAILY_CLOSE", module=Module.GL, handler="x", created_at=T0, updated_at=T0)
        s.add(job)
        s.flush()
        for i, reason in enumerate((
            "misfire (skip): 7200s late, past the grace of 3600s",
            "misfire (run_latest): superseded by the occurrence at 2026-11-24 18:00 UTC",
        )):  # fmt: skip
            s.add(BatchExecution(job_id=job.id, business_date=T0.date(), state=ExecutionState.SKIPPED,
                                 trigger=TriggerKind.SCHEDULE, run_key=f"GL_DAILY_CLOSE:{i}", reason=reason,
                                 created_at=T0 - timedelta(minutes=5)))  # fmt: skip
        s.commit()
        report = run_checks(s, T0, MonitorOptions(check_failures=False, check_performance=False))
        again = run_checks(s, T0 + timedelta(minutes=1), MonitorOptions(check_failures=False, check_performance=False))
        s.commit()
        alerts = s.scalars(select(BatchAlert).order_by(BatchAlert.id)).all()
    assert report.recorded == 2 and again.recorded == 0
    assert [a.details["reason_code"] for a in alerts] == ["misfire_past_grace", "misfire_superseded"]  # type: ignore[index]
    assert all(a.state is AlertState.RESOLVED and a.severity.value == "info" and a.notified_at is None for a in alerts)

"""The system jobs, run through a real context on both databases."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from acas_batch import db
from acas_batch.batch.outputs import database_id
from acas_batch.config import Settings, load_settings
from acas_batch.db import transaction
from acas_batch.errors import HealthCheckFailed
from acas_batch.models import (
    AlertSeverity,
    BatchExecution,
    BatchJob,
    BatchLog,
    BatchMetric,
    BatchWorker,
    ExecutionState,
    LogLevel,
    Module,
    Quarantine,
    Role,
    TriggerKind,
    User,
    UserSession,
    WorkerRole,
    WorkerState,
)
from acas_batch.system.backup import BackupInfo
from acas_batch.system.backup_register import record_backup
from acas_batch.system.performance import percentile, trend_pct
from tests.support.context import run_job
from tests.support.write_lock import another_writer_gets_through

NOW = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)


def _settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(environ={}, database_url=db_url, data_dir=tmp_path)


def _job(s: object, name: str) -> BatchJob:
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    job = s.scalar(select(BatchJob).where(BatchJob.name == name))
    if job is None:
        job = BatchJob(name=name, module=Module.GL, handler=name, created_at=NOW, updated_at=NOW)
        s.add(job)
        s.flush()
    return job


# ---- log clean-up ----------------------------------------------------------------------


def test_log_cleanup_keeps_errors_longer_and_deletes_in_chunks(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given log lines of every level, 10, 60, 200 and 400 days old
    ages = (10, 60, 200, 400)
    with transaction(engine, write=True) as s:
        job = _job(s, "GL_DAILY_CLOSE")
        for level in LogLevel:
            for age in ages:
                for i in range(3):
                    s.add(
                        BatchLog(
                            job_id=job.id,
                            logged_at=NOW - timedelta(days=age, minutes=i),
                            level=level,
                            event="job_log",
                            message=f"{level} {age}",
                        )
                    )
    # And output files: an old report and a recent one of this database, one of the layout
    # before outputs had a folder per database, and an old one of another database
    settings = _settings(db_url, tmp_path)
    old = settings.outputs / database_id(engine) / "17" / "old.csv"
    new = settings.outputs / database_id(engine) / "18" / "new.csv"
    legacy = settings.outputs / "16" / "legacy.csv"
    theirs = settings.outputs / "0b5e2c1e-0000-4000-8000-000000000000" / "17" / "old.csv"
    for f in (old, new, legacy, theirs):
        f.parent.mkdir(parents=True)
        f.write_text("a,b\n1,2\n")
    stamp = (NOW - timedelta(days=100)).timestamp()
    for f in (old, legacy, theirs):
        os.utime(f, (stamp, stamp))
    os.utime(new, (NOW.timestamp(), NOW.timestamp()))

    # When the clean-up runs with chunks of 4, noting at each pause whether another writer gets through
    pauses: list[bool] = []
    sqlite = engine.dialect.name == "sqlite"
    monkeypatch.setattr(db, "_sleep", lambda _: pauses.append(another_writer_gets_through(db_url) if sqlite else True))
    run = run_job(engine, settings, "SYS_LOG_CLEANUP", now=NOW, params={"chunk_size": 4})

    # Then each level keeps only what is inside its retention
    assert run.error is None and run.result is not None
    with transaction(engine) as s:
        left = {
            (lvl.value, age): n
            for lvl, age, n in [
                (
                    level,
                    age,
                    s.scalar(select(func.count()).where(BatchLog.level == level, BatchLog.message == f"{level} {age}")),
                )
                for level in LogLevel
                for age in ages
            ]
        }
    assert [age for (lvl, age), n in left.items() if lvl == "DEBUG" and n] == []
    assert [age for (lvl, age), n in left.items() if lvl == "INFO" and n] == [10]
    assert [age for (lvl, age), n in left.items() if lvl == "WARNING" and n] == [10, 60]
    assert [age for (lvl, age), n in left.items() if lvl == "ERROR" and n] == [10, 60, 200]
    assert [age for (lvl, age), n in left.items() if lvl == "CRITICAL" and n] == [10, 60, 200]
    counts = run.result.counts
    assert counts["log_lines"] == 3 * (4 + 3 + 2 + 1 + 1)
    assert counts["log_lines_debug"] == 12 and counts["log_lines_error"] == 3
    assert counts["chunks"] >= 8 and run.context.checkpoints == counts["chunks"]
    # And on SQLite the write lock was free for a moment after each chunk's commit
    assert pauses == ([True] * counts["chunks"] if sqlite else [])
    # And the old output files are gone with their folders, the new one stays, and another
    # database's files sharing the data folder are not this database's to delete
    assert not old.exists() and not old.parent.exists() and new.exists()
    assert not legacy.exists() and theirs.exists()
    assert counts["files"] == 2 and run.result.totals["bytes_freed"] == 2 * len("a,b\n1,2\n")


# ---- session clean-up ------------------------------------------------------------------


def test_session_cleanup_expires_idle_sessions_and_deletes_old_ones(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    with transaction(engine, write=True) as s:
        role = Role(name="viewer-x", permissions=[])
        s.add(role)
        s.flush()
        user = User(username="ann", role_id=role.id, created_at=NOW)
        s.add(user)
        s.flush()

        def add(token: str, kind: str, created: timedelta, expires: timedelta, **kw: object) -> None:
            s.add(
                UserSession(
                    user_id=user.id,
                    kind=kind,
                    token_hash=token,
                    created_at=NOW - created,
                    expires_at=NOW + expires,
                    **kw,
                )
            )

        add("active", "session", timedelta(hours=1), timedelta(hours=7), last_used_at=NOW - timedelta(minutes=5))
        add("idle", "session", timedelta(hours=12), timedelta(hours=12), last_used_at=NOW - timedelta(hours=9))
        add("expired-long-ago", "session", timedelta(days=30), -timedelta(days=20))
        add("expired-yesterday", "session", timedelta(days=2), -timedelta(days=1))
        add("token-valid", "api_token", timedelta(days=100), timedelta(days=265))
        add("token-expired", "api_token", timedelta(days=400), -timedelta(days=35))
        add("token-revoked", "api_token", timedelta(days=50), timedelta(days=300), revoked_at=NOW - timedelta(days=8))

    run = run_job(engine, _settings(db_url, tmp_path), "SYS_USER_SESSION_CLEANUP", now=NOW)

    assert run.error is None and run.result is not None
    assert run.result.counts == {"expired_idle": 1, "deleted": 3, "deleted_session": 1, "deleted_api_token": 2}
    with transaction(engine) as s:
        left = {u.token_hash: u for u in s.scalars(select(UserSession))}
    assert sorted(left) == ["active", "expired-yesterday", "idle", "token-valid"]
    assert left["idle"].expires_at == NOW
    assert left["active"].expires_at == NOW + timedelta(hours=7)


# ---- performance statistics ------------------------------------------------------------


def test_percentiles_and_trend() -> None:
    assert percentile([], 50) is None
    assert percentile([4, 1, 3, 2], 50) == 2
    assert percentile(list(range(1, 21)), 95) == 19
    assert percentile([7], 95) == 7
    assert trend_pct(150, 100) == 50.0 and trend_pct(1, 0) is None and trend_pct(None, 3) is None


def test_performance_stats_per_job_with_trend_and_table_sizes(engine: Engine, db_url: str, tmp_path: Path) -> None:
    # Given GL_DAILY_CLOSE ran 10 times this week (9 ok, 1 failed) and 4 times last week, slower now
    with transaction(engine, write=True) as s:
        job = _job(s, "GL_DAILY_CLOSE")

        def execution(day: int, ms: int, state: ExecutionState, rows: int) -> None:
            finished = NOW - timedelta(days=day, hours=1)
            s.add(
                BatchExecution(
                    job_id=job.id,
                    business_date=finished.date() - timedelta(days=0),
                    state=state,
                    trigger=TriggerKind.SCHEDULE,
                    run_key=f"GL_DAILY_CLOSE:{day}:{ms}",
                    created_at=finished,
                    started_at=finished - timedelta(milliseconds=ms),
                    finished_at=finished,
                    duration_ms=ms,
                    progress_done=rows,
                )
            )

        for i, ms in enumerate([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]):
            execution(i % 6, ms, ExecutionState.FAILED if i == 0 else ExecutionState.SUCCEEDED, 10)
        for i, ms in enumerate([100, 200, 300, 400]):
            execution(8 + i, ms, ExecutionState.SUCCEEDED, 5)

    run = run_job(engine, _settings(db_url, tmp_path), "SYS_PERFORMANCE_STATS", now=NOW)

    assert run.error is None and run.result is not None
    gl = run.result.data["jobs"]["GL_DAILY_CLOSE"]
    assert gl["runs"] == 10 and gl["success_rate"] == 0.9
    assert (gl["p50_ms"], gl["p95_ms"], gl["max_ms"]) == (500, 1000, 1000)
    assert gl["rows"] == 100 and gl["previous_runs"] == 4
    assert gl["p50_trend_pct"] == 150.0  # p50 500 ms against 200 ms the week before
    assert gl["success_rate_change"] == -0.1
    with transaction(engine) as s:
        metrics = {
            (m.name, (m.labels or {}).get("table")): m
            for m in s.scalars(select(BatchMetric).where(BatchMetric.execution_id == run.execution_id))
        }
    assert metrics[("job_duration_p95", None)].value == 1000 and metrics[("job_duration_p95", None)].unit == "ms"
    assert metrics[("job_runs", None)].window_start == NOW - timedelta(days=7)
    assert metrics[("db_table_rows", "batch_execution_rec")].value == 15  # 14 above and the stats run itself
    assert metrics[("db_table_bytes", "batch_execution_rec")].value > 0
    assert run.result.counts["metrics"] == len(metrics)


# ---- health check ----------------------------------------------------------------------


def _backup(engine: Engine, tmp_path: Path, when: datetime) -> None:
    path = tmp_path / f"b-{when:%Y%m%d}.sqlite.gz"
    path.write_bytes(b"x")
    with transaction(engine, write=True) as s:
        record_backup(s, BackupInfo(path, "sqlite", 1, "0" * 64, when, when, {}), verified_at=when)


def _heartbeats(engine: Engine, *, worker_age: timedelta) -> None:
    with transaction(engine, write=True) as s:
        for wid, role, age in (
            ("sched-1", WorkerRole.SCHEDULER, timedelta(seconds=10)),
            ("w-1", WorkerRole.WORKER, worker_age),
        ):
            s.add(
                BatchWorker(
                    id=wid,
                    role=role,
                    state=WorkerState.RUNNING,
                    hostname="h",
                    pid=1,
                    started_at=NOW - timedelta(days=1),
                    heartbeat_at=NOW - age,
                    version="0.1.0",
                )
            )


def test_a_healthy_system_passes_and_resolves_old_findings(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _backup(engine, tmp_path, NOW - timedelta(days=2))
    _heartbeats(engine, worker_age=timedelta(seconds=5))
    with transaction(engine, write=True) as s:
        s.add(
            Quarantine(
                resource="backup",
                severity=AlertSeverity.WARNING,
                detected_at=NOW - timedelta(days=1),
                message="old",
                source="health:backup_age",
            )
        )

    run = run_job(
        engine,
        _settings(db_url, tmp_path),
        "SYS_HEALTH_CHECK",
        now=NOW,
        params={"disk_free_warn_pct": 0.0, "disk_free_critical_pct": 0.0},
    )

    assert run.error is None and run.state is ExecutionState.SUCCEEDED, run.context.warning
    assert run.result is not None and run.result.counts["problems"] == 0 and run.result.counts["resolved"] == 1
    checks = {f["check"] for f in run.result.data["findings"]}
    assert checks == {
        "database",
        "disk",
        "scheduler_heartbeat",
        "worker_heartbeat",
        "stuck_executions",
        "backup_age",
        "migrations",
        "output_folder",
        "outbox",
    }
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Quarantine).where(Quarantine.resolved_at.is_(None))) == 0
        findings = s.scalar(
            select(func.count()).where(BatchLog.execution_id == run.execution_id, BatchLog.event == "health_finding")
        )
        assert findings == 9


def test_warnings_end_in_warning_and_criticals_fail_with_quarantine(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # Given an old backup, a silent worker and no problem that is critical
    _backup(engine, tmp_path, NOW - timedelta(days=10))
    _heartbeats(engine, worker_age=timedelta(minutes=30))
    settings = _settings(db_url, tmp_path)
    quiet_disk = {"disk_free_warn_pct": 0.0, "disk_free_critical_pct": 0.0}

    run = run_job(engine, settings, "SYS_HEALTH_CHECK", now=NOW, params=quiet_disk)

    assert run.state is ExecutionState.WARNING and run.error is None
    assert run.context.warning is not None and "10.0 days old" in run.context.warning
    with transaction(engine) as s:
        open_rows = {q.resource: q for q in s.scalars(select(Quarantine).where(Quarantine.resolved_at.is_(None)))}
    assert set(open_rows) == {"backup", "worker"}
    assert open_rows["backup"].severity is AlertSeverity.WARNING and open_rows["backup"].value == 10.0

    # When an execution has been running 20 minutes past its lease
    with transaction(engine, write=True) as s:
        job = _job(s, "GL_DAILY_CLOSE")
        s.add(
            BatchExecution(
                job_id=job.id,
                business_date=date(2026, 11, 23),
                state=ExecutionState.RUNNING,
                trigger=TriggerKind.SCHEDULE,
                run_key="GL_DAILY_CLOSE:2026-11-23",
                created_at=NOW,
                lease_owner="dead-worker",
                lease_expires_at=NOW - timedelta(minutes=20),
            )
        )

    failed = run_job(
        engine,
        settings,
        "SYS_HEALTH_CHECK",
        now=NOW + timedelta(minutes=1),
        params=quiet_disk,
        business_date=date(2026, 11, 25),
    )

    # Then the run fails, and the critical finding is recorded all the same
    assert failed.state is ExecutionState.FAILED and isinstance(failed.error, HealthCheckFailed)
    assert "past their lease" in str(failed.error)
    with transaction(engine) as s:
        lease = s.scalars(select(Quarantine).where(Quarantine.resource == "lease")).one()
        assert lease.severity is AlertSeverity.CRITICAL and lease.value == 1
        execution = s.get(BatchExecution, failed.execution_id)
        assert execution is not None and execution.error_type == "HealthCheckFailed"


def test_an_unwritable_output_folder_and_no_backup_are_reported(engine: Engine, db_url: str, tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    settings = load_settings(environ={}, database_url=db_url, data_dir=tmp_path, output_dir=blocked)
    run = run_job(
        engine, settings, "SYS_HEALTH_CHECK", now=NOW, params={"disk_free_warn_pct": 0.0, "disk_free_critical_pct": 0.0}
    )
    assert isinstance(run.error, HealthCheckFailed)
    assert "is not writable" in str(run.error) and "no verified backup exists" in str(run.error)

"""Thresholds as data: each kind raises its alert past the limit and resolves it when the limit
is met again; set and deleted through the services (audited) and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.errors import ValidationError
from acas_batch.models import (
    AlertState,
    Audit,
    BatchAlert,
    BatchExecution,
    BatchJob,
    ExecutionState,
    Module,
    TriggerKind,
)
from acas_batch.monitoring import MonitorOptions, run_checks
from acas_batch.monitoring.thresholds import Resources
from acas_batch.services.alerting import threshold_delete, threshold_set
from tests.integration.test_cli import acas

NOW = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
JOB = "GL_TRIAL_BALANCE"


class Book:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.job = BatchJob(name=JOB, module=Module.GL, handler=JOB, created_at=NOW, updated_at=NOW)
        s.add(self.job)
        s.flush()
        self.n = 0

    def run(self, state: ExecutionState, *, seconds: float = 60, ago: timedelta = timedelta(minutes=5), **kw: Any
            ) -> BatchExecution:  # fmt: skip
        self.n += 1
        finished = NOW - ago
        values: dict[str, Any] = {
            "job_id": self.job.id, "business_date": date(2026, 11, 24), "state": state,
            "trigger": TriggerKind.SCHEDULE, "run_key": f"{JOB}:{self.n}", "created_at": finished - timedelta(hours=1),
            "started_at": finished - timedelta(seconds=seconds), "finished_at": finished,
            "duration_ms": int(seconds * 1000),
        }  # fmt: skip
        values.update(kw)
        ex = BatchExecution(**values)
        self.s.add(ex)
        self.s.flush()
        return ex


def _pass(s: Session, now: datetime, tmp_path: Path, probe: dict[str, float] | None = None) -> set[str]:
    run_checks(s, now, MonitorOptions(resources=Resources(tmp_path, tmp_path), resource_probe=probe))
    s.commit()
    return {a.dedup_key for a in s.scalars(select(BatchAlert).where(BatchAlert.state != AlertState.RESOLVED))}


def _set(engine: Engine, kind: str, scope: str = f"job:{JOB}", **kw: Any) -> None:
    threshold_set(engine, scope=scope, kind=kind, now=NOW, **kw)


def test_max_runtime_raises_while_running_past_it_and_resolves_when_the_run_ends(
    engine: Engine, tmp_path: Path
) -> None:
    with Session(engine) as s:
        book = Book(s)
        s.commit()
        _set(engine, "max_runtime", warning=60)
        ex = book.run(ExecutionState.RUNNING, finished_at=None, duration_ms=None,
                         started_at=NOW - timedelta(minutes=2), lease_owner="w",
                         lease_expires_at=NOW + timedelta(minutes=1))  # fmt: skip
        s.commit()
        assert f"running_long:{ex.id}" in _pass(s, NOW, tmp_path)
        ex.state, ex.finished_at, ex.duration_ms = ExecutionState.SUCCEEDED, NOW, 120_000
        ex.lease_owner = ex.lease_expires_at = None
        s.commit()
        assert f"running_long:{ex.id}" not in _pass(s, NOW + timedelta(minutes=1), tmp_path)


def test_min_runtime_flags_a_run_that_ended_suspiciously_fast(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as s:
        book = Book(s)
        s.commit()
        _set(engine, "min_runtime", params={"factor": 0.2, "min_history": 3})
        for i in range(4):
            book.run(ExecutionState.SUCCEEDED, seconds=600, ago=timedelta(hours=10 - i))
        book.run(ExecutionState.SUCCEEDED, seconds=2, ago=timedelta(minutes=30))  # 2 s where 10 min is usual
        s.commit()
        assert f"min_runtime:{JOB}" in _pass(s, NOW, tmp_path)
        book.run(ExecutionState.SUCCEEDED, seconds=590, ago=timedelta(minutes=1))
        s.commit()
        assert f"min_runtime:{JOB}" not in _pass(s, NOW + timedelta(minutes=1), tmp_path)


def test_error_rate_over_the_last_runs(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as s:
        book = Book(s)
        s.commit()
        _set(engine, "error_rate", warning=3, params={"runs": 5})
        for i, state in enumerate("FSFSF"):
            book.run(ExecutionState.FAILED if state == "F" else ExecutionState.SUCCEEDED, ago=timedelta(hours=5 - i))
        s.commit()
        assert f"error_rate:{JOB}" in _pass(s, NOW, tmp_path)
        for i in range(3):
            book.run(ExecutionState.SUCCEEDED, ago=timedelta(minutes=3 - i))
        s.commit()
        assert f"error_rate:{JOB}" not in _pass(s, NOW + timedelta(minutes=1), tmp_path)


def test_consecutive_failures(engine: Engine, tmp_path: Path) -> None:
    _set(engine, "consecutive_failures", critical=2, scope="module:GL")
    with Session(engine) as s:
        book = Book(s)
        book.run(ExecutionState.FAILED, ago=timedelta(hours=2))
        book.run(ExecutionState.FAILED, ago=timedelta(hours=1))
        s.commit()
        assert f"consecutive_failures:{JOB}" in _pass(s, NOW, tmp_path)
        book.run(ExecutionState.SUCCEEDED, ago=timedelta(minutes=1))
        s.commit()
        assert f"consecutive_failures:{JOB}" not in _pass(s, NOW + timedelta(minutes=1), tmp_path)


def test_late_start_tolerance_per_job(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as s:
        book = Book(s)
        s.commit()
        _set(engine, "late_start", warning=5)
        ex = book.run(ExecutionState.QUEUED, nominal_time=NOW - timedelta(minutes=10), started_at=None,
                         finished_at=None, duration_ms=None)  # fmt: skip
        s.commit()
        assert f"late:{ex.id}" in _pass(s, NOW, tmp_path), "10 minutes late, past this job's 5 (the default is 30)"
        ex.state, ex.started_at = ExecutionState.RUNNING, NOW
        ex.lease_owner, ex.lease_expires_at = "w", NOW + timedelta(minutes=5)
        s.commit()
        assert f"late:{ex.id}" not in _pass(s, NOW + timedelta(minutes=1), tmp_path)


@pytest.mark.parametrize(
    ("kind", "limits", "bad", "good", "key"),
    [
        ("disk_free_pct", {}, {"disk_data": 3.0}, {"disk_data": 50.0}, "disk_full:disk_data"),
        ("memory_used_pct", {"warning": 90}, {"memory": 95.0}, {"memory": 40.0}, "resource:memory"),
        ("db_connections", {"warning": 40}, {"db_connections": 55.0}, {"db_connections": 5.0},
         "resource:db_connections"),
    ],
)  # fmt: skip
def test_resource_limits(
    engine: Engine, tmp_path: Path, kind: str, limits: dict[str, float], bad: dict[str, float],
    good: dict[str, float], key: str,
) -> None:  # fmt: skip
    if limits:
        _set(engine, kind, scope="*", **limits)
    with Session(engine) as s:
        assert key in _pass(s, NOW, tmp_path, probe=bad)
        assert key not in _pass(s, NOW + timedelta(minutes=1), tmp_path, probe=good)


def test_database_size_is_measured(engine: Engine, tmp_path: Path) -> None:
    _set(engine, "db_size_mb", scope="*", warning=0.01)
    with Session(engine) as s:
        assert "resource:db_size" in _pass(s, NOW, tmp_path)
    _set(engine, "db_size_mb", scope="*", warning=1_000_000)
    with Session(engine) as s:
        assert "resource:db_size" not in _pass(s, NOW + timedelta(minutes=1), tmp_path)


def test_thresholds_are_validated_audited_and_deleted(engine: Engine) -> None:
    with pytest.raises(ValidationError, match="scope must be"):
        _set(engine, "disk_free_pct", warning=10)
    with pytest.raises(ValidationError, match="is not one of"):
        _set(engine, "max_speed", warning=10, scope="*")
    _set(engine, "max_runtime", scope="module:GL", warning=3600)
    threshold_delete(engine, scope="module:GL", kind="max_runtime", now=NOW)
    with Session(engine) as s:
        actions = [a.action for a in s.scalars(select(Audit).order_by(Audit.id))]
    assert actions[-2:] == ["threshold.set", "threshold.delete"]


def test_thresholds_on_the_command_line(db_url: str) -> None:
    done = acas("thresholds", "set", "error_rate", "--warning", "3", "-p", "window_hours=24", "--database-url", db_url)
    assert done.returncode == 0, done.stderr
    listed = json.loads(acas("thresholds", "list", "--json", "--database-url", db_url).stdout)
    assert {"scope": "*", "kind": "error_rate", "warning": 3.0} in [
        {k: r[k] for k in ("scope", "kind", "warning")} for r in listed
    ]
    bad = acas("thresholds", "set", "max_runtime", "--scope", "job:NO_SUCH_JOB", "--warning", "5",
               "--database-url", db_url)  # fmt: skip
    assert bad.returncode != 0 and "NO_SUCH_JOB" in bad.stderr and "Traceback" not in bad.stderr

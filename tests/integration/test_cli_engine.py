"""``acas-batch run``, ``executions``, ``schedules`` and ``status`` as a user meets them (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.models import Audit
from tests.engine_helpers import define, executions
from tests.support.users import token_env

ROOT = Path(__file__).resolve().parents[2]


def acas(
    db_url: str, tmp_path: Path, *args: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACAS_")}
    env.update(
        {
            "ACAS_DATABASE_URL": db_url,
            "ACAS_DATA_DIR": str(tmp_path),
            "ACAS_JOB_MODULES": "tests.jobs_fixture",
            "ACAS_POLL_SECONDS": "0.05",
            "ACAS_LEASE_SECONDS": "5",
            "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        }
        | (env_extra or {})
    )
    return subprocess.run(
        [sys.executable, "-m", "acas_batch", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_run_wait_exits_by_the_result_and_executions_show_it(engine: Engine, db_url: str, tmp_path: Path) -> None:
    define(engine, "TEST_WRITE")
    define(engine, "TEST_FAIL", max_attempts=1)
    ok = acas(db_url, tmp_path, "run", "TEST_WRITE", "--param", "rows=2", "--business-date", "20261130", "--wait")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("execution 1 succeeded")
    failed = acas(db_url, tmp_path, "run", "TEST_FAIL", "-p", "failures=5", "--wait", "--json")
    assert failed.returncode == 11, failed.stderr
    detail = json.loads(failed.stdout)
    assert (detail["state"], detail["error_type"]) == ("failed", "ValueError")

    again = acas(db_url, tmp_path, "run", "TEST_WRITE", "-p", "rows=2", "--business-date", "2026-11-30")
    assert again.returncode == 75
    assert "already succeeded in execution 1" in again.stderr
    bad = acas(db_url, tmp_path, "run", "TEST_WRITE", "-p", "rows=lots")
    assert bad.returncode == 65
    assert "rows: Input should be a valid integer" in bad.stderr
    assert len(executions(engine)) == 2  # neither refusal created an execution

    listed = json.loads(acas(db_url, tmp_path, "executions", "list", "--json").stdout)
    assert [(r["id"], r["job"], r["state"]) for r in listed] == [
        (2, "TEST_FAIL", "failed"),
        (1, "TEST_WRITE", "succeeded"),
    ]
    shown = json.loads(acas(db_url, tmp_path, "executions", "show", "1", "--json").stdout)
    assert shown["business_date"] == "2026-11-30"
    assert [line["event"] for line in shown["logs"]] == ["rows_written"]
    missing = acas(db_url, tmp_path, "executions", "show", "99")
    assert missing.returncode == 66 and "no execution has id 99" in missing.stderr


def test_operator_actions_from_the_command_line(engine: Engine, db_url: str, tmp_path: Path) -> None:
    define(engine, "TEST_NOOP")
    created = acas(db_url, tmp_path, "run", "TEST_NOOP", "--json")
    eid = json.loads(created.stdout)["execution_id"]
    ann = token_env(engine, "ann", "operator")
    held = acas(db_url, tmp_path, "executions", "hold", str(eid), "--reason", "auditors in", "--json", env_extra=ann)
    assert json.loads(held.stdout) == {"id": eid, "state": "held"}
    assert acas(db_url, tmp_path, "executions", "hold", str(eid), "--reason", "again").returncode == 75
    assert acas(db_url, tmp_path, "executions", "cancel", str(eid)).returncode == 65  # a reason is required
    released = acas(db_url, tmp_path, "executions", "release", str(eid))
    assert released.stdout.strip() == f"execution {eid} queued"
    cancelled = acas(db_url, tmp_path, "executions", "cancel", str(eid), "--reason", "not needed")
    assert cancelled.stdout.strip() == f"execution {eid} cancelled"
    rerun = acas(db_url, tmp_path, "executions", "rerun", str(eid), "--reason", "needed after all", "--json")
    assert json.loads(rerun.stdout)["state"] == "queued"
    marked = acas(db_url, tmp_path, "executions", "mark-succeeded", str(eid + 1), "--reason", "done by hand")
    assert marked.stdout.strip() == f"execution {eid + 1} succeeded"
    impact = json.loads(acas(db_url, tmp_path, "executions", "impact", str(eid), "--json").stdout)
    assert impact == {"execution_id": eid, "job_name": "TEST_NOOP", "blocked_jobs": [], "blocked_executions": []}

    board = json.loads(acas(db_url, tmp_path, "status", "--json").stdout)
    assert board["counts"]["cancelled"] == 1 and board["counts"]["succeeded"] == 1
    assert board["running"] == [] and board["recent_failures"] == []
    assert "executions:" in acas(db_url, tmp_path, "status").stdout
    with Session(engine) as s:
        held_by = s.scalars(select(Audit).where(Audit.action == "execution.hold")).one()
    assert (held_by.actor, held_by.face, held_by.reason) == ("ann", "cli", "auditors in") and held_by.os_user
    assert json.loads(acas(db_url, tmp_path, "schedules", "list", "--json").stdout) == []


def test_simulate_runs_a_week_of_schedules_on_a_virtual_clock(engine: Engine, db_url: str, tmp_path: Path) -> None:
    from acas_batch.batch.definitions import create_schedule
    from acas_batch.db import transaction
    from tests.engine_helpers import NOW

    define(engine, "TEST_WRITE")
    with transaction(engine, write=True) as s:
        create_schedule(s, "TEST_WRITE", now=NOW, kind="daily", rule={"at": "23:00", "business_days_only": True})
    result = acas(db_url, tmp_path, "simulate", "--from", "2026-12-21", "--to", "2026-12-31", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # Business days between 21 and 31 December 2026: not the weekend, not Christmas or Boxing Day (moved to the 28th).
    days = sorted(r.business_date.isoformat() for r in executions(engine))
    assert days == ["2026-12-21", "2026-12-22", "2026-12-23", "2026-12-24", "2026-12-29", "2026-12-30", "2026-12-31"]
    assert report["executions_by_state"] == {"succeeded": 7}
    assert report["executions_by_job"] == {"TEST_WRITE": 7}
    bad = acas(db_url, tmp_path, "simulate", "--from", "2026-12-31", "--to", "2026-12-01")
    assert bad.returncode == 65 and "before" in bad.stderr

"""`acas-batch logs`, `alerts` and `monitor` as a user runs them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.models import (
    BatchAlert,
    BatchExecution,
    BatchJob,
    BatchLog,
    ExecutionState,
    LogLevel,
    Module,
    TriggerKind,
)
from tests.integration.test_cli import acas
from tests.support.users import token_env


def _failed_run(engine: Engine) -> int:
    now = datetime.now(UTC)
    with Session(engine) as s:
        job = BatchJob(
            name="PL_PAYMENT_RUN", module=Module.PL, handler="PL_PAYMENT_RUN", created_at=now, updated_at=now
        )
        s.add(job)
        s.flush()
        ex = BatchExecution(
            job_id=job.id,
            business_date=date.today(),
            state=ExecutionState.FAILED,
            trigger=TriggerKind.SCHEDULE,
            run_key="PL_PAYMENT_RUN:today",
            created_at=now - timedelta(minutes=5),
            finished_at=now - timedelta(minutes=1),
            error_message="bank file refused",
        )
        s.add(ex)
        s.flush()
        for i in range(3):
            s.add(
                BatchLog(
                    execution_id=ex.id,
                    job_id=job.id,
                    logged_at=now - timedelta(minutes=3 - i),
                    level=LogLevel.ERROR,
                    event="job_error",
                    message=f"supplier {i} bank 20-00-00 5577991{i} rejected",
                )
            )
        s.commit()
        return ex.id


def test_logs_view_export_and_patterns(db_url: str, engine: Engine, tmp_path: Path) -> None:
    execution = _failed_run(engine)
    viewed = acas("logs", "view", "--job", "PL_PAYMENT_RUN", "--level", "ERROR", "--database-url", db_url, "--json")
    assert viewed.returncode == 0, viewed.stderr
    data = json.loads(viewed.stdout)
    assert data["total"] == 3 and all(line["execution_id"] == execution for line in data["logs"])
    assert "55779910" not in viewed.stdout

    exported = acas(
        "logs", "export", "--format", "json", "--output-dir", str(tmp_path), "--database-url", db_url, "--json"
    )
    assert exported.returncode == 0, exported.stderr
    path = Path(json.loads(exported.stdout)["path"])
    assert len(json.loads(path.read_text())) == 3

    patterns = acas("logs", "patterns", "--database-url", db_url, "--json")
    assert json.loads(patterns.stdout)[0]["count"] == 3

    bad = acas("logs", "export", "--format", "xml", "--database-url", db_url)
    assert bad.returncode != 0 and "xml" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_monitor_raises_an_alert_that_can_be_acknowledged_and_resolved(db_url: str, engine: Engine) -> None:
    _failed_run(engine)
    run = acas("monitor", "run", "--no-send", "--database-url", db_url, "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["alerts_raised"] == 1
    listed = json.loads(acas("alerts", "list", "--database-url", db_url, "--json").stdout)
    assert [a["severity"] for a in listed] == ["critical"]
    alert_id = str(listed[0]["id"])
    ack = acas(
        "alerts", "ack", alert_id, "--database-url", db_url, "--json", env=token_env(engine, "alice", "operator")
    )
    assert json.loads(ack.stdout)["state"] == "acknowledged"
    again = acas("alerts", "ack", alert_id, "--database-url", db_url)
    assert again.returncode != 0 and "only an open alert" in again.stderr
    resolved = acas(
        "alerts", "resolve", alert_id, "--database-url", db_url, "--json", env=token_env(engine, "bob", "operator")
    )
    assert json.loads(resolved.stdout)["state"] == "resolved"
    assert json.loads(acas("alerts", "list", "--database-url", db_url, "--json").stdout) == []
    with Session(engine) as s:
        alert = s.get(BatchAlert, int(alert_id))
        assert alert is not None and (alert.acknowledged_by, alert.resolved_by) == ("alice", "bob")

"""Run notices: the e-mail a job's ``notify`` parameter asks for, through a real SMTP server,
sent once per outcome; and the shared parameter types every ledger job takes."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.batch.registry import REGISTRY
from acas_batch.errors import ValidationError
from acas_batch.jobs.params import month_of, period_run_key, quarter_of
from acas_batch.models import BatchExecution, BatchJob, BatchRunNotice, ExecutionState, Module, TriggerKind
from acas_batch.monitoring import MonitorOptions
from tests.acceptance.processes import engine_env, processes
from tests.engine_helpers import define, executions, wait_until
from tests.integration.conftest import Inbox, free_port
from tests.support.alerting import local_smtp, monitor

NOW = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
ASK = {"notify": {"recipients": ["accounts@pennine.test", "fd@pennine.test"], "on_success": True}}


def _run(s: Session, job: BatchJob, state: ExecutionState, ago: int, **kw: Any) -> BatchExecution:
    finished = NOW - timedelta(minutes=ago)
    values: dict[str, Any] = {
        "job_id": job.id,
        "business_date": date(2026, 11, 24),
        "state": state,
        "trigger": TriggerKind.SCHEDULE,
        "run_key": f"{job.name}:2026-11-24",
        "created_at": finished - timedelta(seconds=5),
        "started_at": finished - timedelta(seconds=5),
        "finished_at": finished,
        "duration_ms": 5000,
        **kw,
    }
    ex = BatchExecution(**values)
    s.add(ex)
    s.flush()
    return ex


def test_each_outcome_asked_for_is_mailed_once_to_its_own_recipients(engine: Engine, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    notifier = local_smtp(port, "batch@pennine.test")  # no alert recipients
    with Session(engine) as s:
        tb = BatchJob(name="GL_TRIAL_BALANCE", module=Module.GL, handler="x", created_at=NOW, updated_at=NOW)
        pay = BatchJob(
            name="PL_PAYMENT_RUN",
            module=Module.PL,
            handler="y",
            created_at=NOW,
            updated_at=NOW,
            default_params={"notify": {"recipients": ["payables@pennine.test"]}},  # failures only
        )
        quiet = BatchJob(name="SL_AGED_DEBTORS", module=Module.SL, handler="z", created_at=NOW, updated_at=NOW)
        s.add_all([tb, pay, quiet])
        s.flush()
        # Given: a trial balance asking to hear of success, with a summary and a file
        ok = _run(s, tb, ExecutionState.WARNING, 30, params=ASK,
                  result={"summary": "54 accounts; 1 warning", "files": ["/out/tb.csv"]})  # fmt: skip
        # a payment run whose first attempt failed and was retried, then failed for good
        first = _run(s, pay, ExecutionState.FAILED, 50, error_type="OSError", error_message="disk full")
        last = _run(s, pay, ExecutionState.FAILED, 20, attempt=2, previous_execution_id=first.id,
                    root_execution_id=first.id, error_type="LedgerError",
                    error_message="bank 20-00-00 55779911 refused")  # fmt: skip
        # a payment run that succeeded (its defaults ask for failures only) and a job that asks nothing
        _run(s, pay, ExecutionState.SUCCEEDED, 10, run_key="PL_PAYMENT_RUN:2026-11-23")
        _run(s, quiet, ExecutionState.FAILED, 10, params={"notify": {"recipients": ["x@pennine.test"],
                                                                      "on_failure": False}})  # fmt: skip
        s.commit()
        # When the monitor runs twice
        report = monitor(s, NOW, MonitorOptions(send_alerts=True), notifier)
        again = monitor(s, NOW + timedelta(minutes=1), MonitorOptions(send_alerts=True), notifier)
        told = {n.execution_id: (n.outcome, n.recipients) for n in s.scalars(select(BatchRunNotice))}
        ok_id, last_id = ok.id, last.id

    # Then the trial balance's success and the payment run's final failure were mailed, once each
    assert (report.run_notices, again.run_notices) == (2, 0)
    assert told == {
        ok_id: ("warning", "accounts@pennine.test, fd@pennine.test"),
        last_id: ("failed", "payables@pennine.test"),
    }
    subjects = sorted(str(m["Subject"]) for m in inbox.messages)
    assert subjects == [
        "[ACAS batch] GL_TRIAL_BALANCE succeeded with warnings (business date 24/11/2026)",
        "[ACAS batch] PL_PAYMENT_RUN failed (business date 24/11/2026)",
    ]
    by_subject = {str(m["Subject"]): (m, env) for m, env in zip(inbox.messages, inbox.envelopes, strict=True)}
    tb_mail, tb_to = by_subject[subjects[0]]
    assert tb_to == ["accounts@pennine.test", "fd@pennine.test"]
    assert "54 accounts; 1 warning" in tb_mail.get_content() and "/out/tb.csv" in tb_mail.get_content()
    pay_mail, pay_to = by_subject[subjects[1]]
    body = pay_mail.get_content()
    assert pay_to == ["payables@pennine.test"]
    assert "LedgerError" in body and "attempt 2" in body
    assert "55779911" not in body  # bank details masked
    assert "disk full" not in body  # the retried attempt is not told


def test_a_notice_the_server_refused_is_sent_when_it_is_back(engine: Engine, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    down = local_smtp(free_port(), "b@pennine.test")
    up = local_smtp(port, "b@pennine.test")
    with Session(engine) as s:
        job = BatchJob(name="GL_DAILY_CLOSE", module=Module.GL, handler="x", created_at=NOW, updated_at=NOW)
        s.add(job)
        s.flush()
        _run(s, job, ExecutionState.SUCCEEDED, 5, params=ASK)
        s.commit()
        failed = monitor(s, NOW, MonitorOptions(send_alerts=True), down)
        assert len(s.scalars(select(BatchRunNotice)).all()) == 1  # decided once, queued in the outbox
        early = monitor(s, NOW + timedelta(seconds=10), MonitorOptions(send_alerts=True), up)
        sent = monitor(s, NOW + timedelta(minutes=1), MonitorOptions(send_alerts=True), up)
        later = monitor(s, NOW + timedelta(minutes=2), MonitorOptions(send_alerts=True), up)
    assert failed.run_notices == 1 and failed.notify_error is not None
    assert early.outbox["delivered"] == 0, "the retry waits for its backoff"
    assert sent.run_notices == 0 and sent.outbox["delivered"] == 1
    assert later.outbox["delivered"] == 0
    assert len(inbox.messages) == 1


def test_a_running_scheduler_mails_the_notices_itself(
    engine: Engine, db_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    define(engine, "TEST_FAIL", max_attempts=2, retry_backoff_seconds=0)
    notify = '{"recipients": ["ops@pennine.test"], "on_success": true}'
    env = engine_env(db_url, tmp_path, ACAS_MONITOR_INTERVAL_SECONDS="1", ACAS_SMTP_HOST="127.0.0.1",
                     ACAS_SMTP_PORT=str(port), ACAS_SMTP_TLS="none")  # fmt: skip
    with processes(env, tmp_path) as procs:
        procs.start("scheduler", "start", "--workers", "1")
        # one run that fails once and succeeds on its retry, one that is refused for good
        for day, params in (("2026-11-24", ["failures=1"]), ("2026-11-25", ["failures=5", "error=CloseRefused"])):
            args = [x for p in params for x in ("-p", p)]
            done = _cli(env, "run", "TEST_FAIL", *args, "-p", f"notify={notify}", "--business-date", day)
            assert done.returncode == 0, done.stderr
        wait_until(lambda: len(inbox.messages) >= 2, timeout=60)
        time.sleep(2.5)  # two more monitor passes: nothing more may be sent
    states = [e.state for e in executions(engine)]
    assert states.count(ExecutionState.FAILED) == 2 and states.count(ExecutionState.SUCCEEDED) == 1
    assert sorted(str(m["Subject"]) for m in inbox.messages) == [
        "[ACAS batch] TEST_FAIL failed (business date 25/11/2026)",
        "[ACAS batch] TEST_FAIL succeeded (business date 24/11/2026)",
    ]
    assert inbox.envelopes == [["ops@pennine.test"], ["ops@pennine.test"]]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acas_batch", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


# --- the parameter types every ledger job shares ------------------------------------------


@pytest.mark.parametrize(
    "job", ["GL_TRIAL_BALANCE", "GL_PERIOD_CLOSE", "SL_STATEMENT_GENERATION", "PL_ACCRUALS_CALCULATION"]
)
def test_a_period_means_the_same_month_on_every_job(job: str) -> None:
    spec = REGISTRY.get(job)
    assert spec.validate_params({"period": "2026/3"}).model_dump()["period"] == "2026-03"
    assert spec.validate_params({"period": " previous "}).model_dump()["period"] == "PREVIOUS"
    for bad in ("2026-13", "2026-P07", "March"):
        with pytest.raises(ValidationError, match="period"):
            spec.validate_params({"period": bad})


def test_a_named_period_has_the_run_key_of_current_in_that_month() -> None:
    spec = REGISTRY.get("GL_PERIOD_CLOSE")
    day = date(2026, 11, 24)
    named, current = spec.validate_params({"period": "2026-11"}), spec.validate_params({"period": "CURRENT"})
    assert period_run_key(named, day) == period_run_key(current, day) == "month:2026-11"
    assert month_of("PREVIOUS", date(2026, 1, 5)) == date(2025, 12, 1)
    for job in ("SL_VAT_RETURN", "PL_VAT_RETURN"):  # a VAT quarter is named alike on both
        vat = REGISTRY.get(job)
        names = {vat.validate_params({"quarter": q}).quarter for q in ("CURRENT", "2026-Q4", "2026-q4")}  # type: ignore[attr-defined]
        assert {quarter_of(n, day) for n in names} == {(2026, 4)}
        assert quarter_of(vat.validate_params({"quarter": "PREVIOUS"}).quarter, date(2026, 2, 1)) == (2025, 4)  # type: ignore[attr-defined]


@pytest.mark.parametrize("job", ["GL_TRIAL_BALANCE", "SL_AGED_DEBTORS", "PL_AGED_CREDITORS", "ST_ABC_ANALYSIS"])
def test_notify_and_output_format_are_checked_alike_on_every_job(job: str) -> None:
    spec = REGISTRY.get(job)
    with pytest.raises(ValidationError, match="notify"):
        spec.validate_params({"notify": {"recipients": ["not-an-address"]}})
    with pytest.raises(ValidationError, match="output_format"):
        spec.validate_params({"output_format": "xls"})
    ok = spec.validate_params({"notify": {"recipients": [" fd@pennine.test "], "on_success": True}})
    assert ok.model_dump()["notify"] == {"recipients": ["fd@pennine.test"], "on_success": True, "on_failure": True}

"""Monitoring rules, alert de-duplication and e-mail through a real SMTP server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.models import (
    AlertSeverity,
    AlertState,
    BatchAlert,
    BatchExecution,
    BatchJob,
    BatchSchedule,
    ExecutionState,
    Module,
    NotificationOutbox,
    ScheduleKind,
    TriggerKind,
)
from acas_batch.monitoring import MonitorOptions, NotifyPolicy, run_checks
from tests.integration.conftest import Inbox, free_port
from tests.support.alerting import local_smtp, monitor

NOW = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)


class Ledger:
    """Compact builder of jobs and executions."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.jobs: dict[str, BatchJob] = {}

    def job(self, name: str) -> BatchJob:
        if name not in self.jobs:
            self.jobs[name] = BatchJob(name=name, module=Module.GL, handler=name, created_at=NOW, updated_at=NOW)
            self.s.add(self.jobs[name])
            self.s.flush()
        return self.jobs[name]

    def run(
        self, name: str, state: ExecutionState, *, ago: timedelta, seconds: float = 10, **kw: Any
    ) -> BatchExecution:
        finished = NOW - ago
        values: dict[str, Any] = {
            "job_id": self.job(name).id,
            "business_date": date(2026, 11, 24),
            "state": state,
            "trigger": TriggerKind.SCHEDULE,
            "run_key": f"{name}:2026-11-24",
            "created_at": finished - timedelta(seconds=seconds),
            "started_at": finished - timedelta(seconds=seconds),
            "finished_at": finished,
            "duration_ms": int(seconds * 1000),
        }
        values.update(kw)
        ex = BatchExecution(**values)
        self.s.add(ex)
        self.s.flush()
        return ex


def test_final_failure_alerts_once_and_mails_masked_text(engine: Engine, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    notifier = local_smtp(port)
    options = MonitorOptions(send_alerts=True, policy=NotifyPolicy(default_recipients=("ops@acme.test",)))
    with Session(engine) as s:
        book = Ledger(s)
        # Given a payment run that failed on attempt 1 (retried) and finally on attempt 2
        first = book.run("PL_PAYMENT_RUN", ExecutionState.FAILED, ago=timedelta(hours=2), error_message="boom")
        book.run(
            "PL_PAYMENT_RUN",
            ExecutionState.FAILED,
            ago=timedelta(hours=1),
            attempt=2,
            previous_execution_id=first.id,
            root_execution_id=first.id,
            error_type="LedgerError",
            error_message="bank 20-00-00 55779911 refused",
        )
        s.commit()
        # When the monitor runs twice
        report = monitor(s, NOW, options, notifier)
        again = monitor(s, NOW + timedelta(minutes=5), options, notifier)
        alerts = s.scalars(select(BatchAlert)).all()
    # Then one critical alert, seen twice, mailed once, without the bank details
    assert report.alerts_raised == 1 and report.notified == 1
    assert again.alerts_raised == 0 and again.alerts_repeated == 1 and again.notified == 0
    assert len(alerts) == 1
    assert alerts[0].severity is AlertSeverity.CRITICAL and alerts[0].occurrences == 2
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert str(mail["Subject"]).strip().startswith("[ACAS batch CRITICAL] PL_PAYMENT_RUN failed")
    assert "attempt 2 of 3" in str(mail["Subject"])
    body = mail.get_content()
    assert "55779911" not in body and "LedgerError" in body


def test_success_after_failure_resolves_the_alert(engine: Engine) -> None:
    with Session(engine) as s:
        book = Ledger(s)
        book.run("GL_DAILY_CLOSE", ExecutionState.FAILED, ago=timedelta(hours=3))
        s.commit()
        assert run_checks(s, NOW, MonitorOptions()).alerts_raised == 1
        book.run("GL_DAILY_CLOSE", ExecutionState.SUCCEEDED, ago=timedelta(minutes=1), trigger=TriggerKind.RERUN)
        s.commit()
        report = run_checks(s, NOW + timedelta(minutes=1), MonitorOptions(check_failures=False))
        s.commit()
        alert = s.scalars(select(BatchAlert)).one()
    assert report.alerts_resolved == 1
    assert alert.state is AlertState.RESOLVED


def test_slow_runs_are_measured_against_the_jobs_own_history(engine: Engine) -> None:
    with Session(engine) as s:
        book = Ledger(s)
        for day in range(2, 8):
            book.run(
                "GL_TRIAL_BALANCE", ExecutionState.SUCCEEDED, ago=timedelta(days=day), seconds=10, run_key=f"tb{day}"
            )
        book.run("GL_TRIAL_BALANCE", ExecutionState.SUCCEEDED, ago=timedelta(hours=1), seconds=19, run_key="ok")
        slow = book.run(
            "GL_TRIAL_BALANCE", ExecutionState.SUCCEEDED, ago=timedelta(minutes=5), seconds=31, run_key="slow"
        )
        book.run("GL_PERIOD_CLOSE", ExecutionState.SUCCEEDED, ago=timedelta(minutes=5), seconds=3600)  # no history
        s.commit()
        report = run_checks(s, NOW, MonitorOptions(check_failures=False, check_schedule=False))
    assert [(f.rule, f.execution_id) for f in report.findings] == [("slow_run", slow.id)]
    assert "3.1× slower" in report.findings[0].title


def test_late_and_missed_schedules(engine: Engine) -> None:
    with Session(engine) as s:
        book = Ledger(s)
        job = book.job("SL_CREDIT_LIMIT_CHECK")
        late = book.run(
            "SL_CREDIT_LIMIT_CHECK",
            ExecutionState.QUEUED,
            ago=timedelta(0),
            nominal_time=NOW - timedelta(hours=1),
            started_at=None,
            finished_at=None,
            duration_ms=None,
        )
        s.add(
            BatchSchedule(
                job_id=job.id,
                name="daily",
                kind=ScheduleKind.DAILY,
                rule={"at": "08:00"},
                next_fire_at=NOW - timedelta(hours=2),
                created_at=NOW,
                updated_at=NOW,
            )
        )
        s.commit()
        report = run_checks(s, NOW, MonitorOptions(check_failures=False, check_performance=False))
        s.commit()
        assert sorted(f.rule for f in report.findings) == ["late", "missed"]
        # When the late run starts, its alert resolves on the next pass
        late.state = ExecutionState.RUNNING
        late.lease_owner, late.lease_expires_at = "w1", NOW + timedelta(minutes=1)
        s.commit()
        again = run_checks(s, NOW + timedelta(minutes=1), MonitorOptions(check_failures=False, check_performance=False))
    assert again.alerts_resolved == 1


def test_smtp_down_keeps_the_alert_queued_with_the_reason(engine: Engine) -> None:
    notifier = local_smtp(free_port())
    options = MonitorOptions(send_alerts=True, policy=NotifyPolicy(default_recipients=("o@x.test",)))
    with Session(engine) as s:
        Ledger(s).run("SYS_DATABASE_BACKUP", ExecutionState.TIMED_OUT, ago=timedelta(minutes=10))
        s.commit()
        report = monitor(s, NOW, options, notifier)
        queued = s.scalars(select(NotificationOutbox)).one()
        alerts = {a.rule: a for a in s.scalars(select(BatchAlert))}
    assert report.notify_error is not None and "Connection refused" in report.notify_error
    assert queued.state == "pending" and queued.attempts == 1 and queued.last_error == report.notify_error
    assert "timed out" in alerts["failure"].title
    assert "notify_failed" in alerts, "the outage itself is an alert (recorded once per outage)"

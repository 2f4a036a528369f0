"""Alerting people can trust: retry-aware, grouped per route, capped, inhibited, never lost
(through a real local SMTP server, on a simulated clock)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from acas_batch.db import transaction
from acas_batch.models import (
    AlertRoute,
    AlertState,
    BatchAlert,
    BatchExecution,
    BatchJob,
    ExecutionState,
    Module,
    NotificationOutbox,
    TriggerKind,
)
from acas_batch.monitoring import MonitorOptions, NotifyPolicy
from acas_batch.monitoring.outbox import Deliverer, Outgoing, claim_due, enqueue
from tests.integration.conftest import Inbox, free_port
from tests.support.alerting import local_smtp, monitor

NOW = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
OPS = NotifyPolicy(default_recipients=("ops@acme.test",))


class Runs:
    """Compact builder of jobs and their attempts."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.jobs: dict[str, BatchJob] = {}

    def job(self, name: str, module: Module = Module.GL, max_attempts: int = 3) -> BatchJob:
        if name not in self.jobs:
            self.jobs[name] = BatchJob(
                name=name, module=module, handler=name, created_at=NOW, updated_at=NOW, max_attempts=max_attempts
            )
            self.s.add(self.jobs[name])
            self.s.flush()
        return self.jobs[name]

    def attempts(self, name: str, outcomes: str, *, at: datetime, run_key: str | None = None, **kw: Any) -> None:
        """``outcomes`` one letter per attempt: F failed, S succeeded; each follows the previous."""
        job = self.job(name)
        prev: BatchExecution | None = None
        for i, letter in enumerate(outcomes, start=1):
            finished = at + timedelta(minutes=i)
            ex = BatchExecution(
                job_id=job.id,
                business_date=date(2026, 11, 24),
                state=ExecutionState.FAILED if letter == "F" else ExecutionState.SUCCEEDED,
                trigger=TriggerKind.SCHEDULE if prev is None else TriggerKind.RETRY,
                run_key=run_key or f"{name}:2026-11-24",
                attempt=i,
                previous_execution_id=prev.id if prev else None,
                root_execution_id=prev.root_execution_id or prev.id if prev else None,
                created_at=finished - timedelta(seconds=20),
                started_at=finished - timedelta(seconds=20),
                finished_at=finished,
                duration_ms=20_000,
                error_type=kw.get("error_type", "LedgerError") if letter == "F" else None,
                error_message="period locked" if letter == "F" else None,
            )
            self.s.add(ex)
            self.s.flush()
            prev = ex


def _route(s: Session, name: str, to: str, **kw: Any) -> None:
    s.add(AlertRoute(name=name, email_to=[to], escalation=[], created_at=NOW, **kw))


def test_a_failure_that_will_be_retried_is_not_alerted_and_the_final_one_says_which_attempt(
    engine: Engine, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    options = MonitorOptions(send_alerts=True, policy=OPS)
    with Session(engine) as s:
        runs = Runs(s)
        # Given a job that failed twice then succeeded on its third attempt, and one that failed all three
        runs.attempts("GL_DAILY_CLOSE", "FFS", at=NOW - timedelta(hours=1))
        runs.attempts("GL_TRIAL_BALANCE", "FFF", at=NOW - timedelta(hours=1))
        s.commit()
        # When the monitor runs (twice: the second pass must not repeat it)
        first = monitor(s, NOW, options, local_smtp(port))
        second = monitor(s, NOW + timedelta(minutes=5), options, local_smtp(port))
    # Then exactly one message, for the job that failed for good, saying "attempt 3 of 3"
    assert first.alerts_raised == 1 and second.alerts_raised == 0
    assert len(inbox.messages) == 1
    subject = str(inbox.messages[0]["Subject"])
    assert "GL_TRIAL_BALANCE failed" in subject and "attempt 3 of 3" in subject
    assert "GL_DAILY_CLOSE" not in inbox.messages[0].get_content()


def test_fifty_failures_in_one_pass_are_one_message_per_route(engine: Engine, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    options = MonitorOptions(send_alerts=True, policy=OPS)
    with Session(engine) as s:
        _route(s, "ops", "ops@acme.test", min_severity="warning")
        _route(s, "gl-team", "gl@acme.test", module="GL")
        runs = Runs(s)
        for i in range(50):
            runs.attempts(f"GL_JOB_{i:02d}", "F", at=NOW - timedelta(minutes=30))
        s.commit()
        report = monitor(s, NOW, options, local_smtp(port))
    # Then 50 alerts, told in one message to each of the two routes
    assert report.alerts_raised == 50
    assert sorted(env[0] for env in inbox.envelopes) == ["gl@acme.test", "ops@acme.test"]
    for mail in inbox.messages:
        assert str(mail["Subject"]).startswith("[ACAS batch CRITICAL] 50 alerts from 50 jobs")
        assert mail.get_content().count("CRITICAL: GL_JOB_") == 50


def test_the_cap_per_job_per_hour_holds_and_says_how_many_were_suppressed(
    engine: Engine, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    options = MonitorOptions(send_alerts=True, policy=NotifyPolicy(default_recipients=("ops@acme.test",),
                                                                   cap_per_job_hour=5))  # fmt: skip
    with Session(engine) as s:
        runs = Runs(s)
        # Given one job that failed for 8 different business keys within the hour
        for i in range(8):
            runs.attempts("SL_STATEMENT_RUN", "F", at=NOW - timedelta(minutes=40), run_key=f"SL_STATEMENT_RUN:{i}")
        s.commit()
        monitor(s, NOW, options, local_smtp(port))
        # and two more in the next pass, still within the hour
        for i in range(8, 10):
            runs.attempts("SL_STATEMENT_RUN", "F", at=NOW - timedelta(minutes=5), run_key=f"SL_STATEMENT_RUN:{i}")
        s.commit()
        monitor(s, NOW + timedelta(minutes=10), options, local_smtp(port))
        muted = s.scalar(select(func.count()).select_from(BatchAlert).where(BatchAlert.muted_reason == "capped"))
    # Then the first message tells 5 and says 3 more were suppressed; the second tells none of its 2
    first, second = (m.get_content() for m in inbox.messages)
    assert first.count("CRITICAL: SL_STATEMENT_RUN") == 5 and "and 3 more suppressed" in first
    assert second.count("CRITICAL: SL_STATEMENT_RUN") == 0 and "and 2 more suppressed" in second
    assert muted == 5


def test_database_unreachable_inhibits_the_cascade_of_job_failures(engine: Engine, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    options = MonitorOptions(send_alerts=True, policy=OPS)
    with Session(engine) as s:
        runs = Runs(s)
        # Given 50 jobs that failed because their database connection was lost
        for i in range(50):
            runs.attempts(f"GL_JOB_{i:02d}", "F", at=NOW - timedelta(minutes=30), error_type="OperationalError")
        s.commit()
        report = monitor(s, NOW, options, local_smtp(port))
        inhibited = s.scalars(select(BatchAlert).where(BatchAlert.muted_reason.like("inhibited by alert #%"))).all()
    # Then one message: the database alert; the 50 failures recorded, held back
    assert report.alerts_raised == 51
    assert len(inbox.messages) == 1
    assert "the database was unreachable: 50 jobs failed on it" in str(inbox.messages[0]["Subject"])
    assert len(inhibited) == 50


def test_an_hour_without_a_mail_server_delays_every_alert_and_loses_none(engine: Engine) -> None:
    # Given a mail server that is down (its port is known, nothing listens yet)
    port = free_port()
    inbox = Inbox()
    options = MonitorOptions(send_alerts=True, policy=OPS)
    with Session(engine) as s:
        runs = Runs(s)
        # When failures keep coming for an hour of simulated time, a monitor pass every 5 minutes
        for minute in range(0, 61, 5):
            now = NOW + timedelta(minutes=minute)
            runs.attempts(f"GL_JOB_{minute:02d}", "F", at=now - timedelta(minutes=3))
            s.commit()
            report = monitor(s, now, options, local_smtp(port))
            assert report.outbox["delivered"] == 0
        waiting = s.scalar(
            select(func.count()).select_from(NotificationOutbox).where(NotificationOutbox.state == "pending")
        )
        outage = s.scalars(select(BatchAlert).where(BatchAlert.rule == "notify_failed")).one()
        # and then the server comes back
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            for minute in (70, 75, 80, 85):
                monitor(s, NOW + timedelta(minutes=minute), options, local_smtp(port))
        finally:
            controller.stop()
        rows = s.scalars(select(NotificationOutbox).order_by(NotificationOutbox.id)).all()
        s.refresh(outage)
    # Then every queued message was delivered exactly once, the delay measured, the outage resolved
    assert waiting == 13, "one message per pass: its new failure (the first grouped with the outage alert)"
    assert outage.occurrences >= 1
    assert all(r.state == "delivered" for r in rows)
    keys = [m["X-ACAS-Outbox-Key"] for m in inbox.messages]
    assert len(keys) == len(set(keys)) == len(rows)
    failed_jobs = sorted(line.split(" ")[1] for m in inbox.messages for line in m.get_content().splitlines()
                         if line.startswith("CRITICAL: GL_JOB_"))  # fmt: skip
    assert failed_jobs == [f"GL_JOB_{m:02d}" for m in range(0, 61, 5)]
    assert max((r.delivered_at - r.created_at) for r in rows if r.delivered_at) >= timedelta(minutes=70)
    assert outage.state is AlertState.RESOLVED


def test_a_sender_takes_back_its_own_unfinished_claim_at_once_and_another_waits_it_out(
    engine: Engine, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    with transaction(engine, write=True) as s:
        enqueue(s, Outgoing("alert-1", "alert", ("ops@acme.test",), "disk low", "the disk is low"), now=NOW)
    ours = Deliverer(local_smtp(port))
    # Given a claim of this sender's that no pass finished (a pass cut short after its claim)
    with transaction(engine, write=True) as s:
        assert len(claim_due(s, sender=ours.sender, now=NOW)) == 1
    # When another thread's sender, then another process's, look a minute later
    other_thread: list[Deliverer] = []
    worker = threading.Thread(target=lambda: other_thread.append(Deliverer(local_smtp(port))))
    worker.start()
    worker.join()
    theirs = [other_thread[0], Deliverer(local_smtp(port), sender="monitor:elsewhere:1:1")]
    reports = [d.deliver_due(engine, now=NOW + timedelta(minutes=1)) for d in theirs]
    # Then neither takes it: the claim may be theirs who is sending it now
    assert [r.delivered for r in reports] == [0, 0] and inbox.messages == []
    assert len({ours.sender, *(d.sender for d in theirs)}) == 3
    # And this sender's next pass sends it at once, once
    assert ours.deliver_due(engine, now=NOW + timedelta(minutes=1)).delivered == 1
    assert [m["X-ACAS-Outbox-Key"] for m in inbox.messages] == ["alert-1"]
    assert ours.deliver_due(engine, now=NOW + timedelta(minutes=2)).delivered == 0

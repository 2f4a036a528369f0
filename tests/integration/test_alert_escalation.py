"""Escalation: an unacknowledged critical alert goes to the next list on schedule, stops when
acknowledged, and waits for the next business morning when the route says office hours only."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.models import AlertRoute, BatchExecution, BatchJob, ExecutionState, Module, TriggerKind
from acas_batch.monitoring import MonitorOptions, NotifyPolicy, acknowledge_alert, open_alerts
from acas_batch.monitoring.dispatch import OfficeHours
from tests.integration.conftest import Inbox
from tests.support.alerting import local_smtp, monitor

TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # London is on UTC in November
FRIDAY_1750 = datetime(2026, 11, 27, 17, 50, tzinfo=UTC)
STEPS = [{"after_minutes": 30, "email_to": ["manager@acme.test"]}, {"after_minutes": 30, "email_to": ["fd@acme.test"]}]


def _policy() -> NotifyPolicy:
    hours = OfficeHours(BusinessCalendar("GB", "ENG"), "Europe/London", time(8, 0), time(18, 0))
    return NotifyPolicy(default_recipients=(), office_hours=hours, repeat=None)


def _failure(s: Session, at: datetime, *, office_hours_only: bool) -> None:
    s.add(AlertRoute(name="ops", email_to=["ops@acme.test"], escalation=STEPS, office_hours_only=office_hours_only,
                     created_at=at))  # fmt: skip
    job = BatchJob(name="PL_PAYMENT_RUN", module=Module.PL, handler="x", created_at=at, updated_at=at)
    s.add(job)
    s.flush()
    s.add(BatchExecution(job_id=job.id, business_date=at.date(), state=ExecutionState.FAILED,
                         trigger=TriggerKind.SCHEDULE, run_key="PL_PAYMENT_RUN:x", attempt=3, created_at=at,
                         started_at=at - timedelta(minutes=1), finished_at=at - timedelta(seconds=5)))  # fmt: skip
    s.commit()


def test_escalates_on_schedule_and_stops_when_acknowledged(engine: Engine, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    options = MonitorOptions(send_alerts=True, policy=_policy())
    with Session(engine) as s:
        _failure(s, TUESDAY_10, office_hours_only=False)
        for minutes in (0, 20, 31):
            monitor(s, TUESDAY_10 + timedelta(minutes=minutes), options, local_smtp(port))
        told = list(inbox.envelopes)
        alert = open_alerts(s)[0]
        acknowledge_alert(s, alert.id, "duty.manager", TUESDAY_10 + timedelta(minutes=40))
        s.commit()
        for minutes in (62, 95, 130):
            monitor(s, TUESDAY_10 + timedelta(minutes=minutes), options, local_smtp(port))
    # Then ops at once, the manager after 30 minutes, and nobody after the acknowledgement
    assert told == [["ops@acme.test"], ["manager@acme.test"]]
    assert inbox.envelopes == told
    assert "ESCALATED (step 1, unacknowledged 31 min)" in str(inbox.messages[1]["Subject"])


def test_outside_office_hours_it_waits_for_the_next_business_morning(engine: Engine, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    options = MonitorOptions(send_alerts=True, policy=_policy(), window=timedelta(days=5))
    with Session(engine) as s:
        _failure(s, FRIDAY_1750, office_hours_only=True)
        monitor(s, FRIDAY_1750, options, local_smtp(port))
        due = open_alerts(s)[0].next_escalation_at
        for at in (FRIDAY_1750 + timedelta(minutes=31), datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
                   datetime(2026, 11, 30, 7, 59, tzinfo=UTC)):  # fmt: skip
            monitor(s, at, options, local_smtp(port))
        before_monday = list(inbox.envelopes)
        monitor(s, datetime(2026, 11, 30, 8, 0, tzinfo=UTC), options, local_smtp(port))
    # Then the escalation due at 18:20 on Friday waits for Monday 08:00
    assert due == datetime(2026, 11, 30, 8, 0, tzinfo=UTC) and due.date() == date(2026, 11, 30)
    assert before_monday == [["ops@acme.test"]]
    assert inbox.envelopes == [["ops@acme.test"], ["manager@acme.test"]]

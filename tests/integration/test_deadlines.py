"""Deadlines predicted before they are missed: a month end of the standard catalogue, its history
constructed and the clock stepped by hand, alerts sent through a real local SMTP server."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.clock import FileClock
from acas_batch.jobs.catalogue import install_catalogue
from acas_batch.models import (
    AlertState,
    Audit,
    BatchAlert,
    BatchExecution,
    BatchJob,
    Deadline,
    ExecutionState,
    TriggerKind,
)
from acas_batch.monitoring import MonitorOptions, NotifyPolicy
from acas_batch.monitoring.deadlines import MISSED_RULE, RISK_RULE, evaluate
from tests.integration.conftest import Inbox
from tests.integration.test_cli import acas
from tests.support.alerting import local_smtp, monitor

CAL = BusinessCalendar("GB", "ENG")
MONTH_END = date(2026, 11, 30)  # Monday; London is on UTC in November and December
DUE = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)  # 07:30 on the first working day after the month end
OPTIONS = MonitorOptions(
    check_failures=False, check_performance=False, check_schedule=False, use_thresholds=False, send_alerts=True,
    policy=NotifyPolicy(default_recipients=("ops@acme.test",), repeat=None), calendar=CAL,
)  # fmt: skip


def on(day: date, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=UTC)


class Month:
    """The catalogue installed, a deadline on the period close, and the runs of the months before."""

    def __init__(self, s: Session) -> None:
        self.s = s
        install_catalogue(s, now=on(date(2026, 8, 1), "00:00"))
        self.ids = dict(s.execute(select(BatchJob.name, BatchJob.id)).all())
        s.add(Deadline(name="gl-close", job_id=self.ids["GL_PERIOD_CLOSE"], kind="monthly",
                       rule={"at": "07:30", "business_day": 1}, description="GL close by 07:30, first working day",
                       created_at=on(date(2026, 8, 1), "00:00")))  # fmt: skip
        for i in range(1, 30):  # ordinary November days: the daily close takes 5 minutes
            self.run("GL_DAILY_CLOSE", date(2026, 11, i), "23:00", minutes=5)
        for day in (date(2026, 8, 31), date(2026, 9, 30), date(2026, 10, 31)):  # month ends: 12 and 30 minutes
            self.run("GL_DAILY_CLOSE", day, "23:00", minutes=12)
            self.run("GL_PERIOD_CLOSE", day, "23:12", minutes=30)
        self.run("PL_ACCRUALS_CALCULATION", MONTH_END, "16:00", minutes=4)
        self.run("ST_STOCK_VALUATION", MONTH_END, "06:00", minutes=9)
        s.commit()

    def run(
        self,
        job: str,
        day: date,
        start: str,
        *,
        minutes: int | None = None,
        state: ExecutionState = ExecutionState.SUCCEEDED,
        nominal: str | None = None,
    ) -> BatchExecution:
        began = on(day, start)
        done = minutes is not None and state is ExecutionState.SUCCEEDED
        ex = BatchExecution(
            job_id=self.ids[job], business_date=day, state=state, trigger=TriggerKind.SCHEDULE,
            run_key=f"{job}:{day.isoformat()}", nominal_time=on(day, nominal or start), created_at=began,
            started_at=began if state is not ExecutionState.PENDING else None,
            finished_at=began + timedelta(minutes=minutes) if done and minutes is not None else None,
            duration_ms=minutes * 60_000 if done and minutes is not None else None,
            lease_owner="worker:test" if state is ExecutionState.RUNNING else None,
            lease_expires_at=began + timedelta(days=1) if state is ExecutionState.RUNNING else None,
            held_from=ExecutionState.PENDING if state is ExecutionState.HELD else None,
        )  # fmt: skip
        self.s.add(ex)
        self.s.flush()
        return ex

    def deadline_alerts(self) -> list[BatchAlert]:
        self.s.expire_all()
        return list(
            self.s.scalars(
                select(BatchAlert).where(BatchAlert.rule.in_((RISK_RULE, MISSED_RULE))).order_by(BatchAlert.id)
            )
        )


def test_a_slow_daily_close_raises_the_alert_hours_before_the_period_close_deadline_then_the_miss(
    engine: Engine, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    with Session(engine, expire_on_commit=False) as s:
        month = Month(s)
        monitor(s, on(MONTH_END, "21:00"), OPTIONS, local_smtp(port))
        # Given the close is waiting from 22:00 and the daily close started at 23:00
        month.run("GL_PERIOD_CLOSE", MONTH_END, "22:00", state=ExecutionState.PENDING)
        daily = month.run("GL_DAILY_CLOSE", MONTH_END, "23:00", state=ExecutionState.RUNNING)
        s.commit()
        monitor(s, on(MONTH_END, "23:30"), OPTIONS, local_smtp(port))
        quiet_until_progress = month.deadline_alerts()
        # When at 23:50 it reports 10% done (an injected slowness: 500 minutes in all)
        daily.progress_done, daily.progress_total = 1, 10
        s.commit()
        monitor(s, on(MONTH_END, "23:50"), OPTIONS, local_smtp(port))
        at_risk = month.deadline_alerts()
        listed = evaluate(s, on(MONTH_END, "23:50"), CAL)
        # And still not finished at 07:31
        monitor(s, on(date(2026, 12, 1), "07:31"), OPTIONS, local_smtp(port))
        after = month.deadline_alerts()

    # Then nothing while the estimate (23:30: an overrun "may end at any moment", close by 00:00) fits
    assert quiet_until_progress == []
    # Then the risk is told at 23:50, 7 h 40 min before the deadline, with the estimate and the chain
    assert [(a.rule, a.first_raised_at) for a in at_risk] == [(RISK_RULE, on(MONTH_END, "23:50"))]
    assert DUE - at_risk[0].first_raised_at == timedelta(hours=7, minutes=40)
    expected = "expected to finish at 07:50 on 01/12/2026, 20 min after its deadline 07:30 on 01/12/2026"
    assert expected in at_risk[0].message
    assert "GL_DAILY_CLOSE -> GL_PERIOD_CLOSE" in at_risk[0].message
    (instance,) = listed
    assert (instance.due, instance.slack) == (DUE, timedelta(minutes=-20))
    assert instance.status(on(MONTH_END, "23:50")) == "at_risk"
    # Then at 07:31 the miss is told and the risk resolved
    assert [(a.rule, a.state) for a in after] == [(RISK_RULE, AlertState.RESOLVED), (MISSED_RULE, AlertState.OPEN)]
    subjects = [str(m["Subject"]).strip() for m in inbox.messages]
    assert subjects == [
        "[ACAS batch CRITICAL] GL_PERIOD_CLOSE will miss its deadline 07:30 on 01/12/2026",
        "[ACAS batch CRITICAL] GL_PERIOD_CLOSE missed its deadline 07:30 on 01/12/2026",
    ]


def test_a_normal_month_end_raises_nothing_and_the_deadline_is_met(engine: Engine, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    with Session(engine, expire_on_commit=False) as s:
        month = Month(s)
        for at in ("21:00", "23:05", "23:30"):
            if at == "23:05":
                month.run("GL_PERIOD_CLOSE", MONTH_END, "22:00", state=ExecutionState.PENDING)
                month.run("GL_DAILY_CLOSE", MONTH_END, "23:00", state=ExecutionState.RUNNING)
                s.commit()
            monitor(s, on(MONTH_END, at), OPTIONS, local_smtp(port))
        before = evaluate(s, on(MONTH_END, "21:00"), CAL)
        s.query(BatchExecution).filter(BatchExecution.business_date == MONTH_END,
                                       BatchExecution.state != ExecutionState.SUCCEEDED).delete()  # fmt: skip
        month.run("GL_DAILY_CLOSE", MONTH_END, "23:00", minutes=11)
        month.run("GL_PERIOD_CLOSE", MONTH_END, "23:11", minutes=29, nominal="22:00")
        s.commit()
        monitor(s, on(date(2026, 12, 1), "07:31"), OPTIONS, local_smtp(port))
        after = evaluate(s, on(date(2026, 12, 1), "07:31"), CAL)
        alerts = month.deadline_alerts()

    # Then the estimate at 21:00 is 23:42 (23:00 + 12 min month-end p80, + 30 min), 7 h 48 min of slack
    assert [(i.estimate.finish if i.estimate else None, i.slack) for i in before] == [
        (on(MONTH_END, "23:42"), timedelta(hours=7, minutes=48))
    ]
    assert alerts == [] and inbox.messages == []
    # Then the passed deadline shows met; the next one (4 January, after the New Year holiday) is listed too
    assert [(i.due, i.status(on(date(2026, 12, 1), "07:31"))) for i in after] == [
        (DUE, "met"),
        (datetime(2027, 1, 4, 7, 30, tzinfo=UTC), "on_track"),
    ]


@pytest.mark.parametrize("state", [ExecutionState.FAILED, ExecutionState.HELD])
def test_a_blocked_chain_is_at_risk_at_once(engine: Engine, state: ExecutionState) -> None:
    with Session(engine, expire_on_commit=False) as s:
        month = Month(s)
        month.run("GL_DAILY_CLOSE", MONTH_END, "23:00", state=state)
        s.commit()
        monitor(s, on(MONTH_END, "23:10"), OPTIONS)
        (alert,) = month.deadline_alerts()
    assert alert.rule == RISK_RULE
    assert alert.message.startswith("GL_PERIOD_CLOSE for 30/11/2026 cannot finish by its deadline 07:30 on 01/12/2026")
    assert f"blocked: GL_DAILY_CLOSE {'failed' if state is ExecutionState.FAILED else 'is held'}" in alert.message


def test_deadlines_on_the_command_line_with_the_estimate_the_slack_and_the_metrics(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # Given the month's history, without the deadline the fixture makes, and the clock at 21:00
    with Session(engine, expire_on_commit=False) as s:
        Month(s)
        s.query(Deadline).delete()
        s.commit()
    clock = tmp_path / "clock"
    FileClock(clock).set(on(MONTH_END, "21:00"))
    env = {"ACAS_CLOCK_FILE": str(clock), "ACAS_DATA_DIR": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return acas(*args, "--database-url", db_url, env=env)

    # When a deadline is set, listed, exposed as metrics and deleted
    made = cli("deadlines", "set", "gl-close", "--job", "GL_PERIOD_CLOSE", "--kind", "monthly",
               "--rule", '{"at": "07:30", "business_day": 1}', "--description", "GL close by 07:30")  # fmt: skip
    listed = cli("deadlines", "list", "--json")
    table = cli("deadlines", "list")
    metrics = cli("metrics")
    bad = cli("deadlines", "set", "x", "--job", "GL_PERIOD_CLOSE", "--kind", "monthly", "--rule", '{"at": "25:00"}')
    gone = cli("deadlines", "delete", "gl-close")
    again = cli("deadlines", "delete", "gl-close")

    # Then the estimate is 23:42 with 7 h 48 min of slack, the same figure in the metrics
    assert made.returncode == 0, made.stderr
    assert "GL_PERIOD_CLOSE done by 1st business day of each month at 07:30" in made.stdout
    (row,) = json.loads(listed.stdout)
    (instance,) = row["instances"]
    assert instance == {
        "due": DUE.isoformat(), "business_date": "2026-11-30", "estimated_finish": on(MONTH_END, "23:42").isoformat(),
        "finished": False, "slack_seconds": 28_080, "status": "on_track",
        "basis": "after GL_DAILY_CLOSE; p80 of 3 month-end runs", "chain": ["GL_DAILY_CLOSE", "GL_PERIOD_CLOSE"],
    }  # fmt: skip
    assert "7h48" in table.stdout and "on_track" in table.stdout
    assert 'acas_batch_deadline_slack_seconds{deadline="gl-close",job="GL_PERIOD_CLOSE"} 28080' in metrics.stdout
    assert "acas_batch_scheduler_last_tick_timestamp_seconds" in metrics.stdout
    # Then a bad rule is one line naming the field, and a second delete names the deadline
    assert bad.returncode != 0 and "at" in bad.stderr and "Traceback" not in bad.stderr
    assert gone.returncode == 0 and "deadline gl-close deleted" in gone.stdout
    assert again.returncode != 0 and "no deadline is named 'gl-close'" in again.stderr
    with Session(engine) as s:
        rows = s.scalars(select(Audit).where(Audit.action.like("deadline.%")).order_by(Audit.id))
        assert [a.action for a in rows] == [
            "deadline.set", "deadline.delete"
        ]  # fmt: skip

"""The end of a quarter of the whole standard catalogue on the demo company, through `acas-batch simulate`.

The real scheduler and a real worker (jobs in child processes) run every default schedule
from 16 November to 31 December 2026 on a virtual clock: two month ends, a quarter end and six
weekly Sundays (``make long`` runs the whole quarter from 1 October: ``ACAS_SIM_FROM=2026-10-01``).
The test then checks, against dates worked out here from the schedules' own rules, that every
scheduled run happened exactly once on the right day, that each wait and trigger edge of the
catalogue was honoured for the same business date, and that every run succeeded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.jobs.params import period_label
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models import AccountingPeriod, BatchDependency, BatchExecution, BatchJob, BatchSchedule, PeriodStatus
from acas_batch.models.enums import DependencyKind, ExecutionState, TriggerKind
from tests.acceptance.processes import ROOT
from tests.support.context import run_job

LONDON = ZoneInfo("Europe/London")
FIRST, LAST = date.fromisoformat(os.environ.get("ACAS_SIM_FROM", "2026-11-16")), date(2026, 12, 31)
DAYS = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
MONTH_ENDS = [d for d in (date(2026, 10, 31), date(2026, 11, 30), date(2026, 12, 31)) if d >= FIRST]
SUNDAYS = [d for d in DAYS if d.weekday() == 6]


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "acas_batch", *args], check=False, env=env, capture_output=True, text=True, timeout=1800
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _expected_days(kind: str, rule: dict[str, object]) -> list[date]:
    """The business dates a default schedule fires on in the quarter, from its kind alone."""
    if kind == "daily":
        return DAYS
    if kind == "weekly":
        return SUNDAYS  # the catalogue's weekly runs are on Sundays
    if kind == "monthly" and rule.get("day") == "last":
        return MONTH_ENDS
    if kind == "quarterly":
        return [date(2026, 12, 31)]
    raise AssertionError(f"unexpected default schedule {kind} {rule}")


def _catch_up_earlier_closes(engine: Engine, settings: Settings) -> list[str]:
    """What an operator does before handing over: a verified backup, and the periods left open closed."""
    with transaction(engine) as s:
        open_before = list(
            s.scalars(
                select(AccountingPeriod)
                .where(AccountingPeriod.status == PeriodStatus.OPEN, AccountingPeriod.end_date < FIRST)
                .order_by(AccountingPeriod.start_date)
            )
        )
        s.expunge_all()
    backup = run_job(
        engine,
        settings,
        "SYS_DATABASE_BACKUP",
        now=datetime.combine(FIRST - timedelta(days=1), time(23, 45), tzinfo=UTC),
    )
    assert backup.state is ExecutionState.SUCCEEDED, backup.error
    closed = []
    for period in open_before:
        at = datetime.combine(period.end_date, time(23, 30), tzinfo=UTC)
        daily = run_job(engine, settings, "GL_DAILY_CLOSE", now=at, business_date=period.end_date)
        assert daily.state is ExecutionState.SUCCEEDED, daily.error
        run = run_job(
            engine,
            settings,
            "GL_PERIOD_CLOSE",
            now=at,
            params={"period": f"{period.start_date:%Y-%m}"},
            business_date=period.end_date,
        )
        assert run.state is ExecutionState.SUCCEEDED, run.error
        closed.append(period_label(period))
    return closed


def test_a_quarter_of_the_standard_catalogue_runs_once_in_order_on_the_right_days(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    env = {
        "ACAS_DATABASE_URL": db_url,
        "ACAS_DATA_DIR": str(tmp_path / "data"),
        "ACAS_POLL_SECONDS": "0.02",
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "PATH": "/usr/bin:/bin",
    }
    _cli(env, "init")
    generate(engine, size=DemoSize(customers=12, suppliers=5, items=20, months=12), end=date(2026, 9, 30), seed=7)
    settings = Settings(database_url=db_url, data_dir=tmp_path / "data")
    assert _catch_up_earlier_closes(engine, settings)  # the demo leaves its end date's month (September) open

    report = json.loads(_cli(env, "simulate", "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--json"))

    with transaction(engine) as s:
        jobs = {j.id: j.name for j in s.scalars(select(BatchJob))}
        schedules = list(s.scalars(select(BatchSchedule)))
        edges = [(jobs[d.job_id], jobs[d.depends_on_job_id], d.kind) for d in s.scalars(select(BatchDependency))]
        runs = [r for r in s.scalars(select(BatchExecution)) if r.business_date >= FIRST]
    by_job: dict[str, list[BatchExecution]] = defaultdict(list)
    for r in runs:
        by_job[jobs[r.job_id]].append(r)

    # Every run succeeded: no failure, no retry, nothing left waiting or running. The one
    # warning allowed is the expiry monitor quarantining the demo's expired lots.
    states = Counter(r.state for r in runs)
    assert set(states) <= {ExecutionState.SUCCEEDED, ExecutionState.WARNING}, {
        (jobs[r.job_id], r.business_date.isoformat(), r.state.value, r.error_message)
        for r in runs
        if r.state not in (ExecutionState.SUCCEEDED, ExecutionState.WARNING)
    }
    for r in runs:
        if r.state is ExecutionState.WARNING:
            assert jobs[r.job_id] == "ST_EXPIRY_MONITORING", (jobs[r.job_id], r.business_date, r.result)
            assert r.result is not None and r.result["counts"]["newly_quarantined"] > 0
    assert states[ExecutionState.WARNING] >= 1  # the demo's expired lots, found on the first day
    assert set(report["executions_by_state"]) <= {"succeeded", "warning"}  # the catch-up runs too

    # Every default schedule fired exactly once on each of its days, at its local time.
    scheduled_total = 0
    for sched in schedules:
        name = jobs[sched.job_id]
        mine = [r for r in by_job[name] if r.trigger is TriggerKind.SCHEDULE]
        if sched.kind.value == "yearly":  # the year-end close: 31 March, and it starts held
            assert sched.start_held and mine == [], name
            continue
        expected = _expected_days(sched.kind.value, dict(sched.rule))
        assert sorted(r.business_date for r in mine) == expected, name
        at = str(sched.rule["at"])
        for r in mine:
            assert r.nominal_time is not None
            nominal = r.nominal_time.replace(tzinfo=UTC) if r.nominal_time.tzinfo is None else r.nominal_time
            assert nominal.astimezone(LONDON).strftime("%H:%M") == at, (name, r.business_date)
        scheduled_total += len(mine)
    # 7 daily jobs every day, 7 weekly every Sunday, 9 monthly at each month end, 2 quarterly.
    assert scheduled_total == 7 * len(DAYS) + 7 * len(SUNDAYS) + 9 * len(MONTH_ENDS) + 2

    # Each edge of the catalogue held, for the same business date.
    def finished(name: str, day: date) -> list[BatchExecution]:
        return [r for r in by_job[name] if r.business_date == day and r.finished_at is not None]

    checked = Counter[DependencyKind]()
    for downstream, upstream, kind in edges:
        for r in by_job[downstream]:
            ups = finished(upstream, r.business_date)
            if kind is DependencyKind.TRIGGER:
                if r.trigger is not TriggerKind.DEPENDENCY:
                    continue
                assert r.triggered_by_execution_id in {u.id for u in ups}, (downstream, r.business_date)
            elif not ups:
                continue  # the upstream has no run that day (a weekly job waiting on a daily one's day)
            assert r.started_at is not None
            assert all(u.finished_at is not None and u.finished_at < r.started_at for u in ups), (
                downstream,
                upstream,
                r.business_date,
            )
            checked[kind] += 1
    assert checked[DependencyKind.TRIGGER] >= len(DAYS) and checked[DependencyKind.WAIT] >= len(MONTH_ENDS)

    # Triggered jobs ran once per upstream success, never on their own.
    for downstream, upstream, kind in edges:
        if kind is DependencyKind.TRIGGER:
            days = sorted(r.business_date for r in by_job[downstream] if r.trigger is TriggerKind.DEPENDENCY)
            assert days == sorted(u.business_date for u in by_job[upstream]), downstream

    # The month-end closes closed each month ending in the window, in order.
    with transaction(engine) as s:
        closed = [
            (p.start_date, p.closed_at)
            for p in s.scalars(select(AccountingPeriod).where(AccountingPeriod.end_date >= FIRST))
            if p.status is PeriodStatus.CLOSED and p.closed_at is not None
        ]
    assert sorted(d for d, _ in closed) == [d.replace(day=1) for d in MONTH_ENDS]
    assert [d for d, _ in sorted(closed, key=lambda c: str(c[1]))] == sorted(d for d, _ in closed)

"""A month of schedules on a virtual clock, through the real scheduler and worker processes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from acas_batch.batch.definitions import create_schedule
from acas_batch.batch.dependencies import add_dependency
from acas_batch.batch.executions import job_by_name
from acas_batch.batch.simulate import simulate
from acas_batch.db import transaction
from acas_batch.models import BatchMetric
from acas_batch.models.enums import DependencyKind, ExecutionState, TriggerKind
from tests.engine_helpers import NOW, define, engine_settings, executions, uk_calendar

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 10, 31, 23, 59, tzinfo=UTC)


def test_a_month_runs_every_occurrence_once_with_retries_and_triggers(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    define(engine, "CLOSE", handler="TEST_WRITE", default_params={"rows": 1, "label": "close"})
    define(engine, "FLAKY", handler="TEST_FAIL", default_params={"failures": 1}, retry_backoff_seconds=600)
    define(engine, "REPORT", handler="TEST_WRITE", default_params={"rows": 1, "label": "report"})
    with transaction(engine, write=True) as s:
        create_schedule(s, "CLOSE", now=NOW, kind="daily", rule={"at": "23:00"})
        create_schedule(s, "FLAKY", now=NOW, kind="daily", rule={"at": "06:00"})
        add_dependency(s, job_by_name(s, "REPORT"), job_by_name(s, "CLOSE"), now=NOW, kind=DependencyKind.TRIGGER)
    report = simulate(engine_settings(db_url, tmp_path), engine, START, END, slots=2, calendar=uk_calendar())
    assert report.by_job == {"CLOSE": 31, "FLAKY": 62, "REPORT": 31}
    assert report.states == {"succeeded": 31 * 3, "failed": 31}
    rows = executions(engine)
    days = [date(2026, 10, 1) + timedelta(days=i) for i in range(31)]
    close = [r for r in rows if r.trigger is TriggerKind.SCHEDULE and r.run_key.startswith("CLOSE:")]
    assert [r.business_date for r in close] == days
    # The report ran after each day's close, for the same business date, once.
    reports = [r for r in rows if r.trigger is TriggerKind.DEPENDENCY]
    assert sorted(r.business_date for r in reports) == days
    # Each flaky run failed once and its retry (10 minutes later in virtual time) succeeded.
    retries = [r for r in rows if r.trigger is TriggerKind.RETRY]
    assert len(retries) == 31 and all(r.state is ExecutionState.SUCCEEDED for r in retries)
    with transaction(engine) as s:
        written = dict(s.execute(select(BatchMetric.name, func.count()).group_by(BatchMetric.name)).all())
    assert written == {"close": 31, "report": 31}

"""What the deadline check adds to a monitor pass: the standard catalogue, a deadline on every
scheduled job, ``ACAS_BENCH_DEADLINE_DAYS`` (730) days of successful runs of each job, on SQLite.

Figures: the check's time (median of 5 passes), the SQL statements it runs, and the history size.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.db import make_engine, transaction
from acas_batch.jobs.catalogue import install_catalogue
from acas_batch.models import BatchExecution, BatchJob, BatchSchedule, Deadline, ExecutionState, TriggerKind
from acas_batch.models.migrate import upgrade
from acas_batch.monitoring.deadlines import check
from benchmarks.measure import timed

DAYS = int(os.environ.get("ACAS_BENCH_DEADLINE_DAYS", "730"))
NOW = datetime(2026, 11, 30, 23, 50, tzinfo=UTC)


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        with transaction(engine, write=True) as s:
            install_catalogue(s, now=NOW - timedelta(days=DAYS + 1))
            jobs = dict(s.execute(select(BatchJob.id, BatchJob.name)).all())
            scheduled = set(s.scalars(select(BatchSchedule.job_id)))
            for job_id in sorted(scheduled):
                s.add(Deadline(name=f"due-{jobs[job_id]}"[:64], job_id=job_id, kind="daily", rule={"at": "07:30"},
                               created_at=NOW))  # fmt: skip
            rows: list[dict[str, Any]] = []
            for job_id in jobs:
                for d in range(DAYS, -1, -1):  # up to the day of the check: every run done by 07:30
                    day = NOW.date() - timedelta(days=d)
                    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(minutes=30)
                    minutes = 3 + (d * job_id) % 11
                    rows.append({
                        "job_id": job_id, "business_date": day, "state": ExecutionState.SUCCEEDED,
                        "trigger": TriggerKind.SCHEDULE, "run_key": f"{job_id}:{day.isoformat()}", "params": {},
                        "nominal_time": start, "created_at": start, "started_at": start,
                        "finished_at": start + timedelta(minutes=minutes), "duration_ms": minutes * 60_000,
                    })  # fmt: skip
            s.execute(insert(BatchExecution), rows)
        statements = 0

        def count(*_: object) -> None:
            nonlocal statements
            statements += 1

        event.listen(engine, "before_cursor_execute", count)
        cal = BusinessCalendar()
        times = []
        findings = 0
        for _ in range(5):
            statements = 0
            with transaction(engine) as s:
                with timed() as t:
                    found, _ok = check(s, NOW, cal)
                times.append(t.seconds)
                findings = len(found)
                if os.environ.get("ACAS_BENCH_VERBOSE"):
                    print(*(f.title + " | " + f.message[:150] for f in found), sep="\n")
        engine.dispose()
    return [
        (
            f"deadline check, {len(scheduled)} deadlines, {len(rows):,} runs (ms)",
            f"{statistics.median(times) * 1000:.0f}",
        ),
        ("SQL statements per check", str(statements)),
        ("deadline alerts found (expected 0)", str(findings)),
        ("history days per job", str(DAYS)),
    ]


if __name__ == "__main__":
    for figure, value in run():
        print(f"{figure:<60} {value}")

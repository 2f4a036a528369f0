"""The engine's throughput and latency on SQLite and PostgreSQL, beside procrastinate.

* no-op jobs completed per second, enqueue → claim → run → record, with 1, 2 and 4
  worker processes (each running its jobs in a child process, as in production);
* ready → running latency p50/p99 with idle workers (one job enqueued at a time);
* the same no-op workload through procrastinate on the same PostgreSQL, as a ratio;
* one scheduler tick over 10,000 schedules (none due, and 1% due).

Sizes: ``ACAS_BENCH_JOBS`` (default 2000), ``ACAS_BENCH_LATENCY_JOBS`` (200). The workers run
at the shipped settings (``prefetch`` 32, claimed ahead only behind jobs seen to be short,
``short_job_seconds`` 0.5; ``poll_seconds`` 0.5; the lease's default), unless
``ACAS_BENCH_PREFETCH``, ``ACAS_BENCH_SHORT_JOB_SECONDS`` or ``ACAS_BENCH_POLL_SECONDS`` say
otherwise (``ACAS_BENCH_PREFETCH=0`` is the engine as shipped before).
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.engine import make_url

from acas_batch.batch.context import JobContext
from acas_batch.batch.definitions import create_job, create_schedule
from acas_batch.batch.executions import notify_workers
from acas_batch.batch.registry import job
from acas_batch.batch.scheduler import Calendar, fire_due
from acas_batch.clock import SystemClock
from acas_batch.config import Settings
from acas_batch.db import make_engine, transaction
from acas_batch.models import BatchExecution, BatchJob
from acas_batch.models.enums import ExecutionState, Module, TriggerKind
from acas_batch.models.migrate import upgrade
from benchmarks.measure import timed

PG_ADMIN_URL = os.environ.get("ACAS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
JOBS = int(os.environ.get("ACAS_BENCH_JOBS", "2000"))
LATENCY_JOBS = int(os.environ.get("ACAS_BENCH_LATENCY_JOBS", "200"))
WORKER_COUNTS = (1, 2, 4)
#: The workers' ``prefetch``: the shipped default unless ``ACAS_BENCH_PREFETCH`` says otherwise.
PREFETCH = int(os.environ.get("ACAS_BENCH_PREFETCH", str(Settings.model_fields["prefetch"].default)))
SHORT = float(os.environ.get("ACAS_BENCH_SHORT_JOB_SECONDS", str(Settings.model_fields["short_job_seconds"].default)))
#: The workers' ``poll_seconds``: the shipped default unless ``ACAS_BENCH_POLL_SECONDS`` says otherwise.
POLL = float(os.environ.get("ACAS_BENCH_POLL_SECONDS", str(Settings.model_fields["poll_seconds"].default)))


@job("BENCH_NOOP", module=Module.SYS, timeout_seconds=60)
def bench_noop(ctx: JobContext[Any]) -> None:
    """Do nothing: the engine's own cost is what is measured."""


@contextmanager
def _database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            _migrate(url)
            yield url
        return
    name = f"acas_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    with transaction(engine, write=True) as s:
        create_job(s, "BENCH_NOOP", module="SYS", now=now, max_concurrency=1000, max_attempts=1)
    engine.dispose()


def _settings(url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=url,
        data_dir=data_dir,
        job_modules="benchmarks.bench_engine",
        poll_seconds=POLL,
        prefetch=PREFETCH,
        short_job_seconds=SHORT,
    )


def _worker_main(settings_data: dict[str, Any], stop: Any, slots: int = 1) -> None:
    from acas_batch.batch.worker import Worker

    worker = Worker(Settings(**settings_data), clock=SystemClock(), slots=slots)
    worker.run(until=stop.is_set)


def _enqueue(engine: Engine, n: int) -> None:
    now = datetime.now(UTC)
    with transaction(engine, write=True) as s:
        job_id = s.scalar(select(BatchJob.id).where(BatchJob.name == "BENCH_NOOP"))
        rows = [
            {
                "job_id": job_id,
                "business_date": now.date(),
                "state": ExecutionState.QUEUED,
                "trigger": TriggerKind.MANUAL,
                "run_key": f"BENCH_NOOP:{uuid.uuid4().hex}",
                "params": {},
                "priority": 50,
                "attempt": 1,
                "fencing_token": 0,
                "cancel_requested": False,
                "forced": False,
                "created_at": now,
                "queued_at": now,
            }
            for _ in range(n)
        ]
        s.execute(insert(BatchExecution), rows)
        notify_workers(s)


def _done(engine: Engine) -> int:
    with transaction(engine) as s:
        return int(
            s.scalar(
                select(func.count()).select_from(BatchExecution).where(BatchExecution.state == ExecutionState.SUCCEEDED)
            )
            or 0
        )


def _latencies(engine: Engine) -> list[float]:
    with transaction(engine) as s:
        rows = s.execute(select(BatchExecution.queued_at, BatchExecution.started_at)).all()
    return sorted((b - a).total_seconds() * 1000 for a, b in rows if a is not None and b is not None)


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def _engine_run(backend: str, workers: int) -> tuple[float, float, float]:
    """(jobs per second, latency p50 ms, latency p99 ms) for one backend and worker count."""
    ctx = multiprocessing.get_context("spawn")
    with _database(backend) as url, tempfile.TemporaryDirectory() as tmp:
        settings = _settings(url, Path(tmp))
        engine = make_engine(url)
        stop = ctx.Event()
        if os.environ.get("ACAS_BENCH_ONE_PARENT"):
            procs = [ctx.Process(target=_worker_main, args=(settings.model_dump(), stop, workers))]
        else:
            procs = [ctx.Process(target=_worker_main, args=(settings.model_dump(), stop)) for _ in range(workers)]
        for p in procs:
            p.start()
        try:
            # Idle workers: one job at a time, for the ready -> running latency.
            _wait_for_workers(engine, len(procs))
            for i in range(LATENCY_JOBS):
                _enqueue(engine, 1)
                _wait(lambda i=i: _done(engine) >= i + 1)
            latencies = _latencies(engine)
            # Throughput: a burst of JOBS no-op jobs.
            with timed() as burst:
                _enqueue(engine, JOBS)
                _wait(lambda: _done(engine) >= LATENCY_JOBS + JOBS, timeout=600, interval=0.1)
        finally:
            stop.set()
            for p in procs:
                p.join(timeout=30)
                if p.is_alive():
                    p.kill()
            engine.dispose()
    return JOBS / burst.seconds, statistics.median(latencies), _pct(latencies, 99)


def _wait_for_workers(engine: Engine, n: int) -> None:
    from acas_batch.models import BatchWorker

    def ready() -> bool:
        with transaction(engine) as s:
            return (s.scalar(select(func.count()).select_from(BatchWorker)) or 0) >= n

    _wait(ready)
    time.sleep(1.0)  # let the job processes finish starting


def _wait(predicate: Any, timeout: float = 120, interval: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark did not finish in time")
        time.sleep(interval)


def _tick_times(backend: str) -> tuple[float, float, int]:
    """Milliseconds for one fire pass over 10,000 schedules: none due; about 100 due (and how many)."""
    from tests.engine_helpers import uk_calendar

    cal: Calendar = uk_calendar()
    with _database(backend) as url:
        engine = make_engine(url)
        created = datetime(2026, 11, 1, tzinfo=UTC)
        with transaction(engine, write=True) as s:
            create_job(s, "BENCH_SCHED", handler="BENCH_NOOP", module="SYS", now=created)
            for i in range(10_000):
                create_schedule(
                    s,
                    "BENCH_SCHED",
                    now=created,
                    name=f"s{i}",
                    kind="daily",
                    rule={"at": f"{i % 24:02d}:{(i // 24) % 60:02d}"},
                )
        with transaction(engine, write=True) as s:
            fire_due(s, now=created, calendar=cal, limit=20_000)  # compute every next_fire_at
        now = created + timedelta(minutes=1)
        with timed() as idle_time, transaction(engine, write=True) as s:
            idle = fire_due(s, now=created, calendar=cal)
        assert idle.schedules == 0
        # 100 schedules fall due in the next minute-ish window: move them.
        with transaction(engine, write=True) as s:
            s.execute(text("UPDATE batch_schedule_rec SET next_fire_at = :t WHERE id <= 100"), {"t": now})
        with timed() as busy_time, transaction(engine, write=True) as s:
            busy = fire_due(s, now=now, calendar=cal)
        engine.dispose()
    return idle_time.ms, busy_time.ms, busy.schedules


def run() -> list[tuple[str, str]]:
    from benchmarks.procrastinate_noop import procrastinate_rate

    results: list[tuple[str, str]] = []
    pg_rates: dict[int, float] = {}
    for backend in ("sqlite", "postgresql"):
        idle_ms, busy_ms, due = _tick_times(backend)
        results.append((f"scheduler tick, 10,000 schedules, none due ({backend}) ms", f"{idle_ms:.1f}"))
        results.append((f"scheduler tick, 10,000 schedules, {due} due ({backend}) ms", f"{busy_ms:.1f}"))
    for workers in WORKER_COUNTS:  # each engine figure and procrastinate's side by side in time
        for backend in ("sqlite", "postgresql"):
            rate, p50, p99 = _engine_run(backend, workers)
            if backend == "postgresql":
                pg_rates[workers] = rate
            label = f"engine {backend} {workers} worker(s), prefetch {PREFETCH}, short {SHORT:g}s, poll {POLL:g}s"
            results.append((f"{label}: no-op jobs/s", f"{rate:,.0f}"))
            results.append((f"{label}: ready->running p50/p99 ms (idle)", f"{p50:.1f} / {p99:.1f}"))
        theirs = procrastinate_rate(PG_ADMIN_URL, workers, JOBS)
        results.append((f"procrastinate postgresql {workers} worker(s): no-op jobs/s", f"{theirs:,.0f}"))
        results.append((f"ratio engine/procrastinate {workers} worker(s)", f"{pg_rates[workers] / theirs:.2f}x"))
    return results


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")

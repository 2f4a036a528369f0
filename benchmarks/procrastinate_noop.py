"""The same no-op workload through procrastinate, on the same PostgreSQL, for comparison.

procrastinate is installed in the benchmark environment only (``make bench``). Each of
its workers is one process running jobs in-process (it has no child processes).
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from typing import Any

import procrastinate
import psycopg
from sqlalchemy.engine import make_url

from acas_batch.db import make_engine
from benchmarks.measure import timed


def _app(conninfo: str) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))

    @app.task(name="noop")
    def noop() -> None:
        """Do nothing."""

    return app


def _worker(conninfo: str) -> None:
    app = _app(conninfo)
    with app.open():
        app.run_worker(concurrency=1, wait=True, listen_notify=True, fetch_job_polling_interval=0.05)


def _count_done(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'").fetchone()
        return int(row[0]) if row else 0


def procrastinate_rate(admin_url: str, workers: int, jobs: int) -> float:
    """No-op jobs per second, defer → fetch → run → record, with ``workers`` processes."""
    name = f"acas_bench_pc_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    conninfo = make_url(admin_url).set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("spawn")
    procs: list[Any] = []
    try:
        app = _app(conninfo)
        with app.open():
            app.schema_manager.apply_schema()
            procs = [ctx.Process(target=_worker, args=(conninfo,)) for _ in range(workers)]
            for p in procs:
                p.start()
            time.sleep(3.0)  # let the workers start and listen
            with timed() as t:
                app.tasks["noop"].batch_defer(*({} for _ in range(jobs)))
                while _count_done(conninfo) < jobs:
                    if t.seconds > 600:
                        raise TimeoutError("procrastinate did not finish in time")
                    time.sleep(0.1)
            return jobs / t.seconds
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

"""The runs page and its API at a million executions: first page and filtered pages.

A scratch database gets ``ACAS_BENCH_WEB_ROWS`` executions (default 1,000,000) over the 32
standard jobs and three years of business dates (90% succeeded, 4% warning, 3% failed, 2%
cancelled, 1% skipped; 85% by schedule, 10% manual, 5% retries). The real application is
called in process over HTTP (Starlette's test client, a signed-in API token), so each figure
includes routing, the query, the template or JSON and the response. Each figure is the
median of ``ACAS_BENCH_WEB_REPEATS`` (default 7) requests after one warm-up, against the
100 ms target.

Environment: ``ACAS_BENCH_WEB_ROWS``, ``ACAS_BENCH_WEB_REPEATS``, ``ACAS_BENCH_WEB_BACKENDS``
(default ``sqlite,postgresql``), ``ACAS_TEST_PG_URL``.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from acas_batch.config import load_settings
from acas_batch.db import insert_rows, make_engine
from acas_batch.models import BatchExecution, BatchJob
from acas_batch.models.enums import ExecutionState, TriggerKind
from acas_batch.services.bootstrap import initialise
from acas_batch.web.app import create_app
from acas_batch.web.auth import Identities

PG_ADMIN_URL = os.environ.get("ACAS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROWS = int(os.environ.get("ACAS_BENCH_WEB_ROWS", "1000000"))
REPEATS = int(os.environ.get("ACAS_BENCH_WEB_REPEATS", "7"))
BACKENDS = os.environ.get("ACAS_BENCH_WEB_BACKENDS", "sqlite,postgresql").split(",")
TARGET_MS = 100.0
START = datetime(2024, 1, 1, 6, 0, tzinfo=UTC)
STATES = (
    [ExecutionState.SUCCEEDED] * 90
    + [ExecutionState.WARNING] * 4
    + [ExecutionState.FAILED] * 3
    + [ExecutionState.CANCELLED] * 2
    + [ExecutionState.SKIPPED]
)
TRIGGERS = [TriggerKind.SCHEDULE] * 85 + [TriggerKind.MANUAL] * 10 + [TriggerKind.RETRY] * 5


def _rows(jobs: list[tuple[int, str]], n: int) -> Iterator[dict[str, Any]]:
    rnd = random.Random(11)
    step = 3 * 365 * 86_400 / n
    for i in range(n):
        job_id, name = jobs[i % len(jobs)]
        created = START + timedelta(seconds=i * step)
        state = rnd.choice(STATES)
        ms = rnd.randint(200, 120_000)
        yield {
            "job_id": job_id,
            "business_date": created.date(),
            "state": state,
            "trigger": rnd.choice(TRIGGERS),
            "run_key": f"{name}:{i}",
            "params": {},
            "priority": 50,
            "attempt": 1,
            "fencing_token": 0,
            "cancel_requested": False,
            "forced": False,
            "created_at": created,
            "queued_at": created,
            "started_at": created + timedelta(seconds=1),
            "finished_at": created + timedelta(seconds=1, milliseconds=ms),
            "duration_ms": ms,
            "created_by": "system" if i % 10 else "alice",
            "error_type": "LedgerError" if state is ExecutionState.FAILED else None,
        }


def _fill(engine: Engine) -> float:
    initialise(engine)
    with Session(engine) as session:
        jobs = [(i, n) for i, n in session.execute(select(BatchJob.id, BatchJob.name).order_by(BatchJob.id))]
    began = time.perf_counter()
    with Session(engine) as session, session.begin():
        insert_rows(session, BatchExecution, _rows(jobs, ROWS))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE batch_execution_rec"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - began


def _median_ms(client: TestClient, path: str, headers: dict[str, str]) -> tuple[float, int]:
    first = client.get(path, headers=headers)
    assert first.status_code == 200, (path, first.status_code, first.text[:300])
    times = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        answer = client.get(path, headers=headers)
        times.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200
    return statistics.median(times), len(first.content)


def _figures(url: str, label: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    out: list[tuple[str, str]] = []
    try:
        load = _fill(engine)
        out.append((f"{label}: load {ROWS:,} executions", f"{load:.1f} s"))
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(environ={}, database_url=url, data_dir=Path(tmp))
            identities = Identities(engine)
            identities.add_user("bench", "bench-password-1", "viewer")
            token = identities.create_token("bench", "bench")
            headers = {"Authorization": f"Bearer {token}"}
            app = create_app(settings, engine=engine, identities=identities)
            with TestClient(app) as client:
                middle = ROWS // 2
                day = date(2025, 6, 2).isoformat()
                cases = [
                    ("runs page, first page", "/runs"),
                    ("runs page, failed SL_* runs", "/runs?job=SL_*&state=failed"),
                    ("runs page, hide SYS_*, one business date", f"/runs?hide=SYS_*&from={day}&to={day}"),
                    ("runs page, a page deep in the past (before=N/2)", f"/runs?before={middle}"),
                    ("API executions, first page", "/api/v1/executions"),
                    ("API executions, one job, failed", "/api/v1/executions?job=GL_DAILY_CLOSE&state=failed"),
                    ("API executions, manual runs by one user", "/api/v1/executions?trigger=manual&user=alice"),
                ]
                for name, path in cases:
                    ms, size = _median_ms(client, path, headers)
                    verdict = "ok" if ms < TARGET_MS else "OVER"
                    out.append((f"{label}: {name}", f"{ms:.1f} ms ({verdict} vs {TARGET_MS:.0f} ms; {size:,} bytes)"))
    finally:
        engine.dispose()
    return out


def run() -> list[tuple[str, str]]:
    figures: list[tuple[str, str]] = []
    if "sqlite" in BACKENDS:
        with tempfile.TemporaryDirectory() as tmp:
            figures += _figures(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite")
    if "postgresql" in BACKENDS:
        name = f"acas_bench_web_{uuid.uuid4().hex[:8]}"
        admin = make_engine(PG_ADMIN_URL)
        with admin.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text(f'CREATE DATABASE "{name}"'))
        try:
            figures += _figures(make_url(PG_ADMIN_URL).set(database=name).render_as_string(False), "postgresql")
        finally:
            with admin.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text(f'DROP DATABASE "{name}" WITH (FORCE)')
                )
            admin.dispose()
    return figures

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
import tempfile
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from acas_batch.config import load_settings
from acas_batch.db import make_engine
from acas_batch.models import BatchExecution, BatchJob
from acas_batch.services.bootstrap import initialise
from acas_batch.web.app import create_app
from acas_batch.web.auth import Identities
from benchmarks.measure import median_ms, timed

PG_ADMIN_URL = os.environ.get("ACAS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROWS = int(os.environ.get("ACAS_BENCH_WEB_ROWS", "1000000"))
REPEATS = int(os.environ.get("ACAS_BENCH_WEB_REPEATS", "7"))
BACKENDS = os.environ.get("ACAS_BENCH_WEB_BACKENDS", "sqlite,postgresql").split(",")
TARGET_MS = 100.0
START = datetime(2024, 1, 1, 6, 0, tzinfo=UTC)
#: Three years of executions, the newest last (ids rise with creation, as in a real installation).
SPAN_SECONDS = 3 * 365 * 86_400


def _fill_sql(dialect: str) -> str:
    """One ``INSERT ... SELECT`` that makes ``:n`` executions inside the database.

    Each row's state, trigger and duration come from multiplicative hashes of its number, so the
    load is the same every time: 90% succeeded, 4% warning, 3% failed, 2% cancelled, 1% skipped;
    85% by schedule, 10% manual, 5% retries; every tenth made by alice, the rest by the system.
    """
    if dialect == "postgresql":
        series = "SELECT g::bigint AS i FROM generate_series(0, :n - 1) AS g"
        at = "(TIMESTAMPTZ '2024-01-01 06:00:00+00' + make_interval(secs => c.offs))"
        day = f"({at} AT TIME ZONE 'UTC')::date"
        plus = "(" + at + " + make_interval(secs => {}))"
        stamp, false = at, "false"
    else:
        series = (
            "WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1) SELECT i FROM seq"
        )
        base = "strftime('%Y-%m-%d %H:%M:%S', '2024-01-01 06:00:00', '+' || c.offs || ' seconds')"
        day = "date('2024-01-01 06:00:00', '+' || c.offs || ' seconds')"
        plus = "strftime('%Y-%m-%d %H:%M:%f', '2024-01-01 06:00:00', '+' || (c.offs + ({}) ) || ' seconds') || '000'"
        stamp, false = base + " || '.000000'", "0"
    return f"""
    INSERT INTO batch_execution_rec (
        job_id, business_date, state, trigger, run_key, params, priority, attempt, infra_failures,
        fencing_token, cancel_requested, forced, created_at, queued_at, started_at, finished_at,
        duration_ms, created_by, error_type)
    SELECT j.id, {day},
        CASE WHEN c.hs < 90 THEN 'succeeded' WHEN c.hs < 94 THEN 'warning' WHEN c.hs < 97 THEN 'failed'
             WHEN c.hs < 99 THEN 'cancelled' ELSE 'skipped' END,
        CASE WHEN c.ht < 85 THEN 'schedule' WHEN c.ht < 95 THEN 'manual' ELSE 'retry' END,
        j.name || ':' || c.i, '{{}}', 50, 1, 0, 0, {false}, {false},
        {stamp}, {stamp}, {plus.format("1")}, {plus.format("1 + c.ms / 1000.0")},
        c.ms, CASE WHEN c.i % 10 = 0 THEN 'alice' ELSE 'system' END,
        CASE WHEN c.hs >= 94 AND c.hs < 97 THEN 'LedgerError' END
    FROM (
        SELECT s.i, s.i * {SPAN_SECONDS} / :n AS offs,
               (s.i * 2654435761 % 4294967296) % 100 AS hs,
               ((s.i * 2246822519 % 4294967296) / 7) % 100 AS ht,
               200 + s.i * 69069 % 119801 AS ms
        FROM ({series}) AS s
    ) AS c
    JOIN (SELECT id, name, row_number() OVER (ORDER BY id) - 1 AS k FROM batch_job_rec) AS j
      ON j.k = c.i % :jobs
    ORDER BY c.i
    """


def _fill(engine: Engine) -> float:
    """The standard jobs, then :data:`ROWS` executions made by one set-based statement; then statistics."""
    initialise(engine)
    with Session(engine) as session:
        jobs = session.scalar(select(func.count()).select_from(BatchJob)) or 0
    # The table's indexes are built once over the loaded rows, as a restore does, not row by row.
    indexes = list(BatchExecution.__table__.indexes)
    with timed() as t:
        with engine.begin() as conn:
            for index in indexes:
                index.drop(conn)
            conn.execute(text(_fill_sql(engine.dialect.name)), {"n": ROWS, "jobs": jobs})
            for index in indexes:
                index.create(conn)
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("VACUUM (ANALYZE) batch_execution_rec")
                )
        else:
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
    return t.seconds


def _median_ms(client: TestClient, path: str, headers: dict[str, str]) -> tuple[float, int]:
    first = client.get(path, headers=headers)
    assert first.status_code == 200, (path, first.status_code, first.text[:300])

    def again() -> None:
        assert client.get(path, headers=headers).status_code == 200

    return median_ms(again, REPEATS), len(first.content)


def cases(rows: int) -> list[tuple[str, str]]:
    """The views timed: (figure name, path) for the runs page and the API, first and filtered pages."""
    month = "from=2025-06-01&to=2025-06-30"
    day = date(2025, 6, 2).isoformat()
    return [
        ("runs page, first page", "/runs"),
        ("runs page, failed SL_* runs", "/runs?job=SL_*&state=failed"),
        ("runs page, hide SYS_*, one business date", f"/runs?hide=SYS_*&from={day}&to={day}"),
        ("runs page, hide SYS_*, a month of business dates", f"/runs?hide=SYS_*&{month}"),
        ("runs page, a page deep in the past (before=N/2)", f"/runs?before={rows // 2}"),
        ("API executions, first page", "/api/v1/executions"),
        ("API executions, one job, failed", "/api/v1/executions?job=GL_DAILY_CLOSE&state=failed"),
        ("API executions, hide SYS_*, a month of business dates", f"/api/v1/executions?hide=SYS_*&{month}"),
        ("API executions, manual runs by one user", "/api/v1/executions?trigger=manual&user=alice"),
        # Filters that match few rows or none: each must read an index range, not walk the table.
        ("API executions, a user with no runs", "/api/v1/executions?user=nobody"),
        ("API executions, a trigger never used", "/api/v1/executions?trigger=recovery"),
        ("API executions, one business date long ago", "/api/v1/executions?from=2024-02-01&to=2024-02-01"),
    ]


def timings(engine: Engine, url: str, label: str, *, viewer: str = "bench") -> list[tuple[str, str]]:
    """Each view of :func:`cases` timed through the application, as a viewer with an API token."""
    out: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(environ={}, database_url=url, data_dir=Path(tmp))
        identities = Identities(engine)
        identities.add_user(viewer, "bench-password-1", "viewer")
        headers = {"Authorization": f"Bearer {identities.create_token(viewer, 'bench')}"}
        app = create_app(settings, engine=engine, identities=identities)
        with TestClient(app) as client:
            for name, path in cases(ROWS):
                ms, size = _median_ms(client, path, headers)
                verdict = "ok" if ms < TARGET_MS else "OVER"
                out.append((f"{label}: {name}", f"{ms:.1f} ms ({verdict} vs {TARGET_MS:.0f} ms; {size:,} bytes)"))
    return out


def _figures(url: str, label: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    try:
        load = _fill(engine)
        return [(f"{label}: load {ROWS:,} executions", f"{load:.1f} s"), *timings(engine, url, label)]
    finally:
        engine.dispose()


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

"""Execution logs at a bureau's volume: search, filtered views, export and retention.

A database is filled with ``ACAS_BENCH_LOG_ROWS`` lines (default 1,000,000; the issue's
target is 10,000,000) spread over 400 days, 32 jobs and the five levels (DEBUG 30%, INFO 60%,
WARNING 7%, ERROR 2.5%, CRITICAL 0.5%), with messages shaped like the jobs' (a common word,
``posted``, in about a third; ``refund`` in one in a thousand; a reference unique to each line).
The lines are made inside the database by one ``INSERT ... SELECT`` over a series, and the
indexes (the search index too: GIN on PostgreSQL, an FTS5 ``rebuild`` on SQLite) are built
after it, both timed.

Figures, each beside its yardstick, every query the median of ``ACAS_BENCH_LOG_REPEATS``
(default 5) runs:

* a word search's first page (50 lines) with its capped count: common, uncommon and unique
  words, against the 200 ms target and the ``LIKE '%text%'`` scan the search was before
  (timed once: it reads the whole table);
* views by job, by level (ERROR and up), by day, by job and day: against the 100 ms target;
* CSV, JSON and TXT exports of one job's lines and of ten jobs' lines over the first
  ``ACAS_BENCH_LOG_EXPORT_DAYS`` (default 100) days, in a child process: rows/s and the
  child's peak RSS (flat when the larger export peaks as high as the smaller);
* retention: the oldest month's DEBUG and INFO lines deleted in chunks by
  ``SYS_LOG_CLEANUP``'s own function, in a child process, while this process runs the
  scheduler's tick over and over: lines deleted per second, and the ticks' p50/p99/max
  beside the same ticks with nothing else running.

Environment: ``ACAS_BENCH_LOG_ROWS``, ``ACAS_BENCH_LOG_REPEATS``, ``ACAS_BENCH_LOG_EXPORT_DAYS``,
``ACAS_BENCH_LOG_BACKENDS`` (default ``sqlite,postgresql``), ``ACAS_TEST_PG_URL``.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, func, or_, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from acas_batch.batch.scheduler import Scheduler
from acas_batch.clock import SystemClock
from acas_batch.config import Settings
from acas_batch.db import make_engine, transaction
from acas_batch.logs import ExportFormat, export_logs, parse_filter, query_page
from acas_batch.logs.query import LEVEL_ORDER, PG_DOCUMENT
from acas_batch.models import BatchJob, BatchLog, LogLevel, Module
from acas_batch.models.migrate import upgrade
from acas_batch.system.housekeeping import purge_log_chunks
from benchmarks.measure import median_ms, peak_rss_mb, timed

PG_ADMIN_URL = os.environ.get("ACAS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROWS = int(os.environ.get("ACAS_BENCH_LOG_ROWS", "1000000"))
REPEATS = int(os.environ.get("ACAS_BENCH_LOG_REPEATS", "5"))
EXPORT_DAYS = int(os.environ.get("ACAS_BENCH_LOG_EXPORT_DAYS", "100"))
DAYS = 400
START = datetime(2025, 11, 1, tzinfo=UTC)
LEVELS = [LogLevel.DEBUG] * 60 + [LogLevel.INFO] * 120 + [LogLevel.WARNING] * 14 + [LogLevel.ERROR] * 5
LEVELS += [LogLevel.CRITICAL]
#: The search index's insert trigger on SQLite, as migration ``0023_perf`` made it.
_SQLITE_INSERT_TRIGGER = importlib.import_module("acas_batch.migrations.versions.0023_perf")._SQLITE[1]
SHAPES = [
    "posted journal {n} to the ledger, {m} lines",
    "statement {n} for customer C{m} queued",
    "invoice {n} allocated against receipt {m}",
    "stock item S{m} valued at {n} pence",
    "checked batch {n}: {m} rows, nothing to post",
    "posted payment {n} to supplier P{m}",
]


def _fill_sql(dialect: str) -> str:
    """One ``INSERT ... SELECT`` that makes ``:n`` lines inside the database.

    Line ``i`` belongs to job ``:first_job + i % 32``; its level, shape and numbers come from
    multiplicative hashes of ``i`` (the same load every time, in :data:`LEVELS`' proportions).
    """
    if dialect == "postgresql":
        series = "SELECT g::bigint AS i FROM generate_series(0, :n - 1) AS g"
        stamp = f"TIMESTAMPTZ '{START.isoformat()}' + make_interval(secs => c.i * {DAYS * 86_400}.0 / :n)"
    else:
        series = (
            "WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1) SELECT i FROM seq"
        )
        base = START.strftime("%Y-%m-%d %H:%M:%S")
        stamp = f"strftime('%Y-%m-%d %H:%M:%f', '{base}', '+' || (c.i * {DAYS * 86_400}.0 / :n) || ' seconds') || '000'"
    bounds = list(itertools.accumulate(LEVELS.count(level) for level in LEVEL_ORDER))
    level = (
        "CASE "
        + " ".join(f"WHEN c.hl < {b} THEN '{lv.value}'" for b, lv in zip(bounds, LEVEL_ORDER, strict=True))
        + " END"
    )
    shape = "CASE c.hs " + " ".join(f"WHEN {k} THEN {_shape_sql(t)}" for k, t in enumerate(SHAPES)) + " END"
    return f"""
    INSERT INTO batch_log_rec (job_id, logged_at, level, event, message)
    SELECT :first_job + c.i % 32, {stamp}, {level},
        CASE WHEN c.hl >= {bounds[2]} THEN 'job_error' ELSE 'job_info' END,
        {shape} || CASE WHEN c.i % 1000 = 7 THEN ', refund due' ELSE '' END || ' ref' || c.i
    FROM (
        SELECT s.i,
               (s.i * 2654435761 % 4294967296) % {len(LEVELS)} AS hl,
               (s.i * 2246822519 % 4294967296) / 13 % {len(SHAPES)} AS hs,
               1 + (s.i * 3266489917 % 4294967296) % 99998 AS hn,
               1 + (s.i * 668265263 % 4294967296) % 998 AS hm
        FROM ({series}) AS s
    ) AS c
    ORDER BY c.i
    """


def _shape_sql(shape: str) -> str:
    """A message shape as SQL over the hashed numbers ``c.hn`` and ``c.hm``."""
    parts = shape.replace("{n}", "\0n\0").replace("{m}", "\0m\0").split("\0")
    return " || ".join(f"c.h{p}" if p in ("n", "m") else f"'{p}'" for p in parts if p)


@contextmanager
def _database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'logs.db'}"
        return
    name = f"acas_bench_logs_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _load(engine: Engine) -> tuple[float, float]:
    """Fill the table; returns seconds for the lines and for building the indexes after them."""
    upgrade(engine)
    postgresql = engine.dialect.name == "postgresql"
    with transaction(engine, write=True) as s:
        jobs = [
            BatchJob(name=f"BENCH_JOB_{k:02d}", module=Module.SYS, handler="x", created_at=START, updated_at=START)
            for k in range(32)
        ]
        s.add_all(jobs)
        s.flush()
        job_ids = [j.id for j in jobs]
    assert job_ids == list(range(job_ids[0], job_ids[0] + 32)), job_ids
    # The indexes (and on SQLite the search index's insert trigger) are built once over the
    # loaded lines, as a restore does, not line by line.
    indexes = list(cast(Table, BatchLog.__table__).indexes)
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
        conn.execute(text("DROP INDEX ix_batch_log_rec_search" if postgresql else "DROP TRIGGER batch_log_fts_insert"))
        if postgresql:
            conn.execute(text("DROP INDEX ix_batch_log_rec_job_level_time"))
    with timed() as loaded, engine.begin() as conn:
        conn.execute(text(_fill_sql(engine.dialect.name)), {"n": ROWS, "first_job": job_ids[0]})
    with timed() as indexed:
        with engine.begin() as conn:
            if postgresql:
                conn.execute(text("SET maintenance_work_mem = '512MB'"))
                conn.execute(text(f"CREATE INDEX ix_batch_log_rec_search ON batch_log_rec USING gin ({PG_DOCUMENT})"))
                conn.execute(
                    text("CREATE INDEX ix_batch_log_rec_job_level_time ON batch_log_rec (job_id, level, logged_at)")
                )
            else:
                conn.execute(text("INSERT INTO batch_log_fts(batch_log_fts) VALUES ('rebuild')"))
                conn.execute(text(_SQLITE_INSERT_TRIGGER))
            for index in indexes:
                index.create(conn)
        if postgresql:
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM (ANALYZE) batch_log_rec"))
        else:
            # In a transaction: this engine begins SQLite's transactions itself, so an
            # AUTOCOMMIT connection's ANALYZE would be rolled back when it closes.
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
            # The load's write-ahead log (gigabytes) into the database, as a running
            # installation's is, so no measurement below pays for checkpointing it.
            raw = engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
    return loaded.seconds, indexed.seconds


def _page(engine: Engine, raw: dict[str, Any]) -> Callable[[], object]:
    flt = parse_filter({"limit": 50, **raw})

    def action() -> object:
        with Session(engine) as s:
            return query_page(s, flt)

    return action


def _like_scan(engine: Engine, word: str) -> float:
    """The search as it was: a count and a first page by ``LIKE '%word%'`` over every line."""
    pattern = f"%{word}%"
    where = or_(func.lower(BatchLog.message).like(pattern), func.lower(BatchLog.event).like(pattern))
    with timed() as t, Session(engine) as s:
        s.scalar(select(func.count()).select_from(BatchLog).where(where))
        s.execute(select(BatchLog.id).where(where).order_by(BatchLog.logged_at, BatchLog.id).limit(50)).all()
    return t.ms


def _export_child(url: str, out: str, fmt: str, jobs: int) -> None:
    engine = make_engine(url)
    names = [f"BENCH_JOB_{k:02d}" for k in range(jobs)]
    count = 0
    with timed() as t:
        for name in names:
            with Session(engine) as s:
                raw = {"job_name": name, "date_to": (START + timedelta(days=EXPORT_DAYS - 1)).date()}
                _, n = export_logs(s, parse_filter(raw), ExportFormat(fmt), Path(out), START)
            count += n
    print(json.dumps({"rows": count, "seconds": t.seconds, "peak_rss_mb": peak_rss_mb()}))


def _export(url: str, fmt: str, jobs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_logs", "--export", url, out, fmt, str(jobs)],
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _purge_child(url: str, cutoff: str) -> None:
    engine = make_engine(url)
    at = datetime.fromisoformat(cutoff)
    with timed() as t:
        purge = purge_log_chunks(engine, cutoffs={LogLevel.DEBUG: at, LogLevel.INFO: at})
    print(json.dumps({"rows": purge.total, "chunks": purge.chunks, "seconds": t.seconds}))


def _ticks(scheduler: Scheduler, until: Callable[[], bool], least: int = 20) -> list[float]:
    times: list[float] = []
    while not until() or len(times) < least:
        with timed() as t:
            scheduler.tick()
        times.append(t.ms)
        time.sleep(0.02)
    return times


def _tick_text(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{statistics.median(ordered):.1f} / {p99:.1f} / {ordered[-1]:.1f} ({len(ordered)} ticks)"


def _retention(engine: Engine, url: str, data_dir: Path) -> list[tuple[str, str]]:
    settings = Settings(database_url=url, data_dir=data_dir)
    scheduler = Scheduler(settings, engine, clock=SystemClock())
    idle = _ticks(scheduler, lambda: True, least=50)
    cutoff = START + timedelta(days=30)
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_logs", "--purge", url, cutoff.isoformat()],
        stdout=subprocess.PIPE,
        text=True,
    )
    busy = _ticks(scheduler, lambda: child.poll() is not None)
    out, _ = child.communicate()
    purge = json.loads(out.strip().splitlines()[-1])
    rate = purge["rows"] / purge["seconds"]
    return [
        ("retention: oldest month's DEBUG+INFO lines deleted", f"{purge['rows']:,} in {purge['seconds']:.1f} s"),
        ("retention: lines deleted/s (chunks of 1,000)", f"{rate:,.0f}"),
        ("retention: a year of lines at that rate, min", f"{ROWS * 365 / DAYS / rate / 60:.1f}"),
        ("scheduler tick p50/p99/max ms, nothing else running", _tick_text(idle)),
        ("scheduler tick p50/p99/max ms, during the clean-up", _tick_text(busy)),
    ]


def _measure(backend: str) -> list[tuple[str, str]]:
    figures: list[tuple[str, str]] = []

    def add(label: str, value: str) -> None:
        figures.append((f"{backend} {label}", value))
        print(f"{'logs':<12} {backend + ' ' + label:<60} {value}", file=sys.stderr, flush=True)

    with _database(backend) as url, tempfile.TemporaryDirectory() as data:
        engine = make_engine(url)
        loaded, indexed = _load(engine)
        add(f"lines loaded ({ROWS:,}), s", f"{loaded:.0f}" + (f" + search index {indexed:.0f}" if indexed > 1 else ""))
        add("load rate, lines/s", f"{ROWS / (loaded + indexed):,.0f}")
        add("disk MB: lines / their indexes / search index", _disk_mb(engine))
        for word, what in (("posted", "common, ~1/3"), ("refund", "1 in 1,000"), (f"ref{ROWS // 2}", "unique")):
            page = _page(engine, {"search": word})()
            ms = median_ms(_page(engine, {"search": word}), REPEATS)
            count = getattr(page, "total_text", "?")
            add(f"search '{word}' ({what}) first page + count {count}: ms (target 200)", f"{ms:.1f}")
        ms = median_ms(_page(engine, {"search": "posted supplier"}), REPEATS)
        add("search 'posted supplier' (two words) first page: ms (target 200)", f"{ms:.1f}")
        mid = (START + timedelta(days=DAYS // 2)).date()
        views: list[tuple[str, dict[str, Any]]] = [
            ("view job", {"job_name": "BENCH_JOB_05"}),
            ("view level ERROR+", {"log_level": "ERROR"}),
            ("view day", {"date_from": mid, "date_to": mid}),
            ("view job + day + ERROR+", {"job_name": "BENCH_JOB_05", "date_from": mid, "log_level": "ERROR"}),
            ("view job + search 'refund'", {"job_name": "BENCH_JOB_07", "search": "refund"}),
            ("view page 20 by cursor (job)", {"job_name": "BENCH_JOB_05", "after": _cursor(engine, 20)}),
        ]
        for label, raw in views:
            add(f"{label} first page + count: ms (target 100)", f"{median_ms(_page(engine, raw), REPEATS):.1f}")
        add("before: search 'refund' by LIKE scan + full count, ms (once)", f"{_like_scan(engine, 'refund'):.0f}")
        for fmt in ("csv", "json", "txt"):
            small, large = _export(url, fmt, 1), _export(url, fmt, 10)
            add(
                f"export {fmt.upper()} rows/s, 1 job / 10 jobs",
                f"{small['rows'] / small['seconds']:,.0f} / {large['rows'] / large['seconds']:,.0f}",
            )
            add(
                f"export {fmt.upper()} peak RSS MB, {small['rows']:,.0f} / {large['rows']:,.0f} rows",
                f"{small['peak_rss_mb']:.0f} / {large['peak_rss_mb']:.0f}",
            )
        for label, value in _retention(engine, url, Path(data)):
            add(label, value)
        engine.dispose()
    return figures


def _disk_mb(engine: Engine) -> str:
    """The log's size on disk: the table, its B-tree indexes and the full-text index."""
    mb = 1024 * 1024
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            table, total, search = conn.execute(
                text(
                    "SELECT pg_table_size('batch_log_rec'), pg_total_relation_size('batch_log_rec'),"
                    " pg_relation_size('ix_batch_log_rec_search')"
                )
            ).one()
            return f"{table / mb:,.0f} / {(total - table - search) / mb:,.0f} / {search / mb:,.0f}"
        sizes: dict[str, int] = dict(conn.execute(text("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")).all())
    table = sizes.get("batch_log_rec", 0)
    indexes = sum(v for k, v in sizes.items() if k.startswith("ix_batch_log_rec"))
    search = sum(v for k, v in sizes.items() if k.startswith("batch_log_fts"))
    return f"{table / mb:,.0f} / {indexes / mb:,.0f} / {search / mb:,.0f}"


def _cursor(engine: Engine, pages: int) -> str:
    """The cursor after ``pages`` pages of a job's lines (fewer when the job has fewer: a small load)."""
    with Session(engine) as s:
        for n in range(pages, 0, -1):
            page = query_page(s, parse_filter({"job_name": "BENCH_JOB_05", "limit": 50 * n}))
            if page.next_after is not None:
                return str(page.next_after)
    raise ValueError("BENCH_JOB_05 has no second page of lines: load more (ACAS_BENCH_LOG_ROWS)")


def run() -> list[tuple[str, str]]:
    backends = [b.strip() for b in os.environ.get("ACAS_BENCH_LOG_BACKENDS", "sqlite,postgresql").split(",")]
    results: list[tuple[str, str]] = []
    for backend in backends:
        results += _measure(backend)
    return results


if __name__ == "__main__":
    if sys.argv[1] == "--export":
        _export_child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif sys.argv[1] == "--purge":
        _purge_child(sys.argv[2], sys.argv[3])
    else:
        for figure, value in run():
            print(f"{figure:<70} {value}")

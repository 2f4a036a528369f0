"""Snapshot rows written by ``insert(table)`` (SQLAlchemy executemany) and by ``db.insert_rows``.

The rows are shaped like a result table's (an execution id, a run key, dates, money in pence,
a JSON list, an enum, a boolean, NULLs in half the rows), written into a temporary table on
one connection, each write in its own transaction that is rolled back, so the database is
left as it was. The two ways alternate ``ACAS_BENCH_INSERT_REPEATS`` times (default 3); the
best time of each is reported per row.

Environment: ``ACAS_BENCH_INSERT_URL`` (default: a fresh SQLite file in a temporary folder)
and ``ACAS_BENCH_INSERT_ROWS`` (default 20,000).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Column, Connection, Date, Integer, MetaData, String, Table, insert

from acas_batch.db import insert_rows, make_engine
from acas_batch.models.base import JSONType, Pence, enum_column
from benchmarks.measure import timed


class State(StrEnum):
    QUEUED = "queued"
    SENT = "sent"


def _table() -> Table:
    return Table(
        "bench_snapshot_rows",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("execution_id", Integer),
        Column("run_key", String(200)),
        Column("period_start", Date),
        Column("customer_id", Integer),
        Column("buckets", JSONType),
        Column("closing_pence", Pence),
        Column("email_to", String(128)),
        Column("state", enum_column(State, "bench_state")),
        Column("over_limit", Boolean),
        prefixes=["TEMPORARY"],
    )


def _rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "execution_id": 1,
            "run_key": "SL_STATEMENT_GENERATION:2026-10",
            "period_start": date(2026, 10, 1),
            "customer_id": i,
            "buckets": [i, 0, -i, 12_345, 0, 7],
            "closing_pence": i * 1_001,
            "email_to": f"c{i}@example.com" if i % 2 else None,
            "state": State.QUEUED if i % 2 else None,
            "over_limit": i % 3 == 0,
        }
        for i in range(n)
    ]


def _timed(conn: Connection, write: Callable[[], None]) -> float:
    conn.rollback()
    with timed() as t:
        write()
    conn.rollback()
    return t.seconds


def run() -> list[tuple[str, str]]:
    url = os.environ.get("ACAS_BENCH_INSERT_URL")
    folder = None
    if not url:
        folder = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(folder.name) / 'bench.db'}"
    n = int(os.environ.get("ACAS_BENCH_INSERT_ROWS", "20000"))
    repeats = int(os.environ.get("ACAS_BENCH_INSERT_REPEATS", "3"))
    engine = make_engine(url)
    table, rows = _table(), _rows(n)
    best = {"insert": float("inf"), "insert_rows": float("inf")}
    try:
        with engine.connect() as conn:
            table.create(conn)
            conn.commit()

            def by_insert() -> None:
                conn.execute(insert(table), rows)

            def by_insert_rows() -> None:
                insert_rows(conn, table, rows)

            for _ in range(repeats):
                best["insert"] = min(best["insert"], _timed(conn, by_insert))
                best["insert_rows"] = min(best["insert_rows"], _timed(conn, by_insert_rows))
    finally:
        engine.dispose()
        if folder is not None:
            folder.cleanup()
    out = [("database", f"{engine.dialect.name}, {n:,} rows, best of {repeats}")]
    for way, seconds in best.items():
        out.append((way, f"{seconds:.3f} s, {seconds / n * 1e6:.1f} us per row"))
    out.append(("speed-up", f"{best['insert'] / best['insert_rows']:.1f}x"))
    return out

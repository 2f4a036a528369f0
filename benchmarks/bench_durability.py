"""What a durable SQLite commit costs: one-row commits per second at ``synchronous=NORMAL`` and ``FULL``.

The engine runs ``FULL`` (see docs/faults.md); ``NORMAL`` is measured beside it for the price.
Each figure is the rate over ``ACAS_BENCH_SECONDS`` (default 2) of ``BEGIN IMMEDIATE``, one
``INSERT``, ``COMMIT`` on one connection to a WAL file in the temporary folder's file system.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from benchmarks.measure import timed

SECONDS = float(os.environ.get("ACAS_BENCH_SECONDS", "2"))


def _rate(level: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "bench.db", isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={level}")
            conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            n = 0
            with timed() as t:
                while t.seconds < SECONDS:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("INSERT INTO t (v) VALUES ('x')")
                    conn.execute("COMMIT")
                    n += 1
            return n / t.seconds
        finally:
            conn.close()


def run() -> list[tuple[str, str]]:
    return [(f"sqlite one-row commits/s, synchronous={level}", f"{_rate(level):,.0f}") for level in ("NORMAL", "FULL")]

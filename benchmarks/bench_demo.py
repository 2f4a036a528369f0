"""Demo company generation: rows per second and peak memory, on SQLite and PostgreSQL.

Each size runs in a fresh process so its peak RSS is its own. Sizes come from
``ACAS_BENCH_DEMO_SCALES`` (comma-separated ``--scale`` values, default ``2,8``; 650 is the
full 1,000,000 invoices / 10,000,000 journal lines) and backends from
``ACAS_BENCH_DEMO_BACKENDS`` (default ``sqlite,postgresql``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from acas_batch.db import make_engine
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models.migrate import upgrade
from benchmarks.measure import peak_rss_mb

PG_URL = os.environ.get(
    "ACAS_BENCH_PG_URL", os.environ.get("ACAS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
)
END = date(2026, 11, 23)


def _child(url: str, scale: float, months: int) -> None:
    """Generate one demo company into ``url`` and print the figures as JSON."""
    engine = make_engine(url)
    upgrade(engine)
    report = generate(engine, size=DemoSize.scaled(scale, months), end=END, seed=1)
    engine.dispose()
    print(json.dumps(report.as_dict() | {"peak_rss_mb": round(peak_rss_mb())}, default=str))


def _measure(backend: str, scale: float, months: int = 24) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            url, drop = f"sqlite:///{Path(tmp) / 'bench.db'}", None
        else:
            name = f"acas_bench_demo_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
            drop = name
        try:
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench_demo", "--child", url, str(scale), str(months)],
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            if drop is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))
                admin.dispose()
        result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
        return result


def run() -> list[tuple[str, str]]:
    scales = [float(s) for s in os.environ.get("ACAS_BENCH_DEMO_SCALES", "2,8").split(",") if s.strip()]
    backends = [b.strip() for b in os.environ.get("ACAS_BENCH_DEMO_BACKENDS", "sqlite,postgresql").split(",")]
    rows: list[tuple[str, str]] = []
    for backend in backends:
        for scale in scales:
            r = _measure(backend, scale)
            label = f"demo {backend} scale {scale:g}"
            rows += [
                (
                    f"{label}: invoices / journal lines / rows",
                    f"{r['sales_invoices']:,} / {r['journal_lines']:,} / {r['total_rows']:,}",
                ),
                (f"{label}: seconds", f"{r['seconds']}"),
                (f"{label}: rows per second", f"{r['rows_per_second']:,}"),
                (f"{label}: peak RSS (MB)", f"{r['peak_rss_mb']}"),
            ]
    # Memory follows the company's size, not its history: the same company over 6 months.
    short = _measure(backends[0], scales[-1], months=6)
    rows.append((f"demo {backends[0]} scale {scales[-1]:g}, 6 months: peak RSS (MB)", f"{short['peak_rss_mb']}"))
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _child(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
    else:
        for name, value in run():
            print(f"{name}: {value}")

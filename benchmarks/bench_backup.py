"""Backup, verification and restore of a database with many log lines, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from acas_batch.db import make_engine
from acas_batch.models import BatchLog
from acas_batch.models.migrate import upgrade
from acas_batch.system.backup import create_backup, restore_backup, verify_backup
from benchmarks.measure import timed

PG_ADMIN_URL = os.environ.get("ACAS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)


def _fill(url: str, rows: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    batch = [
        {
            "logged_at": NOW - timedelta(seconds=i),
            "level": "INFO",
            "event": "job_log",
            "message": f"posted journal {i} to account {i % 997:04d} for {i * 37 % 100000} pence",
            "context": {"n": i},
        }
        for i in range(10_000)
    ]
    with engine.begin() as conn:
        for _ in range(rows // len(batch)):
            conn.execute(insert(BatchLog), batch)
    engine.dispose()


def _measure(label: str, url: str, restore_url: str, work: Path) -> list[tuple[str, str]]:
    engine = make_engine(url)
    with timed() as backup:
        info = create_backup(engine, work, NOW)
    with timed() as verify:
        verify_backup(info, engine, work)
    with timed() as restore:
        restore_backup(info.path, restore_url)
    engine.dispose()
    rows = sum(info.row_counts.values())
    return [
        (f"{label}: backup of {rows:,} rows (s)", f"{backup.seconds:.2f}"),
        (f"{label}: backup file (MB)", f"{info.size_bytes / 1e6:.1f}"),
        (f"{label}: verification by test restore (s)", f"{verify.seconds:.2f}"),
        (f"{label}: restore into an empty database (s)", f"{restore.seconds:.2f}"),
    ]


def run() -> list[tuple[str, str]]:
    rows = int(os.environ.get("ACAS_BENCH_BACKUP_ROWS", "200000"))
    figures: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _fill(f"sqlite:///{work / 'source.db'}", rows)
        figures += _measure("sqlite", f"sqlite:///{work / 'source.db'}", f"sqlite:///{work / 'copy.db'}", work)
        admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
        names = [f"acas_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        urls = [make_url(PG_ADMIN_URL).set(database=n).render_as_string(hide_password=False) for n in names]
        try:
            _fill(urls[0], rows)
            figures += _measure("postgresql", urls[0], urls[1], work)
        finally:
            with admin.connect() as conn:
                for name in names:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return figures


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")

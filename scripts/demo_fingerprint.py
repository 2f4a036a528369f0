"""Fingerprint of a generated demo company: per ledger table, its row count and a hash of its rows.

The hash is order-independent (the sum of each row's SHA-256 modulo 2**128), so two
databases holding the same rows in any physical order give the same fingerprint. Used to
show that a change to the generator writes the same rows for the same seed and size::

    PYTHONPATH=src:. python -m scripts.demo_fingerprint sqlite 2 > before-sq-2.json
    PYTHONPATH=src:. python -m scripts.demo_fingerprint postgresql 10 > before-pg-10.json

``sqlite`` generates into a temporary file, ``postgresql`` into a temporary database on
``ACAS_BENCH_PG_URL`` (default the local test server), dropped afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from acas_batch.db import make_engine
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models import LEDGER_TABLES, Base
from acas_batch.models.migrate import upgrade

PG_URL = os.environ.get("ACAS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
END = date(2026, 11, 23)
MOD = 2**128


def _canonical(value: object) -> str:
    """One spelling per value on both databases (Decimal scale, instants in UTC)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.isoformat() if value.tzinfo is None else value.astimezone().isoformat()
    return repr(value)


def fingerprint(engine: Engine) -> dict[str, tuple[int, str]]:
    """Per ledger table: (row count, order-independent hash of its rows)."""
    out: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for name in sorted(LEDGER_TABLES):
            table = Base.metadata.tables[name]
            count, total = 0, 0
            for row in conn.execute(select(table)).yield_per(50_000):
                digest = hashlib.sha256("\x1f".join(map(_canonical, row)).encode()).digest()
                total = (total + int.from_bytes(digest[:16], "big")) % MOD
                count += 1
            out[name] = (count, f"{total:032x}")
    return out


def _run(backend: str, scale: float, seed: int) -> dict[str, tuple[int, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            engine = make_engine(f"sqlite:///{Path(tmp) / 'fp.db'}")
            admin, name = None, ""
        else:
            name = f"acas_demo_fp_{uuid.uuid4().hex[:8]}"
            admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            engine = make_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
        try:
            upgrade(engine)
            generate(engine, size=DemoSize.scaled(scale), end=END, seed=seed)
            return fingerprint(engine)
        finally:
            engine.dispose()
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    backend, scale = sys.argv[1], float(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    print(json.dumps(_run(backend, scale, seed), indent=1, sort_keys=True))

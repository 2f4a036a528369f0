"""``demo generate`` killed outright mid-way leaves the database as it was; the next one succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from acas_batch.models import Account, Company, JournalLine
from tests.acceptance.processes import engine_env, processes
from tests.engine_helpers import wait_until
from tests.sl_support import assert_ledger_sound


def _writing(engine: Engine, db_url: str) -> bool:
    """Whether the generator has journal lines on their way into the database (uncommitted)."""
    if engine.dialect.name == "sqlite":
        wal = Path(str(make_url(db_url).database) + "-wal")
        return wal.exists() and wal.stat().st_size > 4_000_000
    with engine.connect() as conn:
        return bool(
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                    " WHERE c.relname = 'gl_journal_line_rec' AND l.mode = 'RowExclusiveLock'"
                    " AND l.pid <> pg_backend_pid()"
                )
            )
        )


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def test_a_generation_killed_midway_leaves_nothing_and_the_next_one_succeeds(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    env = engine_env(db_url, tmp_path)
    with processes(env, tmp_path) as procs:
        # Given a large demo being generated, journal lines already on their way in
        generating = procs.start("demo", "generate", "--scale", "6", "--end-date", "2026-11-30")
        wait_until(lambda: _writing(engine, db_url) or generating.poll() is not None, timeout=180, interval=0.1)
        assert generating.poll() is None, "the generation ended before it could be interrupted"
        # When its process is killed outright
        os.kill(generating.pid, signal.SIGKILL)
        assert generating.wait(timeout=30) == -signal.SIGKILL
    # Then the database holds no part of it
    assert (_count(engine, Account), _count(engine, Company), _count(engine, JournalLine)) == (0, 0, 0)
    # And the demo can be generated again, with books that balance
    again = subprocess.run(
        [sys.executable, "-m", "acas_batch", "demo", "generate", "--scale", "0.1", "--end-date", "2026-11-30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert "demo company: 6 customers" in again.stdout
    assert _count(engine, Company) == 1
    assert_ledger_sound(engine)


def test_a_scale_beyond_the_maximum_is_refused_in_one_line(engine: Engine, db_url: str, tmp_path: Path) -> None:
    env = engine_env(db_url, tmp_path)
    refused = subprocess.run(
        [sys.executable, "-m", "acas_batch", "demo", "generate", "--scale", "1001"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode != 0
    lines = [line for line in (refused.stdout + refused.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "demo scale 1001 is more than the 1000 allowed" in lines[0], lines
    assert _count(engine, Account) == 0

"""The database, backups and exports are readable by their owner only; an export cannot leave its folder."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from acas_batch.config import load_settings
from acas_batch.db import make_engine
from acas_batch.security.actor import Actor
from acas_batch.services.log_viewer import export_log_file
from acas_batch.services.system import backup_now
from tests.integration.test_cli import acas

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_file_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "acas.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with engine.connect() as conn:  # a later connection finds the WAL too
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    assert _mode(path) == 0o600
    for extra in (path.with_name("acas.db-wal"), path.with_name("acas.db-shm")):
        if extra.exists():
            assert _mode(extra) == 0o600


def test_backups_and_exports_are_0600_in_0700_folders(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = load_settings(environ={}, database_url=db_url, data_dir=tmp_path)
    taken = backup_now(engine, settings, Actor.console(), now=NOW, dest_dir=None, verify=False)
    backups = tmp_path / "backups"
    assert taken.info.path.parent == backups and _mode(backups) == 0o700
    for f in backups.iterdir():
        assert _mode(f) == 0o600, f.name
    export, _, _ = export_log_file(engine, settings, {}, "CSV", output_dir=None, now=NOW)
    assert _mode(export) == 0o600 and _mode(export.parent) == 0o700


def test_an_export_named_after_a_hostile_job_stays_in_its_folder(db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    result = acas(
        "logs", "export", "--job", "../../../x", "--format", "json", "--output-dir", str(out),
        "--database-url", db_url, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    path = Path(json.loads(result.stdout)["path"])
    assert path.parent == out and path.name.startswith("logs-_.._.._x-")
    assert not list(tmp_path.parent.glob("x-*")) and not (tmp_path / "x").exists()

"""Every way a command meets a bad database, a bad value or a bad path: one line, its own exit code, nothing left.

The exit codes are the errors' own (``acas_batch/errors.py``); each case here once printed
a traceback of 40 to 210 lines and exited 1.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from acas_batch import errors
from acas_batch.cli import main
from acas_batch.services import database as services_database
from tests.engine_helpers import define, executions

ROOT = Path(__file__).resolve().parents[2]


def acas(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ACAS_")}
    full_env.update({"ACAS_JOB_MODULES": "tests.jobs_fixture", "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"})
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "acas_batch", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str], exit_code: int, *words: str) -> str:
    """The command failed with ``exit_code`` and said so in one line naming ``words``."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert result.returncode == exit_code, (result.returncode, lines[0])
    return lines[0]


def exit_code(argv: list[str]) -> int:
    """Run the command line in this process; its exit status."""
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_postgresql_on_a_closed_port_is_unreachable(tmp_path: Path) -> None:
    result = acas("status", "--database-url", "postgresql://acas@127.0.0.1:9/acas", cwd=tmp_path)
    one_line(result, errors.DatabaseUnreachable.exit_code, "cannot reach database", "127.0.0.1:9")


def test_a_postgresql_database_that_does_not_exist_is_missing(tmp_path: Path) -> None:
    result = acas("jobs", "list", "--database-url", "postgresql://postgres@127.0.0.1:5432/acas_no_such_db")
    one_line(result, errors.DatabaseMissing.exit_code, "does not exist")


def test_a_missing_sqlite_file_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    # Given a newcomer who skipped `init` in an empty folder
    # When they ask for the job list with the default settings
    result = acas("jobs", "list", cwd=tmp_path)
    # Then they are told to run init, and neither var/ nor an empty database was left behind
    one_line(result, errors.DatabaseMissing.exit_code, "acas-batch init", "var/acas.db")
    assert list(tmp_path.iterdir()) == []
    elsewhere = acas("status", "--database-url", f"sqlite:///{tmp_path / 'no' / 'such.db'}")
    one_line(elsewhere, errors.DatabaseMissing.exit_code)
    assert list(tmp_path.iterdir()) == []


def test_a_database_without_the_schema_is_not_initialised(empty_db_url: str, tmp_path: Path) -> None:
    if empty_db_url.startswith("sqlite"):
        Path(empty_db_url.removeprefix("sqlite:///")).touch()  # an empty file: a database without tables
    result = acas("executions", "list", "--database-url", empty_db_url)
    one_line(result, errors.DatabaseNotInitialised.exit_code, "acas-batch init")


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("minutes of the board meeting\n" * 200)
    result = acas("jobs", "list", "--database-url", f"sqlite:///{path}")
    one_line(result, errors.NotADatabase.exit_code, "not an acas-batch database")
    assert path.read_text() == "minutes of the board meeting\n" * 200
    folder = acas("jobs", "list", "--database-url", f"sqlite:///{tmp_path}")
    one_line(folder, errors.NotADatabase.exit_code, "folder")


# File permissions are SQLite's; PostgreSQL's read-only roles answer with SQLSTATE 42501
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_read_only_database_is_opened_read_only_for_an_auditor(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    define(engine, "TEST_WRITE")
    engine.dispose()
    path = Path(db_url.removeprefix("sqlite:///"))
    before = path.read_bytes()
    # Given an auditor who may read the database file but not write it (root may write anything,
    # so the permission the command sees is the auditor's)
    monkeypatch.setattr(services_database.os, "access", lambda p, mode: mode != os.W_OK)
    monkeypatch.setenv("ACAS_JOB_MODULES", "tests.jobs_fixture")
    # When they look, they see
    assert exit_code(["jobs", "list", "--json", "--database-url", db_url]) == 0
    assert "TEST_WRITE" in capsys.readouterr().out
    # And when they try to run a job, one line says why not, and nothing was written
    code = exit_code(["run", "TEST_WRITE", "--database-url", db_url])
    err = capsys.readouterr().err
    assert code == errors.DatabaseReadOnly.exit_code, err
    assert err.startswith("error: ") and "read-only" in err and len(err.strip().splitlines()) == 1
    assert path.read_bytes() == before


# A writer waits for the database's lock only on SQLite; PostgreSQL's rows lock one by one
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_lock_held_past_the_busy_timeout(engine: Engine, db_url: str) -> None:
    define(engine, "TEST_WRITE")
    engine.dispose()
    holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = acas("run", "TEST_WRITE", "--database-url", db_url, env={"ACAS_BUSY_TIMEOUT_SECONDS": "0.2"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    one_line(result, errors.DatabaseLocked.exit_code, "locked")
    assert executions(engine) == []


def test_ids_beyond_64_bits(db_url: str) -> None:
    huge = str(2**70)
    one_line(acas("executions", "show", huge, "--database-url", db_url), errors.ValidationError.exit_code, huge)
    one_line(acas("executions", "list", "--limit", huge, "--database-url", db_url), errors.ValidationError.exit_code)


def test_the_year_9999_and_an_unbounded_forecast(db_url: str) -> None:
    one_line(acas("jobs", "order", "9999-12-31", "--database-url", db_url), errors.ValidationError.exit_code, "9999")
    one_line(
        acas("schedules", "forecast", "--from", "9999-12-01", "--database-url", db_url),
        errors.ValidationError.exit_code,
        "9999-12-01",
    )
    one_line(
        acas("schedules", "forecast", "--from", "2026-01-01", "--to", "2999-12-31", "--database-url", db_url),
        errors.ValidationError.exit_code,
        "at most 367 days",
    )


def test_logs_export_to_a_bad_folder(db_url: str, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    result = acas("logs", "export", "--output-dir", str(a_file / "exports"), "--database-url", db_url)
    one_line(result, errors.OutputError.exit_code, "cannot create the export folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"] + (["acas.db"] if "sqlite" in db_url else [])


def test_a_config_file_that_is_not_utf8_or_is_a_folder(tmp_path: Path) -> None:
    latin1 = tmp_path / "acas.toml"
    latin1.write_bytes('company = "Café Ltd"\n'.encode("latin-1"))
    one_line(acas("jobs", "list", "--config", str(latin1)), errors.ConfigError.exit_code, "not UTF-8")
    one_line(acas("jobs", "list", "--config", str(tmp_path)), errors.ConfigError.exit_code, "is a folder")

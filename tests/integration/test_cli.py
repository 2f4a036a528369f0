"""The command line as a user meets it: real processes, real databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from acas_batch.db import make_engine
from acas_batch.models import SPEC_TABLES
from acas_batch.models.migrate import head_revision


def acas(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ACAS_")}
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


def test_upgrade_then_init_on_an_empty_database(empty_db_url: str) -> None:
    upgraded = acas("db", "upgrade", "--database-url", empty_db_url, "--json")
    assert upgraded.returncode == 0, upgraded.stderr
    assert json.loads(upgraded.stdout)["from"] is None

    first = acas("init", "--database-url", empty_db_url, "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["spec_tables"] == list(SPEC_TABLES)
    assert report["roles_created"] == 0  # the migration installed the five standard roles

    again = acas("init", "--database-url", empty_db_url, "--json")
    assert json.loads(again.stdout)["roles_created"] == 0

    engine = make_engine(empty_db_url)
    assert set(SPEC_TABLES) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_database_url_from_environment_and_default_location(tmp_path: Path) -> None:
    result = acas("init", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "acas.db").exists()
    other = tmp_path / "other.db"
    missing = acas("db", "current", "--json", env={"ACAS_DATABASE_URL": f"sqlite:///{other}"})
    assert missing.returncode == 80, missing.stderr  # no such file: refused, and none created
    assert not other.exists()
    other.touch()  # an empty database: nothing applied yet
    result = acas("db", "current", "--json", env={"ACAS_DATABASE_URL": f"sqlite:///{other}"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["current"] is None
    pending = json.loads(result.stdout)["pending"]
    assert pending[0] == "0001_foundation"
    assert pending[-1] == head_revision()


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["init"], {"ACAS_DATABASE_URL": "foo://"}, "scheme 'foo' is not supported"),
        (["init", "--config", "/nonexistent/acas.toml"], {}, "does not exist"),
        (["frobnicate"], {}, "No such command 'frobnicate'"),
        (["init", "--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/x"], {}, "cannot connect"),
    ],
)
def test_user_errors_are_one_line_without_traceback(args: list[str], env: dict[str, str], expected: str) -> None:
    result = acas(*args, env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_negative_limits_and_timeouts_are_refused_in_one_line_before_anything_is_created(db_url: str) -> None:
    assert acas("init", "--database-url", db_url).returncode == 0
    listed = acas("executions", "list", "--limit", "-1", "--database-url", db_url)
    assert listed.returncode != 0 and "limit -1 must be between 1 and" in listed.stderr
    assert "Traceback" not in listed.stderr
    waited = acas("run", "SYS_HEALTH_CHECK", "--wait", "--timeout", "-1", "--database-url", db_url)
    assert waited.returncode != 0 and "--timeout -1 must be more than 0 seconds" in waited.stderr
    assert "Traceback" not in waited.stderr
    after = acas("executions", "list", "--database-url", db_url, "--json")
    assert after.returncode == 0 and json.loads(after.stdout) == []

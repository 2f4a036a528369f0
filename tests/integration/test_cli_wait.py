"""``run --wait`` says what it waits for and how long, and where the outputs went."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from acas_batch.services import JobSchedulerService
from tests.engine_helpers import define
from tests.integration.test_cli_errors import acas


def test_run_wait_names_the_upstream_it_waits_for(engine: Engine, db_url: str, tmp_path: Path) -> None:
    # Given TEST_WRITE waits for TEST_SLEEP, which has not run
    define(engine, "TEST_SLEEP")
    define(engine, "TEST_WRITE")
    ok, _ = JobSchedulerService(engine, job_code=False).add_dependency("TEST_WRITE", "TEST_SLEEP")
    assert ok
    # When TEST_WRITE is run and waited for, briefly
    result = acas(
        "run",
        "TEST_WRITE",
        "--wait",
        "--timeout",
        "1.5",
        "--database-url",
        db_url,
        env={"ACAS_DATA_DIR": str(tmp_path)},
    )
    # Then the wait said what it was waiting for, and how long
    said = result.stderr.strip().splitlines()
    assert said[0].startswith("waiting "), result.stderr
    assert "for execution 1 (TEST_WRITE): pending; upstream TEST_SLEEP not started" in said[0]
    assert said[-1].startswith("error: execution 1 still pending after 1.5s"), result.stderr


def test_run_wait_prints_where_the_outputs_went(engine: Engine, db_url: str, tmp_path: Path) -> None:
    define(engine, "TEST_WRITE")
    result = acas(
        "run", "TEST_WRITE", "-p", "rows=2", "--wait", "--database-url", db_url, env={"ACAS_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.strip().splitlines()
    assert out[0].startswith("execution 1 succeeded")
    assert out[-1].startswith("outputs: ") and Path(out[-1].removeprefix("outputs: ")).is_dir()

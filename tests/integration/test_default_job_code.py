"""With default settings, a worker knows the code of every standard job that has been written."""

from __future__ import annotations

import json
from pathlib import Path

from acas_batch.batch.registry import REGISTRY
from acas_batch.batch.worker import load_job_modules
from acas_batch.config import load_settings
from acas_batch.jobs.catalogue import STANDARD_JOBS
from tests.integration.test_cli import acas


def test_default_job_modules_register_the_standard_code() -> None:
    load_job_modules(load_settings(environ={}))
    system_jobs = {d.name for d in STANDARD_JOBS if d.module.value == "SYS"}
    assert system_jobs <= {spec.key for spec in REGISTRY}


def test_a_standard_job_runs_from_the_command_line_with_default_settings(db_url: str, tmp_path: Path) -> None:
    env = {"ACAS_DATA_DIR": str(tmp_path)}
    assert acas("init", "--database-url", db_url, env=env).returncode == 0
    result = acas("run", "SYS_HEALTH_CHECK", "--wait", "--json", "--database-url", db_url, env=env)
    data = json.loads(result.stdout)
    # no backup exists yet, so the health check finishes with a warning, having checked everything
    assert data["state"] == "warning", result.stderr
    assert any(line["message"] == "schema is at the newest version" for line in data["logs"])

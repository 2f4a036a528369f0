"""Workers find job code through the modules named in ``ACAS_JOB_MODULES``: one module per job,
named after it, in its ledger's package; a package brings in every job below it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import acas_batch.jobs
from acas_batch.batch.registry import REGISTRY
from acas_batch.batch.worker import load_job_modules
from acas_batch.config import Settings
from acas_batch.jobs.catalogue import STANDARD_JOBS

LEDGER_FOLDERS = {"GL": "gl", "SL": "sl", "PL": "pl", "ST": "stock", "SYS": "system"}


def _registered_after(code: str) -> list[str]:
    """The handler keys registered in a fresh interpreter after running ``code``."""
    show = "from acas_batch.batch.registry import REGISTRY\nprint(__import__('json').dumps([s.key for s in REGISTRY]))"
    script = f"{code}\n{show}"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_default_job_package_brings_in_every_standard_job() -> None:
    load_job_modules(Settings(job_modules="acas_batch.jobs"))
    assert {j.handler for j in STANDARD_JOBS} <= {s.key for s in REGISTRY}


def test_importing_the_jobs_package_registers_nothing_and_a_ledger_package_registers_its_own() -> None:
    assert _registered_after("import acas_batch.jobs, acas_batch.jobs.catalogue") == []
    sl = _registered_after(
        "from acas_batch.batch.registry import load_job_modules; load_job_modules(['acas_batch.jobs.sl'])"
    )
    assert sorted(sl) == sorted(j.handler for j in STANDARD_JOBS if j.module.value == "SL")
    assert len(sl) == 6


def test_each_standard_job_lives_in_its_ledger_folder_in_a_module_named_after_it() -> None:
    load_job_modules(Settings(job_modules="acas_batch.jobs"))
    root = Path(acas_batch.jobs.__file__).parent
    for definition in STANDARD_JOBS:
        spec = REGISTRY.get(definition.handler)
        prefix, _, rest = definition.name.partition("_")
        expected = root / LEDGER_FOLDERS[prefix] / f"{rest.lower()}.py"
        assert Path(spec.func.__code__.co_filename) == expected, definition.name


def test_several_modules_are_read_from_a_comma_separated_setting() -> None:
    settings = Settings(job_modules=" acas_batch.jobs , tests.jobs_fixture,")
    assert settings.job_module_names == ("acas_batch.jobs", "tests.jobs_fixture")
    load_job_modules(settings)
    assert "TEST_CHECKPOINT" in REGISTRY

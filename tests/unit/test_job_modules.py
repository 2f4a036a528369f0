"""Workers find job code through the modules named in ``ACAS_JOB_MODULES``."""

from __future__ import annotations

from acas_batch.batch.registry import REGISTRY
from acas_batch.batch.worker import load_job_modules
from acas_batch.config import Settings


def test_the_default_job_package_brings_in_the_modules_it_lists() -> None:
    load_job_modules(Settings(job_modules="acas_batch.jobs"))
    assert "SYS_HEALTH_CHECK" in REGISTRY
    assert "SYS_DATABASE_BACKUP" in REGISTRY


def test_several_modules_are_read_from_a_comma_separated_setting() -> None:
    settings = Settings(job_modules=" acas_batch.jobs , tests.jobs_fixture,")
    assert settings.job_module_names == ("acas_batch.jobs", "tests.jobs_fixture")
    load_job_modules(settings)
    assert "TEST_CHECKPOINT" in REGISTRY

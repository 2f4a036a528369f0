"""The system jobs run by the real engine, from the installed catalogue."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from acas_batch.db import transaction
from acas_batch.models import Quarantine, SysBackup
from acas_batch.services import JobSchedulerService
from acas_batch.services.bootstrap import initialise
from tests.engine_helpers import engine_settings


def test_the_engine_runs_the_backup_then_a_clean_health_check(engine: Engine, db_url: str, tmp_path: Path) -> None:
    # Given an initialised database and the engine loading the standard job code
    initialise(engine)
    svc = JobSchedulerService(engine, settings=engine_settings(db_url, tmp_path, job_modules="acas_batch.jobs"))

    # When a backup is run now
    ok, backup_run = svc.execute_job_now("SYS_DATABASE_BACKUP")
    assert ok, backup_run
    ok, detail = svc.wait_for(backup_run, timeout=180)

    # Then it succeeded, verified and registered its file
    assert ok and detail["state"] == "succeeded", detail
    with transaction(engine) as s:
        backup = s.scalars(select(SysBackup)).one()
        assert backup.verified_at is not None and Path(backup.path).is_file()
        assert backup.execution_id == backup_run

    # And a health check right after finds the backup fresh and the schema current
    ok, check_run = svc.execute_job_now(
        "SYS_HEALTH_CHECK", {"disk_free_warn_pct": 0.0, "disk_free_critical_pct": 0.0, "require_scheduler": False}
    )
    assert ok, check_run
    ok, detail = svc.wait_for(check_run, timeout=180)
    assert ok and detail["state"] == "succeeded", detail
    with transaction(engine) as s:
        assert list(s.scalars(select(Quarantine).where(Quarantine.resolved_at.is_(None)))) == []

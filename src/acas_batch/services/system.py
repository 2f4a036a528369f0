"""The installation: its schema version, backups and restores.

Backups are taken through :mod:`acas_batch.system` by people (here) and by the
SYS_DATABASE_BACKUP job alike; a restore replaces the database a URL names.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from acas_batch.config import Settings
from acas_batch.db import check_connection, transaction
from acas_batch.models.migrate import current_revision, head_revision, pending_migrations, upgrade
from acas_batch.services.base import connect
from acas_batch.system.backup import RestoreReport, restore_backup
from acas_batch.system.backup_register import TakenBackup, list_backups, take_backup

__all__ = [
    "RestoreReport",
    "TakenBackup",
    "backup_now",
    "backups",
    "connect",
    "restore",
    "schema_status",
    "upgrade_schema",
]


def upgrade_schema(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to the newest version; returns the revisions before and after.

    Raises:
        DatabaseError: the database cannot be reached.
    """
    check_connection(engine)
    before = current_revision(engine)
    upgrade(engine)
    return before, current_revision(engine)


def schema_status(engine: Engine) -> dict[str, Any]:
    """The schema version of the database, the newest one and the migrations pending."""
    check_connection(engine)
    return {"current": current_revision(engine), "head": head_revision(), "pending": pending_migrations(engine)}


def backup_now(
    engine: Engine, settings: Settings, *, now: datetime, dest_dir: Path | None, verify: bool
) -> TakenBackup:
    """A consistent backup now, in ``dest_dir`` (default: the data folder's ``backups``), verified and registered."""
    check_connection(engine)
    return take_backup(engine, dest_dir or settings.data_dir / "backups", now, verify=verify)


def backups(engine: Engine, *, include_deleted: bool = False) -> list[dict[str, object]]:
    """The backup register, newest first."""
    with transaction(engine) as session:
        return list_backups(session, include_deleted=include_deleted)


def restore(settings: Settings, file: Path, *, force: bool) -> RestoreReport:
    """Restore ``file`` into the settings' database (a target holding data needs ``force``)."""
    return restore_backup(file, settings.database_url, force=force)

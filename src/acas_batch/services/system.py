"""The installation: its schema version, backups and restores.

Backups are taken through :mod:`acas_batch.system` by people (here) and by the
SYS_DATABASE_BACKUP job alike; a restore replaces the database a URL names.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, select

from acas_batch.config import Settings
from acas_batch.db import check_connection, transaction
from acas_batch.errors import ApprovalRequired
from acas_batch.models import Audit
from acas_batch.models.audit_chain import append_audit
from acas_batch.models.migrate import current_revision, head_revision, pending_migrations, upgrade
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services import approvals, door
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
    engine: Engine, settings: Settings, actor: Actor, *, now: datetime, dest_dir: Path | None, verify: bool
) -> TakenBackup:
    """A consistent backup now, in ``dest_dir`` (default: the data folder's ``backups``), verified and registered.

    Raises:
        PermissionDenied: the actor may not take backups.
    """
    check_connection(engine)
    door.allowed(engine, actor, Permission.BACKUP, what="take a backup", now=now)
    taken = take_backup(engine, dest_dir or settings.data_dir / "backups", now, verify=verify)
    door.record(
        engine, actor, "system.backup", ("backup", taken.info.path.name), now=now,
        details={"sha256": taken.info.sha256, "verified": taken.verified, "size_bytes": taken.info.size_bytes},
    )  # fmt: skip
    return taken


def backups(engine: Engine, *, include_deleted: bool = False) -> list[dict[str, object]]:
    """The backup register, newest first."""
    with transaction(engine) as session:
        return list_backups(session, include_deleted=include_deleted)


def _audit_rows(engine: Engine) -> list[Audit]:
    """Every audit row of the database (none when it has no trail yet)."""
    if "audit_rec" not in inspect(engine).get_table_names():
        return []
    with transaction(engine) as session:
        return list(session.scalars(select(Audit).order_by(Audit.id)))


def restore(
    engine: Engine,
    settings: Settings,
    actor: Actor,
    file: Path,
    *,
    force: bool,
    now: datetime,
    reason: str | None,
    approved: bool = False,
) -> RestoreReport:
    """Restore ``file`` into the settings' database (a target holding data needs ``force``).

    The audit trail survives: the rows written since the backup was taken are set aside first
    and appended again after the restore (the chain continues from the restored rows), then
    the restore itself is audited.

    Raises:
        PermissionDenied: the actor may not restore; ValidationError: no reason given.
    """
    why = door.require_reason("system.restore", reason)
    door.allowed(engine, actor, Permission.RESTORE, what="restore a backup", now=now)
    if not approved and approvals.required(settings, actor, "system.restore", None):
        with transaction(engine, write=True) as session:
            pending = approvals.request(
                session,
                actor,
                "system.restore",
                ("backup", file.name),
                params={"file": str(file.resolve()), "force": force},
                reason=why,
                now=now,
            )
            request_id = pending.id
        raise ApprovalRequired(
            f"restoring {file.name} needs a second user's approval: request {request_id} recorded "
            f"(acas-batch approvals approve {request_id})",
            approval_id=request_id,
        )
    aside = _audit_rows(engine)
    report = restore_backup(file, settings.database_url, force=force)
    engine.dispose()  # the file or the tables were replaced: no pooled connection may see the old ones
    with transaction(engine, write=True) as session:
        kept = set(session.scalars(select(Audit.row_hash)))
        again = [row for row in aside if row.row_hash not in kept]
        for row in again:
            append_audit(
                session,
                actor=row.actor,
                action=row.action,
                target_type=row.target_type,
                target_id=row.target_id,
                now=row.occurred_at,
                reason=row.reason,
                details=(row.details or {}) | {"reappended_after_restore": {"id": row.id, "hash": row.row_hash}},
                identity={"os_user": row.os_user, "host": row.host, "client_addr": row.client_addr, "face": row.face},
            )
        append_audit(
            session,
            actor=actor.username,
            action="system.restore",
            target_type="backup",
            target_id=file.name,
            now=now,
            reason=why,
            details={"file": str(file), "rows_reappended": len(again), "row_counts": report.row_counts},
            identity=door.identity_of(actor),
        )
    return report

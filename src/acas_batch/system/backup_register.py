"""The register of backups (``sys_backup_rec``): recording, generations and retention.

Retention is grandfather-father-son. Each verified backup is the first of its month taken
in the month's first days (monthly), else the first of its ISO week (weekly), else daily; the newest N of each
generation are kept and the files of the rest deleted. The newest verified backup is
never deleted, whatever the parameters say.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.db import transaction
from acas_batch.errors import BackupError
from acas_batch.models import BackupGeneration, SysBackup
from acas_batch.system.backup import BackupInfo, checksum_path, create_backup, manifest_path, verify_backup

#: A monthly backup is taken at the turn of the month: the first of the month's first days.
MONTHLY_WITHIN_DAYS = 3


def generation_for(session: Session, started_at: datetime) -> BackupGeneration:
    """The generation a verified backup taken at ``started_at`` belongs to (UTC calendar).

    Monthly: the first backup of the month, taken in its first MONTHLY_WITHIN_DAYS days
    (a first backup on 6 December stands for no month: it is weekly or daily).
    """
    others = session.scalars(
        select(SysBackup.started_at).where(SysBackup.verified_at.is_not(None), SysBackup.started_at < started_at)
    ).all()
    first_of_month = not any((s.year, s.month) == (started_at.year, started_at.month) for s in others)
    if first_of_month and started_at.day <= MONTHLY_WITHIN_DAYS:
        return BackupGeneration.MONTHLY
    week = started_at.isocalendar()[:2]
    if not any(s.isocalendar()[:2] == week for s in others):
        return BackupGeneration.WEEKLY
    return BackupGeneration.DAILY


def record_backup(
    session: Session,
    info: BackupInfo,
    *,
    verified_at: datetime | None,
    verify_error: str | None = None,
    execution_id: int | None = None,
) -> SysBackup:
    """Add a backup to the register; an unverified one is always the daily generation."""
    generation = generation_for(session, info.started_at) if verified_at else BackupGeneration.DAILY
    row = SysBackup(
        backend=info.backend,
        path=str(info.path),
        size_bytes=info.size_bytes,
        sha256=info.sha256,
        started_at=info.started_at,
        finished_at=info.finished_at,
        row_counts=info.row_counts,
        verified_at=verified_at,
        verify_error=verify_error,
        generation=generation,
        execution_id=execution_id,
    )
    session.add(row)
    session.flush()
    return row


def latest_verified(session: Session) -> SysBackup | None:
    """The newest backup that passed its test restore and still exists."""
    return session.scalars(
        select(SysBackup)
        .where(SysBackup.verified_at.is_not(None), SysBackup.deleted_at.is_(None))
        .order_by(SysBackup.started_at.desc(), SysBackup.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class RetentionResult:
    """What the retention policy removed."""

    deleted: list[str]
    bytes_freed: int
    kept: int


def apply_retention(
    session: Session, *, now: datetime, keep_daily: int, keep_weekly: int, keep_monthly: int
) -> RetentionResult:
    """Delete the backups the policy no longer keeps (file, sidecars) and mark them deleted."""
    live = list(
        session.scalars(
            select(SysBackup)
            .where(SysBackup.deleted_at.is_(None))
            .order_by(SysBackup.started_at.desc(), SysBackup.id.desc())
        )
    )
    limits = {
        BackupGeneration.DAILY: keep_daily,
        BackupGeneration.WEEKLY: keep_weekly,
        BackupGeneration.MONTHLY: keep_monthly,
    }
    seen = dict.fromkeys(limits, 0)
    newest_verified = next((b.id for b in live if b.verified_at is not None), None)
    deleted: list[str] = []
    freed = 0
    for backup in live:
        seen[backup.generation] += 1
        if seen[backup.generation] <= limits[backup.generation] or backup.id == newest_verified:
            continue
        for file in (Path(backup.path), checksum_path(Path(backup.path)), manifest_path(Path(backup.path))):
            if file.exists():
                freed += file.stat().st_size
                file.unlink()
        backup.deleted_at = now
        deleted.append(backup.path)
    session.flush()
    return RetentionResult(deleted, freed, len(live) - len(deleted))


@dataclass(frozen=True)
class TakenBackup:
    """A backup made outside a job (``acas-batch db backup``) and its register row."""

    info: BackupInfo
    backup_id: int
    verified: bool
    generation: str


def take_backup(engine: Engine, dest_dir: Path, now: datetime, *, verify: bool = True) -> TakenBackup:
    """Make, verify and register a backup in one call.

    Raises:
        BackupError: the backup could not be written, or failed verification (it stays
            registered, unverified, with the reason).
    """
    info = create_backup(engine, dest_dir, now)
    error: str | None = None
    began = time.monotonic()
    if verify:
        try:
            verify_backup(info, engine, dest_dir)
        except BackupError as exc:
            error = str(exc)
    verified_at = info.finished_at + timedelta(seconds=time.monotonic() - began) if verify and not error else None
    with transaction(engine, write=True) as session:
        row = record_backup(session, info, verified_at=verified_at, verify_error=error)
        taken = TakenBackup(info, row.id, verified_at is not None, row.generation.value)
    if error:
        raise BackupError(error)
    return taken


def list_backups(session: Session, *, include_deleted: bool = False) -> list[dict[str, object]]:
    """The register, newest first, as plain values."""
    query = select(SysBackup).order_by(SysBackup.started_at.desc(), SysBackup.id.desc())
    if not include_deleted:
        query = query.where(SysBackup.deleted_at.is_(None))
    return [
        {
            "id": b.id,
            "started_at": b.started_at,
            "backend": b.backend,
            "generation": b.generation.value,
            "size_bytes": b.size_bytes,
            "verified_at": b.verified_at,
            "verify_error": b.verify_error,
            "deleted_at": b.deleted_at,
            "path": b.path,
        }
        for b in session.scalars(query)
    ]

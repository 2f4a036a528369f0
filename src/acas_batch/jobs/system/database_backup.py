"""SYS_DATABASE_BACKUP: a consistent, compressed, checksummed backup, verified and registered.

A thin function of its context: the work is done by :mod:`acas_batch.system.backup` and
:mod:`acas_batch.system.backup_register`, which people call through the services too.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.errors import BackupError
from acas_batch.models import Module
from acas_batch.system.backup import create_backup, verify_backup
from acas_batch.system.backup_register import apply_retention, record_backup


class BackupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dest_dir: str | None = Field(None, description="Folder for backup files (default: data_dir/backups).")
    keep_daily: int = Field(7, ge=0)
    keep_weekly: int = Field(5, ge=0)
    keep_monthly: int = Field(12, ge=0)
    verify: bool = Field(True, description="Restore into a scratch database and compare row counts.")


@job(
    "SYS_DATABASE_BACKUP",
    module=Module.SYS,
    params=BackupParams,
    timeout_seconds=7200,
    max_attempts=2,
    resources=({"name": "database", "mode": "exclusive"},),
)
def database_backup(ctx: JobContext[BackupParams]) -> JobResult:
    """Consistent online backup, compressed, checksummed, verified by a test restore; retention applied."""
    p = ctx.params
    dest = Path(p.dest_dir) if p.dest_dir else ctx.settings.data_dir / "backups"
    ctx.log.info(f"backing up into {dest}", event="backup_started")
    # Files first, the register last: the session's write transaction opens only at the end.
    info = create_backup(ctx.engine, dest, ctx.now)
    ctx.log.info(
        f"backup {info.path.name}: {info.size_bytes} bytes, {sum(info.row_counts.values())} rows",
        event="backup_written",
        sha256=info.sha256,
    )
    verified_at, error = None, None
    if p.verify:
        began = time.monotonic()
        try:
            verify_backup(info, ctx.engine, dest)
            verified_at = info.finished_at + timedelta(seconds=time.monotonic() - began)
        except BackupError as exc:
            error = str(exc)
    row = record_backup(ctx.session, info, verified_at=verified_at, verify_error=error, execution_id=ctx.execution_id)
    if error is not None:
        ctx.log.error(error, event="backup_verify_failed")
        ctx.checkpoint({"backup_id": row.id})  # keep the register row of the failed backup
        raise BackupError(error)
    retention = apply_retention(
        ctx.session, now=ctx.now, keep_daily=p.keep_daily, keep_weekly=p.keep_weekly, keep_monthly=p.keep_monthly
    )
    if not p.verify:
        ctx.warn_outcome("backup written but not verified (verify=false)")
    return JobResult(
        summary=f"backup {info.path.name} ({row.generation.value}) {'verified' if verified_at else 'unverified'}; "
        f"{len(retention.deleted)} old backup(s) removed",
        counts={
            "tables": len(info.row_counts),
            "rows": sum(info.row_counts.values()),
            "removed": len(retention.deleted),
        },
        totals={"bytes": info.size_bytes, "bytes_freed": retention.bytes_freed},
        files=[str(info.path)],
        data={
            "backup_id": row.id,
            "sha256": info.sha256,
            "generation": row.generation.value,
            "row_counts": info.row_counts,
        },
    )

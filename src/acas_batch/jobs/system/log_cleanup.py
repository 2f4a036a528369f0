"""SYS_LOG_CLEANUP: deletes execution logs past their retention per level, and old output files."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.outputs import database_folder, database_id
from acas_batch.batch.registry import job
from acas_batch.models import Module
from acas_batch.system.housekeeping import LogPurge, log_cutoffs, purge_logs, purge_output_files


class LogCleanupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    debug_days: int = Field(7, ge=0)
    info_days: int = Field(30, ge=0)
    warning_days: int = Field(90, ge=0)
    error_days: int = Field(365, ge=0, description="ERROR and CRITICAL lines.")
    output_days: int = Field(90, ge=0, description="Output files older than this are deleted.")
    chunk_size: int = Field(
        1000, ge=1, le=100_000, description="Lines deleted per committed chunk: the write lock is held about as long."
    )


@job("SYS_LOG_CLEANUP", module=Module.SYS, params=LogCleanupParams, timeout_seconds=3600)
def log_cleanup(ctx: JobContext[LogCleanupParams]) -> JobResult:
    """Deletes execution logs past their retention per level, and old output files."""
    p = ctx.params
    own = database_folder(ctx.settings, database_id(ctx.engine))  # read before the job's first write
    cutoffs = log_cutoffs(
        ctx.now, {"debug": p.debug_days, "info": p.info_days, "warning": p.warning_days, "error": p.error_days}
    )

    def committed(progress: LogPurge) -> None:
        ctx.progress(progress.total)
        ctx.checkpoint({"log_lines_deleted": progress.total})

    logs = purge_logs(ctx.session, cutoffs=cutoffs, chunk_size=p.chunk_size, on_chunk=committed)
    # This database's outputs, and those kept before outputs had a folder per database
    # (named by the execution id alone): never another database's.
    files = purge_output_files(
        ctx.settings.outputs,
        older_than=ctx.now - timedelta(days=p.output_days),
        only=lambda top: top == own or top.name.isdigit(),
    )
    ctx.log.info(
        f"deleted {logs.total} log lines in {logs.chunks} chunks, {files.files} files ({files.bytes_freed} bytes)",
        event="cleanup_done",
    )
    return JobResult(
        summary=f"{logs.total} log lines and {files.files} output files deleted, {files.bytes_freed} bytes freed",
        counts={"log_lines": logs.total, "chunks": logs.chunks, "files": files.files, "dirs": files.dirs_removed}
        | {f"log_lines_{k.lower()}": v for k, v in logs.deleted.items()},
        totals={"bytes_freed": files.bytes_freed},
    )

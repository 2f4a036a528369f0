"""SYS_USER_SESSION_CLEANUP: expires idle sign-in sessions and deletes sessions and API tokens past their lifetime."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.models import Module
from acas_batch.system.housekeeping import purge_sessions


class SessionCleanupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idle_minutes: int = Field(480, ge=1, description="Login sessions unused this long are expired.")
    keep_expired_days: int = Field(7, ge=0, description="Expired or revoked rows are deleted after this.")


@job("SYS_USER_SESSION_CLEANUP", module=Module.SYS, params=SessionCleanupParams, timeout_seconds=600)
def user_session_cleanup(ctx: JobContext[SessionCleanupParams]) -> JobResult:
    """Expires idle sessions; deletes sessions and API tokens past their lifetime."""
    p = ctx.params
    result = purge_sessions(
        ctx.session,
        now=ctx.now,
        idle=timedelta(minutes=p.idle_minutes),
        keep_expired=timedelta(days=p.keep_expired_days),
    )
    deleted = sum(result.deleted.values())
    return JobResult(
        summary=f"{result.expired_idle} idle session(s) expired; {deleted} session(s) and token(s) deleted",
        counts={"expired_idle": result.expired_idle, "deleted": deleted}
        | {f"deleted_{k}": v for k, v in result.deleted.items()},
    )

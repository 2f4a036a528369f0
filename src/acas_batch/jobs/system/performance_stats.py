"""SYS_PERFORMANCE_STATS: per-job runs, success rate, duration percentiles and trend over a window; table sizes."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.models import Module
from acas_batch.system.performance import record_performance


class PerformanceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_days: int = Field(7, ge=1, le=366)


@job("SYS_PERFORMANCE_STATS", module=Module.SYS, params=PerformanceParams, timeout_seconds=1800)
def performance_stats(ctx: JobContext[PerformanceParams]) -> JobResult:
    """Per-job runs, success rate, duration percentiles and trend over a window; table sizes."""
    report = record_performance(
        ctx.session,
        ctx.engine,
        now=ctx.now,
        window=timedelta(days=ctx.params.window_days),
        execution_id=ctx.execution_id,
    )
    jobs = report["jobs"]
    return JobResult(
        summary=f"{len(jobs)} jobs over {ctx.params.window_days} days; {len(report['tables'])} tables measured",
        counts={
            "jobs": len(jobs),
            "runs": sum(j["runs"] for j in jobs.values()),
            "tables": len(report["tables"]),
            "metrics": report["metrics_written"],
        },
        data=report,
    )

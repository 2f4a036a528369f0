"""Performance statistics: per job over a window, against the window before; table sizes.

Written to ``batch_metrics_rec`` (one row per job and measure, ``window_start`` and
``window_end`` set), where the monitoring rules and the dashboard read them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.models import TERMINAL_STATES, BatchExecution, BatchJob, BatchMetric, ExecutionState

_SUCCESS = (ExecutionState.SUCCEEDED, ExecutionState.WARNING)
_FINISHED = tuple(s for s in TERMINAL_STATES if s is not ExecutionState.SKIPPED)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (p50 of 1..4 is 2; p95 of 20 values is the 19th); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


@dataclass(frozen=True)
class JobStats:
    """One job's runs in one window."""

    job: str
    runs: int
    succeeded: int
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None
    rows: int

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.runs if self.runs else None


def _rows_of(execution: BatchExecution) -> int:
    if execution.progress_done is not None:
        return int(execution.progress_done)
    counts = (execution.result or {}).get("counts") or {}
    return sum(int(v) for v in counts.values() if isinstance(v, int))


def _duration_ms(e: BatchExecution) -> float | None:
    if e.duration_ms is not None:
        return float(e.duration_ms)
    if e.started_at is not None and e.finished_at is not None:
        return (e.finished_at - e.started_at).total_seconds() * 1000
    return None


def window_stats(session: Session, *, start: datetime, end: datetime) -> dict[str, JobStats]:
    """Stats per job name of the executions that finished in ``[start, end)``."""
    rows = session.execute(
        select(BatchJob.name, BatchExecution)
        .join(BatchJob, BatchJob.id == BatchExecution.job_id)
        .where(
            BatchExecution.finished_at >= start,
            BatchExecution.finished_at < end,
            BatchExecution.state.in_(_FINISHED),
        )
        .execution_options(yield_per=2000)
    )
    grouped: dict[str, list[BatchExecution]] = {}
    for name, execution in rows:
        grouped.setdefault(name, []).append(execution)
    stats: dict[str, JobStats] = {}
    for name, runs in grouped.items():
        durations = [d for d in (_duration_ms(e) for e in runs) if d is not None]
        stats[name] = JobStats(
            job=name,
            runs=len(runs),
            succeeded=sum(1 for e in runs if e.state in _SUCCESS),
            p50_ms=percentile(durations, 50),
            p95_ms=percentile(durations, 95),
            max_ms=max(durations) if durations else None,
            rows=sum(_rows_of(e) for e in runs),
        )
    return stats


def table_sizes(engine: Engine) -> dict[str, dict[str, int | None]]:
    """Rows and bytes (data and indexes; None where the database cannot tell) per table."""
    sizes: dict[str, dict[str, int | None]] = {}
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            names = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            bytes_by_table: dict[str, int] = {}
            try:  # dbstat is optional in SQLite builds
                for tbl, size in conn.exec_driver_sql(
                    "SELECT m.tbl_name, SUM(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name"
                    " GROUP BY m.tbl_name"
                ):
                    bytes_by_table[str(tbl)] = int(size)
            except Exception:
                conn.rollback()
            for n in names:
                count = int(conn.exec_driver_sql(f'SELECT count(*) FROM "{n}"').scalar_one())
                sizes[n] = {"rows": count, "bytes": bytes_by_table.get(n)}
        else:
            names = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
                )
            ]
            for n in names:
                count = int(conn.exec_driver_sql(f'SELECT count(*) FROM "{n}"').scalar_one())
                size = conn.exec_driver_sql("SELECT pg_total_relation_size(%(t)s::regclass)", {"t": f'"{n}"'})
                sizes[n] = {"rows": count, "bytes": int(size.scalar_one())}
    return sizes


def trend_pct(current: float | None, previous: float | None) -> float | None:
    """Change from ``previous`` to ``current`` in percent; None if either is missing or previous is 0."""
    if current is None or previous is None or previous == 0:
        return None
    return round((current - previous) / previous * 100, 2)


def record_performance(
    session: Session, engine: Engine, *, now: datetime, window: timedelta, execution_id: int | None = None
) -> dict[str, Any]:
    """Compute the window's stats and table sizes, write them as metrics, return them."""
    start, prev_start = now - window, now - 2 * window
    current = window_stats(session, start=start, end=now)
    previous = window_stats(session, start=prev_start, end=start)
    job_ids: dict[str, int] = {r.name: r.id for r in session.execute(select(BatchJob.name, BatchJob.id))}
    metrics: list[BatchMetric] = []

    def add(name: str, value: float | None, unit: str, job: str | None = None, **labels: Any) -> None:
        if value is None:
            return
        metrics.append(
            BatchMetric(
                name=name,
                recorded_at=now,
                value=float(value),
                unit=unit,
                job_id=job_ids.get(job) if job else None,
                execution_id=execution_id,
                window_start=start,
                window_end=now,
                labels=labels or None,
            )
        )

    report: dict[str, Any] = {"jobs": {}, "tables": {}}
    for name, s in sorted(current.items()):
        before = previous.get(name)
        trend = trend_pct(s.p50_ms, before.p50_ms if before else None)
        rate_change = round((s.success_rate or 0) - (before.success_rate or 0), 4) if before and before.runs else None
        add("job_runs", s.runs, "count", name)
        add("job_success_rate", s.success_rate, "ratio", name)
        add("job_duration_p50", s.p50_ms, "ms", name)
        add("job_duration_p95", s.p95_ms, "ms", name)
        add("job_duration_max", s.max_ms, "ms", name)
        add("job_rows_processed", s.rows, "rows", name)
        add("job_duration_trend", trend, "pct", name)
        add("job_success_rate_change", rate_change, "ratio", name)
        report["jobs"][name] = {
            "runs": s.runs,
            "success_rate": s.success_rate,
            "p50_ms": s.p50_ms,
            "p95_ms": s.p95_ms,
            "max_ms": s.max_ms,
            "rows": s.rows,
            "p50_trend_pct": trend,
            "success_rate_change": rate_change,
            "previous_runs": before.runs if before else 0,
        }
    sizes = table_sizes(engine)
    for table, size in sizes.items():
        add("db_table_rows", size["rows"], "rows", table=table)
        add("db_table_bytes", size["bytes"], "bytes", table=table)
    known = [s["bytes"] for s in sizes.values() if s["bytes"] is not None]
    add("db_size", sum(known) if known else None, "bytes")
    report["tables"] = sizes
    session.add_all(metrics)
    session.flush()
    report["metrics_written"] = len(metrics)
    return report

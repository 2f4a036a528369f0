"""Thresholds as data (``batch_threshold_rec``), per job, per module or global, and the rules
that read them.

The most specific scope wins: ``job:NAME``, then ``module:GL``, then ``*``, then the built-in
default below (the limits the rules had as constants, so an empty table changes nothing).

Condition rules (``fast_run``, ``error_rate``, ``consecutive_failures`` and the ``resource``
limits) are evaluated every pass: a limit crossed raises (or refreshes) one alert per job or
resource; the same limit met again resolves it.
"""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from acas_batch.errors import ValidationError
from acas_batch.models import AlertSeverity, BatchExecution, BatchJob, BatchThreshold, ExecutionState
from acas_batch.monitoring.findings import Finding

_DONE = (ExecutionState.SUCCEEDED, ExecutionState.WARNING)
_FAILED = (ExecutionState.FAILED, ExecutionState.TIMED_OUT)


class ThresholdKind(StrEnum):
    """What a threshold limits; values in the unit named."""

    MAX_RUNTIME = "max_runtime"  # seconds; or params factor x percentile of the job's own successful runs
    MIN_RUNTIME = "min_runtime"  # seconds; or params factor x percentile: "ended suspiciously fast"
    ERROR_RATE = "error_rate"  # final failures among the last params.runs runs, or within params.window_hours
    LATE_START = "late_start"  # minutes a scheduled run may wait past its nominal time
    CONSECUTIVE_FAILURES = "consecutive_failures"  # final failures in a row
    DISK_FREE_PCT = "disk_free_pct"  # free space of the data and output folders (below is bad)
    MEMORY_USED_PCT = "memory_used_pct"  # memory in use on this host
    DB_SIZE_MB = "db_size_mb"  # size of the database
    DB_CONNECTIONS = "db_connections"  # connections open to the database (PostgreSQL)


#: Kinds where a value *below* the limit is the problem.
BELOW = frozenset({ThresholdKind.MIN_RUNTIME, ThresholdKind.DISK_FREE_PCT})
#: Kinds that apply to the installation, not to a job (scope ``*`` only).
SYSTEM = frozenset(
    {ThresholdKind.DISK_FREE_PCT, ThresholdKind.MEMORY_USED_PCT, ThresholdKind.DB_SIZE_MB, ThresholdKind.DB_CONNECTIONS}
)
_PARAMS = {"factor", "percentile", "history", "min_history", "runs", "window_hours"}


@dataclass(frozen=True)
class Limit:
    """The limit in force for one kind and one job (or the installation)."""

    kind: ThresholdKind
    warning: float | None = None
    critical: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    scope: str = "default"

    def severity_of(self, value: float) -> AlertSeverity | None:
        """The severity ``value`` reaches, or None within the limit."""
        for bound, severity in ((self.critical, AlertSeverity.CRITICAL), (self.warning, AlertSeverity.WARNING)):
            if bound is not None and self._worse(value, bound):
                return severity
        return None

    def _worse(self, value: float, bound: float) -> bool:
        if self.kind in BELOW:
            return value < bound
        if self.kind in (ThresholdKind.ERROR_RATE, ThresholdKind.CONSECUTIVE_FAILURES):
            return value >= bound  # "3 failures" means 3 is already too many
        return value > bound


DEFAULTS: dict[ThresholdKind, Limit] = {
    ThresholdKind.MAX_RUNTIME: Limit(
        ThresholdKind.MAX_RUNTIME, params={"factor": 2.0, "percentile": 50, "history": 20, "min_history": 5}
    ),
    ThresholdKind.LATE_START: Limit(ThresholdKind.LATE_START, warning=30),
    ThresholdKind.DISK_FREE_PCT: Limit(ThresholdKind.DISK_FREE_PCT, warning=15, critical=5),
}


def check_scope(scope: str) -> str:
    """``*``, ``module:XX`` or ``job:NAME``.

    Raises:
        ValidationError: anything else.
    """
    scope = scope.strip()
    if scope == "*" or (scope.startswith(("module:", "job:")) and scope.split(":", 1)[1].strip()):
        return scope
    raise ValidationError(f"threshold scope {scope!r} is not '*', 'module:GL' or 'job:NAME'")


def check_limit(kind: str, scope: str, warning: float | None, critical: float | None, params: dict[str, Any]) -> None:
    """Raises ValidationError for a threshold that could not work, naming the offending value."""
    try:
        k = ThresholdKind(kind)
    except ValueError:
        raise ValidationError(f"threshold kind {kind!r} is not one of {', '.join(ThresholdKind)}") from None
    if k in SYSTEM and scope != "*":
        raise ValidationError(f"{kind} applies to the installation: its scope must be '*'")
    unknown = sorted(set(params) - _PARAMS)
    if unknown:
        raise ValidationError(f"unknown threshold parameter {', '.join(unknown)} (known: {', '.join(sorted(_PARAMS))})")
    if warning is None and critical is None and "factor" not in params:
        raise ValidationError("a threshold needs --warning, --critical or a factor")
    for name, v in (("warning", warning), ("critical", critical)):
        if v is not None and v < 0:
            raise ValidationError(f"{name} {v} must not be negative")


class Thresholds:
    """Every enabled threshold row, looked up by kind and job."""

    def __init__(self, rows: Iterable[BatchThreshold]) -> None:
        self._by: dict[tuple[str, str], Limit] = {}
        for r in rows:
            if r.enabled:
                self._by[(r.metric, r.scope)] = Limit(
                    ThresholdKind(r.metric), r.warning_value, r.critical_value, dict(r.params or {}), r.scope
                )

    @classmethod
    def load(cls, session: Session) -> Thresholds:
        return cls(session.scalars(select(BatchThreshold)))

    def get(self, kind: ThresholdKind, job: str | None = None, module: str | None = None) -> Limit | None:
        for scope in (f"job:{job}" if job else None, f"module:{module}" if module else None, "*"):
            if scope is not None and (kind.value, scope) in self._by:
                return self._by[(kind.value, scope)]
        return DEFAULTS.get(kind)

    def job_kinds(self, kind: ThresholdKind) -> bool:
        """Whether any row (or a default) sets ``kind`` at all."""
        return kind in DEFAULTS or any(k == kind.value for k, _ in self._by)


def _percentile(values: Sequence[int], pct: float) -> float:
    if pct == 50:
        return float(statistics.median(values))
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))])


def runtime_limit_ms(limit: Limit, history_ms: Sequence[int], severity: str = "warning") -> float | None:
    """The runtime limit in ms: absolute seconds, or factor x percentile of the history (None: too little)."""
    absolute = limit.warning if severity == "warning" else limit.critical
    if absolute is not None:
        return absolute * 1000
    factor = limit.params.get("factor")
    if factor is None or severity != "warning":
        return None
    if len(history_ms) < int(limit.params.get("min_history", 5)):
        return None
    return float(factor) * _percentile(history_ms, float(limit.params.get("percentile", 50)))


def _finding(rule: str, key: str, severity: AlertSeverity, title: str, message: str, **kw: Any) -> Finding:
    return Finding(rule=rule, severity=severity, dedup_key=key, title=title, message=message, **kw)


def job_conditions(session: Session, now: datetime, limits: Thresholds) -> tuple[list[Finding], set[str]]:
    """min runtime, error rate and consecutive failures per job: (findings, keys now within limits)."""
    found: list[Finding] = []
    ok: set[str] = set()
    wanted = [
        k
        for k in (ThresholdKind.MIN_RUNTIME, ThresholdKind.ERROR_RATE, ThresholdKind.CONSECUTIVE_FAILURES)
        if limits.job_kinds(k)
    ]
    if not wanted:
        return found, ok
    for job in session.scalars(select(BatchJob).where(BatchJob.enabled.is_(True))):
        recent = session.execute(
            select(BatchExecution.state, BatchExecution.duration_ms, BatchExecution.finished_at, BatchExecution.id)
            .where(
                BatchExecution.job_id == job.id,
                BatchExecution.state.in_(_DONE + _FAILED),
                BatchExecution.finished_at <= now,
                # a failure followed by a retry is not a final outcome
                ~select(BatchExecution.id)
                .where(BatchExecution.previous_execution_id == BatchExecution.id)
                .correlate(BatchExecution)
                .exists(),
            )
            .order_by(BatchExecution.finished_at.desc())
            .limit(200)
        ).all()
        if not recent:
            continue
        module = job.module.value
        for kind in wanted:
            limit = limits.get(kind, job.name, module)
            if limit is None:
                continue
            key = f"{kind.value}:{job.name}"
            sev: AlertSeverity | None = None
            title = message = ""
            if kind is ThresholdKind.MIN_RUNTIME:
                last_ok = [(r[1], r[3]) for r in recent if r[0] in _DONE and r[1] is not None]
                if not last_ok:
                    continue
                history = [int(ms or 0) for ms, _ in last_ok[1:21]]
                floor = limit.warning * 1000 if limit.warning is not None else None
                enough = len(history) >= int(limit.params.get("min_history", 5))
                if floor is None and "factor" in limit.params and enough:
                    pct = float(limit.params.get("percentile", 50))
                    floor = float(limit.params["factor"]) * _percentile(history, pct)
                took = int(last_ok[0][0] or 0)
                if floor is not None and took < floor:
                    sev = AlertSeverity.WARNING
                    title = f"{job.name} ended suspiciously fast ({took / 1000:.1f} s)"
                    message = (
                        f"{job.name} execution {last_ok[0][1]} took {took / 1000:.1f} s; "
                        f"the floor is {floor / 1000:.1f} s"
                    )
            elif kind is ThresholdKind.ERROR_RATE:
                runs = limit.params.get("runs")
                hours = limit.params.get("window_hours")
                since = now - timedelta(hours=float(hours)) if hours is not None else None
                window = [r for r in recent if since is None or (r[2] is not None and r[2] > since)]
                if runs is not None:
                    window = window[: int(runs)]
                failures = sum(1 for r in window if r[0] in _FAILED)
                sev = limit.severity_of(failures)
                span = f"the last {runs} runs" if runs is not None else f"{hours} h" if hours else "its history"
                title = f"{job.name}: {failures} failures in {span}"
                message = f"{job.name} failed {failures} times in {span} (limit {limit.warning or limit.critical})"
            else:
                streak = 0
                for r in recent:
                    if r[0] not in _FAILED:
                        break
                    streak += 1
                sev = limit.severity_of(streak)
                title = f"{job.name} has failed {streak} times in a row"
                message = f"the last {streak} runs of {job.name} failed (limit {limit.warning or limit.critical})"
            if sev is None:
                ok.add(key)
            else:
                found.append(
                    _finding(
                        kind.value if kind is not ThresholdKind.MIN_RUNTIME else "fast_run",
                        key,
                        sev,
                        title,
                        message,
                        job_id=job.id,
                        details={"scope": limit.scope},
                    )
                )
    return found, ok


@dataclass(frozen=True)
class Resources:
    """Where the installation keeps its files (the disk limits read their free space)."""

    data_dir: Path
    output_dir: Path


def _disk_free_pct(path: Path) -> float:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    return 100.0 * usage.free / usage.total if usage.total else 100.0


def _db_size_mb(engine: Engine) -> float | None:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return float(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()) / 2**20
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
        size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
        return float(pages) * float(size) / 2**20


def _db_connections(engine: Engine) -> float | None:
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        ).scalar_one()
    return float(count)


def resource_conditions(
    engine: Engine, limits: Thresholds, where: Resources, *, probe: dict[str, float] | None = None
) -> tuple[list[Finding], set[str]]:
    """Disk free of the data and output folders, memory, database size and connections against their
    limits. ``probe`` replaces measured values (tests). A disk critically full raises ``disk_full``,
    which inhibits the job alerts it causes."""
    values: dict[str, tuple[ThresholdKind, float | None, str]] = {}
    measured = dict(probe or {})

    def value(name: str, fn: Any) -> float | None:
        return measured[name] if name in measured else fn()

    for name, folder in (("disk_data", where.data_dir), ("disk_output", where.output_dir)):
        values[name] = (ThresholdKind.DISK_FREE_PCT, value(name, lambda f=folder: _disk_free_pct(f)), str(folder))
    if limits.get(ThresholdKind.MEMORY_USED_PCT):
        values["memory"] = (
            ThresholdKind.MEMORY_USED_PCT,
            value("memory", lambda: psutil.virtual_memory().percent),
            "memory",
        )
    if limits.get(ThresholdKind.DB_SIZE_MB):
        values["db_size"] = (ThresholdKind.DB_SIZE_MB, value("db_size", lambda: _db_size_mb(engine)), "database")
    if limits.get(ThresholdKind.DB_CONNECTIONS):
        values["db_connections"] = (
            ThresholdKind.DB_CONNECTIONS,
            value("db_connections", lambda: _db_connections(engine)),
            "database",
        )
    found: list[Finding] = []
    ok: set[str] = set()
    for name, (kind, v, what) in values.items():
        limit = limits.get(kind)
        if limit is None or v is None:
            continue
        sev = limit.severity_of(v)
        rule = "disk_full" if kind is ThresholdKind.DISK_FREE_PCT and sev is AlertSeverity.CRITICAL else "resource"
        key = f"{rule}:{name}"
        if sev is None:
            ok.update({key, f"disk_full:{name}"})
            continue
        if rule == "disk_full":
            ok.add(f"resource:{name}")  # the warning is superseded by the critical alert
        bound = limit.critical if sev is AlertSeverity.CRITICAL else limit.warning
        found.append(
            _finding(
                rule,
                key,
                sev,
                f"{name.replace('_', ' ')}: {kind.value} {v:.1f} (limit {bound})",
                f"{what}: {kind.value} is {v:.1f}, past the {sev.value} limit {bound} ({limit.scope})",
                details={"value": round(v, 2), "limit": bound, "kind": kind.value},
            )
        )
    return found, ok


def count_rows(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(BatchThreshold)) or 0)

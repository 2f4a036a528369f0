"""Reliability scores: how dependably each job does its work, from its runs.

A *run* is a first attempt and its retries (one business outcome). Over a window:
the share of runs that finally succeeded, the share that succeeded at the first
attempt, and the error lines per run combine into a 0-100 score:
``100 × (0.6 × final success + 0.3 × first-attempt success + 0.1 × (1 − min(errors per run / 10, 1)))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from acas_batch.models import BatchExecution, BatchJob, BatchLog, ExecutionState, LogLevel

_OK = (ExecutionState.SUCCEEDED.value, ExecutionState.WARNING.value)
_TERMINAL = tuple(s.value for s in ExecutionState if s.is_terminal and s is not ExecutionState.SKIPPED)


@dataclass(frozen=True)
class Reliability:
    job: str
    runs: int
    succeeded: int
    first_attempt_succeeded: int
    error_lines: int

    @property
    def score(self) -> float:
        if self.runs == 0:
            return 0.0
        final = self.succeeded / self.runs
        first = self.first_attempt_succeeded / self.runs
        errors = min(self.error_lines / self.runs / 10, 1.0)
        return round(100 * (0.6 * final + 0.3 * first + 0.1 * (1 - errors)), 1)

    def as_dict(self) -> dict[str, object]:
        return {
            "job": self.job,
            "runs": self.runs,
            "succeeded": self.succeeded,
            "first_attempt_succeeded": self.first_attempt_succeeded,
            "error_lines": self.error_lines,
            "score": self.score,
        }


def reliability_scores(session: Session, *, since: datetime, job: str | None = None) -> list[Reliability]:
    """Scores of every job (or of ``job``) with a run started since ``since``, worst first (set-based)."""
    root = aliased(BatchExecution)
    last = aliased(BatchExecution)
    # The newest attempt of each run: no later attempt points back to it.
    later = aliased(BatchExecution)
    finals = (
        select(
            func.coalesce(last.root_execution_id, last.id).label("root_id"),
            last.state.label("final_state"),
        )
        .where(~select(later.id).where(later.previous_execution_id == last.id).exists())
        .where(last.state.in_(_TERMINAL))
        .subquery()
    )
    errors = (
        select(BatchLog.job_id, func.count().label("n"))
        .where(BatchLog.level.in_((LogLevel.ERROR, LogLevel.CRITICAL)), BatchLog.logged_at >= since)
        .group_by(BatchLog.job_id)
        .subquery()
    )
    rows = session.execute(
        select(
            BatchJob.name,
            func.count(root.id),
            func.sum(case((finals.c.final_state.in_(_OK), 1), else_=0)),
            func.sum(case((and_(root.state.in_(_OK), finals.c.root_id == root.id), 1), else_=0)),
            func.max(func.coalesce(errors.c.n, 0)),
        )
        .select_from(root)
        .join(BatchJob, BatchJob.id == root.job_id)
        .join(finals, finals.c.root_id == root.id)
        .outerjoin(errors, errors.c.job_id == root.job_id)
        .where(root.attempt == 1, root.created_at >= since, *([BatchJob.name == job] if job else []))
        .group_by(BatchJob.name)
    ).all()
    scores = [
        Reliability(
            job=name,
            runs=int(runs),
            succeeded=int(ok or 0),
            first_attempt_succeeded=int(first or 0),
            error_lines=int(err or 0),
        )
        for name, runs, ok, first, err in rows
    ]
    return sorted(scores, key=lambda r: (r.score, r.job))

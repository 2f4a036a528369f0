"""When will a job's occurrence finish? A pure estimate from plain values (no database, no clock).

The estimate of one occurrence (a job on a business date) is the latest of:

- its own start: its nominal time, or ``now`` if that has passed;
- the estimated finish of every job it waits for (``WAIT`` edges, with their look-back) and,
  for a job started by another's success (``TRIGGER`` edges), of that job: recursively, so a
  deadline on the last job of a chain watches the whole chain;
- its turn in the queue: the work queued ahead of it on the workers' slots (list scheduling in
  claim order, priority then age);

plus its expected duration: the ``PERCENTILE`` (80th) of the job's last ``HISTORY`` successful
runs, month-end runs apart from ordinary days when there are ``MIN_HISTORY`` of them (a period
close on the last day of the month is not an ordinary day's run). A run in progress finishes at
its start plus the expected duration; one that reports progress is extrapolated from its rate
instead; one that has already overrun and reports none is assumed to end at once, so the
estimate is a lower bound and a miss it predicts is certain.

An occurrence that cannot finish without a person (its run or an upstream run failed for good,
was cancelled or is held) is *blocked*: its finish is None.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.models.enums import DependencyKind, ExecutionState

#: Successful runs per job the expected duration is read from.
HISTORY = 20
#: The percentile of those durations taken as the expected duration.
PERCENTILE = 80
#: Month-end runs needed before they are told apart from ordinary days.
MIN_HISTORY = 3

_DONE = frozenset({ExecutionState.SUCCEEDED, ExecutionState.WARNING})
_DEAD = frozenset({ExecutionState.FAILED, ExecutionState.TIMED_OUT, ExecutionState.CANCELLED, ExecutionState.SKIPPED})
_WAITING = frozenset({ExecutionState.PENDING, ExecutionState.RETRY_WAIT})


@dataclass(frozen=True)
class Run:
    """What the estimate needs of one execution."""

    id: int
    job_id: int
    business_date: date
    state: ExecutionState
    priority: int = 50
    nominal: datetime | None = None
    not_before: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress_done: int | None = None
    progress_total: int | None = None


@dataclass(frozen=True)
class Edge:
    """``job_id`` depends on ``upstream_id`` (a wait with ``lookback_days``, or a trigger)."""

    job_id: int
    upstream_id: int
    kind: DependencyKind
    lookback_days: int = 0


@dataclass(frozen=True)
class Estimate:
    """The estimated (or actual) finish of one occurrence, and why."""

    finish: datetime | None  # None: blocked, it will not finish without a person
    done: bool  # finished: ``finish`` is when it did
    basis: str  # how the figure was reached, for a person to check
    path: tuple[str, ...] = ()  # the chain that decides the finish, first job first

    @property
    def blocked(self) -> bool:
        return self.finish is None


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` of 0-100) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def is_month_end(day: date, calendar: BusinessCalendar) -> bool:
    """The month's last day, or its last business day (when month-end jobs run)."""
    nxt = day + timedelta(days=1)
    return nxt.month != day.month or calendar.next_business_day(day).month != day.month


@dataclass(frozen=True)
class History:
    """Durations (seconds) of each job's successful runs by business date, newest first: its
    newest ``HISTORY`` runs, then any older month-end runs (kept for the month-end figure)."""

    durations: Mapping[int, Sequence[tuple[date, float]]]
    calendar: BusinessCalendar

    def expected(self, job_id: int, business_date: date) -> tuple[float, str]:
        """The expected duration of ``job_id``'s run on ``business_date`` and how it was found."""
        runs = self.durations.get(job_id, ())
        if not runs:
            return 0.0, "no history"
        if is_month_end(business_date, self.calendar):
            month_end = [s for d, s in runs if is_month_end(d, self.calendar)][:HISTORY]
            if len(month_end) >= MIN_HISTORY:
                return percentile(month_end, PERCENTILE), f"p{PERCENTILE} of {len(month_end)} month-end runs"
        recent = [s for _, s in runs[:HISTORY]]
        return percentile(recent, PERCENTILE), f"p{PERCENTILE} of {len(recent)} runs"


@dataclass
class Predictor:
    """Estimates finishes over one snapshot of the executions; memoised for one pass."""

    now: datetime
    names: Mapping[int, str]
    runs: Sequence[Run]
    edges: Sequence[Edge]
    history: History
    #: job id -> business date -> nominal time of its scheduled occurrence that day
    occurrences: Mapping[int, Mapping[date, datetime]]
    slots: int = 1
    _by_job: dict[int, list[Run]] = field(init=False, default_factory=dict)
    _memo: dict[tuple[int, date], Estimate] = field(init=False, default_factory=dict)
    _queue_start: dict[int, datetime] = field(init=False, default_factory=dict)
    _free_at: datetime = field(init=False)

    def __post_init__(self) -> None:
        for run in self.runs:
            self._by_job.setdefault(run.job_id, []).append(run)
        self._simulate_queue()

    def _name(self, job_id: int) -> str:
        return self.names.get(job_id, f"job {job_id}")

    def _running_finish(self, run: Run) -> tuple[datetime, str]:
        started = run.started_at or self.now
        elapsed = (self.now - started).total_seconds()
        if run.progress_done and run.progress_total and 0 < run.progress_done < run.progress_total and elapsed > 0:
            total = elapsed * run.progress_total / run.progress_done
            done_pct = 100 * run.progress_done // run.progress_total
            return started + timedelta(seconds=total), f"running, {done_pct}% done: extrapolated"
        expected, basis = self.history.expected(run.job_id, run.business_date)
        finish = started + timedelta(seconds=expected)
        if finish <= self.now:
            return self.now, f"running past its {basis}: may end at any moment"
        return finish, f"running; {basis}"

    def _simulate_queue(self) -> None:
        """Place the queued runs on the slots in claim order; remember when each starts."""
        running = [self._running_finish(r)[0] for r in self.runs if r.state is ExecutionState.RUNNING]
        free = sorted(running)
        free += [self.now] * max(0, self.slots - len(free))
        heapq.heapify(free)
        queued = sorted((r for r in self.runs if r.state is ExecutionState.QUEUED), key=lambda r: (-r.priority, r.id))
        for run in queued:
            start = max(heapq.heappop(free), self.now)
            self._queue_start[run.id] = start
            heapq.heappush(free, start + timedelta(seconds=self.history.expected(run.job_id, run.business_date)[0]))
        self._free_at = max(free[0], self.now) if free else self.now

    def _runs_on(self, job_id: int, first: date, last: date) -> list[Run]:
        return [r for r in self._by_job.get(job_id, ()) if first <= r.business_date <= last]

    def upstream(self, job_id: int, business_date: date) -> list[tuple[str, Estimate]]:
        """The estimates of everything ``job_id`` on ``business_date`` waits for."""
        found: list[tuple[str, Estimate]] = []
        for edge in self.edges:
            if edge.job_id != job_id:
                continue
            if edge.kind is DependencyKind.TRIGGER and self._runs_on(job_id, business_date, business_date):
                continue  # already triggered: the run exists
            first = business_date - timedelta(days=edge.lookback_days)
            found.append((self._name(edge.upstream_id), self._within(edge.upstream_id, first, business_date)))
        return found

    def _within(self, job_id: int, first: date, last: date) -> Estimate:
        """The upstream job's estimate for the look-back range: a success in it, else its latest occurrence."""
        runs = self._runs_on(job_id, first, last)
        done = [r.finished_at for r in runs if r.state in _DONE and r.finished_at is not None]
        if done:
            return Estimate(min(done), True, "finished", (self._name(job_id),))
        dates = {r.business_date for r in runs} | {d for d in self.occurrences.get(job_id, {}) if first <= d <= last}
        if not dates:
            if any(e.job_id == job_id and e.kind is DependencyKind.TRIGGER for e in self.edges):
                return self.finish(job_id, last)
            return Estimate(None, False, f"blocked: {self._name(job_id)} has no run due", (self._name(job_id),))
        return self.finish(job_id, max(dates))

    def finish(self, job_id: int, business_date: date) -> Estimate:
        """The estimated finish of ``job_id``'s occurrence on ``business_date``."""
        key = (job_id, business_date)
        if key not in self._memo:
            self._memo[key] = self._estimate(job_id, business_date)
        return self._memo[key]

    def _estimate(self, job_id: int, business_date: date) -> Estimate:
        name = self._name(job_id)
        runs = self._runs_on(job_id, business_date, business_date)
        done = [r.finished_at for r in runs if r.state in _DONE and r.finished_at is not None]
        if done:
            return Estimate(min(done), True, "finished", (name,))
        live = [r for r in runs if r.state not in _DONE and r.state not in _DEAD]
        if runs and not live:
            worst = max(runs, key=lambda r: r.id)
            return Estimate(None, False, f"blocked: {name} {worst.state.value}", (name,))
        run = max(live, key=lambda r: r.id) if live else None
        if run is not None and run.state is ExecutionState.HELD:
            return Estimate(None, False, f"blocked: {name} is held", (name,))
        if run is not None and run.state is ExecutionState.RUNNING:
            at, basis = self._running_finish(run)
            return Estimate(at, False, basis, (name,))
        expected, basis = self.history.expected(job_id, business_date)
        if run is not None and run.state is ExecutionState.QUEUED:
            start = self._queue_start.get(run.id, self.now)
            return Estimate(start + timedelta(seconds=expected), False, f"queued; {basis}", (name,))
        nominal = run.nominal if run is not None else self.occurrences.get(job_id, {}).get(business_date)
        triggered = any(e.job_id == job_id and e.kind is DependencyKind.TRIGGER for e in self.edges)
        if run is None and nominal is None and not triggered:
            return Estimate(None, False, f"blocked: {name} has no run due on {business_date.isoformat()}", (name,))
        ready, why = max(nominal or self.now, self.now), "its time"
        path: tuple[str, ...] = (name,)
        if run is not None and run.state is ExecutionState.RETRY_WAIT and run.not_before is not None:
            ready, why = max(ready, run.not_before), "its retry"
        for upstream, estimate in self.upstream(job_id, business_date):
            if estimate.blocked:
                return Estimate(None, False, estimate.basis, (*estimate.path, name))
            assert estimate.finish is not None
            if estimate.finish > ready:
                ready, why, path = estimate.finish, f"{upstream}", (*estimate.path, name)
        start = max(ready, self._free_at)
        after = why if start == ready else "the work queued ahead"
        return Estimate(start + timedelta(seconds=expected), False, f"after {after}; {basis}", path)

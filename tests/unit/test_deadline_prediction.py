"""Predicted finishes from a constructed history: own durations, the upstream chain, the queue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.models.enums import DependencyKind, ExecutionState
from acas_batch.monitoring.prediction import Edge, History, Predictor, Run, is_month_end, percentile

CAL = BusinessCalendar("GB", "ENG")
MONTH_END = date(2026, 11, 30)  # a Monday, the last business day of November
ORDINARY = date(2026, 11, 24)
DAILY, CLOSE, OTHER = 1, 2, 3
NAMES = {DAILY: "GL_DAILY_CLOSE", CLOSE: "GL_PERIOD_CLOSE", OTHER: "SL_AGED_DEBTORS"}
CHAIN = [Edge(CLOSE, DAILY, DependencyKind.WAIT)]


def at(day: date, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=UTC)  # London is on UTC in November


def minutes(n: float) -> float:
    return n * 60


def history() -> History:
    """Ordinary days: the daily close takes 5 min (p80), month ends 12 min; the period close 30 min."""
    daily = [(ORDINARY - timedelta(days=i), minutes(5 if i % 5 else 4)) for i in range(1, 16)]
    daily += [(date(2026, m, d), minutes(12)) for m, d in ((8, 28), (9, 30), (10, 30))]
    close = [(date(2026, m, d), minutes(30)) for m, d in ((8, 28), (9, 30), (10, 30))]
    return History({DAILY: daily, CLOSE: close}, CAL)


def predictor(now: datetime, runs: list[Run], *, slots: int = 2, edges: list[Edge] = CHAIN) -> Predictor:
    occurrences = {DAILY: {MONTH_END: at(MONTH_END, "23:00")}, CLOSE: {MONTH_END: at(MONTH_END, "22:00")},
                   OTHER: {MONTH_END: at(MONTH_END, "23:00")}}  # fmt: skip
    return Predictor(now, NAMES, runs, edges, history(), occurrences, slots=slots)


def test_percentile_is_nearest_rank_and_month_ends_are_told_apart() -> None:
    assert percentile([300.0] * 8 + [600.0, 900.0], 80) == 300.0
    assert is_month_end(MONTH_END, CAL) and is_month_end(date(2026, 8, 28), CAL)  # 31 August is a bank holiday
    assert not is_month_end(ORDINARY, CAL)
    # Given 15 ordinary runs and 3 month-end runs of the daily close
    # Then an ordinary day expects 5 minutes and a month end 12
    assert history().expected(DAILY, ORDINARY) == (minutes(5), "p80 of 18 runs")
    assert history().expected(DAILY, MONTH_END) == (minutes(12), "p80 of 3 month-end runs")
    assert history().expected(OTHER, ORDINARY) == (0.0, "no history")


def test_before_the_chain_starts_the_finish_is_the_upstream_finish_plus_its_own_duration() -> None:
    # Given nothing has run yet at 21:00 on the month end
    estimate = predictor(at(MONTH_END, "21:00"), []).finish(CLOSE, MONTH_END)
    # Then the close waits for the daily close (23:00 + 12 min) and takes its 30 minutes
    assert estimate.finish == at(MONTH_END, "23:42")
    assert estimate.path == ("GL_DAILY_CLOSE", "GL_PERIOD_CLOSE") and not estimate.done


def test_a_slow_run_that_reports_progress_is_extrapolated_and_pushes_the_chain_out() -> None:
    # Given the daily close started at 23:00 and is 10% done at 23:50; the period close waits
    runs = [
        Run(
            1,
            DAILY,
            MONTH_END,
            ExecutionState.RUNNING,
            started_at=at(MONTH_END, "23:00"),
            progress_done=1,
            progress_total=10,
        ),
        Run(2, CLOSE, MONTH_END, ExecutionState.PENDING, nominal=at(MONTH_END, "22:00")),
    ]
    estimate = predictor(at(MONTH_END, "23:50"), runs).finish(CLOSE, MONTH_END)
    # Then the daily close ends at 07:20 (500 minutes) and the period close at 07:50
    assert estimate.finish == at(date(2026, 12, 1), "07:50")
    assert "10% done" in predictor(at(MONTH_END, "23:50"), runs).finish(DAILY, MONTH_END).basis


def test_an_overrun_without_progress_is_assumed_to_end_now_a_lower_bound() -> None:
    runs = [Run(1, DAILY, MONTH_END, ExecutionState.RUNNING, started_at=at(MONTH_END, "23:00"))]
    now = at(date(2026, 12, 1), "06:00")
    estimate = predictor(now, runs).finish(CLOSE, MONTH_END)
    assert estimate.finish == now + timedelta(minutes=30)
    assert "may end at any moment" in predictor(now, runs).finish(DAILY, MONTH_END).basis


def test_a_final_failure_or_a_hold_upstream_blocks_the_chain() -> None:
    failed = [Run(1, DAILY, MONTH_END, ExecutionState.FAILED, finished_at=at(MONTH_END, "23:05"))]
    estimate = predictor(at(MONTH_END, "23:10"), failed).finish(CLOSE, MONTH_END)
    assert estimate.blocked and estimate.basis == "blocked: GL_DAILY_CLOSE failed"
    held = [Run(1, DAILY, MONTH_END, ExecutionState.HELD)]
    assert predictor(at(MONTH_END, "23:10"), held).finish(CLOSE, MONTH_END).basis == "blocked: GL_DAILY_CLOSE is held"
    # A failure that will be retried is not a block: the retry is waited for
    retried = [*failed, Run(2, DAILY, MONTH_END, ExecutionState.RETRY_WAIT, not_before=at(MONTH_END, "23:20"))]
    assert predictor(at(MONTH_END, "23:10"), retried).finish(CLOSE, MONTH_END).finish == at(date(2026, 12, 1), "00:02")


def test_finished_upstream_counts_at_its_actual_finish() -> None:
    runs = [Run(1, DAILY, MONTH_END, ExecutionState.SUCCEEDED, finished_at=at(MONTH_END, "23:07"))]
    assert predictor(at(MONTH_END, "23:08"), runs).finish(CLOSE, MONTH_END).finish == at(MONTH_END, "23:38")
    assert predictor(at(MONTH_END, "23:08"), runs).finish(DAILY, MONTH_END).done


def test_work_queued_ahead_delays_a_ready_occurrence() -> None:
    # Given one slot, busy until 23:30 with another job, and the daily close done at 23:07
    runs = [
        Run(1, DAILY, MONTH_END, ExecutionState.SUCCEEDED, finished_at=at(MONTH_END, "23:07")),
        Run(5, OTHER, MONTH_END, ExecutionState.RUNNING, started_at=at(MONTH_END, "23:00")),
    ]
    quiet = predictor(at(MONTH_END, "23:10"), runs, slots=2).finish(CLOSE, MONTH_END)
    busy = predictor(at(MONTH_END, "23:10"), runs, slots=1).finish(CLOSE, MONTH_END)
    # Then with a free slot the close ends at 23:40; with the only slot busy it has no history
    # to end by, so it "may end at any moment" and the close starts now: 23:40 as well
    assert quiet.finish == at(MONTH_END, "23:40") and busy.finish == at(MONTH_END, "23:40")
    # Given the other job has a 45-minute history and two more runs queued ahead at high priority
    h = history()
    slow = History({**h.durations, OTHER: [(ORDINARY, minutes(45))]}, CAL)
    queued = [*runs, Run(6, OTHER, MONTH_END, ExecutionState.QUEUED, priority=90),
              Run(7, OTHER, ORDINARY, ExecutionState.QUEUED, priority=90)]  # fmt: skip
    occ = {CLOSE: {MONTH_END: at(MONTH_END, "22:00")}}
    p = Predictor(at(MONTH_END, "23:10"), NAMES, queued, CHAIN, slow, occ, slots=1)
    # Then the close starts when the queue ahead has started: 23:45, 00:30, 01:15, and ends at 01:45
    assert p.finish(CLOSE, MONTH_END).finish == at(date(2026, 12, 1), "01:45")
    assert "the work queued ahead" in p.finish(CLOSE, MONTH_END).basis

"""The month-end benchmark in short form, so it keeps working between benchmark runs
(`make bench BENCH=month_end` runs it at a larger scale on both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.bench_month_end import CHAIN, Run, gantt, month_end, order_problems

from acas_batch.jobs.catalogue.definitions import JOBS_BY_NAME, topological_order


def test_the_month_end_runs_through_the_real_scheduler_in_dependency_order(empty_db_url: str, tmp_path: Path) -> None:
    # Given a scale-1 demo company in an empty database, its month-end asked for by hand
    # When `acas-batch scheduler start` runs it, with the shipped lease (60 s)
    result = month_end(empty_db_url, 1, tmp_path, timeout=900)
    # Then every job of the chain succeeded once, none before an upstream had finished
    problems = order_problems(result.runs)
    assert not problems, "\n".join([*problems, (tmp_path / "scheduler.log").read_text()[-3000:]])
    assert sorted(r.job for r in result.runs if r.state == "succeeded") == sorted(CHAIN)
    assert result.counts["sl_invoice_rec"] > 1000
    # And the table has a row per execution (a retried attempt too) and one for the chain
    table = gantt(result)
    assert len(table) == 1 + len([r for r in result.runs if r.finished is not None]) + 1
    assert table[-1].startswith("chain")


def test_a_job_started_before_its_upstream_finished_is_reported() -> None:
    # Given the chain run one job after another in the catalogue's dependency order
    t = datetime(2026, 11, 30, 22, tzinfo=UTC)
    order = list(topological_order(JOBS_BY_NAME[n] for n in CHAIN))
    runs = [
        Run(n, "succeeded", t + timedelta(seconds=2 * i), t + timedelta(seconds=2 * i + 1)) for i, n in enumerate(order)
    ]
    assert order_problems(runs) == []
    # When the period close starts before the daily close has finished, or a job is missing
    close = next(i for i, r in enumerate(runs) if r.job == "GL_DAILY_CLOSE")
    slow = [
        *runs[:close],
        Run("GL_DAILY_CLOSE", "succeeded", runs[close].started, t + timedelta(days=1)),
        *runs[close + 1 :],
    ]
    # Then each is reported
    assert [p for p in order_problems(slow) if p.startswith("GL_PERIOD_CLOSE started")]
    assert order_problems([r for r in runs if r.job != "PL_REMITTANCE_ADVICE"]) == [
        "PL_REMITTANCE_ADVICE: 0 successes, not 1"
    ]
    # And a failed attempt counts only when no retry made it good
    failed = Run("ST_STOCK_VALUATION", "failed", t, t + timedelta(seconds=1), "OperationalError: database is locked")
    assert order_problems([failed, *runs]) == []
    assert order_problems([failed, *[r for r in runs if r.job != "ST_STOCK_VALUATION"]]) == [
        "ST_STOCK_VALUATION: 0 successes, not 1",
        "ST_STOCK_VALUATION: failed OperationalError: database is locked",
    ]

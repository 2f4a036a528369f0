"""The ledger jobs' benchmark in short form, so that it keeps working between benchmark runs
(`make bench BENCH=ledger_jobs` runs it on a full-size company): each job's figures are checked
against its hand-written SQL, and the payment run's and the statements' writes against their
writing baselines, on both databases."""

from __future__ import annotations

import pytest
from benchmarks import bench_ledger_jobs


def test_the_statements_and_the_payment_run_match_their_hand_written_writes(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a scale-1 company, and the two jobs whose writes have a writing baseline
    monkeypatch.setenv("ACAS_BENCH_LEDGER_URL", empty_db_url)
    monkeypatch.setenv("ACAS_BENCH_LEDGER_SCALE", "1")
    monkeypatch.setenv("ACAS_BENCH_LEDGER_JOBS", "SL_STATEMENT_GENERATION,PL_PAYMENT_RUN")
    monkeypatch.setenv("ACAS_BENCH_LEDGER_STATEMENT_PDF", "0")
    monkeypatch.setenv("ACAS_BENCH_LEDGER_WARM", "1")
    # When the benchmark runs (it raises when a job's figures or writes differ from its baseline's)
    rows = dict(bench_ledger_jobs.run())
    # Then each job and each writing baseline was timed, and wrote the same
    figures = " ".join(rows)
    assert "SL_STATEMENT_GENERATION (" in figures and "figures equal" in figures
    statements = next(k for k in rows if k.startswith("SL_STATEMENT_GENERATION writes"))
    payments = next(k for k in rows if k.startswith("PL_PAYMENT_RUN writes"))
    assert "writes equal" in statements and "writes equal" in payments
    assert "hand-written SQL writing the same" in rows[statements] and "ratio" in rows[payments]

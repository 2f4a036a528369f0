"""The runs-page benchmark in short form, so it keeps working between benchmark runs
(`make bench BENCH=web` runs it at a million executions on both databases)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from benchmarks import bench_web


def test_the_runs_page_benchmark_fills_a_database_and_times_every_view(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the benchmark at 600 executions, each view asked twice
    monkeypatch.setattr(bench_web, "ROWS", 600)
    monkeypatch.setattr(bench_web, "REPEATS", 2)
    # When it runs on a scratch SQLite database
    figures = bench_web._figures(f"sqlite:///{tmp_path / 'bench.db'}", "sqlite")
    # Then it loaded them and timed each of its views (each answered 200, checked inside)
    assert figures[0][0] == "sqlite: load 600 executions"
    timed = figures[1:]
    assert len(timed) == len(bench_web.cases(600)) == 12
    assert all(re.fullmatch(r"[\d.]+ ms \((ok|OVER) vs 100 ms; [\d,]+ bytes\)", value) for _, value in timed)

"""The logs benchmark in short form (20,000 lines), so that it keeps working between benchmark
runs (`make bench BENCH=logs` loads 1,000,000 or 10,000,000 lines)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_logs_benchmark_searches_views_exports_and_cleans_up_a_small_load(database: str) -> None:
    env = os.environ | {
        "ACAS_BENCH_LOG_ROWS": "20000",
        "ACAS_BENCH_LOG_REPEATS": "1",
        "ACAS_BENCH_LOG_BACKENDS": database,
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "logs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()

    def value(figure: str) -> str:
        """The value printed after ``figure`` (the benchmark's table pads figures to a column)."""
        found = [line.split(figure, 1)[1].strip() for line in lines if figure in line]
        assert len(found) == 1, (figure, lines)
        return found[0]

    # Every search, view and export gave a figure; the common word's count is capped
    assert float(value(f"{database} search 'posted' (common, ~1/3) first page + count 1,000+: ms (target 200)")) > 0
    assert len([line for line in lines if f"{database} view " in line]) == 6
    for fmt in ("CSV", "JSON", "TXT"):
        rows = value(f"{database} export {fmt} rows/s, 1 job / 10 jobs")
        assert all(float(v.replace(",", "")) > 0 for v in rows.split(" / "))
    # And the clean-up deleted the oldest month's DEBUG and INFO lines while the scheduler ticked
    deleted = value(f"{database} retention: oldest month's DEBUG+INFO lines deleted")
    assert 1_000 < int(deleted.split(" in ")[0].replace(",", "")) < 2_000
    assert value(f"{database} scheduler tick p50/p99/max ms, during the clean-up").endswith("ticks)")

"""The statements benchmark in short form, so it keeps working between benchmark runs
(`make bench BENCH=statements` runs it at 2,000 customers, ACAS_BENCH_STATEMENTS=25000 for a bureau)."""

from __future__ import annotations

import re

import pytest
from benchmarks import bench_statements

from tests.conftest import PG_ADMIN_URL


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_statements_benchmark_runs_the_job_at_two_sizes_and_compares_the_renderers(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the benchmark at 20 customers, two statements per renderer
    monkeypatch.setenv("ACAS_BENCH_STATEMENTS", "20")
    monkeypatch.setenv("ACAS_BENCH_STATEMENTS_DATABASES", kind)
    monkeypatch.setenv("ACAS_BENCH_STATEMENTS_RENDERERS", "2")
    monkeypatch.setenv("ACAS_BENCH_STATEMENTS_PG_URL", PG_ADMIN_URL)
    # When it runs
    figures = bench_statements.run()
    # Then the job made the statements of both sizes (the demo company's own customers too)
    # with their PDFs, and each renderer was timed on the same statements (or said why not)
    runs = [(f, v) for f, v in figures if f.startswith(f"{kind}: ")]
    assert len(runs) == 2
    counts = [int(re.match(rf"{kind}: ([\d,]+) statements", f)[1].replace(",", "")) for f, _ in runs]  # type: ignore[index]
    assert counts[1] - counts[0] == 16
    assert all(re.search(r"statements/s; peak RSS job \d+ MB, worker \d+ MB", v) for _, v in runs)
    renderers = {f.split(":")[0].split(" ")[1]: v for f, v in figures if f.startswith("renderer ")}
    assert set(renderers) == {"weasyprint", "reportlab", "own"}
    assert re.search(r"statements/s; [\d.]+ kB a PDF", renderers["own"])
    assert re.search(r"statements/s; [\d.]+ kB a PDF", renderers["weasyprint"])

"""The runs-page benchmark in short form, so it keeps working between benchmark runs
(`make bench BENCH=web` runs it at a million executions on both databases)."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
from benchmarks import bench_web
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from acas_batch.db import make_engine
from acas_batch.models import BatchExecution


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


def test_the_fill_makes_the_stated_mix_and_leaves_every_index_in_place(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a database at head, its indexes noted
    engine = make_engine(db_url)
    expected = {i["name"] for i in inspect(engine).get_indexes("batch_execution_rec")}
    monkeypatch.setattr(bench_web, "ROWS", 1000)
    try:
        # When the benchmark fills it with 1,000 executions by one statement
        bench_web._fill(engine)
        # Then the rows are the benchmark's mix, ids in order of time, and every index is back
        listed = (BatchExecution.state, BatchExecution.trigger, BatchExecution.created_by, BatchExecution.created_at)
        with Session(engine) as session:
            rows = session.execute(select(*listed).order_by(BatchExecution.id)).all()
        assert len(rows) == 1000
        states = Counter(r.state.value for r in rows)
        assert set(states) == {"succeeded", "warning", "failed", "cancelled", "skipped"}
        assert states["succeeded"] > 850 and 0 < states["failed"] < 60
        assert set(Counter(r.trigger.value for r in rows)) == {"schedule", "manual", "retry"}
        assert Counter(r.created_by for r in rows) == {"system": 900, "alice": 100}
        assert all(a.created_at <= b.created_at for a, b in pairwise(rows))
        assert {i["name"] for i in inspect(engine).get_indexes("batch_execution_rec")} == expected
    finally:
        engine.dispose()

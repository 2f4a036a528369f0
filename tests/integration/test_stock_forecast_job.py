"""ST_DEMAND_FORECAST on hand-written books and a demo company, both databases."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.analysis.forecast import forecast_many
from acas_batch.batch.registry import REGISTRY
from acas_batch.config import Settings
from acas_batch.errors import ValidationError
from acas_batch.jobs import load_standard_jobs
from acas_batch.jobs.stock import demand_forecast as stock_forecast
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.ledger.stock import adjust_stock, issue_stock
from acas_batch.models import (
    ExecutionState,
    ForecastResult,
    Item,
    MovementKind,
    StockMovement,
)
from acas_batch.services import JobSchedulerService
from tests.books import Books
from tests.engine_helpers import engine_settings
from tests.support.context import HarnessContext, run_job
from tests.support.users import user

DAY = date(2027, 3, 31)
NOW = datetime(2027, 3, 31, 21, 0, tzinfo=UTC)


def _history(books: Books, item: int, monthly: list[int]) -> None:
    """Issues of ``monthly[k]`` units on the 10th of the k-th month from April 2026."""
    adjust_stock(
        books.session,
        item_id=item,
        warehouse_id=books.main,
        quantity=sum(monthly) + 1,
        on=date(2026, 4, 1),
        reference=books.next("IN"),
        unit_cost_pence=100,
    )
    for k, qty in enumerate(monthly):
        if qty:
            on = date(2026 + (3 + k) // 12, (3 + k) % 12 + 1, 10)
            issue_stock(
                books.session, item_id=item, warehouse_id=books.main, quantity=qty, on=on, reference=books.next("OUT")
            )


def test_steady_intermittent_and_idle_items_get_their_methods(
    books: Books, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a year of history: 10 a month; 6 in three months only; nothing
    steady, lumpy, idle = books.item(), books.item(), books.item()
    _history(books, steady, [10] * 12)
    _history(books, lumpy, [6, 0, 0, 0, 6, 0, 0, 0, 6, 0, 0, 0])
    books.session.commit()
    monkeypatch.setattr(stock_forecast, "CHUNK_ITEMS", 2)

    # When the forecast runs for the period ending 31 March 2027 over 12 months, 3 ahead
    run = run_job(
        engine, settings, "ST_DEMAND_FORECAST", now=NOW, business_date=DAY, params={"history_months": 12, "horizon": 3}
    )

    # Then the steady item is forecast at 10 a month with no hold-out error, the lumpy one by Croston
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with Session(engine) as s:
        acc = {a.item_id: a for a in s.scalars(select(ForecastResult))}
    fc = {(item, m): q for item, a in acc.items() for m, q in zip(a.months(), a.quantities, strict=True)}
    assert {i: acc[i].method for i in (steady, lumpy, idle)} == {
        steady: "moving_average",
        lumpy: "croston_sba",
        idle: "none",
    }
    months = [date(2027, 4, 1), date(2027, 5, 1), date(2027, 6, 1)]
    assert [fc[steady, m] for m in months] == [10.0, 10.0, 10.0]
    assert [fc[idle, m] for m in months] == [0.0, 0.0, 0.0]
    assert fc[lumpy, months[0]] > 0 and len({fc[lumpy, m] for m in months}) == 1
    assert {a.first_month for a in acc.values()} == {date(2027, 4, 1)}
    assert all(a.history_months == 12 and len(a.quantities) == 3 for a in acc.values())
    assert (acc[steady].mae, acc[steady].holdout_months, acc[lumpy].adi) == (0.0, 3, 4.0)
    assert acc[idle].adi is None
    # Written in two chunks of two items, each with its checkpoint
    assert run.context.checkpoints == 2
    assert run.result is not None and run.result.counts["items"] == 3
    with open(run.result.files[0], newline="", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 9
    books.session.close()
    with Session(engine) as s:
        Books(s).assert_sound()


def test_a_resumed_forecast_writes_each_item_once_and_whole_files(
    books: Books, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given five items with history, written two items a chunk, and a crash while writing the second chunk
    items = [books.item() for _ in range(5)]
    for n, item in enumerate(items):
        _history(books, item, [n + 1] * 12)
    books.session.commit()
    monkeypatch.setattr(stock_forecast, "CHUNK_ITEMS", 2)
    write_chunk = stock_forecast._write_chunk
    calls: list[int] = []

    def crash_on_second(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        write_chunk(*args, **kwargs)

    monkeypatch.setattr(stock_forecast, "_write_chunk", crash_on_second)
    params = {"history_months": 12, "horizon": 3}
    first = run_job(engine, settings, "ST_DEMAND_FORECAST", now=NOW, business_date=DAY, params=params)
    assert first.state is ExecutionState.FAILED
    assert first.context.last_checkpoint == {"items_done": 2}

    # When the same execution is retried from its checkpoint, without the crash
    monkeypatch.setattr(stock_forecast, "_write_chunk", write_chunk)
    spec = REGISTRY.get("ST_DEMAND_FORECAST")
    ctx = HarnessContext(
        engine, settings, job_id=first.context.job_id, job_name="ST_DEMAND_FORECAST",
        execution_id=first.execution_id, params=spec.validate_params(params), business_date=DAY, now=NOW,
    )  # fmt: skip
    ctx._checkpoint = {"items_done": 2}
    result = spec.func(ctx)
    ctx.session.commit()
    ctx.session.close()

    # Then every item has one row with its three forecast months, the first two from the first attempt,
    # and the files hold every item, each once, by code
    with Session(engine) as s:
        mine = ForecastResult.execution_id == first.execution_id
        per_item = Counter(s.scalars(select(ForecastResult.item_id).where(mine)))
        codes = {r.id: r.code for r in s.execute(select(Item.id, Item.code))}
        steady = {f.item_id: f.quantities for f in s.scalars(select(ForecastResult).where(mine))}
    assert per_item == dict.fromkeys(items, 1)
    assert [steady[i] for i in items] == [[float(n)] * 3 for n in range(1, 6)]
    assert ctx.checkpoints == 2  # the chunks after the checkpoint: items 3-4 and 5
    assert result is not None
    with open(result.files[0], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["item"] for r in rows] == [codes[i] for i in sorted(items, key=codes.__getitem__) for _ in range(3)]
    with open(result.files[1], newline="", encoding="utf-8") as fh:
        assert sorted(r["item"] for r in csv.DictReader(fh)) == sorted(codes[i] for i in items)


def test_forecast_parameters_are_checked_before_the_run() -> None:
    load_standard_jobs()
    spec = REGISTRY.get("ST_DEMAND_FORECAST")
    assert spec.make_run_key(spec.validate_params({"period": "previous"}), DAY) == "ST_DEMAND_FORECAST:2027-02"
    assert spec.make_run_key(spec.validate_params({"warehouse": "main"}), DAY) == "ST_DEMAND_FORECAST:2027-03/MAIN"
    with pytest.raises(ValidationError, match="period: period '2027-13' must be CURRENT, PREVIOUS or a month YYYY-MM"):
        spec.validate_params({"period": "2027-13"})
    with pytest.raises(ValidationError, match="horizon"):
        spec.validate_params({"horizon": 0})


def test_demo_company_forecast_matches_the_same_method_over_a_matrix_built_in_python(
    engine: Engine, settings: Settings
) -> None:
    end = date(2026, 11, 23)
    generate(engine, size=DemoSize(customers=8, suppliers=8, items=20, months=14), end=end, seed=3)
    run = run_job(
        engine,
        settings,
        "ST_DEMAND_FORECAST",
        now=datetime(2026, 11, 23, 22, 0, tzinfo=UTC),
        business_date=end,
        params={"period": "PREVIOUS", "history_months": 12, "horizon": 6},
    )
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with Session(engine) as s:
        items = sorted(s.scalars(select(Item.id).where(Item.active.is_(True))))
        y = np.zeros((len(items), 12))
        for m in s.scalars(select(StockMovement).where(StockMovement.kind == MovementKind.ISSUE)):
            k = (m.movement_date.year - 2025) * 12 + m.movement_date.month - 11  # November 2025 is month 0
            if 0 <= k < 12 and m.item_id in items:
                y[items.index(m.item_id), k] -= m.quantity
        want = forecast_many(y, 6)
        rows = list(s.scalars(select(ForecastResult)))
    stored = {(f.item_id, m): q for f in rows for m, q in zip(f.months(), f.quantities, strict=True)}
    methods = {f.item_id: f.method for f in rows}
    assert y.sum() > 0
    assert methods == {item: want.methods[i].value for i, item in enumerate(items)}
    for i, item in enumerate(items):
        got = [stored[item, date(2026 + (10 + j) // 12, (10 + j) % 12 + 1, 1)] for j in range(6)]  # from November
        assert got == pytest.approx(list(want.forecasts[i]), abs=1e-3)


def test_the_engine_runs_the_forecast(books: Books, engine: Engine, db_url: str, tmp_path: Path) -> None:
    item = books.item()
    _history(books, item, [5] * 12)
    books.session.commit()
    load_standard_jobs()
    settings = engine_settings(db_url, tmp_path, job_modules="acas_batch.jobs.stock.demand_forecast")
    svc = JobSchedulerService(engine, settings=settings, actor=user(engine, "ann"))
    created, problem = svc.create_job("ST_DEMAND_FORECAST", "ST")
    assert created, problem
    ok, execution_id = svc.execute_job_now(
        "ST_DEMAND_FORECAST", {"business_date": "2027-03-31", "horizon": 2, "history_months": 12}
    )
    assert ok, execution_id
    ok, detail = svc.wait_for(execution_id, timeout=120)
    assert ok and detail["state"] == "succeeded", (detail.get("error_type"), detail.get("error_message"))
    assert detail["run_key"] == "ST_DEMAND_FORECAST:2027-03"
    with Session(engine) as s:
        assert list(s.scalars(select(ForecastResult.quantities))) == [[5.0, 5.0]]

"""ST_DEMAND_FORECAST: monthly demand per item from one grouped query, forecast vectorised over items.

The months × items matrix comes from a single ``GROUP BY item, month`` over the issues;
``analysis.forecast.forecast_many`` chooses the method per item (Croston SBA for intermittent
demand, else the best of moving average, SES, Holt and Holt-Winters on a hold-out). Items are
taken by code in chunks: each chunk is forecast (the next one in a worker thread while this one
is written), its rows go to the CSV files as they are (a row per item and month) and to the
snapshot table, one row per item (method, accuracy and the horizon's quantities as a JSON
list), by ``db.insert_values`` (``COPY`` on PostgreSQL), committed with a checkpoint. A resumed
run forecasts every chunk again (the files are whole) but writes to the table only the items
after its checkpoint, so each item is stored once.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from itertools import chain, repeat
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acas_batch.analysis.forecast import ForecastBatch, forecast_many
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import insert_values, stream_partitions
from acas_batch.jobs.params import Notify, OutputFormat, Period, WarehouseCode, month_of, warehouse_ids
from acas_batch.jobs.stock.common import STREAM_ROWS, month_index, replace_snapshot
from acas_batch.ledger.chart import month_start
from acas_batch.models import ForecastResult, Item, Module, MovementKind, StockMovement
from acas_batch.reports import open_csv, write_table_pdf
from acas_batch.reports.render import CsvRows

#: Items forecast and written per chunk (one checkpoint each).
CHUNK_ITEMS = 2_000
_COLUMNS = (
    "execution_id",
    "item_id",
    "method",
    "history_months",
    "holdout_months",
    "adi",
    "mae",
    "mape",
    "mase",
    "first_month",
    "quantities",
)
_ACCURACY_HEADER = ["item", "method", "history_months", "holdout_months", "adi", "mae", "mape_pct", "mase"]


class ForecastParams(BaseModel):
    """ST_DEMAND_FORECAST parameters."""

    model_config = ConfigDict(extra="forbid")

    period: Period = "CURRENT"
    warehouse: WarehouseCode = "ALL"
    horizon: int = Field(12, ge=1, le=60, description="Months forecast after the period.")
    history_months: int = Field(24, ge=2, le=60, description="Months of history, ending with the period.")
    output_format: OutputFormat = OutputFormat.CSV
    notify: Notify = Field(default_factory=Notify)


def _period_key(params: ForecastParams, business_date: date) -> str:
    key = f"{month_of(params.period, business_date):%Y-%m}"
    return key if params.warehouse == "ALL" else f"{key}/{params.warehouse}"


def demand_matrix(
    session: Session, *, first: date, last: date, warehouses: list[int] | None
) -> tuple[list[int], list[str], npt.NDArray[np.float64]]:
    """Active items by code (ids and codes) and their monthly issued quantity from ``first``'s month to ``last``'s.

    The month is grouped on as one integer (``month_index``), so rows arrive as three
    integers each and go into the matrix a partition at a time, by numpy.
    """
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    rows = session.execute(select(Item.id, Item.code).where(Item.active.is_(True)).order_by(Item.code)).all()
    ids, codes = [int(r[0]) for r in rows], [str(r[1]) for r in rows]
    y = np.zeros((len(ids), months))
    if not ids:
        return ids, codes, y
    by_id = np.argsort(np.array(ids, dtype=np.int64))
    sorted_ids = np.array(ids, dtype=np.int64)[by_id]
    day = StockMovement.movement_date
    month = month_index(day)
    q = select(StockMovement.item_id, month, func.sum(-StockMovement.quantity)).where(
        StockMovement.kind == MovementKind.ISSUE, day >= first, day <= last
    )
    if warehouses is not None:
        q = q.where(StockMovement.warehouse_id.in_(warehouses))
    base = first.year * 12 + first.month - 1
    for part in stream_partitions(session, q.group_by(StockMovement.item_id, month), STREAM_ROWS):
        a = np.fromiter(chain.from_iterable(part), dtype=np.int64, count=3 * len(part)).reshape(-1, 3)
        pos = np.minimum(np.searchsorted(sorted_ids, a[:, 0]), len(ids) - 1)
        known = sorted_ids[pos] == a[:, 0]
        y[by_id[pos[known]], a[known, 1] - base] = a[known, 2]
    return ids, codes, y


def _nums(values: npt.NDArray[np.float64]) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in np.round(values, 4).tolist()]


def _chunks(y: npt.NDArray[np.float64], horizon: int) -> Iterator[tuple[int, int, ForecastBatch]]:
    """(lo, hi, forecast of items lo..hi-1) per chunk; the next chunk is forecast in a worker
    thread while the caller writes this one (numpy and the database wait release the GIL)."""
    bounds = [(lo, min(lo + CHUNK_ITEMS, len(y))) for lo in range(0, len(y), CHUNK_ITEMS)]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="forecast") as pool:
        ahead: Future[ForecastBatch] | None = None
        for k, (lo, hi) in enumerate(bounds):
            fc = ahead.result() if ahead is not None else forecast_many(y[lo:hi], horizon)
            ahead = pool.submit(forecast_many, y[slice(*bounds[k + 1])], horizon) if k + 1 < len(bounds) else None
            yield lo, hi, fc


@job(
    "ST_DEMAND_FORECAST",
    module=Module.ST,
    params=ForecastParams,
    run_key=_period_key,
    timeout_seconds=7200,
    resources=({"name": "ledger:ST", "mode": "shared"},),
)
def demand_forecast(ctx: JobContext[ForecastParams]) -> JobResult:
    """Monthly demand forecast per item for the next ``horizon`` months, with hold-out accuracy."""
    p, s = ctx.params, ctx.session
    warehouses = warehouse_ids(s, p.warehouse)
    last = month_of(p.period, ctx.business_date)
    first = month_start(last, -(p.history_months - 1))
    end = month_start(last, 1)
    replace_snapshot(s, ForecastResult, ctx.execution_id)
    ids, codes, y = demand_matrix(s, first=first, last=date.fromordinal(end.toordinal() - 1), warehouses=warehouses)
    ctx.log.info(
        f"{len(ids)} items, {p.history_months} months of demand from {first:%Y-%m} to {last:%Y-%m}",
        event="forecast_history",
        units=int(y.sum()),
    )
    done = int((ctx.last_checkpoint or {}).get("items_done", 0))
    if done:
        ctx.log.info(f"resuming after {done} items already written", event="forecast_resumed")
    months = [month_start(last, j + 1) for j in range(p.horizon)]
    methods: Counter[str] = Counter()
    units = 0.0
    forecast_csv, accuracy_csv = ctx.output("demand_forecast.csv"), ctx.output("forecast_accuracy.csv")
    with (
        open_csv(forecast_csv, ["item", "month", "quantity"]) as f_out,
        open_csv(accuracy_csv, _ACCURACY_HEADER) as a_out,
    ):
        for lo, hi, fc in _chunks(y, p.horizon):
            methods.update(m.value for m in fc.methods)
            units += float(fc.forecasts.sum())
            _write_chunk(ctx, ids[lo:hi], codes[lo:hi], fc, months=months, out=(f_out, a_out), skip=max(done - lo, 0))
            if hi > done:
                ctx.progress(hi, len(ids))
                ctx.checkpoint({"items_done": hi})
    for method, n in sorted(methods.items()):
        ctx.log.info(f"{n} items forecast by {method}", event="forecast_method", method=method, items=n)
    files = [str(forecast_csv), str(accuracy_csv)]
    if p.output_format.pdf:
        files.append(str(_pdf(ctx, methods)))
    return JobResult(
        summary=f"{len(ids)} items forecast for {p.horizon} months after {last:%Y-%m}",
        counts={"items": len(ids), **{f"method_{k}": v for k, v in methods.items()}},
        files=files,
        data={"history_from": first.isoformat(), "forecast_units": round(units)},
    )


def _write_chunk(
    ctx: JobContext[ForecastParams],
    ids: list[int],
    codes: list[str],
    fc: ForecastBatch,
    *,
    months: list[date],
    out: tuple[CsvRows, CsvRows],
    skip: int,
) -> None:
    """One chunk's rows to both CSV files (a row per item and month, a row per item), and (but
    for its first ``skip`` items, already stored by an earlier attempt) one row per item to the
    snapshot table."""
    h, (f_out, a_out) = len(months), out
    numbers = _number_text(np.round(fc.forecasts, 3))
    iso = [m.isoformat() for m in months]  # as the CSV shows them and both databases take them
    f_out.write_grid(codes, iso, np.array(numbers, dtype=object).reshape(len(ids), h))
    method = [m.value for m in fc.methods]
    history, holdout = ctx.params.history_months, fc.holdout
    adi, mae, mape, mase = _nums(fc.adi), _nums(fc.mae), _nums(fc.mape), _nums(fc.mase)
    accuracy = list(zip(method, repeat(history), repeat(holdout), adi, mae, mape, mase, strict=False))
    a_out.writerows((code, *row) for code, row in zip(codes, accuracy, strict=True))
    if skip >= len(ids):
        return
    e, first = ctx.execution_id, iso[0]
    insert_values(
        ctx.session,
        ForecastResult,
        _COLUMNS,
        (
            (e, item, *row, first, quantities)
            for item, row, quantities in zip(ids[skip:], accuracy[skip:], _json_lists(numbers, h, skip), strict=True)
        ),
        processed=True,
    )


def _number_text(values: npt.NDArray[np.float64]) -> list[str]:
    """Each value of ``values``, row after row, as ``str`` writes it (so as ``csv.writer`` and JSON
    do): one ``json.dumps`` of them all, split, rather than a call per value. The CSV and the
    table's JSON lists are both made from this text."""
    if not np.isfinite(values).all():  # JSON has no NaN or infinity
        raise ValueError("a forecast quantity is not a finite number")
    return json.dumps(values.ravel().tolist())[1:-1].split(", ") if values.size else []


def _json_lists(numbers: list[str], h: int, skip: int) -> Iterator[str]:
    """The JSON list of each row of ``h`` numbers (``_number_text``), from row ``skip`` on."""
    return (f"[{','.join(numbers[i : i + h])}]" for i in range(skip * h, len(numbers), h))


def _pdf(ctx: JobContext[ForecastParams], methods: Counter[str]) -> Any:
    return write_table_pdf(
        ctx.output("demand_forecast.pdf"),
        title="Demand forecast: methods chosen",
        subtitle=f"Period {month_of(ctx.params.period, ctx.business_date):%Y-%m}, horizon {ctx.params.horizon} months",
        columns=["Method", "Items"],
        rows=sorted(methods.items()),
        totals=["Total", sum(methods.values())],
    )

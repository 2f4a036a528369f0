"""ST_DEMAND_FORECAST: monthly demand per item from one grouped query, forecast vectorised over items.

The months × items matrix comes from a single ``GROUP BY item, year, month`` over the issues;
``analysis.forecast.forecast_many`` chooses the method per item (Croston SBA for intermittent
demand, else the best of moving average, SES, Holt and Holt-Winters on a hold-out). Forecasts
and accuracy are written in chunks of items, each committed with a checkpoint, so a crash
resumes after the last chunk written.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from acas_batch.analysis.forecast import ForecastBatch, forecast_many
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import insert_rows
from acas_batch.jobs.params import Notify, OutputFormat, Period, WarehouseCode, month_of, warehouse_ids
from acas_batch.jobs.stock_common import replace_snapshot, stream
from acas_batch.ledger.chart import month_start
from acas_batch.models import ForecastAccuracy, ForecastResult, Item, Module, MovementKind, StockMovement
from acas_batch.reports import write_csv, write_table_pdf

#: Items written per chunk (one checkpoint each).
CHUNK_ITEMS = 500


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
) -> tuple[list[int], npt.NDArray[np.float64]]:
    """Active item ids (by id) and their monthly issued quantity from ``first``'s month to ``last``'s."""
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    items = list(session.scalars(select(Item.id).where(Item.active.is_(True)).order_by(Item.id)))
    row = {item: i for i, item in enumerate(items)}
    y = np.zeros((len(items), months))
    year, month = extract("year", StockMovement.movement_date), extract("month", StockMovement.movement_date)
    q = select(StockMovement.item_id, year, month, func.sum(-StockMovement.quantity)).where(
        StockMovement.kind == MovementKind.ISSUE,
        StockMovement.movement_date >= first,
        StockMovement.movement_date <= last,
    )
    if warehouses is not None:
        q = q.where(StockMovement.warehouse_id.in_(warehouses))
    for item, yy, mm, qty in stream(session, q.group_by(StockMovement.item_id, year, month)):
        if item in row:
            y[row[item], (int(yy) - first.year) * 12 + int(mm) - first.month] = float(qty)
    return items, y


def _num(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(float(value), 4)


def _rows(
    ctx: JobContext[ForecastParams], items: list[int], fc: ForecastBatch, *, lo: int, hi: int, after: date
) -> None:
    months = [month_start(after, j + 1) for j in range(fc.forecasts.shape[1])]
    insert_rows(
        ctx.session,
        ForecastResult,
        (
            {"execution_id": ctx.execution_id, "item_id": items[i], "month": m, "quantity": round(float(q), 3)}
            for i in range(lo, hi)
            for m, q in zip(months, fc.forecasts[i], strict=True)
        ),
    )
    insert_rows(
        ctx.session,
        ForecastAccuracy,
        [
            {
                "execution_id": ctx.execution_id,
                "item_id": items[i],
                "method": fc.methods[i].value,
                "history_months": ctx.params.history_months,
                "holdout_months": fc.holdout,
                "adi": _num(fc.adi[i]),
                "mae": _num(fc.mae[i]),
                "mape": _num(fc.mape[i]),
                "mase": _num(fc.mase[i]),
            }
            for i in range(lo, hi)
        ],
    )


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
    replace_snapshot(s, ForecastAccuracy, ctx.execution_id)
    items, y = demand_matrix(s, first=first, last=date.fromordinal(end.toordinal() - 1), warehouses=warehouses)
    ctx.log.info(
        f"{len(items)} items, {p.history_months} months of demand from {first:%Y-%m} to {last:%Y-%m}",
        event="forecast_history",
        units=int(y.sum()),
    )
    done = int((ctx.last_checkpoint or {}).get("items_done", 0))
    fc = forecast_many(y, p.horizon) if items else None
    if fc is not None:
        if done:
            ctx.log.info(f"resuming after {done} items already written", event="forecast_resumed")
        for lo in range(done, len(items), CHUNK_ITEMS):
            hi = min(lo + CHUNK_ITEMS, len(items))
            _rows(ctx, items, fc, lo=lo, hi=hi, after=last)
            ctx.progress(hi, len(items))
            ctx.checkpoint({"items_done": hi})
    methods = Counter(m.value for m in fc.methods) if fc is not None else Counter[str]()
    for method, n in sorted(methods.items()):
        ctx.log.info(f"{n} items forecast by {method}", event="forecast_method", method=method, items=n)
    files = _files(ctx, methods)
    horizon_units = round(float(fc.forecasts.sum())) if fc is not None else 0
    return JobResult(
        summary=f"{len(items)} items forecast for {p.horizon} months after {last:%Y-%m}",
        counts={"items": len(items), **{f"method_{k}": v for k, v in methods.items()}},
        files=files,
        data={"history_from": first.isoformat(), "forecast_units": horizon_units},
    )


def _files(ctx: JobContext[ForecastParams], methods: Counter[str]) -> list[str]:
    mine_f = ForecastResult.execution_id == ctx.execution_id
    mine_a = ForecastAccuracy.execution_id == ctx.execution_id
    fq = (
        select(Item.code, ForecastResult.month, ForecastResult.quantity)
        .join(Item, Item.id == ForecastResult.item_id)
        .where(mine_f)
        .order_by(Item.code, ForecastResult.month)
    )
    aq: Any = (
        select(
            Item.code,
            ForecastAccuracy.method,
            ForecastAccuracy.history_months,
            ForecastAccuracy.holdout_months,
            ForecastAccuracy.adi,
            ForecastAccuracy.mae,
            ForecastAccuracy.mape,
            ForecastAccuracy.mase,
        )
        .join(Item, Item.id == ForecastAccuracy.item_id)
        .where(mine_a)
        .order_by(Item.code)
    )
    forecast_csv, accuracy_csv = ctx.output("demand_forecast.csv"), ctx.output("forecast_accuracy.csv")
    write_csv(forecast_csv, ["item", "month", "quantity"], stream(ctx.session, fq))
    header = ["item", "method", "history_months", "holdout_months", "adi", "mae", "mape_pct", "mase"]
    write_csv(accuracy_csv, header, stream(ctx.session, aq))
    files: list[Path] = [forecast_csv, accuracy_csv]
    if ctx.params.output_format.pdf:
        files.append(
            write_table_pdf(
                ctx.output("demand_forecast.pdf"),
                title="Demand forecast: methods chosen",
                subtitle=f"Period {month_of(ctx.params.period, ctx.business_date):%Y-%m}, horizon "
                f"{ctx.params.horizon} months",
                columns=["Method", "Items"],
                rows=sorted(methods.items()),
                totals=["Total", sum(methods.values())],
            )
        )
    return [str(f) for f in files]

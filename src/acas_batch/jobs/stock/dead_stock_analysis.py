"""ST_DEAD_STOCK_ANALYSIS: stock that sits, the value it ties up and how old it is.

One statement over stock levels, movements and lots finds every line on hand idle for
``slow_days`` or more and writes the snapshot with ``INSERT ... SELECT``; Python only reads
totals back for the log, the CSV and the PDF. Nothing in the ledger changes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import and_, case, func, insert, literal, select

from acas_batch.analysis.money import format_pounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.jobs.params import Notify, OutputFormat, WarehouseCode, warehouse_ids
from acas_batch.jobs.stock.common import days_between, replace_snapshot, stream, warehouse_day_key
from acas_batch.models import (
    DeadStockResult,
    Item,
    Lot,
    Module,
    MovementKind,
    StockAge,
    StockLevel,
    StockMovement,
    Warehouse,
)
from acas_batch.reports import write_csv, write_table_pdf

_ST = ({"name": "ledger:ST", "mode": "shared"},)


class DeadStockParams(BaseModel):
    """ST_DEAD_STOCK_ANALYSIS parameters."""

    model_config = ConfigDict(extra="forbid")

    warehouse: WarehouseCode = "ALL"
    dead_days: int = Field(180, ge=1, le=3650, description="Days without an issue after which stock is dead.")
    slow_days: int = Field(90, ge=1, le=3650, description="Days without an issue after which stock is slow.")
    output_format: OutputFormat = OutputFormat.BOTH
    notify: Notify = Field(default_factory=Notify)

    @model_validator(mode="after")
    def _ordered(self) -> DeadStockParams:
        if self.slow_days >= self.dead_days:
            raise ValueError(f"slow_days ({self.slow_days}) must be below dead_days ({self.dead_days})")
        return self


def dead_stock_select(*, business_date: date, warehouses: list[int] | None, slow_days: int, dead_days: int) -> Any:
    """Per stock line on hand idle for ``slow_days`` or more: its figures and whether it is dead or slow.

    Idle since the last issue on or before the business date; a line never issued is idle
    since the receipt of its oldest lot on hand (it came in and has never gone out).
    """
    day = literal(business_date)
    upto = StockMovement.movement_date <= business_date
    key = (StockMovement.item_id, StockMovement.warehouse_id)
    moved = (
        select(
            *key,
            func.max(case((StockMovement.kind == MovementKind.ISSUE, StockMovement.movement_date))).label("issue"),
            func.max(StockMovement.movement_date).label("any"),
        )
        .where(upto)
        .group_by(*key)
        .subquery("moved")
    )
    lots = (
        select(
            Lot.item_id,
            Lot.warehouse_id,
            func.min(Lot.received_on).label("oldest"),
            func.sum(Lot.quantity_on_hand).label("qty"),
            func.sum(Lot.quantity_on_hand * days_between(Lot.received_on, day)).label("qty_days"),
        )
        .where(Lot.quantity_on_hand > 0)
        .group_by(Lot.item_id, Lot.warehouse_id)
        .subquery("lots")
    )
    idle_since = func.coalesce(moved.c.issue, lots.c.oldest, moved.c.any, day)
    # Quantity-weighted age, rounded half-up to whole days.
    age = case(
        (lots.c.qty > 0, (2 * lots.c.qty_days + lots.c.qty) // (2 * lots.c.qty)),
        else_=0,
    )
    lines = (
        select(
            StockLevel.item_id,
            StockLevel.warehouse_id,
            StockLevel.quantity,
            StockLevel.value_pence,
            moved.c.issue.label("last_issue_on"),
            moved.c.any.label("last_movement_on"),
            idle_since.label("idle_since"),
            days_between(idle_since, day).label("idle_days"),
            lots.c.oldest.label("oldest_lot_on"),
            age.label("average_age_days"),
        )
        .outerjoin(moved, and_(moved.c.item_id == StockLevel.item_id, moved.c.warehouse_id == StockLevel.warehouse_id))
        .outerjoin(lots, and_(lots.c.item_id == StockLevel.item_id, lots.c.warehouse_id == StockLevel.warehouse_id))
        .where(StockLevel.quantity > 0)
    )
    if warehouses is not None:
        lines = lines.where(StockLevel.warehouse_id.in_(warehouses))
    sub = lines.subquery("idle")
    status = case((sub.c.idle_days >= dead_days, StockAge.DEAD.value), else_=StockAge.SLOW.value)
    return select(
        sub.c.item_id,
        sub.c.warehouse_id,
        status,
        sub.c.quantity,
        sub.c.value_pence,
        sub.c.last_issue_on,
        sub.c.last_movement_on,
        sub.c.idle_since,
        sub.c.idle_days,
        sub.c.oldest_lot_on,
        sub.c.average_age_days,
    ).where(sub.c.idle_days >= slow_days)


@job(
    "ST_DEAD_STOCK_ANALYSIS",
    module=Module.ST,
    params=DeadStockParams,
    run_key=warehouse_day_key,
    timeout_seconds=1800,
    resources=_ST,
)
def dead_stock_analysis(ctx: JobContext[DeadStockParams]) -> JobResult:
    """Dead and slow-moving stock per item and warehouse: value tied up, last issue and movement, age."""
    p, s = ctx.params, ctx.session
    warehouses = warehouse_ids(s, p.warehouse)
    replaced = replace_snapshot(s, DeadStockResult, ctx.execution_id)
    inner = dead_stock_select(
        business_date=ctx.business_date, warehouses=warehouses, slow_days=p.slow_days, dead_days=p.dead_days
    ).subquery()
    s.execute(
        insert(DeadStockResult).from_select(
            [
                DeadStockResult.execution_id,
                DeadStockResult.item_id,
                DeadStockResult.warehouse_id,
                DeadStockResult.status,
                DeadStockResult.quantity,
                DeadStockResult.value_pence,
                DeadStockResult.last_issue_on,
                DeadStockResult.last_movement_on,
                DeadStockResult.idle_since,
                DeadStockResult.idle_days,
                DeadStockResult.oldest_lot_on,
                DeadStockResult.average_age_days,
            ],
            select(literal(ctx.execution_id), *inner.c),
        )
    )
    ctx.progress(1, 3)
    totals_by = {
        StockAge(status): (int(n), int(v or 0))
        for status, n, v in s.execute(
            select(DeadStockResult.status, func.count(), func.sum(DeadStockResult.value_pence))
            .where(DeadStockResult.execution_id == ctx.execution_id)
            .group_by(DeadStockResult.status)
        )
    }
    level = select(func.coalesce(func.sum(StockLevel.value_pence), 0))
    if warehouses is not None:
        level = level.where(StockLevel.warehouse_id.in_(warehouses))
    stock_value = int(s.scalar(level) or 0)
    dead_n, dead_v = totals_by.get(StockAge.DEAD, (0, 0))
    slow_n, slow_v = totals_by.get(StockAge.SLOW, (0, 0))
    notes = [
        f"Dead (no issue for {p.dead_days}+ days): {dead_n} lines, {format_pounds(dead_v)} "
        f"of {format_pounds(stock_value)} stock ({_share(dead_v, stock_value)}).",
        f"Slow ({p.slow_days}-{p.dead_days - 1} days): {slow_n} lines, {format_pounds(slow_v)} "
        f"({_share(slow_v, stock_value)}).",
    ]
    for note in notes:
        ctx.log.info(note, event="dead_stock_total")
    if replaced:
        ctx.log.info(f"replaced {replaced} rows of an earlier run of this run key")
    ctx.progress(2, 3)
    files = _dead_stock_files(ctx, notes)
    ctx.progress(3, 3)
    return JobResult(
        summary=f"{dead_n} dead line(s) worth {format_pounds(dead_v)}, {slow_n} slow worth {format_pounds(slow_v)}",
        counts={"dead_lines": dead_n, "slow_lines": slow_n},
        totals={"dead_value": dead_v, "slow_value": slow_v, "stock_value": stock_value},
        files=files,
    )


def _share(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f}%" if whole else "0.0%"


def _dead_stock_files(ctx: JobContext[DeadStockParams], notes: list[str]) -> list[str]:
    q = (
        select(
            DeadStockResult.status,
            Item.code,
            Item.description,
            Warehouse.code,
            Item.abc_class,
            DeadStockResult.quantity,
            DeadStockResult.value_pence,
            DeadStockResult.last_issue_on,
            DeadStockResult.last_movement_on,
            DeadStockResult.idle_days,
            DeadStockResult.oldest_lot_on,
            DeadStockResult.average_age_days,
        )
        .join(Item, Item.id == DeadStockResult.item_id)
        .join(Warehouse, Warehouse.id == DeadStockResult.warehouse_id)
        .where(DeadStockResult.execution_id == ctx.execution_id)
        .order_by(DeadStockResult.status, DeadStockResult.value_pence.desc(), Item.code, Warehouse.code)
    )
    path = ctx.output("dead_stock.csv")
    header = ["status", "item", "description", "warehouse", "class", "quantity", "value_pence", "last_issue"]
    write_csv(path, [*header, "last_movement", "idle_days", "oldest_lot", "average_age_days"], stream(ctx.session, q))
    files = [str(path)]
    if ctx.params.output_format.pdf:
        rows = [
            [st, it, wh, qty, val, issue or "never", idle, age]
            for st, it, _d, wh, _c, qty, val, issue, _m, idle, _o, age in ctx.session.execute(q)
        ]
        files.append(
            str(
                write_table_pdf(
                    ctx.output("dead_stock.pdf"),
                    title="Dead and slow-moving stock",
                    subtitle=f"At {ctx.business_date:%d/%m/%Y}, warehouse {ctx.params.warehouse}",
                    columns=["Status", "Item", "Warehouse", "Quantity", "Value", "Last issue", "Idle days", "Age"],
                    rows=rows,
                    money_columns=[4],
                    totals=["Total", "", "", sum(r[3] for r in rows), sum(r[4] for r in rows), "", "", ""],
                    notes=notes,
                )
            )
        )
    return files

"""ST_REORDER_CALCULATION: reorder points, safety stock and EOQ per item and warehouse.

One grouped query gives, per stock level, the sum and the sum of squares of daily issues
over the history window (days without issues count as zero), the stock on order and the
allocations; ``analysis.inventory`` turns them into a suggestion. Results are written in
keyset pages, each committed with a checkpoint.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acas_batch.analysis.inventory import demand_stats, eoq, reorder_point, safety_stock, suggest_order
from acas_batch.analysis.inventory import z_for_service_level as z_for
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import insert_rows
from acas_batch.jobs.params import Notify, OutputFormat, WarehouseCode, warehouse_ids
from acas_batch.jobs.stock.common import replace_snapshot, stream, warehouse_day_key
from acas_batch.models import (
    Item,
    Module,
    MovementKind,
    OrderStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderResult,
    StockLevel,
    StockMovement,
    Supplier,
    Warehouse,
)
from acas_batch.reports import write_csv, write_table_pdf

#: Result rows written per checkpoint.
CHUNK_ROWS = 2_000


class ReorderParams(BaseModel):
    """ST_REORDER_CALCULATION parameters."""

    model_config = ConfigDict(extra="forbid")

    warehouse: WarehouseCode = "ALL"
    history_days: int = Field(365, ge=2, le=1095, description="Days of issues the demand is measured over.")
    service_level: float = Field(0.95, ge=0.5, lt=1, description="Cycle service level; 0.95 gives z = 1.645.")
    order_cost: int = Field(2500, ge=0, description="Cost of placing one order, pence.")
    holding_rate: Decimal = Field(Decimal("0.25"), gt=0, le=5, description="Yearly holding cost / unit cost.")
    output_format: OutputFormat = OutputFormat.CSV
    notify: Notify = Field(default_factory=Notify)


def levels_select(ctx: JobContext[ReorderParams], warehouses: list[int] | None) -> Any:
    """Per stock level of an active item: demand sums, stock position, costing and ordering data."""
    p = ctx.params
    since = ctx.business_date - timedelta(days=p.history_days)
    daily = (
        select(
            StockMovement.item_id,
            StockMovement.warehouse_id,
            func.sum(-StockMovement.quantity).label("q"),
        )
        .where(
            StockMovement.kind == MovementKind.ISSUE,
            StockMovement.movement_date > since,
            StockMovement.movement_date <= ctx.business_date,
        )
        .group_by(StockMovement.item_id, StockMovement.warehouse_id, StockMovement.movement_date)
        .subquery("daily")
    )
    demand = (
        select(
            daily.c.item_id,
            daily.c.warehouse_id,
            func.sum(daily.c.q).label("total"),
            func.sum(daily.c.q * daily.c.q).label("squares"),
        )
        .group_by(daily.c.item_id, daily.c.warehouse_id)
        .subquery("demand")
    )
    on_order = (
        select(
            PurchaseOrderLine.item_id,
            PurchaseOrder.warehouse_id,
            func.sum(PurchaseOrderLine.quantity_ordered - PurchaseOrderLine.quantity_received).label("qty"),
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
        .where(PurchaseOrder.status.in_([OrderStatus.OPEN, OrderStatus.PART_RECEIVED]))
        .group_by(PurchaseOrderLine.item_id, PurchaseOrder.warehouse_id)
        .subquery("on_order")
    )
    on = (StockLevel.item_id == demand.c.item_id) & (StockLevel.warehouse_id == demand.c.warehouse_id)
    ordered = (StockLevel.item_id == on_order.c.item_id) & (StockLevel.warehouse_id == on_order.c.warehouse_id)
    q = (
        select(
            StockLevel.item_id,
            StockLevel.warehouse_id,
            Item.supplier_id,
            Item.lead_time_days,
            Item.pack_size,
            Item.standard_cost_pence,
            StockLevel.quantity,
            StockLevel.value_pence,
            StockLevel.allocated_qty,
            func.coalesce(demand.c.total, 0),
            func.coalesce(demand.c.squares, 0),
            func.coalesce(on_order.c.qty, 0),
        )
        .join(Item, Item.id == StockLevel.item_id)
        .outerjoin(demand, on)
        .outerjoin(on_order, ordered)
        .where(Item.active.is_(True))
        .order_by(StockLevel.item_id, StockLevel.warehouse_id)
    )
    if warehouses is not None:
        q = q.where(StockLevel.warehouse_id.in_(warehouses))
    return q


def _result(ctx: JobContext[ReorderParams], row: Any, z: float) -> dict[str, Any]:
    p = ctx.params
    item, wh, supplier, lead, pack, standard, qty, value, allocated, total, squares, on_order = row
    stats = demand_stats(p.history_days, float(total), float(squares))
    unit_cost = int(value) // int(qty) if qty else int(standard)
    available = int(qty) + int(on_order) - int(allocated)
    suggestion = suggest_order(
        stats,
        lead_time_days=lead,
        z=z,
        available=available,
        order_cost_pence=p.order_cost,
        unit_cost_pence=unit_cost,
        holding_rate=p.holding_rate,
        pack_size=pack,
    )
    suggested = suggestion.quantity if suggestion else 0
    return {
        "execution_id": ctx.execution_id,
        "item_id": item,
        "warehouse_id": wh,
        "supplier_id": supplier,
        "mean_daily": round(stats.mean, 6),
        "stdev_daily": round(stats.stdev, 6),
        "lead_time_days": lead,
        "safety_stock": round(safety_stock(stats, lead, z), 4),
        "reorder_point": round(reorder_point(stats, lead, z), 4),
        "eoq": round(eoq(stats.annual, p.order_cost, unit_cost, p.holding_rate), 4) if unit_cost > 0 else 0.0,
        "available": available,
        "suggested_qty": suggested,
        "unit_cost_pence": unit_cost,
        "order_value_pence": suggested * unit_cost,
    }


@job(
    "ST_REORDER_CALCULATION",
    module=Module.ST,
    params=ReorderParams,
    run_key=warehouse_day_key,
    timeout_seconds=3600,
    resources=({"name": "ledger:ST", "mode": "shared"},),
)
def reorder_calculation(ctx: JobContext[ReorderParams]) -> JobResult:
    """Reorder point, safety stock and EOQ per item and warehouse; suggestions grouped by supplier."""
    p, s = ctx.params, ctx.session
    warehouses = warehouse_ids(s, p.warehouse)
    z = z_for(p.service_level)
    replace_snapshot(s, ReorderResult, ctx.execution_id)
    state = ctx.last_checkpoint or {}
    done, after = int(state.get("rows_done", 0)), state.get("after")
    total_rows = int(s.scalar(select(func.count()).select_from(levels_select(ctx, warehouses).subquery())) or 0)
    # Keyset pages, each committed with its checkpoint: no cursor stays open across a commit,
    # and a retry starts after the last page written.
    while True:
        q = levels_select(ctx, warehouses)
        if after is not None:
            item, wh = after
            q = q.where((StockLevel.item_id > item) | ((StockLevel.item_id == item) & (StockLevel.warehouse_id > wh)))
        rows = s.execute(q.limit(CHUNK_ROWS)).all()
        if not rows:
            break
        insert_rows(s, ReorderResult, [_result(ctx, row, z) for row in rows])
        done, after = done + len(rows), [rows[-1][0], rows[-1][1]]
        ctx.progress(done, total_rows)
        ctx.checkpoint({"rows_done": done, "after": after})
        if len(rows) < CHUNK_ROWS:
            break
    mine = ReorderResult.execution_id == ctx.execution_id
    n, suggested, value = s.execute(
        select(
            func.count(),
            func.count().filter(ReorderResult.suggested_qty > 0),
            func.sum(ReorderResult.order_value_pence),
        ).where(mine)
    ).one()
    suppliers = int(
        s.scalar(
            select(func.count(func.distinct(ReorderResult.supplier_id))).where(mine, ReorderResult.suggested_qty > 0)
        )
        or 0
    )
    ctx.log.info(
        f"{n} stock lines evaluated; {suggested} at or below their reorder point, "
        f"to order from {suppliers} supplier(s), value {int(value or 0)} pence",
        event="reorder_suggestions",
    )
    files = _files(ctx, s)
    return JobResult(
        summary=f"{suggested} reorder suggestion(s) from {suppliers} supplier(s)",
        counts={"lines": int(n), "suggestions": int(suggested), "suppliers": suppliers},
        totals={"order_value": int(value or 0)},
        files=files,
    )


def _files(ctx: JobContext[ReorderParams], s: Session) -> list[str]:
    q = (
        select(
            func.coalesce(Supplier.code, ""),
            Item.code,
            Warehouse.code,
            ReorderResult.available,
            ReorderResult.reorder_point,
            ReorderResult.eoq,
            ReorderResult.suggested_qty,
            ReorderResult.unit_cost_pence,
            ReorderResult.order_value_pence,
        )
        .join(Item, Item.id == ReorderResult.item_id)
        .join(Warehouse, Warehouse.id == ReorderResult.warehouse_id)
        .outerjoin(Supplier, Supplier.id == ReorderResult.supplier_id)
        .where(ReorderResult.execution_id == ctx.execution_id, ReorderResult.suggested_qty > 0)
        .order_by(func.coalesce(Supplier.code, ""), Item.code, Warehouse.code)
    )
    path = ctx.output("reorder_suggestions.csv")
    header = ["supplier", "item", "warehouse", "available", "reorder_point", "eoq", "quantity", "unit_cost_pence"]
    write_csv(path, [*header, "value_pence"], stream(s, q))
    files = [str(path)]
    if ctx.params.output_format.pdf:
        rows = [[sup, it, wh, av, f"{rop:.1f}", qty, val] for sup, it, wh, av, rop, _e, qty, _c, val in s.execute(q)]
        files.append(
            str(
                write_table_pdf(
                    ctx.output("reorder_suggestions.pdf"),
                    title="Reorder suggestions",
                    subtitle=f"At {ctx.business_date:%d/%m/%Y}, by supplier",
                    columns=["Supplier", "Item", "Warehouse", "Available", "Reorder point", "Order qty", "Value"],
                    rows=rows,
                    money_columns=[6],
                    totals=["Total", "", "", "", "", sum(r[5] for r in rows), sum(r[6] for r in rows)],
                )
            )
        )
    return files

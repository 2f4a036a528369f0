"""ST_DEAD_STOCK_ANALYSIS and ST_EXPIRY_MONITORING: stock that sits, and stock that goes off.

Both compute in one statement over stock levels, movements and lots, and write their
snapshot with ``INSERT ... SELECT``. The expiry job also quarantines expired lots with one
``UPDATE`` guarded by ``quarantined = false``, in the same transaction as its snapshot: a
rerun finds nothing left to quarantine, and a failure leaves nothing half done.
Quarantine blocks picking (``ledger.stock.plan_issue`` skips quarantined lots) but does not
change the stock's value: no journal is posted, the stock account still equals valuation.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import and_, case, func, insert, literal, select, update
from sqlalchemy.orm import Session

from acas_batch.analysis.money import format_pounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import rowcount
from acas_batch.jobs.stock_common import days_between, replace_snapshot, stream, warehouse_day_key
from acas_batch.jobs.stock_params import Notify, OutputFormat, WarehouseParam, warehouse_ids
from acas_batch.models import (
    AlertSeverity,
    BatchExecution,
    CostMethod,
    DeadStockResult,
    ExpiryResult,
    Item,
    Lot,
    Module,
    MovementKind,
    StockAge,
    StockLevel,
    StockMovement,
    Warehouse,
)
from acas_batch.monitoring.alerts import raise_alert
from acas_batch.monitoring.findings import Finding
from acas_batch.reports import write_csv, write_table_pdf

_ST = ({"name": "ledger:ST", "mode": "shared"},)
_ST_WRITE = ({"name": "ledger:ST", "mode": "exclusive"},)  # expiry quarantines lots


# ---- dead and slow-moving stock -----------------------------------------------------------


class DeadStockParams(BaseModel):
    """ST_DEAD_STOCK_ANALYSIS parameters."""

    model_config = ConfigDict(extra="forbid")

    warehouse: WarehouseParam = "ALL"
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


# ---- expiry ---------------------------------------------------------------------------------


def _bands(value: list[int]) -> list[int]:
    if not value:
        raise ValueError("warn_days needs at least one number of days")
    if any(d < 1 or d > 3650 for d in value):
        raise ValueError(f"warn_days {value} must be between 1 and 3650 days")
    if len(set(value)) != len(value):
        raise ValueError(f"warn_days {value} holds a number twice")
    return sorted(value)


class ExpiryParams(BaseModel):
    """ST_EXPIRY_MONITORING parameters."""

    model_config = ConfigDict(extra="forbid")

    warehouse: WarehouseParam = "ALL"
    warn_days: Annotated[list[int], AfterValidator(_bands)] = Field(
        default_factory=lambda: [30, 60, 90], description="Warning bands: days until expiry."
    )
    output_format: OutputFormat = OutputFormat.CSV
    notify: Notify = Field(default_factory=Notify)


def lot_value() -> Any:
    """The value a lot's stock is carried at: its receipt cost (FIFO), the standard cost, or its share
    of the line's average value (rounded half-up, as ``ledger.money.pro_rata`` costs an issue)."""
    qty = Lot.quantity_on_hand
    return case(
        (Item.cost_method == CostMethod.FIFO, qty * Lot.unit_cost_pence),
        (Item.cost_method == CostMethod.STANDARD, qty * Item.standard_cost_pence),
        (
            StockLevel.quantity > 0,
            (2 * StockLevel.value_pence * qty + StockLevel.quantity) // (2 * StockLevel.quantity),
        ),
        else_=0,
    )


def expiry_select(*, business_date: date, warehouses: list[int] | None, bands: list[int]) -> Any:
    """Lots with stock that expired before the business date or expire within the last band."""
    day = literal(business_date)
    left = days_between(day, Lot.expiry_date)
    band = case(
        (Lot.expiry_date < business_date, 0),
        *((left <= b, b) for b in bands),
    )
    q = (
        select(
            Lot.id,
            Lot.item_id,
            Lot.warehouse_id,
            Lot.expiry_date,
            left,
            band,
            Lot.quantity_on_hand,
            lot_value(),
            Lot.quarantined,
        )
        .join(Item, Item.id == Lot.item_id)
        .outerjoin(StockLevel, and_(StockLevel.item_id == Lot.item_id, StockLevel.warehouse_id == Lot.warehouse_id))
        .where(
            Lot.quantity_on_hand > 0,
            Lot.expiry_date.is_not(None),
            Lot.expiry_date <= business_date + timedelta(days=bands[-1]),
        )
    )
    if warehouses is not None:
        q = q.where(Lot.warehouse_id.in_(warehouses))
    return q


def quarantine_expired(session: Session, *, business_date: date, warehouses: list[int] | None) -> int:
    """Quarantine every lot with stock whose expiry date is before ``business_date``; returns how many.

    A lot is usable up to and including its expiry date. Lots already quarantined are not
    touched, so running it again quarantines nothing twice.
    """
    q = update(Lot).where(
        Lot.quantity_on_hand > 0,
        Lot.expiry_date < business_date,
        Lot.quarantined.is_(False),
    )
    if warehouses is not None:
        q = q.where(Lot.warehouse_id.in_(warehouses))
    return rowcount(session.execute(q.values(quarantined=True).execution_options(synchronize_session=False)))


@job(
    "ST_EXPIRY_MONITORING",
    module=Module.ST,
    params=ExpiryParams,
    run_key=warehouse_day_key,
    timeout_seconds=1800,
    resources=_ST_WRITE,
)
def expiry_monitoring(ctx: JobContext[ExpiryParams]) -> JobResult:
    """Quarantines expired lots (with an alert); lists lots expiring within the warning bands with value at risk."""
    p, s = ctx.params, ctx.session
    warehouses = warehouse_ids(s, p.warehouse)
    replace_snapshot(s, ExpiryResult, ctx.execution_id)
    quarantined = quarantine_expired(s, business_date=ctx.business_date, warehouses=warehouses)
    ctx.progress(1, 3)
    inner = expiry_select(business_date=ctx.business_date, warehouses=warehouses, bands=p.warn_days).subquery()
    s.execute(
        insert(ExpiryResult).from_select(
            [
                ExpiryResult.execution_id,
                ExpiryResult.lot_id,
                ExpiryResult.item_id,
                ExpiryResult.warehouse_id,
                ExpiryResult.expiry_date,
                ExpiryResult.days_left,
                ExpiryResult.band_days,
                ExpiryResult.quantity,
                ExpiryResult.value_pence,
                ExpiryResult.quarantined,
            ],
            select(literal(ctx.execution_id), *inner.c),
        )
    )
    bands = {
        int(band): (int(n), int(q or 0), int(v or 0))
        for band, n, q, v in s.execute(
            select(
                ExpiryResult.band_days,
                func.count(),
                func.sum(ExpiryResult.quantity),
                func.sum(ExpiryResult.value_pence),
            )
            .where(ExpiryResult.execution_id == ctx.execution_id)
            .group_by(ExpiryResult.band_days)
        )
    }
    ctx.progress(2, 3)
    expired_n, expired_q, expired_v = bands.get(0, (0, 0, 0))
    ctx.log.info(
        f"{expired_n} expired lot(s) with stock ({expired_q} units, {format_pounds(expired_v)}) are quarantined; "
        f"{quarantined} newly quarantined by this run",
        event="expiry_quarantine",
        lots=expired_n,
        newly=quarantined,
        value=expired_v,
    )
    for b in p.warn_days:
        n, q, v = bands.get(b, (0, 0, 0))
        ctx.log.info(
            f"expiring within {b} days: {n} lot(s), {q} units, {format_pounds(v)} at risk", event="expiry_band"
        )
    if quarantined:
        reason = f"{quarantined} expired lot(s) quarantined at {ctx.business_date.isoformat()}"
        ctx.log.warning(reason, event="lots_quarantined", lots=quarantined)
        _alert(ctx, quarantined, expired_q, expired_v)
        ctx.warn_outcome(reason)
    files = _expiry_files(ctx)
    ctx.progress(3, 3)
    warned = {f"within_{b}_days": bands.get(b, (0, 0, 0))[0] for b in p.warn_days}
    at_risk = {f"value_within_{b}_days": bands.get(b, (0, 0, 0))[2] for b in p.warn_days}
    return JobResult(
        summary=f"{expired_n} expired lot(s) quarantined ({quarantined} new); "
        f"{sum(warned.values())} lot(s) expiring within {p.warn_days[-1]} days",
        counts={"expired_lots": expired_n, "newly_quarantined": quarantined, **warned},
        totals={"expired_value": expired_v, **at_risk},
        files=files,
    )


def _alert(ctx: JobContext[ExpiryParams], lots: int, quantity: int, value: int) -> None:
    """An alert beside the quarantine, in its transaction: one open alert per run key."""
    s = ctx.session
    execution = s.get_one(BatchExecution, ctx.execution_id)
    raise_alert(
        s,
        Finding(
            rule="stock_expired",
            severity=AlertSeverity.WARNING,
            dedup_key=f"stock_expired:{execution.run_key}",
            title=f"{lots} expired lot(s) quarantined ({ctx.business_date.isoformat()})",
            message=(
                f"{lots} lot(s) past their expiry date were quarantined; expired stock on hand: "
                f"{quantity} units, {format_pounds(value)}. See the expiry list of execution {ctx.execution_id}."
            ),
            job_id=execution.job_id,
            execution_id=ctx.execution_id,
            details={"lots": lots, "quantity": quantity, "value_pence": value},
        ),
        ctx.now,
    )


def _expiry_files(ctx: JobContext[ExpiryParams]) -> list[str]:
    q = (
        select(
            ExpiryResult.band_days,
            Item.code,
            Item.description,
            Warehouse.code,
            Lot.lot_number,
            ExpiryResult.expiry_date,
            ExpiryResult.days_left,
            ExpiryResult.quantity,
            ExpiryResult.value_pence,
            ExpiryResult.quarantined,
        )
        .join(Item, Item.id == ExpiryResult.item_id)
        .join(Warehouse, Warehouse.id == ExpiryResult.warehouse_id)
        .join(Lot, Lot.id == ExpiryResult.lot_id)
        .where(ExpiryResult.execution_id == ctx.execution_id)
        .order_by(ExpiryResult.expiry_date, Item.code, Warehouse.code, Lot.lot_number)
    )
    path: Path = ctx.output("expiry.csv")
    header = ["band_days", "item", "description", "warehouse", "lot", "expiry_date", "days_left", "quantity"]
    rows = ((*r[:-1], "yes" if r[-1] else "no") for r in stream(ctx.session, q))
    write_csv(path, [*header, "value_pence", "quarantined"], rows)
    files = [str(path)]
    if ctx.params.output_format.pdf:
        table = [
            ["expired" if b == 0 else f"{b} days", it, wh, lot, exp, left, qty, val]
            for b, it, _d, wh, lot, exp, left, qty, val, _q in ctx.session.execute(q)
        ]
        files.append(
            str(
                write_table_pdf(
                    ctx.output("expiry.pdf"),
                    title="Expired and expiring stock",
                    subtitle=f"At {ctx.business_date:%d/%m/%Y}, warehouse {ctx.params.warehouse}",
                    columns=["Band", "Item", "Warehouse", "Lot", "Expiry", "Days left", "Quantity", "Value"],
                    rows=table,
                    money_columns=[7],
                    totals=["Total", "", "", "", "", "", sum(r[6] for r in table), sum(r[7] for r in table)],
                )
            )
        )
    return files

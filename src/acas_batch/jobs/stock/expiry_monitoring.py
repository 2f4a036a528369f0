"""ST_EXPIRY_MONITORING: expired lots quarantined, expiring stock listed with the value at risk.

Expired lots are quarantined by one ``UPDATE`` guarded by ``quarantined = false``, in the
same transaction as the snapshot (``INSERT ... SELECT``) and the alert: a rerun finds
nothing left to quarantine, and a failure leaves nothing half done. Quarantine blocks
picking (``ledger.stock.plan_issue`` skips quarantined lots) but does not change the
stock's value: no journal is posted, the stock account still equals the valuation.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import and_, case, func, insert, literal, select, update
from sqlalchemy.orm import Session

from acas_batch.analysis.money import format_pounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import rowcount
from acas_batch.jobs.params import Notify, OutputFormat, WarehouseCode, warehouse_ids
from acas_batch.jobs.stock.common import days_between, replace_snapshot, stream, warehouse_day_key
from acas_batch.models import (
    AlertSeverity,
    BatchExecution,
    CostMethod,
    ExpiryResult,
    Item,
    Lot,
    Module,
    StockLevel,
    Warehouse,
)
from acas_batch.monitoring.alerts import raise_alert
from acas_batch.monitoring.findings import Finding
from acas_batch.reports import write_csv, write_table_pdf

_ST_WRITE = ({"name": "ledger:ST", "mode": "exclusive"},)  # lots are quarantined


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

    warehouse: WarehouseCode = "ALL"
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

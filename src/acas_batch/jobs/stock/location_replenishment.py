"""ST_LOCATION_REPLENISHMENT: refill pick bins at or below their minimum from bulk, earliest expiry first.

One statement plans every task. Pick bins needing stock get a running total of their
need per item and warehouse (``need_end``); bulk lots get a running total of their stock
in FEFO order (earliest expiry first, undated lots last, then oldest receipt). A lot
serves a bin where the two intervals overlap, by the length of the overlap: so the
earliest-expiring stock goes to the first bin, and a bin gets what is left when bulk runs
short. The tasks are a list for the warehouse; stock moves when a person confirms them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, case, func, insert, literal, or_, select
from sqlalchemy.orm import aliased

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.jobs.params import Notify, OutputFormat, WarehouseCode, warehouse_ids
from acas_batch.jobs.stock.common import replace_snapshot, stream, warehouse_day_key
from acas_batch.models import (
    Item,
    Location,
    LocationKind,
    Lot,
    Module,
    ReplenishmentTask,
    Warehouse,
)
from acas_batch.reports import write_csv, write_table_pdf


class ReplenishmentParams(BaseModel):
    """ST_LOCATION_REPLENISHMENT parameters."""

    model_config = ConfigDict(extra="forbid")

    warehouse: WarehouseCode = "ALL"
    output_format: OutputFormat = OutputFormat.CSV
    notify: Notify = Field(default_factory=Notify)


def pickable(business_date: date) -> Any:
    """A lot that may be picked: stock on hand, not quarantined, not past its expiry date."""
    return and_(
        Lot.quantity_on_hand > 0,
        Lot.quarantined.is_(False),
        or_(Lot.expiry_date.is_(None), Lot.expiry_date >= business_date),
    )


def tasks_select(*, business_date: date, warehouses: list[int] | None) -> Any:
    """Per pick bin at or below its minimum: one row per bulk lot it draws on (one with no lot if none)."""
    ok = pickable(business_date)
    in_bin = (
        select(Lot.location_id, Lot.item_id, func.sum(Lot.quantity_on_hand).label("qty"))
        .where(ok, Lot.location_id.is_not(None))
        .group_by(Lot.location_id, Lot.item_id)
        .subquery("in_bin")
    )
    on_hand = func.coalesce(in_bin.c.qty, 0)
    bins = (
        select(
            Location.id,
            Location.code,
            Location.warehouse_id,
            Location.item_id,
            on_hand.label("on_hand"),
            (Location.max_qty - on_hand).label("need"),
        )
        .outerjoin(in_bin, and_(in_bin.c.location_id == Location.id, in_bin.c.item_id == Location.item_id))
        .where(Location.kind == LocationKind.PICK, Location.item_id.is_not(None))
        .where(on_hand <= Location.min_qty, Location.max_qty > on_hand)
    )
    if warehouses is not None:
        bins = bins.where(Location.warehouse_id.in_(warehouses))
    b = bins.subquery("bins")
    needs = select(
        b.c.id,
        b.c.warehouse_id,
        b.c.item_id,
        b.c.on_hand,
        b.c.need,
        func.sum(b.c.need)
        .over(partition_by=(b.c.item_id, b.c.warehouse_id), order_by=(b.c.code, b.c.id), rows=(None, 0))
        .label("end"),
    ).subquery("needs")

    bulk_bin = aliased(Location)
    fefo = (case((Lot.expiry_date.is_(None), 1), else_=0), Lot.expiry_date, Lot.received_on, Lot.id)
    lots = (
        select(
            Lot.id,
            Lot.item_id,
            Lot.warehouse_id,
            Lot.location_id,
            Lot.expiry_date,
            func.sum(Lot.quantity_on_hand)
            .over(partition_by=(Lot.item_id, Lot.warehouse_id), order_by=fefo, rows=(None, 0))
            .label("end"),
            Lot.quantity_on_hand.label("qty"),
        )
        .join(bulk_bin, bulk_bin.id == Lot.location_id)
        .where(ok, bulk_bin.kind == LocationKind.BULK, bulk_bin.warehouse_id == Lot.warehouse_id)
        .where(Lot.item_id.in_(select(b.c.item_id)))
        .subquery("lots")
    )
    need_start = needs.c.end - needs.c.need
    lot_start = lots.c.end - lots.c.qty
    start = case((lot_start > need_start, lot_start), else_=need_start)
    end = case((lots.c.end < needs.c.end, lots.c.end), else_=needs.c.end)
    overlap = and_(
        lots.c.item_id == needs.c.item_id,
        lots.c.warehouse_id == needs.c.warehouse_id,
        lot_start < needs.c.end,
        lots.c.end > need_start,
    )
    return (
        select(
            needs.c.id,
            needs.c.item_id,
            needs.c.warehouse_id,
            needs.c.on_hand,
            needs.c.need,
            lots.c.id,
            lots.c.location_id,
            lots.c.expiry_date,
            case((lots.c.id.is_(None), 0), else_=end - start),  # no lot: bulk holds none
        )
        .select_from(needs)
        .outerjoin(lots, overlap)
    )


@job(
    "ST_LOCATION_REPLENISHMENT",
    module=Module.ST,
    params=ReplenishmentParams,
    run_key=warehouse_day_key,
    timeout_seconds=1800,
    resources=({"name": "ledger:ST", "mode": "exclusive"},),
)
def location_replenishment(ctx: JobContext[ReplenishmentParams]) -> JobResult:
    """Tasks to fill each pick bin at or below its minimum up to its maximum from bulk lots, FEFO."""
    p, s = ctx.params, ctx.session
    warehouses = warehouse_ids(s, p.warehouse)
    replaced = replace_snapshot(s, ReplenishmentTask, ctx.execution_id)
    inner = tasks_select(business_date=ctx.business_date, warehouses=warehouses).subquery()
    s.execute(
        insert(ReplenishmentTask).from_select(
            [
                ReplenishmentTask.execution_id,
                ReplenishmentTask.pick_location_id,
                ReplenishmentTask.item_id,
                ReplenishmentTask.warehouse_id,
                ReplenishmentTask.bin_quantity,
                ReplenishmentTask.bin_need,
                ReplenishmentTask.lot_id,
                ReplenishmentTask.from_location_id,
                ReplenishmentTask.expiry_date,
                ReplenishmentTask.quantity,
            ],
            select(literal(ctx.execution_id), *inner.c),
        )
    )
    ctx.progress(1, 2)
    per_bin = (
        select(
            ReplenishmentTask.pick_location_id,
            func.max(ReplenishmentTask.bin_need).label("need"),
            func.sum(ReplenishmentTask.quantity).label("moved"),
        )
        .where(ReplenishmentTask.execution_id == ctx.execution_id)
        .group_by(ReplenishmentTask.pick_location_id)
        .subquery()
    )
    bins, need, moved, short = (
        int(v or 0)
        for v in s.execute(
            select(
                func.count(),
                func.sum(per_bin.c.need),
                func.sum(per_bin.c.moved),
                func.count().filter(per_bin.c.moved < per_bin.c.need),
            )
        ).one()
    )
    lines = int(
        s.scalar(
            select(func.count()).where(
                ReplenishmentTask.execution_id == ctx.execution_id, ReplenishmentTask.quantity > 0
            )
        )
        or 0
    )
    ctx.log.info(
        f"{bins} pick bin(s) at or below minimum need {need} units; {lines} move(s) of {moved} units from bulk; "
        f"{short} bin(s) short by {need - moved} units",
        event="replenishment_tasks",
        bins=bins,
        moves=lines,
        units=moved,
        short_bins=short,
    )
    if replaced:
        ctx.log.info(f"replaced {replaced} rows of an earlier run of this run key")
    files = _files(ctx)
    ctx.progress(2, 2)
    return JobResult(
        summary=f"{bins} pick bin(s) to replenish: {lines} move(s), {moved} units; {short} short",
        counts={"bins": bins, "moves": lines, "units": moved, "short_bins": short, "short_units": need - moved},
        files=files,
    )


def _files(ctx: JobContext[ReplenishmentParams]) -> list[str]:
    pick, bulk = aliased(Location), aliased(Location)
    q = (
        select(
            Warehouse.code,
            pick.code,
            Item.code,
            ReplenishmentTask.bin_quantity,
            pick.min_qty,
            pick.max_qty,
            func.coalesce(bulk.code, ""),
            func.coalesce(Lot.lot_number, ""),
            ReplenishmentTask.expiry_date,
            ReplenishmentTask.quantity,
        )
        .join(Warehouse, Warehouse.id == ReplenishmentTask.warehouse_id)
        .join(pick, pick.id == ReplenishmentTask.pick_location_id)
        .join(Item, Item.id == ReplenishmentTask.item_id)
        .outerjoin(bulk, bulk.id == ReplenishmentTask.from_location_id)
        .outerjoin(Lot, Lot.id == ReplenishmentTask.lot_id)
        .where(ReplenishmentTask.execution_id == ctx.execution_id)
        .order_by(Warehouse.code, pick.code, case((ReplenishmentTask.expiry_date.is_(None), 1), else_=0))
        .order_by(ReplenishmentTask.expiry_date, Lot.lot_number)
    )
    path = ctx.output("replenishment_tasks.csv")
    header = ["warehouse", "pick_bin", "item", "bin_quantity", "min", "max", "from_bin", "lot", "expiry_date"]
    write_csv(path, [*header, "quantity"], stream(ctx.session, q))
    files = [str(path)]
    if ctx.params.output_format.pdf:
        rows = [list(r) for r in ctx.session.execute(q)]
        files.append(
            str(
                write_table_pdf(
                    ctx.output("replenishment_tasks.pdf"),
                    title="Pick bin replenishment",
                    subtitle=f"At {ctx.business_date:%d/%m/%Y}, warehouse {ctx.params.warehouse}; FEFO",
                    columns=["Warehouse", "Pick bin", "Item", "In bin", "Min", "Max", "From", "Lot", "Expiry", "Move"],
                    rows=rows,
                    totals=["Total", "", "", "", "", "", "", "", "", sum(int(r[9]) for r in rows)],
                )
            )
        )
    return files

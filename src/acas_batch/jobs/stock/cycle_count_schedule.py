"""ST_CYCLE_COUNT_SCHEDULE: count tasks for the coming business days, by ABC class, longest-uncounted first.

Each class is counted ``counts_per_year`` times a year (A 12, B 4, C 1): over a period of
D business days out of the Y business days of the coming year, a class of n items gets
ceil(n × counts × D / Y) counts (never more than n), so over a year every item comes round
as often as its class asks. Within a class the items counted longest ago (never counted
first) are chosen, by one windowed query; the chosen items are spread evenly over the
period's business days (business calendar: weekends, bank holidays, closure days), the
longest-uncounted on the first day. Each becomes one count task per warehouse holding it
(``st_count_rec``, status ``scheduled``, with the expected quantity), and a count sheet.
"""

from __future__ import annotations

from datetime import date, timedelta
from math import ceil
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, case, delete, func, insert, select
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.batch.schedules import company_calendar
from acas_batch.db import rowcount
from acas_batch.jobs.params import Notify, OutputFormat, WarehouseCode, warehouse_ids
from acas_batch.jobs.stock.common import stream, warehouse_day_key
from acas_batch.models import (
    AbcClass,
    BatchExecution,
    CountStatus,
    Item,
    Location,
    LocationKind,
    Module,
    StockCount,
    StockLevel,
    Warehouse,
)
from acas_batch.reports import write_csv, write_table_pdf


class CountsPerYear(BaseModel):
    """How many times a year each ABC class is counted."""

    model_config = ConfigDict(extra="forbid")

    A: int = Field(ge=0, le=260)
    B: int = Field(ge=0, le=260)
    C: int = Field(ge=0, le=260)

    def of(self, klass: AbcClass) -> int:
        return int(getattr(self, klass.value))


class CycleCountParams(BaseModel):
    """ST_CYCLE_COUNT_SCHEDULE parameters."""

    model_config = ConfigDict(extra="forbid")

    warehouse: WarehouseCode = "ALL"
    counts_per_year: CountsPerYear = Field(default_factory=lambda: CountsPerYear(A=12, B=4, C=1))
    period_days: int = Field(7, ge=1, le=92, description="Calendar days after the business date to schedule.")
    output_format: OutputFormat = OutputFormat.BOTH
    notify: Notify = Field(default_factory=Notify)


def _last_counted() -> Any:
    """Per item: the later of ``st_item_rec.last_counted_on`` and its latest counted task."""
    counted = (
        select(StockCount.item_id, func.max(StockCount.counted_on).label("on"))
        .where(StockCount.counted_on.is_not(None))
        .group_by(StockCount.item_id)
        .subquery("counted")
    )
    last = case(
        (counted.c.on.is_(None), Item.last_counted_on),
        (Item.last_counted_on.is_(None), counted.c.on),
        (Item.last_counted_on > counted.c.on, Item.last_counted_on),
        else_=counted.c.on,
    )
    return counted, last


def candidates_select(*, business_date: date, warehouses: list[int] | None, quota: dict[AbcClass, int]) -> Any:
    """The items to count: per class the ``quota`` counted longest ago, with their class and last count.

    Items in scope are active items with stock in the chosen warehouses; an item without a
    class (ABC not yet run) counts as C. Items that already have a count task after the
    business date are left out: they are counted anyway.
    """
    counted, last = _last_counted()
    klass = func.coalesce(Item.abc_class, AbcClass.C.value)
    held = select(StockLevel.item_id).where(StockLevel.quantity > 0)
    if warehouses is not None:
        held = held.where(StockLevel.warehouse_id.in_(warehouses))
    planned = select(StockCount.item_id).where(StockCount.scheduled_on > business_date)
    items = (
        select(Item.id, Item.code, klass.label("klass"), last.label("last"))
        .outerjoin(counted, counted.c.item_id == Item.id)
        .where(Item.active.is_(True), Item.id.in_(held), Item.id.not_in(planned))
        .subquery("items")
    )
    oldest_first = (case((items.c.last.is_(None), 0), else_=1), items.c.last, items.c.code)
    ranked = select(
        items.c.id,
        items.c.code,
        items.c.klass,
        items.c.last,
        func.row_number().over(partition_by=items.c.klass, order_by=oldest_first).label("n"),
    ).subquery("ranked")
    limit = case(*((ranked.c.klass == k.value, q) for k, q in quota.items()), else_=0)
    return select(ranked.c.id, ranked.c.code, ranked.c.klass, ranked.c.last).where(ranked.c.n <= limit)


def class_sizes(session: Session, warehouses: list[int] | None) -> dict[AbcClass, int]:
    """How many active items with stock in the chosen warehouses each class holds."""
    held = select(StockLevel.item_id).where(StockLevel.quantity > 0)
    if warehouses is not None:
        held = held.where(StockLevel.warehouse_id.in_(warehouses))
    klass = func.coalesce(Item.abc_class, AbcClass.C.value)
    rows = session.execute(select(klass, func.count()).where(Item.active.is_(True), Item.id.in_(held)).group_by(klass))
    return {AbcClass(k): int(n) for k, n in rows}


def quotas(sizes: dict[AbcClass, int], counts: CountsPerYear, days: int, year_days: int) -> dict[AbcClass, int]:
    """Counts per class for a period of ``days`` business days out of ``year_days`` (rounded up, at most n)."""
    return {k: min(n, ceil(n * counts.of(k) * days / year_days)) if year_days else 0 for k, n in sizes.items()}


@job(
    "ST_CYCLE_COUNT_SCHEDULE",
    module=Module.ST,
    params=CycleCountParams,
    run_key=warehouse_day_key,
    timeout_seconds=1800,
    resources=({"name": "ledger:ST", "mode": "shared"},),
)
def cycle_count_schedule(ctx: JobContext[CycleCountParams]) -> JobResult:
    """Count tasks over the coming business days by ABC class, longest-uncounted first; count sheets."""
    p, s, bd = ctx.params, ctx.session, ctx.business_date
    warehouses = warehouse_ids(s, p.warehouse)
    calendar = company_calendar(s, ctx.settings)
    days = [d for d in (bd + timedelta(days=n) for n in range(1, p.period_days + 1)) if calendar.is_business_day(d)]
    year_days = calendar.business_days_between(bd, bd + timedelta(days=365))
    replaced = _replace_tasks(s, ctx.execution_id)
    sizes = class_sizes(s, warehouses)
    quota = quotas(sizes, p.counts_per_year, len(days), year_days)
    unclassed = int(s.scalar(select(func.count()).where(Item.active.is_(True), Item.abc_class.is_(None))) or 0)
    if unclassed:
        ctx.log.warning(
            f"{unclassed} active item(s) have no ABC class yet: counted as C", event="cycle_count_unclassed"
        )
    ctx.progress(1, 3)
    wanted = any(quota.values())
    chosen = s.execute(candidates_select(business_date=bd, warehouses=warehouses, quota=quota)).all() if wanted else []
    # Longest-uncounted first over all classes (never counted before anything), then spread evenly.
    chosen = sorted(chosen, key=lambda r: (r.last is not None, r.last or date.min, r.code))
    day_of = {row.id: days[k * len(days) // len(chosen)] for k, row in enumerate(chosen)} if days else {}
    tasks = _tasks(s, day_of, warehouses, ctx.execution_id)
    if tasks:
        s.execute(insert(StockCount), tasks)
    ctx.progress(2, 3)
    by_class = dict.fromkeys(AbcClass, 0)
    klass = {row.id: AbcClass(row.klass) for row in chosen}
    for t in tasks:
        by_class[klass[t["item_id"]]] += 1
    period = f"{days[0]:%d/%m/%Y} to {days[-1]:%d/%m/%Y}" if days else "no business day"
    ctx.log.info(
        f"{len(tasks)} count task(s) for {len(chosen)} item(s) over {len(days)} business day(s) ({period}); "
        + ", ".join(f"{k.value}: {quota.get(k, 0)} of {sizes.get(k, 0)} items" for k in AbcClass),
        event="cycle_count_tasks",
        tasks=len(tasks),
        items=len(chosen),
        days=len(days),
    )
    if replaced:
        ctx.log.info(f"replaced {replaced} scheduled task(s) of an earlier run of this run key")
    files = _files(ctx, period)
    ctx.progress(3, 3)
    return JobResult(
        summary=f"{len(tasks)} count task(s) over {len(days)} business day(s) ({period})",
        counts={
            "tasks": len(tasks),
            "items": len(chosen),
            "business_days": len(days),
            **{f"tasks_{k.value}": n for k, n in by_class.items()},
        },
        files=files,
    )


def _replace_tasks(session: Session, execution_id: int) -> int:
    """Delete the still-scheduled tasks that executions of this run key planned (counted ones stay)."""
    run_key = select(BatchExecution.run_key).where(BatchExecution.id == execution_id).scalar_subquery()
    mine = select(BatchExecution.id).where(BatchExecution.run_key == run_key)
    return rowcount(
        session.execute(
            delete(StockCount)
            .where(StockCount.execution_id.in_(mine), StockCount.status == CountStatus.SCHEDULED)
            .execution_options(synchronize_session=False)
        )
    )


def _tasks(
    session: Session, day_of: dict[int, date], warehouses: list[int] | None, execution_id: int
) -> list[dict[str, Any]]:
    """One task per chosen item and warehouse holding it, at its pick bin if it has one."""
    if not day_of:
        return []
    pick = (
        select(Location.warehouse_id, Location.item_id, func.min(Location.id).label("bin"))
        .where(Location.kind == LocationKind.PICK, Location.item_id.is_not(None))
        .group_by(Location.warehouse_id, Location.item_id)
        .subquery("pick")
    )
    q = (
        select(StockLevel.item_id, StockLevel.warehouse_id, StockLevel.quantity, pick.c.bin)
        .outerjoin(pick, and_(pick.c.item_id == StockLevel.item_id, pick.c.warehouse_id == StockLevel.warehouse_id))
        .where(StockLevel.quantity > 0, StockLevel.item_id.in_(list(day_of)))
        .order_by(StockLevel.item_id, StockLevel.warehouse_id)
    )
    if warehouses is not None:
        q = q.where(StockLevel.warehouse_id.in_(warehouses))
    return [
        {
            "item_id": item,
            "warehouse_id": wh,
            "location_id": bin_id,
            "scheduled_on": day_of[item],
            "status": CountStatus.SCHEDULED,
            "expected_qty": qty,
            "execution_id": execution_id,
        }
        for item, wh, qty, bin_id in session.execute(q)
    ]


def _files(ctx: JobContext[CycleCountParams], period: str) -> list[str]:
    counted, last = _last_counted()
    q = (
        select(
            StockCount.scheduled_on,
            Warehouse.code,
            func.coalesce(Location.code, ""),
            Item.code,
            Item.description,
            Item.unit,
            func.coalesce(Item.abc_class, AbcClass.C.value),
            last,
            StockCount.expected_qty,
        )
        .join(Warehouse, Warehouse.id == StockCount.warehouse_id)
        .join(Item, Item.id == StockCount.item_id)
        .outerjoin(Location, Location.id == StockCount.location_id)
        .outerjoin(counted, counted.c.item_id == Item.id)
        .where(StockCount.execution_id == ctx.execution_id)
        .order_by(StockCount.scheduled_on, Warehouse.code, func.coalesce(Location.code, ""), Item.code)
    )
    path = ctx.output("count_tasks.csv")
    header = ["date", "warehouse", "location", "item", "description", "unit", "class", "last_counted"]
    write_csv(path, [*header, "expected_qty"], stream(ctx.session, q))
    files = [str(path)]
    if ctx.params.output_format.pdf:
        # The sheet is blind: the counter writes the quantity found; the expected one stays in the system.
        rows = [[d, wh, loc, it, desc, unit, k, ""] for d, wh, loc, it, desc, unit, k, _l, _e in ctx.session.execute(q)]
        files.append(
            str(
                write_table_pdf(
                    ctx.output("count_sheets.pdf"),
                    title="Cycle count sheets",
                    subtitle=f"{period}, warehouse {ctx.params.warehouse}",
                    columns=["Date", "Warehouse", "Location", "Item", "Description", "Unit", "Class", "Counted"],
                    rows=rows,
                    notes=["Count every unit of the item in the warehouse; write the quantity found and initial it."],
                )
            )
        )
    return files

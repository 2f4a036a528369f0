"""ST_STOCK_VALUATION: the value of stock on hand by item and warehouse at the business date."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, func, insert, literal, select

from acas_batch.analysis.money import format_pounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.jobs.params import Notify, OutputFormat, WarehouseCode, warehouse_ids
from acas_batch.jobs.stock.common import replace_snapshot, stream, warehouse_day_key
from acas_batch.ledger import balances
from acas_batch.models import (
    ControlKind,
    CostMethod,
    Item,
    Lot,
    Module,
    StockLevel,
    StockMovement,
    ValuationResult,
    Warehouse,
)
from acas_batch.reports import write_csv, write_table_pdf

_ST = ({"name": "ledger:ST", "mode": "shared"},)


class ValuationParams(BaseModel):
    """ST_STOCK_VALUATION parameters."""

    model_config = ConfigDict(extra="forbid")

    warehouse: WarehouseCode = "ALL"
    output_format: OutputFormat = OutputFormat.BOTH
    notify: Notify = Field(default_factory=Notify)


def valuation_select(warehouses: list[int] | None) -> Any:
    """Per stock level: quantity, value by the item's cost method, book value.

    FIFO: the lots on hand at their receipt cost. Average: the running sum of movement
    values (the moving average carried). Standard: quantity x the item's standard cost now.
    """
    here = (Lot.item_id == StockLevel.item_id) & (Lot.warehouse_id == StockLevel.warehouse_id)
    fifo = (
        select(func.coalesce(func.sum(Lot.quantity_on_hand * Lot.unit_cost_pence), 0))
        .where(here, Lot.quantity_on_hand > 0)
        .scalar_subquery()
    )
    # Correlated, so only the levels of average-cost items read their movements (by index).
    moved = (
        select(func.coalesce(func.sum(StockMovement.value_pence), 0))
        .where(StockMovement.item_id == StockLevel.item_id, StockMovement.warehouse_id == StockLevel.warehouse_id)
        .scalar_subquery()
    )
    value = case(
        (Item.cost_method == CostMethod.FIFO, fifo),
        (Item.cost_method == CostMethod.AVERAGE, moved),
        else_=StockLevel.quantity * Item.standard_cost_pence,
    )
    q = (
        select(
            StockLevel.item_id,
            StockLevel.warehouse_id,
            Item.cost_method,
            StockLevel.quantity,
            value.label("value"),
            StockLevel.value_pence.label("book"),
        )
        .join(Item, Item.id == StockLevel.item_id)
        .where((StockLevel.quantity != 0) | (StockLevel.value_pence != 0))
    )
    if warehouses is not None:
        q = q.where(StockLevel.warehouse_id.in_(warehouses))
    # Materialized, so each value is computed once: as a subquery both databases inline it and
    # run the correlated subqueries again for the difference from the book.
    v = q.cte("valued").prefix_with("MATERIALIZED")
    return select(*v.c, v.c.value - v.c.book)


@job(
    "ST_STOCK_VALUATION",
    module=Module.ST,
    params=ValuationParams,
    run_key=warehouse_day_key,
    timeout_seconds=3600,
    resources=_ST,
)
def stock_valuation(ctx: JobContext[ValuationParams]) -> JobResult:
    """Stock value per item by its cost method, totals by warehouse and category, tied to stock control."""
    p, s = ctx.params, ctx.session
    warehouses = warehouse_ids(s, p.warehouse)
    replace_snapshot(s, ValuationResult, ctx.execution_id)
    inner = valuation_select(warehouses).subquery()
    s.execute(
        insert(ValuationResult).from_select(
            [
                ValuationResult.execution_id,
                ValuationResult.item_id,
                ValuationResult.warehouse_id,
                ValuationResult.cost_method,
                ValuationResult.quantity,
                ValuationResult.value_pence,
                ValuationResult.book_value_pence,
                ValuationResult.difference_pence,
            ],
            select(literal(ctx.execution_id), *inner.c),
        )
    )
    # Committed before the files are read back from it: on SQLite the job holds the write lock only
    # for the valuation itself, not while it writes the CSV and the PDF (a retry values again)
    ctx.checkpoint({"valued": True})
    ctx.progress(1, 3)
    csv_path, sums = _valuation_csv(ctx)
    groups = [(wh, cat, n, v, b) for (wh, cat), (n, v, b, _d) in sorted(sums.items())]
    lines = sum(n for _w, _c, n, _v, _b in groups)
    total = sum(v for _w, _c, _n, v, _b in groups)
    book = sum(b for _w, _c, _n, _v, b in groups)
    differing = sum(v[3] for v in sums.values())
    notes = [f"Valuation {format_pounds(total)}; book value (stock records) {format_pounds(book)}."]
    totals = {"valuation": total, "book_value": book, "item_difference": total - book}
    if warehouses is None:
        control = balances.control_balance(s, ControlKind.STOCK)
        totals |= {"stock_control": control, "control_difference": total - control}
        notes.append(f"Stock control account {format_pounds(control)}; difference {format_pounds(total - control)}.")
        if total != control:
            ctx.warn_outcome(
                f"stock valuation {total} differs from the stock control account {control} by {total - control}"
            )
    else:
        notes.append("The stock control account covers every warehouse: tie with warehouse ALL.")
    for note in notes:
        ctx.log.info(note, event="valuation_total")
    if differing:
        ctx.log.warning(
            f"{differing} item(s) valued differently from their stock records", event="valuation_difference"
        )
    ctx.progress(2, 3)
    files = [str(csv_path)]
    if p.output_format.pdf:
        files.append(
            str(
                write_table_pdf(
                    ctx.output("stock_valuation.pdf"),
                    title="Stock valuation",
                    subtitle=f"At {ctx.business_date:%d/%m/%Y}, warehouse {p.warehouse}",
                    columns=["Warehouse", "Category", "Lines", "Valuation", "Book value", "Difference"],
                    rows=[[w, c, n, v, b, v - b] for w, c, n, v, b in groups],
                    money_columns=[3, 4, 5],
                    totals=["Total", "", lines, total, book, total - book],
                    notes=notes,
                )
            )
        )
    ctx.progress(3, 3)
    return JobResult(
        summary=f"{lines} stock lines valued at {format_pounds(total)}",
        counts={"lines": lines, "lines_with_difference": differing},
        totals=totals,
        files=files,
    )


def _valuation_csv(ctx: JobContext[ValuationParams]) -> tuple[Path, dict[tuple[str, str], list[int]]]:
    """The CSV, read back by warehouse and item; as it is written, per warehouse and category:
    lines, value, book value and lines that differ from the book."""
    q = (
        select(
            Item.code,
            Item.description,
            Warehouse.code,
            Item.category,
            ValuationResult.cost_method,
            ValuationResult.quantity,
            ValuationResult.value_pence,
            ValuationResult.book_value_pence,
            ValuationResult.difference_pence,
        )
        .join(Item, Item.id == ValuationResult.item_id)
        .join(Warehouse, Warehouse.id == ValuationResult.warehouse_id)
        .where(ValuationResult.execution_id == ctx.execution_id)
        .order_by(Warehouse.code, Item.code)
    )
    sums: dict[tuple[str, str], list[int]] = {}

    def rows() -> Iterator[Sequence[Any]]:
        for row in stream(ctx.session, q):
            group = sums.get((row[2], row[3]))
            if group is None:
                group = sums[str(row[2]), str(row[3])] = [0, 0, 0, 0]
            group[0] += 1
            group[1] += int(row[6])
            group[2] += int(row[7])
            group[3] += row[8] != 0
            yield row

    path = ctx.output("stock_valuation.csv")
    header = ["item", "description", "warehouse", "category", "cost_method", "quantity", "value_pence"]
    write_csv(path, [*header, "book_value_pence", "difference_pence"], rows())
    return path, sums

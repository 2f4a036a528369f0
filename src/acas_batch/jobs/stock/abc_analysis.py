"""ST_ABC_ANALYSIS: items ranked by the year's issue value into classes A, B and C.

Computed inside the database (one grouped query, window functions for the ranking) like
ST_STOCK_VALUATION, and written their snapshot with ``INSERT ... SELECT``; Python only reads totals
back for the log, the CSV and the PDF.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import ColumnElement, Connection, FromClause, Integer, case, cast, func, insert, literal, select, update

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import copy_csv, rowcount, stream_partitions, temporary_table
from acas_batch.jobs.params import Notify, OutputFormat, WarehouseCode, warehouse_ids
from acas_batch.jobs.stock.common import STREAM_ROWS, replace_snapshot, warehouse_day_key, year_before
from acas_batch.models import (
    AbcClass,
    AbcResult,
    Item,
    Module,
    MovementKind,
    Pence,
    StockMovement,
)
from acas_batch.reports import write_csv, write_csv_blocks, write_table_pdf

_ST = ({"name": "ledger:ST", "mode": "shared"},)
_ST_WRITE = ({"name": "ledger:ST", "mode": "exclusive"},)  # ABC rewrites item classes


class AbcParams(BaseModel):
    """ST_ABC_ANALYSIS parameters."""

    model_config = ConfigDict(extra="forbid")

    warehouse: WarehouseCode = "ALL"
    a_pct: int = Field(80, gt=0, lt=100, description="Cumulative share of value that is class A.")
    b_pct: int = Field(95, gt=0, le=100, description="Cumulative share of value up to which items are B.")
    output_format: OutputFormat = OutputFormat.CSV
    notify: Notify = Field(default_factory=Notify)

    @model_validator(mode="after")
    def _ordered(self) -> AbcParams:
        if self.b_pct <= self.a_pct:
            raise ValueError(f"b_pct ({self.b_pct}) must be above a_pct ({self.a_pct})")
        return self


def abc_select(
    *, warehouses: list[int] | None, since: date, until: date, a_pct: int, b_pct: int, details: bool = False
) -> Any:
    """Per active item: consumption in (since, until], its rank, the value ranked above it, its class.

    With ``details``, also the item's code, description and class before this run (``was``).
    """
    value_expr = func.sum(-StockMovement.value_pence)
    used = select(
        StockMovement.item_id,
        func.sum(-StockMovement.quantity).label("qty"),
        value_expr.label("value"),
    ).where(
        StockMovement.kind == MovementKind.ISSUE,
        StockMovement.movement_date > since,
        StockMovement.movement_date <= until,
    )
    if warehouses is not None:
        used = used.where(StockMovement.warehouse_id.in_(warehouses))
    used_q = used.group_by(StockMovement.item_id).subquery("used")
    base_q = (
        select(
            Item.id.label("item_id"),
            Item.code.label("code"),
            func.coalesce(used_q.c.qty, 0).label("qty"),
            func.coalesce(used_q.c.value, 0).label("value"),
        )
        .outerjoin(used_q, used_q.c.item_id == Item.id)
        .where(Item.active.is_(True))
    )
    if details:  # carried through the ranking only when asked: wider rows cost its sorts time
        base_q = base_q.add_columns(Item.description.label("description"), Item.abc_class.label("was"))
    base = base_q.subquery("base")
    order = (base.c.value.desc(), base.c.code)
    positive = case((base.c.value > 0, base.c.value), else_=0)
    ranked = select(
        base.c.item_id,
        base.c.code,
        *((base.c.description, base.c.was) if details else ()),
        base.c.qty,
        base.c.value,
        # One frame for both, so the databases compute them in one pass over the sorted rows.
        func.row_number().over(order_by=order, rows=(None, 0)).label("rank"),
        (func.sum(positive).over(order_by=order, rows=(None, 0)) - positive).label("before"),
        func.coalesce(func.sum(positive).over(), 0).label("total"),
    ).subquery("ranked")
    # The item that crosses a boundary still belongs to the class below it (as analysis.inventory.abc_classify).
    klass = case(
        (ranked.c.value <= 0, AbcClass.C.value),
        (ranked.c.before * 100 < a_pct * ranked.c.total, AbcClass.A.value),
        (ranked.c.before * 100 < b_pct * ranked.c.total, AbcClass.B.value),
        else_=AbcClass.C.value,
    )
    # Sums of integers are NUMERIC on PostgreSQL: cast back, so the rows and the temporary
    # table the job ranks into hold integer pence.
    q = select(
        ranked.c.item_id,
        ranked.c.rank,
        cast(ranked.c.qty, Integer).label("qty"),
        cast(ranked.c.value, Pence).label("value"),
        cast(ranked.c.before, Pence).label("before"),
        klass.label("abc_class"),
    )
    return q.add_columns(ranked.c.code, ranked.c.description, ranked.c.was) if details else q


@job(
    "ST_ABC_ANALYSIS",
    module=Module.ST,
    params=AbcParams,
    run_key=warehouse_day_key,
    timeout_seconds=1800,
    resources=_ST_WRITE,
)
def abc_analysis(ctx: JobContext[AbcParams]) -> JobResult:
    """Classes A, B, C by the last 12 months' consumption value; item classes updated."""
    p, s = ctx.params, ctx.session
    warehouses = warehouse_ids(s, p.warehouse)
    since, until = year_before(ctx.business_date), ctx.business_date
    if warehouses is not None:
        ctx.log.info(f"classes of warehouse {p.warehouse} reported only: item classes follow ALL warehouses")
    csv_path = ctx.output("abc_analysis.csv")
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        # Ranked into a temporary table first: a statement that writes never gets parallel
        # workers, and the ranking's grouped scan of a year's issues is most of the run. The
        # table carries what the CSV and the class update need, so neither reads the items again.
        ranking = abc_select(
            warehouses=warehouses, since=since, until=until, a_pct=p.a_pct, b_pct=p.b_pct, details=True
        )
        with temporary_table(s, "acas_abc_ranked", ranking) as ranked:
            write_csv_blocks(csv_path, _ABC_HEADER, copy_csv(conn, _csv_select(ranked)))
            replaced = replace_snapshot(s, AbcResult, ctx.execution_id)
            summary, updated = _write_ranked(conn, ctx.execution_id, ranked, classes=warehouses is None)
    else:
        # No parallel query to gain: the ranking goes straight into the snapshot, read back from
        # it. The CSV is written by a second thread from rows read first, while this one writes
        # the database (an earlier run's snapshot replaced, the item classes): the driver lets go
        # of the interpreter while it waits, so the file costs little extra time.
        ranking = abc_select(warehouses=warehouses, since=since, until=until, a_pct=p.a_pct, b_pct=p.b_pct)
        conn.execute(_abc_insert(ctx.execution_id, ranking.subquery("ranked")))
        snapshot = _snapshot_ranked(ctx.execution_id)
        with ThreadPoolExecutor(1, thread_name_prefix="abc-csv") as pool:
            written = pool.submit(_csv_by_class, csv_path, _csv_rows(conn, snapshot))
            replaced = replace_snapshot(s, AbcResult, ctx.execution_id)
            updated = _update_classes(conn, snapshot) if warehouses is None else 0
            summary = written.result()
    ctx.progress(1, 2)
    total = sum(v for _, v in summary.values())
    counts = {f"class_{c.value}": summary[c][0] for c in AbcClass}
    totals = {f"class_{c.value}_value": summary[c][1] for c in AbcClass}
    for c in AbcClass:
        n, v = summary[c]
        share = f"{v * 100 / total:.1f}%" if total else "0.0%"
        ctx.log.info(f"class {c.value}: {n} items, {share} of consumption value", event="abc_class", items=n, value=v)
    files = [str(csv_path)]
    if p.output_format.pdf:
        rows = [[c.value, *summary[c]] for c in AbcClass]
        files.append(
            str(
                write_table_pdf(
                    ctx.output("abc_analysis.pdf"),
                    title="ABC analysis",
                    subtitle=f"Consumption {since:%d/%m/%Y} (excl.) to {until:%d/%m/%Y}, warehouse {p.warehouse}",
                    columns=["Class", "Items", "Consumption value"],
                    rows=rows,
                    money_columns=[2],
                    totals=["Total", sum(counts.values()), total],
                )
            )
        )
    ctx.progress(2, 2)
    if replaced:
        ctx.log.info(f"replaced {replaced} rows of an earlier run of this run key")
    return JobResult(
        summary=f"{sum(counts.values())} items classed: " + ", ".join(f"{k[-1]} {v}" for k, v in counts.items()),
        counts={**counts, "items_updated": updated},
        totals={"consumption_value": total, **totals},
        files=files,
    )


_Summary = dict[AbcClass, tuple[int, int]]
_ABC_HEADER = ["rank", "item", "description", "quantity", "value_pence", "cumulative_pence", "class"]


def _snapshot_ranked(execution_id: int) -> FromClause:
    """The snapshot just written, under ``abc_select``'s column names."""
    return (
        select(
            AbcResult.item_id,
            AbcResult.rank,
            AbcResult.consumption_qty.label("qty"),
            AbcResult.consumption_value_pence.label("value"),
            AbcResult.cumulative_before_pence.label("before"),
            AbcResult.abc_class,
        )
        .where(AbcResult.execution_id == execution_id)
        .subquery("ranked")
    )


def _class_update(ranked: FromClause, changed: ColumnElement[bool] | None = None) -> Any:
    """Every ranked item takes its class; only the items whose class changes are written.
    ``changed``, a condition on ``ranked`` alone, picks those rows before the join (the class
    each item had when it was ranked)."""
    q = (
        update(Item)
        .values(abc_class=ranked.c.abc_class)
        .where(Item.id == ranked.c.item_id, Item.abc_class.is_distinct_from(ranked.c.abc_class))
        .execution_options(synchronize_session=False)
    )
    return q if changed is None else q.where(changed)


def _update_classes(conn: Connection, ranked: FromClause) -> int:
    """:func:`_class_update` run; the count of items whose class changed."""
    return rowcount(conn.execute(_class_update(ranked)))


def _csv_select(ranked: FromClause) -> Any:
    """The CSV's rows (``_ABC_HEADER``'s columns) by rank, from a ranking with ``details``."""
    c = ranked.c
    return select(c.rank, c.code, c.description, c.qty, c.value, c.before + c.value, c.abc_class).order_by(c.rank)


def _write_ranked(conn: Connection, execution_id: int, ranked: FromClause, *, classes: bool) -> tuple[_Summary, int]:
    """PostgreSQL, from a ranking with ``details``: the snapshot rows written and, with ``classes``,
    the items whose class changes updated, while the items and the consumption value of each
    class are read (every class, zero when it has none), all in one statement (data-modifying
    CTEs: one round trip where three took one each). The items updated are counted."""
    c = ranked.c
    written = _abc_insert(execution_id, ranked).returning(AbcResult.item_id).cte("written")
    q = select(c.abc_class, func.count(), func.sum(c.value)).group_by(c.abc_class).add_cte(written)
    if classes:
        update_ = _class_update(ranked, c.abc_class.is_distinct_from(c.was)).returning(Item.id).cte("updated")
        q = q.add_columns(select(func.count()).select_from(update_).scalar_subquery()).add_cte(update_)
    else:
        q = q.add_columns(literal(0))
    rows = conn.execute(q).all()
    got = {k: (int(n), int(v)) for k, n, v, _u in rows}
    return {k: got.get(k.value, (0, 0)) for k in AbcClass}, int(rows[0][3]) if rows else 0


def _csv_rows(conn: Connection, ranked: FromClause) -> list[Sequence[Any]]:
    """The CSV's rows (``_ABC_HEADER``'s columns), by rank: one row per item, read in partitions."""
    q = (
        select(
            ranked.c.rank,
            Item.code,
            Item.description,
            ranked.c.qty,
            ranked.c.value,
            ranked.c.before + ranked.c.value,
            ranked.c.abc_class,
        )
        .join_from(ranked, Item, Item.id == ranked.c.item_id)
        .order_by(ranked.c.rank)
    )
    return [row for part in stream_partitions(conn, q, STREAM_ROWS) for row in part]


def _csv_by_class(csv_path: Path, rows: Iterable[Sequence[Any]]) -> _Summary:
    """``rows`` (``_ABC_HEADER``'s columns, by rank) to the CSV; the items and the value of each
    class, summed as they are written (every class present, zero when it has no item)."""
    summary: dict[str, list[int]] = {c.value: [0, 0] for c in AbcClass}

    def summed() -> Iterator[Sequence[Any]]:
        for row in rows:
            total = summary[row[6]]
            total[0] += 1
            total[1] += row[4]
            yield row

    write_csv(csv_path, _ABC_HEADER, summed())
    return {c: (summary[c.value][0], summary[c.value][1]) for c in AbcClass}


def _abc_insert(execution_id: int, ranked: FromClause) -> Any:
    """The snapshot rows of ``ranked`` (``abc_select``'s columns) by ``INSERT ... SELECT``, in
    item order: each row lands at the end of the (execution, item) key."""
    columns = [
        AbcResult.execution_id,
        AbcResult.item_id,
        AbcResult.rank,
        AbcResult.consumption_qty,
        AbcResult.consumption_value_pence,
        AbcResult.cumulative_before_pence,
        AbcResult.abc_class,
    ]
    c = ranked.c
    rows = select(literal(execution_id), c.item_id, c.rank, c.qty, c.value, c.before, c.abc_class)
    return insert(AbcResult).from_select(columns, rows.order_by(c.item_id))

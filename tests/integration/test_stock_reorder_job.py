"""ST_REORDER_CALCULATION on hand-written books and a demo company, both databases."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.analysis.inventory import demand_stats, suggest_order, z_for_service_level
from acas_batch.config import Settings
from acas_batch.jobs import load_standard_jobs
from acas_batch.jobs.stock import reorder_calculation as stock_reorder
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.ledger.pl import OrderLine, create_purchase_order
from acas_batch.ledger.stock import adjust_stock, issue_stock
from acas_batch.models import (
    ExecutionState,
    Item,
    MovementKind,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderResult,
    StockLevel,
    StockMovement,
)
from acas_batch.services import JobSchedulerService
from tests.books import Books
from tests.engine_helpers import engine_settings
from tests.support.context import run_job
from tests.support.users import user

DAY = date(2027, 6, 30)
NOW = datetime(2027, 6, 30, 5, 0, tzinfo=UTC)


def _item(books: Books, supplier: int, on_hand: int) -> int:
    """An item with 4 days' lead time, packs of 12, and issues of 4 and 6 in the last ten days."""
    item = books.item()
    books.session.execute(
        update(Item).where(Item.id == item).values(supplier_id=supplier, lead_time_days=4, pack_size=12)
    )
    adjust_stock(
        books.session, item_id=item, warehouse_id=books.main, quantity=on_hand + 10, on=date(2027, 6, 1),
        reference=books.next("IN"), unit_cost_pence=100,
    )  # fmt: skip
    for qty, day in ((4, 21), (6, 25)):
        issue_stock(
            books.session, item_id=item, warehouse_id=books.main, quantity=qty, on=date(2027, 6, day),
            reference=books.next("OUT"),
        )  # fmt: skip
    return item


def test_an_item_at_or_below_its_reorder_point_gets_an_eoq_in_whole_packs(
    books: Books, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two items with the same demand (mean 1 a day, sample sd sqrt(42/9)) and lead time 4 days:
    # reorder point = 1 x 4 + 1.645 x 2.160 x 2 = 11.107
    supplier = books.supplier()
    covered = _item(books, supplier, on_hand=20)  # 20 on hand + 3 on order - 5 allocated = 18 > 11.107
    short = _item(books, supplier, on_hand=10)  # 10 available: at or below
    create_purchase_order(
        books.session, supplier_id=supplier, warehouse_id=books.main, number="PO1", order_date=date(2027, 6, 28),
        lines=[OrderLine(covered, 3, 100)],
    )  # fmt: skip
    books.session.execute(update(StockLevel).where(StockLevel.item_id == covered).values(allocated_qty=5))
    books.session.commit()
    monkeypatch.setattr(stock_reorder, "CHUNK_ROWS", 1)

    run = run_job(
        engine, settings, "ST_REORDER_CALCULATION", now=NOW, business_date=DAY,
        params={"history_days": 10, "output_format": "both"},
    )  # fmt: skip

    # Then EOQ = sqrt(2 x 365 x 2500 / (0.25 x 100)) = 270.19, rounded up to 23 packs of 12 = 276
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with Session(engine) as s:
        rows = {r.item_id: r for r in s.scalars(select(ReorderResult))}
    assert rows[covered].available == 18 and rows[covered].suggested_qty == 0
    assert rows[short].available == 10
    assert rows[short].reorder_point == pytest.approx(11.107, abs=1e-3)
    assert rows[short].eoq == pytest.approx(270.185, abs=1e-3)
    assert (rows[short].suggested_qty, rows[short].order_value_pence) == (276, 27_600)
    assert rows[short].supplier_id == supplier
    assert run.result is not None
    assert run.result.counts == {"lines": 2, "suggestions": 1, "suppliers": 1}
    assert run.context.checkpoints == 2  # one page of one row each
    assert Path(run.result.files[0]).read_text().count("\n") == 2
    with Session(engine) as s:
        Books(s).assert_sound()


def test_demo_company_reorder_matches_sums_taken_in_python(engine: Engine, settings: Settings) -> None:
    end = date(2026, 11, 23)
    generate(engine, size=DemoSize(customers=8, suppliers=8, items=20, months=14), end=end, seed=5)
    run = run_job(
        engine, settings, "ST_REORDER_CALCULATION", now=datetime(2026, 11, 23, 6, tzinfo=UTC), business_date=end
    )
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with Session(engine) as s:
        daily: dict[tuple[int, int, date], int] = defaultdict(int)
        for m in s.scalars(select(StockMovement).where(StockMovement.kind == MovementKind.ISSUE)):
            if end - timedelta(days=365) < m.movement_date <= end:
                daily[m.item_id, m.warehouse_id, m.movement_date] -= m.quantity
        sums: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        for (item, wh, _), qty in daily.items():
            sums[item, wh][0] += qty
            sums[item, wh][1] += qty * qty
        on_order: dict[tuple[int, int], int] = defaultdict(int)
        for line, order in s.execute(select(PurchaseOrderLine, PurchaseOrder).join(PurchaseOrder)):
            if order.status.value in ("open", "part_received"):
                on_order[line.item_id, order.warehouse_id] += line.quantity_ordered - line.quantity_received
        items = {i.id: i for i in s.scalars(select(Item))}
        want = {}
        for level in s.scalars(select(StockLevel)):
            item, key = items[level.item_id], (level.item_id, level.warehouse_id)
            cost = level.value_pence // level.quantity if level.quantity else item.standard_cost_pence
            suggestion = suggest_order(
                demand_stats(365, *map(float, sums[key])),
                lead_time_days=item.lead_time_days, z=z_for_service_level(0.95),
                available=level.quantity + on_order[key] - level.allocated_qty, order_cost_pence=2500,
                unit_cost_pence=cost, holding_rate=Decimal("0.25"), pack_size=item.pack_size,
            )  # fmt: skip
            want[key] = suggestion.quantity if suggestion else 0
        got = {(r.item_id, r.warehouse_id): r.suggested_qty for r in s.scalars(select(ReorderResult))}
    assert got == want
    assert sum(v[0] for v in sums.values()) > 0


def test_the_engine_runs_the_reorder_calculation(books: Books, engine: Engine, db_url: str, tmp_path: Path) -> None:
    _item(books, books.supplier(), on_hand=10)
    books.session.commit()
    load_standard_jobs()
    svc = JobSchedulerService(
        engine,
        settings=engine_settings(db_url, tmp_path, job_modules="acas_batch.jobs.stock.reorder_calculation"),
        actor=user(engine, "ann"),
    )
    created, problem = svc.create_job("ST_REORDER_CALCULATION", "ST")
    assert created, problem
    ok, execution_id = svc.execute_job_now(
        "ST_REORDER_CALCULATION", {"business_date": "2027-06-30", "history_days": 10}
    )
    assert ok, execution_id
    ok, detail = svc.wait_for(execution_id, timeout=120)
    assert ok and detail["state"] == "succeeded", (detail.get("error_type"), detail.get("error_message"))
    assert detail["result"]["counts"]["suggestions"] == 1

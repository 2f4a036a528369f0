"""ST_DEAD_STOCK_ANALYSIS and ST_EXPIRY_MONITORING on hand-written books and a demo company, both databases."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from acas_batch.batch.registry import REGISTRY
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import InsufficientStock, ValidationError
from acas_batch.jobs import load_standard_jobs
from acas_batch.ledger import balances
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.ledger.money import pro_rata
from acas_batch.ledger.stock import adjust_stock, issue_stock
from acas_batch.models import (
    BatchAlert,
    BatchExecution,
    ControlKind,
    CostMethod,
    DeadStockResult,
    ExecutionState,
    ExpiryResult,
    Item,
    Lot,
    MovementKind,
    StockLevel,
    StockMovement,
)
from acas_batch.services import JobSchedulerService
from tests.books import Books
from tests.engine_helpers import engine_settings
from tests.support.context import run_job
from tests.support.users import user

DAY = date(2027, 6, 30)
NOW = datetime(2027, 6, 30, 21, 0, tzinfo=UTC)
OLD = date(2026, 4, 15)
DEMO_END = date(2026, 11, 23)
DEMO = DemoSize(customers=8, suppliers=8, items=20, months=14)


def _lot(books: Books, item: int, qty: int, cost: int, on: date = OLD, expiry: date | None = None) -> int:
    """Found stock in a new lot (with its journal); returns the lot id."""
    adjust_stock(
        books.session,
        item_id=item,
        warehouse_id=books.main,
        quantity=qty,
        on=on,
        reference=books.next("IN"),
        unit_cost_pence=cost,
    )
    lot = books.session.scalars(select(func.max(Lot.id)).where(Lot.item_id == item)).one()
    if expiry is not None:
        books.session.execute(update(Lot).where(Lot.id == lot).values(expiry_date=expiry))
    return int(lot)


def _issue(books: Books, item: int, qty: int, on: date) -> None:
    issue_stock(books.session, item_id=item, warehouse_id=books.main, quantity=qty, on=on, reference=books.next("OUT"))


def _csv(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def forced_rerun(engine: Engine, execution_id: int) -> None:
    """What forcing a rerun does to the earlier success of the run key: it is superseded."""
    with transaction(engine, write=True) as s:
        s.execute(update(BatchExecution).where(BatchExecution.id == execution_id).values(superseded_by_id=execution_id))


def _half_up(numerator: int, denominator: int) -> int:
    return int((Decimal(numerator) / denominator).quantize(Decimal(1), ROUND_HALF_UP))


# ---- dead stock: hand-written books ------------------------------------------------------------


def test_dead_and_slow_stock_by_days_since_the_last_issue(books: Books, engine: Engine, settings: Settings) -> None:
    # Given, at 30/06/2027, seven items received on 15/04/2026 (441 days before):
    it = [books.item() for _ in range(7)]
    _lot(books, it[0], 10, 100)
    _issue(books, it[0], 2, date(2027, 6, 1))  # issued 29 days ago: moving
    _lot(books, it[1], 20, 50)
    _issue(books, it[1], 5, date(2027, 2, 15))  # 135 days: slow, although ...
    _lot(books, it[1], 5, 60, on=date(2027, 5, 1))  # ... stock came in 60 days ago
    _lot(books, it[2], 8, 200)  # never issued: idle since its receipt, 441 days: dead
    _lot(books, it[3], 10, 100)
    _issue(books, it[3], 4, date(2026, 12, 1))  # 211 days: dead
    _lot(books, it[4], 10, 100)
    _issue(books, it[4], 1, date(2027, 4, 1))  # exactly 90 days: slow
    _lot(books, it[5], 10, 100)
    _issue(books, it[5], 1, date(2027, 4, 2))  # 89 days: moving
    _lot(books, it[6], 3, 100)
    _issue(books, it[6], 3, date(2026, 5, 1))  # nothing left: not listed
    books.session.commit()

    # When the analysis runs
    run = run_job(engine, settings, "ST_DEAD_STOCK_ANALYSIS", now=NOW, business_date=DAY)

    # Then two dead and two slow lines, with the value tied up and the age of the lots on hand
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with Session(engine) as s:
        rows = {
            r.item_id: (r.status, r.quantity, r.value_pence, r.last_issue_on, r.idle_days, r.average_age_days)
            for r in s.scalars(select(DeadStockResult).where(DeadStockResult.execution_id == run.execution_id))
        }
    assert rows == {
        # 15 left of the old lot (441 days) and 5 of the new one (60 days): (15*441 + 5*60) / 20 = 345.75
        it[1]: ("slow", 20, 15 * 50 + 5 * 60, date(2027, 2, 15), 135, 346),
        it[2]: ("dead", 8, 1600, None, 441, 441),
        it[3]: ("dead", 6, 600, date(2026, 12, 1), 211, 441),
        it[4]: ("slow", 9, 900, date(2027, 4, 1), 90, 441),
    }
    assert run.result is not None
    assert run.result.counts == {"dead_lines": 2, "slow_lines": 2}
    assert run.result.totals == {"dead_value": 2200, "slow_value": 1950, "stock_value": 800 + 1050 + 2200 + 900 + 900}
    lines = _csv(run.result.files[0])
    assert [(r["status"], r["value_pence"], r["last_issue"]) for r in lines] == [
        ("dead", "1600", ""),
        ("dead", "600", "2026-12-01"),
        ("slow", "1050", "2027-02-15"),
        ("slow", "900", "2027-04-01"),
    ]
    assert lines[2]["last_movement"] == "2027-05-01"
    assert Path(run.result.files[1]).read_bytes().startswith(b"%PDF")

    # And a rerun of the run key replaces the snapshot with the same rows
    forced_rerun(engine, run.execution_id)
    again = run_job(engine, settings, "ST_DEAD_STOCK_ANALYSIS", now=NOW, business_date=DAY)
    assert again.state is ExecutionState.SUCCEEDED, again.error
    with Session(engine) as s:
        assert set(s.scalars(select(DeadStockResult.execution_id))) == {again.execution_id}
        assert len(s.scalars(select(DeadStockResult)).all()) == 4


def test_bad_parameters_are_refused_naming_the_field(engine: Engine, settings: Settings) -> None:
    load_standard_jobs()
    dead = REGISTRY.get("ST_DEAD_STOCK_ANALYSIS")
    with pytest.raises(ValidationError, match="slow_days"):
        dead.validate_params({"slow_days": 200})
    with pytest.raises(ValidationError, match="dead_days"):
        dead.validate_params({"dead_days": 0})
    with pytest.raises(ValidationError, match="output_format"):
        dead.validate_params({"output_format": "xls"})
    expiry = REGISTRY.get("ST_EXPIRY_MONITORING")
    with pytest.raises(ValidationError, match="warn_days"):
        expiry.validate_params({"warn_days": []})
    with pytest.raises(ValidationError, match="warn_days"):
        expiry.validate_params({"warn_days": [30, 30]})
    with pytest.raises(ValidationError, match="warn_days"):
        expiry.validate_params({"warn_days": [0, 30]})
    assert expiry.validate_params({"warn_days": [90, 30]}).model_dump()["warn_days"] == [30, 90]
    unknown = run_job(engine, settings, "ST_EXPIRY_MONITORING", now=NOW, business_date=DAY, params={"warehouse": "X1"})
    assert unknown.state is ExecutionState.FAILED and "X1" in str(unknown.error)


# ---- expiry: hand-written books -------------------------------------------------------------------


def _expiring_books(books: Books) -> dict[str, int]:
    fifo, avg = books.item(CostMethod.FIFO), books.item(CostMethod.AVERAGE)
    std, gone, blocked = books.item(CostMethod.STANDARD, 450), books.item(), books.item()
    lots = {
        "a1": _lot(books, fifo, 10, 100, expiry=DAY - timedelta(days=1)),  # expired yesterday
        "a2": _lot(books, fifo, 5, 120, on=OLD + timedelta(days=1), expiry=DAY),  # usable through today
        "b1": _lot(books, avg, 3, 100, expiry=DAY + timedelta(days=30)),
        "b2": _lot(books, avg, 1, 101, expiry=DAY + timedelta(days=60)),
        "c1": _lot(books, std, 2, 450, expiry=DAY + timedelta(days=90)),
        "c2": _lot(books, std, 2, 450, expiry=DAY + timedelta(days=91)),  # beyond the last band
        "d1": _lot(books, gone, 5, 100, expiry=date(2027, 1, 1)),
        "e1": _lot(books, blocked, 4, 50, expiry=date(2027, 5, 1)),
    }
    _issue(books, gone, 5, date(2026, 12, 1))  # expired, but nothing left: not listed
    books.session.execute(update(Lot).where(Lot.id == lots["e1"]).values(quarantined=True))  # blocked earlier
    books.session.commit()
    lots["fifo"] = fifo
    return lots


def _snapshot(engine: Engine, execution_id: int) -> dict[int, tuple[Any, ...]]:
    with Session(engine) as s:
        return {
            r.lot_id: (r.band_days, r.days_left, r.quantity, r.value_pence, r.quarantined)
            for r in s.scalars(select(ExpiryResult).where(ExpiryResult.execution_id == execution_id))
        }


def _stock_value(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.sum(StockLevel.value_pence))) or 0)


def test_expired_lots_are_quarantined_once_and_expiring_stock_is_listed_by_band(
    books: Books, engine: Engine, settings: Settings
) -> None:
    lots = _expiring_books(books)
    value_before = _stock_value(engine)

    # When expiry monitoring runs on 30/06/2027
    run = run_job(
        engine, settings, "ST_EXPIRY_MONITORING", now=NOW, business_date=DAY, params={"output_format": "both"}
    )

    # Then the lot expired yesterday is quarantined (the one blocked before stays so), with an alert
    assert run.state is ExecutionState.WARNING, run.error
    first = _snapshot(engine, run.execution_id)
    assert first == {
        lots["a1"]: (0, -1, 10, 1000, True),
        lots["e1"]: (0, -60, 4, 200, True),
        lots["a2"]: (30, 0, 5, 600, False),
        lots["b1"]: (30, 30, 3, 301, False),  # average 401 for 4: 3/4 of it is 300.75
        lots["b2"]: (60, 60, 1, 100, False),  # and 1/4 is 100.25
        lots["c1"]: (90, 90, 2, 900, False),
    }
    assert run.result is not None
    assert run.result.counts == {
        "expired_lots": 2,
        "newly_quarantined": 1,
        "within_30_days": 2,
        "within_60_days": 1,
        "within_90_days": 1,
    }
    assert run.result.totals == {
        "expired_value": 1200,
        "value_within_30_days": 901,
        "value_within_60_days": 100,
        "value_within_90_days": 900,
    }
    with Session(engine) as s:
        quarantined = set(s.scalars(select(Lot.id).where(Lot.quarantined.is_(True))))
        alerts = s.scalars(select(BatchAlert)).all()
    assert quarantined == {lots["a1"], lots["e1"]}
    assert [(a.rule, a.severity.value, a.details) for a in alerts] == [
        ("stock_expired", "warning", {"lots": 1, "quantity": 14, "value_pence": 1200})
    ]
    assert [r["quarantined"] for r in _csv(run.result.files[0])] == ["yes", "yes", "no", "no", "no", "no"]
    assert Path(run.result.files[1]).read_bytes().startswith(b"%PDF")

    # And quarantine moves no value: stock control still equals the valuation
    assert _stock_value(engine) == value_before
    with Session(engine) as s:
        Books(s).assert_sound()
        assert balances.control_balance(s, ControlKind.STOCK) == value_before
        # and the quarantined lot can no longer be picked: 5 of the item are pickable, not 15
        with pytest.raises(InsufficientStock, match="5 pickable"):
            issue_stock(s, item_id=lots["fifo"], warehouse_id=Books(s).main, quantity=6, on=DAY, reference="X")

    # When it runs again for the same business date
    forced_rerun(engine, run.execution_id)
    again = run_job(engine, settings, "ST_EXPIRY_MONITORING", now=NOW, business_date=DAY)

    # Then nothing is quarantined twice, no second alert, and the snapshot is the same one
    assert again.state is ExecutionState.SUCCEEDED, again.error
    assert again.result is not None and again.result.counts["newly_quarantined"] == 0
    assert _snapshot(engine, again.execution_id) == first
    with Session(engine) as s:
        assert set(s.scalars(select(ExpiryResult.execution_id))) == {again.execution_id}
        assert s.scalar(select(func.count()).select_from(BatchAlert)) == 1
    assert _stock_value(engine) == value_before


def test_a_warehouse_run_quarantines_only_its_warehouse(books: Books, engine: Engine, settings: Settings) -> None:
    from acas_batch.models import Warehouse

    lots = _expiring_books(books)
    books.session.add(Warehouse(code="NORTH", name="North"))
    books.session.commit()
    run = run_job(engine, settings, "ST_EXPIRY_MONITORING", now=NOW, business_date=DAY, params={"warehouse": "NORTH"})
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert run.result is not None and run.result.counts["expired_lots"] == 0
    with Session(engine) as s:
        assert not s.get_one(Lot, lots["a1"]).quarantined


# ---- demo company, checked by an independent computation -------------------------------------------


@pytest.fixture
def demo(engine: Engine) -> Engine:
    generate(engine, size=DEMO, end=DEMO_END, seed=7)
    return engine


def test_dead_stock_on_a_demo_company_matches_plain_python(demo: Engine, settings: Settings) -> None:
    run = run_job(demo, settings, "ST_DEAD_STOCK_ANALYSIS", now=NOW, business_date=DEMO_END)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with Session(demo) as s:
        last_issue: dict[tuple[int, int], date] = {}
        last_any: dict[tuple[int, int], date] = {}
        for m in s.scalars(select(StockMovement).where(StockMovement.movement_date <= DEMO_END)):
            key = (m.item_id, m.warehouse_id)
            last_any[key] = max(last_any.get(key, m.movement_date), m.movement_date)
            if m.kind == MovementKind.ISSUE:
                last_issue[key] = max(last_issue.get(key, m.movement_date), m.movement_date)
        on_hand: dict[tuple[int, int], list[Lot]] = defaultdict(list)
        for lot in s.scalars(select(Lot).where(Lot.quantity_on_hand > 0)):
            on_hand[lot.item_id, lot.warehouse_id].append(lot)
        want = {}
        for level in s.scalars(select(StockLevel).where(StockLevel.quantity > 0)):
            key = (level.item_id, level.warehouse_id)
            lots = on_hand[key]
            since = last_issue.get(key) or min((lot.received_on for lot in lots), default=None) or last_any[key]
            idle = (DEMO_END - since).days
            if idle < 90:
                continue
            qty = sum(lot.quantity_on_hand for lot in lots)
            age = _half_up(sum(lot.quantity_on_hand * (DEMO_END - lot.received_on).days for lot in lots), qty)
            want[key] = ("dead" if idle >= 180 else "slow", level.value_pence, last_issue.get(key), idle, age)
        got = {
            (r.item_id, r.warehouse_id): (r.status, r.value_pence, r.last_issue_on, r.idle_days, r.average_age_days)
            for r in s.scalars(select(DeadStockResult))
        }
    assert got == want
    assert any(v[0] == "dead" for v in want.values())  # the demo has dead stock to find
    assert run.result is not None
    assert run.result.totals["dead_value"] == sum(v[1] for v in want.values() if v[0] == "dead")


def test_expiry_on_a_demo_company_matches_plain_python_and_keeps_the_books_sound(
    demo: Engine, settings: Settings
) -> None:
    with Session(demo) as s:
        items = {i.id: i for i in s.scalars(select(Item))}
        levels = {(lv.item_id, lv.warehouse_id): lv for lv in s.scalars(select(StockLevel))}
        lots = s.scalars(select(Lot).where(Lot.quantity_on_hand > 0, Lot.expiry_date.is_not(None))).all()
        want: dict[int, tuple[Any, ...]] = {}
        for lot in lots:
            assert lot.expiry_date is not None
            left = (lot.expiry_date - DEMO_END).days
            band = 0 if left < 0 else next((b for b in (30, 60, 90) if left <= b), None)
            if band is None:
                continue
            item, level = items[lot.item_id], levels[lot.item_id, lot.warehouse_id]
            if item.cost_method == CostMethod.FIFO:
                value = lot.quantity_on_hand * lot.unit_cost_pence
            elif item.cost_method == CostMethod.STANDARD:
                value = lot.quantity_on_hand * item.standard_cost_pence
            else:
                value = pro_rata(level.value_pence, lot.quantity_on_hand, level.quantity)
            want[lot.id] = (band, left, lot.quantity_on_hand, value, band == 0 or lot.quarantined)
        expired = {lot_id for lot_id, w in want.items() if w[0] == 0}
        control = balances.control_balance(s, ControlKind.STOCK)
    assert expired, "the demo company should hold expired stock"

    run = run_job(demo, settings, "ST_EXPIRY_MONITORING", now=NOW, business_date=DEMO_END)
    assert run.state is ExecutionState.WARNING, run.error
    assert _snapshot(demo, run.execution_id) == want
    assert run.result is not None and run.result.counts["newly_quarantined"] == len(expired)
    with Session(demo) as s:
        assert set(s.scalars(select(Lot.id).where(Lot.quarantined.is_(True)))) == expired
        Books(s).assert_sound()
        assert balances.control_balance(s, ControlKind.STOCK) == control

    forced_rerun(demo, run.execution_id)
    again = run_job(demo, settings, "ST_EXPIRY_MONITORING", now=NOW, business_date=DEMO_END)
    assert again.state is ExecutionState.SUCCEEDED, again.error
    assert again.result is not None and again.result.counts["newly_quarantined"] == 0
    assert _snapshot(demo, again.execution_id) == want


def test_the_engine_quarantines_once_and_a_forced_rerun_replaces_the_list(
    books: Books, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # Given the expiring books, run by the engine's workers in child processes
    lots = _expiring_books(books)
    load_standard_jobs()
    svc = JobSchedulerService(
        engine,
        settings=engine_settings(db_url, tmp_path, job_modules="acas_batch.jobs.stock.expiry_monitoring"),
        actor=user(engine, "ann"),
    )
    created, problem = svc.create_job("ST_EXPIRY_MONITORING", "ST")
    assert created, problem
    states = []
    for reason in (None, "lot dates corrected"):
        ok, execution_id = svc.execute_job_now(
            "ST_EXPIRY_MONITORING", {"business_date": "2027-06-30"}, force_reason=reason
        )
        assert ok, execution_id
        ok, detail = svc.wait_for(execution_id, timeout=120)
        assert ok, detail
        states.append((detail["state"], detail["result"]["counts"]["newly_quarantined"]))
    # Then the first run quarantined the lot and ended in warning; the forced rerun found nothing new
    assert states == [("warning", 1), ("succeeded", 0)]
    with Session(engine) as s:
        assert set(s.scalars(select(Lot.id).where(Lot.quarantined.is_(True)))) == {lots["a1"], lots["e1"]}
        assert set(s.scalars(select(ExpiryResult.execution_id))) == {execution_id}
        assert s.scalar(select(func.count()).select_from(BatchAlert)) == 1
        Books(s).assert_sound()

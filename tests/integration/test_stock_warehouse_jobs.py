"""ST_CYCLE_COUNT_SCHEDULE and ST_LOCATION_REPLENISHMENT on hand-written books and a demo company, both databases."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.batch.registry import REGISTRY
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import ValidationError
from acas_batch.jobs import load_standard_jobs
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.ledger.stock import adjust_stock
from acas_batch.models import (
    AbcClass,
    BatchExecution,
    ClosureDay,
    CountStatus,
    ExecutionState,
    Item,
    Location,
    LocationKind,
    Lot,
    ReplenishmentTask,
    StockCount,
    StockLevel,
    Warehouse,
)
from tests.books import Books
from tests.support.context import run_job

FRIDAY = date(2027, 8, 27)  # Monday 30/08/2027 is the late summer bank holiday
NOW = datetime(2027, 8, 27, 21, 0, tzinfo=UTC)
OLD = date(2026, 4, 15)
DEMO_END = date(2026, 11, 23)
DEMO = DemoSize(customers=8, suppliers=8, items=20, months=14)


def forced_rerun(engine: Engine, execution_id: int) -> None:
    """What forcing a rerun does to the earlier success of the run key: it is superseded."""
    with transaction(engine, write=True) as s:
        s.execute(update(BatchExecution).where(BatchExecution.id == execution_id).values(superseded_by_id=execution_id))


def _csv(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _stock(books: Books, item: int, qty: int, warehouse: int | None = None) -> int:
    adjust_stock(
        books.session,
        item_id=item,
        warehouse_id=warehouse or books.main,
        quantity=qty,
        on=OLD,
        reference=books.next("IN"),
        unit_cost_pence=100,
    )
    return int(books.session.scalars(select(func.max(Lot.id)).where(Lot.item_id == item)).one())


# ---- cycle counts: hand-written books --------------------------------------------------------------


def _classed(
    books: Books, klass: AbcClass | None, last: date | None, *, stock: bool = True, active: bool = True
) -> int:
    item = books.item()
    books.session.execute(
        update(Item).where(Item.id == item).values(abc_class=klass, last_counted_on=last, active=active)
    )
    if stock:
        _stock(books, item, 10)
    return item


def test_count_tasks_by_class_longest_uncounted_first_over_the_business_days(
    books: Books, engine: Engine, settings: Settings
) -> None:
    # Given a closure day on Thursday 02/09/2027: the coming week's business days after Friday
    # 27/08 are Tue 31/08, Wed 01/09 and Fri 03/09 (Monday is a bank holiday)
    books.session.add(ClosureDay(day=date(2027, 9, 2), description="Stocktake training"))
    north = Warehouse(code="NORTH", name="North")
    books.session.add(north)
    books.session.flush()
    a = {
        n: _classed(books, AbcClass.A, last)
        for n, last in (("a1", date(2027, 5, 1)), ("a2", None), ("a3", date(2027, 7, 1)))
    }
    _stock(books, a["a2"], 4, warehouse=north.id)  # counted in both warehouses
    pick = Location(warehouse_id=books.main, code="P01", kind=LocationKind.PICK, item_id=a["a1"], min_qty=1, max_qty=5)
    books.session.add(pick)
    b = {
        "b1": _classed(books, AbcClass.B, date(2027, 1, 1)),
        "b2": _classed(books, AbcClass.B, date(2026, 12, 1)),
        "b3": _classed(books, AbcClass.B, None, stock=False),  # nothing on hand: nothing to count
        "b4": _classed(books, AbcClass.B, date(2027, 3, 1)),
    }
    c = {
        "c1": _classed(books, AbcClass.C, date(2026, 6, 1)),
        "c2": _classed(books, AbcClass.C, None),  # already has a count planned: left out
        "c3": _classed(books, AbcClass.C, date(2026, 5, 1)),  # but counted on 01/08/2027 by a count task
        "c4": _classed(books, AbcClass.C, date(2026, 7, 1)),
        "c5": _classed(books, AbcClass.C, None, active=False),
        "c6": _classed(books, None, date(2026, 9, 1)),  # no class yet: counted as C
    }
    planned = StockCount(
        item_id=c["c2"], warehouse_id=books.main, scheduled_on=date(2027, 9, 10), status=CountStatus.SCHEDULED
    )
    counted = StockCount(
        item_id=c["c3"],
        warehouse_id=books.main,
        scheduled_on=date(2027, 8, 1),
        status=CountStatus.POSTED,
        expected_qty=10,
        counted_qty=10,
        counted_on=date(2027, 8, 1),
    )
    books.session.add_all([planned, counted])
    books.session.commit()

    # When the schedule runs with A counted weekly and B monthly
    params = {"counts_per_year": {"A": 52, "B": 12, "C": 1}}
    run = run_job(engine, settings, "ST_CYCLE_COUNT_SCHEDULE", now=NOW, business_date=FRIDAY, params=params)

    # Then over 3 business days of 251 in the coming year: A ceil(3*52*3/251) = 2, B ceil(3*12*3/251) = 1,
    # C ceil(5*1*3/251) = 1 items; chosen longest-uncounted first and spread evenly (k * 3 // 4):
    # a2 (never) and c1 (01/06/2026) on Tuesday, b2 (01/12/2026) Wednesday, a1 (01/05/2027) Friday
    assert run.state is ExecutionState.SUCCEEDED, run.error
    tue, wed, fri = date(2027, 8, 31), date(2027, 9, 1), date(2027, 9, 3)
    with Session(engine) as s:
        tasks = {
            (t.item_id, t.warehouse_id): (t.scheduled_on, t.location_id, t.expected_qty, t.status)
            for t in s.scalars(select(StockCount).where(StockCount.execution_id == run.execution_id))
        }
    main = books.main
    assert tasks == {
        (a["a2"], main): (tue, None, 10, CountStatus.SCHEDULED),
        (a["a2"], north.id): (tue, None, 4, CountStatus.SCHEDULED),
        (c["c1"], main): (tue, None, 10, CountStatus.SCHEDULED),
        (b["b2"], main): (wed, None, 10, CountStatus.SCHEDULED),
        (a["a1"], main): (fri, pick.id, 10, CountStatus.SCHEDULED),
    }
    assert run.result is not None
    assert run.result.counts == {
        "tasks": 5,
        "items": 4,
        "business_days": 3,
        "tasks_A": 3,
        "tasks_B": 1,
        "tasks_C": 1,
    }
    sheet = _csv(run.result.files[0])
    assert [(r["date"], r["warehouse"], r["location"]) for r in sheet][-1] == ("2027-09-03", "MAIN", "P01")
    assert Path(run.result.files[1]).read_bytes().startswith(b"%PDF")

    # And a rerun of the run key plans the same tasks in place of the earlier ones
    forced_rerun(engine, run.execution_id)
    again = run_job(engine, settings, "ST_CYCLE_COUNT_SCHEDULE", now=NOW, business_date=FRIDAY, params=params)
    assert again.state is ExecutionState.SUCCEEDED, again.error
    with Session(engine) as s:
        rerun = {
            (t.item_id, t.warehouse_id): (t.scheduled_on, t.location_id, t.expected_qty, t.status)
            for t in s.scalars(select(StockCount).where(StockCount.execution_id == again.execution_id))
        }
        assert rerun == tasks
        assert s.scalar(select(func.count()).select_from(StockCount)) == 5 + 2


def test_count_parameters_are_checked_naming_the_field() -> None:
    load_standard_jobs()
    spec = REGISTRY.get("ST_CYCLE_COUNT_SCHEDULE")
    with pytest.raises(ValidationError, match=r"counts_per_year\.A"):
        spec.validate_params({"counts_per_year": {"A": -1, "B": 4, "C": 1}})
    with pytest.raises(ValidationError, match=r"counts_per_year\.D: unknown parameter"):
        spec.validate_params({"counts_per_year": {"A": 12, "B": 4, "C": 1, "D": 1}})
    with pytest.raises(ValidationError, match=r"counts_per_year\.C"):
        spec.validate_params({"counts_per_year": {"A": 12, "B": 4}})
    with pytest.raises(ValidationError, match="period_days"):
        spec.validate_params({"period_days": 0})
    with pytest.raises(ValidationError, match="warehouse"):
        REGISTRY.get("ST_LOCATION_REPLENISHMENT").validate_params({"warehouse": "a b"})


# ---- replenishment: hand-written books ----------------------------------------------------------------


def _place(books: Books, lot: int, location: int, expiry: date | None = None, quarantined: bool = False) -> None:
    books.session.execute(
        update(Lot).where(Lot.id == lot).values(location_id=location, expiry_date=expiry, quarantined=quarantined)
    )


def test_pick_bins_at_or_below_min_are_filled_to_max_from_bulk_earliest_expiry_first(
    books: Books, engine: Engine, settings: Settings
) -> None:
    day = date(2027, 6, 30)
    north = Warehouse(code="NORTH", name="North")
    books.session.add(north)
    books.session.flush()

    def loc(code: str, kind: LocationKind, item: int | None = None, lo: int = 0, hi: int = 0, wh: int = 0) -> int:
        row = Location(warehouse_id=wh or books.main, code=code, kind=kind, item_id=item, min_qty=lo, max_qty=hi)
        books.session.add(row)
        books.session.flush()
        return row.id

    x, y, z = books.item(), books.item(), books.item()
    b1, b2, n1 = loc("B1", LocationKind.BULK), loc("B2", LocationKind.BULK), loc("N1", LocationKind.BULK, wh=north.id)
    p1 = loc("P1", LocationKind.PICK, x, 5, 20)  # holds 4: at or below min, needs 16
    p2 = loc("P2", LocationKind.PICK, x, 2, 10)  # holds only an expired lot: needs 10
    p3 = loc("P3", LocationKind.PICK, y, 5, 10)  # holds 8: above min, no task
    p4 = loc("P4", LocationKind.PICK, z, 3, 12)  # empty, and bulk holds no z: short by 12
    lots = {}
    for name, item, qty, where, expiry, blocked in (
        ("x1", x, 12, b1, date(2027, 9, 1), False),
        ("x2", x, 10, b2, date(2027, 7, 15), False),  # earliest expiry: goes first
        ("x3", x, 30, b1, None, False),  # no expiry date: last
        ("x4", x, 50, b2, date(2027, 6, 29), False),  # expired: never moved to a pick bin
        ("x5", x, 7, b1, date(2027, 7, 1), True),  # quarantined
        ("x6", x, 4, p1, date(2027, 12, 1), False),
        ("x7", x, 3, p2, date(2027, 6, 1), False),  # expired in the pick bin: not pickable
        ("y1", y, 8, p3, None, False),
        ("y2", y, 40, b1, None, False),
    ):
        lots[name] = _stock(books, item, qty)
        _place(books, lots[name], where, expiry, blocked)
    lots["x8"] = _stock(books, x, 100, warehouse=north.id)  # another warehouse's bulk: not used
    _place(books, lots["x8"], n1, date(2027, 7, 1))
    books.session.commit()

    run = run_job(engine, settings, "ST_LOCATION_REPLENISHMENT", now=NOW, business_date=day)

    # Then P1's need [0, 16) and P2's [16, 26) are laid over x2 [0, 10), x1 [10, 22), x3 [22, 52)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with Session(engine) as s:
        tasks = {
            (t.pick_location_id, t.lot_id): (t.quantity, t.from_location_id, t.bin_quantity, t.bin_need)
            for t in s.scalars(select(ReplenishmentTask).where(ReplenishmentTask.execution_id == run.execution_id))
        }
    assert tasks == {
        (p1, lots["x2"]): (10, b2, 4, 16),
        (p1, lots["x1"]): (6, b1, 4, 16),
        (p2, lots["x1"]): (6, b1, 0, 10),
        (p2, lots["x3"]): (4, b1, 0, 10),
        (p4, None): (0, None, 0, 12),
    }
    assert run.result is not None
    assert run.result.counts == {"bins": 3, "moves": 4, "units": 26, "short_bins": 1, "short_units": 12}
    lines = _csv(run.result.files[0])
    assert [(r["pick_bin"], r["from_bin"], r["quantity"]) for r in lines] == [
        ("P1", "B2", "10"),
        ("P1", "B1", "6"),
        ("P2", "B1", "6"),
        ("P2", "B1", "4"),
        ("P4", "", "0"),
    ]
    assert p3 not in {k[0] for k in tasks}


# ---- demo company, checked by an independent computation -----------------------------------------------


@pytest.fixture
def demo(engine: Engine) -> Engine:
    generate(engine, size=DEMO, end=DEMO_END, seed=7)
    return engine


def test_replenishment_on_a_demo_company_matches_a_greedy_fill(demo: Engine, settings: Settings) -> None:
    run = run_job(demo, settings, "ST_LOCATION_REPLENISHMENT", now=NOW, business_date=DEMO_END)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with Session(demo) as s:
        places = {loc.id: loc for loc in s.scalars(select(Location))}
        ok = [
            lot
            for lot in s.scalars(select(Lot).where(Lot.quantity_on_hand > 0, Lot.quarantined.is_(False)))
            if lot.expiry_date is None or lot.expiry_date >= DEMO_END
        ]
        in_bin: dict[int, int] = defaultdict(int)
        bulk: dict[tuple[int, int], list[list[Any]]] = defaultdict(list)
        for lot in ok:
            place = places.get(lot.location_id or 0)
            if place is None:
                continue
            if place.kind == LocationKind.PICK and place.item_id == lot.item_id:
                in_bin[place.id] += lot.quantity_on_hand
            elif place.kind == LocationKind.BULK and place.warehouse_id == lot.warehouse_id:
                bulk[lot.item_id, lot.warehouse_id].append(
                    [lot.expiry_date or date.max, lot.received_on, lot.id, lot.quantity_on_hand, place.id]
                )
        want: dict[tuple[int, int | None], int] = {}
        pick_bins = sorted(
            (p for p in places.values() if p.kind == LocationKind.PICK and p.item_id), key=lambda p: (p.code, p.id)
        )
        for p in pick_bins:
            have = in_bin[p.id]
            if have > p.min_qty or p.max_qty <= have:
                continue
            need = p.max_qty - have
            assert p.item_id is not None
            source = sorted(bulk[p.item_id, p.warehouse_id])
            took = False
            while need and source:
                lot = source[0]
                n = min(need, lot[3])
                want[p.id, lot[2]] = want.get((p.id, lot[2]), 0) + n
                need -= n
                lot[3] -= n
                took = True
                if lot[3] == 0:
                    source.pop(0)
            if not took:
                want[p.id, None] = 0
            bulk[p.item_id, p.warehouse_id] = source
        got = {(t.pick_location_id, t.lot_id): t.quantity for t in s.scalars(select(ReplenishmentTask))}
    assert got == want
    # the demo has work of every kind: moves, bins bulk cannot help, and bins that need nothing
    assert sum(got.values()) > 0 and (None in {lot for _, lot in got})
    assert {p.id for p in pick_bins} - {bin_id for bin_id, _ in got}
    assert run.result is not None and run.result.counts["units"] == sum(want.values())


def test_cycle_count_on_a_demo_company_follows_classes_and_the_calendar(demo: Engine, settings: Settings) -> None:
    now = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    sunday = date(2026, 11, 22)
    abc = run_job(demo, settings, "ST_ABC_ANALYSIS", now=now, business_date=sunday)
    assert abc.state is ExecutionState.SUCCEEDED, abc.error
    run = run_job(demo, settings, "ST_CYCLE_COUNT_SCHEDULE", now=now, business_date=sunday)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with Session(demo) as s:
        closures = set(s.scalars(select(ClosureDay.day)))
        calendar = BusinessCalendar("GB", "ENG", closures)
        days = [sunday + timedelta(days=n) for n in range(1, 8)]
        days = [d for d in days if d.weekday() < 5 and calendar.holiday_name(d) is None]
        year = sum(
            1
            for n in range(1, 366)
            if (d := sunday + timedelta(days=n)).weekday() < 5 and calendar.holiday_name(d) is None
        )
        held = {lv.item_id: lv for lv in s.scalars(select(StockLevel).where(StockLevel.quantity > 0))}
        items = [i for i in s.scalars(select(Item)) if i.active and i.id in held]
        per_class: dict[str, list[Item]] = defaultdict(list)
        for i in items:
            per_class[(i.abc_class or AbcClass.C).value].append(i)
        wanted = {"A": 12, "B": 4, "C": 1}
        chosen = []
        for k, members in per_class.items():
            quota = min(len(members), math.ceil(len(members) * wanted[k] * len(days) / year))
            members.sort(key=lambda i: (i.last_counted_on is not None, i.last_counted_on or date.min, i.code))
            chosen += members[:quota]
        chosen.sort(key=lambda i: (i.last_counted_on is not None, i.last_counted_on or date.min, i.code))
        want = {}
        for k, item in enumerate(chosen):
            for level in s.scalars(select(StockLevel).where(StockLevel.item_id == item.id, StockLevel.quantity > 0)):
                want[item.id, level.warehouse_id] = (days[k * len(days) // len(chosen)], level.quantity)
        got = {
            (t.item_id, t.warehouse_id): (t.scheduled_on, t.expected_qty)
            for t in s.scalars(select(StockCount).where(StockCount.execution_id == run.execution_id))
        }
    assert got == want
    assert len(days) == 5 and len(got) > 0
    assert run.result is not None and run.result.counts["tasks"] == len(want)

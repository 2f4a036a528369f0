"""ST_ABC_ANALYSIS and ST_STOCK_VALUATION on hand-written books and a demo company, both databases."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.analysis.inventory import abc_classify
from acas_batch.batch.registry import REGISTRY
from acas_batch.config import Settings
from acas_batch.errors import ValidationError
from acas_batch.jobs import load_standard_jobs
from acas_batch.jobs.stock import stock_valuation
from acas_batch.jobs.stock.common import year_before
from acas_batch.ledger import balances
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.ledger.stock import adjust_stock, issue_stock
from acas_batch.models import (
    AbcClass,
    AbcResult,
    ControlKind,
    CostMethod,
    ExecutionState,
    Item,
    Lot,
    MovementKind,
    StockLevel,
    StockMovement,
    ValuationResult,
    Warehouse,
)
from acas_batch.services import JobSchedulerService
from tests.books import Books
from tests.engine_helpers import engine_settings
from tests.support.context import run_job
from tests.support.users import user
from tests.support.write_lock import lock_seen_during

DAY = date(2027, 6, 30)
NOW = datetime(2027, 6, 30, 21, 0, tzinfo=UTC)
DEMO_END = date(2026, 11, 23)
DEMO = DemoSize(customers=8, suppliers=8, items=20, months=14)


def _stock(books: Books, item: int, qty: int, cost: int, on: date = date(2026, 4, 15)) -> None:
    adjust_stock(
        books.session,
        item_id=item,
        warehouse_id=books.main,
        quantity=qty,
        on=on,
        reference=books.next("IN"),
        unit_cost_pence=cost,
    )


def _issue(books: Books, item: int, qty: int, on: date) -> None:
    issue_stock(books.session, item_id=item, warehouse_id=books.main, quantity=qty, on=on, reference=books.next("OUT"))


def _sound(engine: Engine) -> None:
    with Session(engine) as s:
        Books(s).assert_sound()


def _csv(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ---- ABC -------------------------------------------------------------------------------


def test_abc_classes_follow_the_last_twelve_months_consumption_value(
    books: Books, engine: Engine, settings: Settings
) -> None:
    # Given five items at 100p a unit; issues this year worth 7000, 1500, 1000, 500 and none,
    # and an issue of item 4 thirteen months ago that no longer counts
    items = [books.item() for _ in range(5)]
    for item in items:
        _stock(books, item, 200, 100)
    for item, qty in zip(items, (70, 15, 10, 5), strict=False):
        _issue(books, item, qty, date(2027, 1, 15))
    _issue(books, items[3], 50, date(2026, 5, 1))
    books.session.commit()

    # When the ABC analysis runs
    run = run_job(engine, settings, "ST_ABC_ANALYSIS", now=NOW, business_date=DAY, params={"output_format": "both"})

    # Then A holds the items before 80% (7000, then 1500 at 70%), B the next up to 95%, the rest C
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with Session(engine) as s:
        classes = dict(s.execute(select(Item.id, Item.abc_class)).all())
        rows = {r.item_id: r for r in s.scalars(select(AbcResult).where(AbcResult.execution_id == run.execution_id))}
    assert [classes[i] for i in items] == ["A", "A", "B", "C", "C"]
    assert [rows[i].consumption_value_pence for i in items] == [7000, 1500, 1000, 500, 0]
    assert [rows[i].cumulative_before_pence for i in items] == [0, 7000, 8500, 9500, 10000]
    assert [rows[i].rank for i in items] == [1, 2, 3, 4, 5]
    assert run.result is not None
    assert run.result.counts == {"class_A": 2, "class_B": 1, "class_C": 2, "items_updated": 5}
    assert run.result.totals["consumption_value"] == 10_000
    lines = _csv(run.result.files[0])
    assert [r["class"] for r in lines] == ["A", "A", "B", "C", "C"]
    assert Path(run.result.files[1]).read_bytes().startswith(b"%PDF")
    _sound(engine)

    # And when item 3's class is changed by hand and the analysis runs again the next day,
    # only that item is reclassified; the others keep their (unchanged) class
    with Session(engine) as s, s.begin():
        s.execute(update(Item).where(Item.id == items[2]).values(abc_class=AbcClass.A))
    next_day = DAY + timedelta(days=1)
    again = run_job(engine, settings, "ST_ABC_ANALYSIS", now=NOW + timedelta(days=1), business_date=next_day)
    assert again.state is ExecutionState.SUCCEEDED, again.error
    assert again.result is not None
    assert again.result.counts == {"class_A": 2, "class_B": 1, "class_C": 2, "items_updated": 1}
    with Session(engine) as s:
        assert [s.get_one(Item, i).abc_class for i in items] == ["A", "A", "B", "C", "C"]


def test_abc_of_one_warehouse_reports_classes_but_leaves_item_classes_alone(
    books: Books, engine: Engine, settings: Settings
) -> None:
    # Given two items consumed this year, 9000p and 1000p, in the main warehouse
    items = [books.item() for _ in range(2)]
    for item, qty in zip(items, (90, 10), strict=True):
        _stock(books, item, 200, 100)
        _issue(books, item, qty, date(2027, 1, 15))
    books.session.commit()
    with Session(engine) as s:
        code = s.scalar(select(Warehouse.code).where(Warehouse.id == books.main))

    # When the analysis runs for that warehouse only
    run = run_job(engine, settings, "ST_ABC_ANALYSIS", now=NOW, business_date=DAY, params={"warehouse": code})

    # Then its snapshot and file class them A and B, and no item's class is written
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert run.result is not None
    assert run.result.counts == {"class_A": 1, "class_B": 1, "class_C": 0, "items_updated": 0}
    assert [(r["class"], r["cumulative_pence"]) for r in _csv(run.result.files[0])] == [("A", "9000"), ("B", "10000")]
    with Session(engine) as s:
        assert [s.get_one(Item, i).abc_class for i in items] == [None, None]
        snapshot = s.scalars(select(AbcResult.abc_class).where(AbcResult.execution_id == run.execution_id))
        assert sorted(snapshot) == ["A", "B"]


def test_abc_bad_parameters_are_refused(engine: Engine, settings: Settings) -> None:
    load_standard_jobs()
    spec = REGISTRY.get("ST_ABC_ANALYSIS")
    with pytest.raises(ValidationError, match="b_pct"):
        spec.validate_params({"a_pct": 90, "b_pct": 80})
    with pytest.raises(ValidationError, match="warehouse"):
        spec.validate_params({"warehouse": "no such!"})
    with pytest.raises(ValidationError, match="colour: unknown parameter"):
        spec.validate_params({"colour": "red"})
    unknown = run_job(engine, settings, "ST_ABC_ANALYSIS", now=NOW, business_date=DAY, params={"warehouse": "NORTH"})
    assert unknown.state is ExecutionState.FAILED and "NORTH" in str(unknown.error)


# ---- valuation -------------------------------------------------------------------------


def _three_methods(books: Books) -> tuple[int, int, int]:
    fifo, avg, std = books.item(CostMethod.FIFO), books.item(CostMethod.AVERAGE), books.item(CostMethod.STANDARD, 450)
    _stock(books, fifo, 10, 100)
    _stock(books, fifo, 10, 130, on=date(2026, 4, 16))
    _issue(books, fifo, 12, date(2026, 5, 4))  # 10 x 100 + 2 x 130 out; 8 x 130 = 1040 left
    _stock(books, avg, 2, 100)
    _stock(books, avg, 1, 101)
    _issue(books, avg, 1, date(2026, 5, 4))  # 301 / 3 = 100 out; 201 left
    _stock(books, std, 10, 450)  # 4500 at standard
    books.session.commit()
    return fifo, avg, std


def test_valuation_by_cost_method_ties_to_stock_control(books: Books, engine: Engine, settings: Settings) -> None:
    fifo, avg, std = _three_methods(books)
    run = run_job(engine, settings, "ST_STOCK_VALUATION", now=NOW, business_date=DAY)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with Session(engine) as s:
        rows = {r.item_id: r for r in s.scalars(select(ValuationResult))}
    assert {i: (rows[i].quantity, rows[i].value_pence) for i in (fifo, avg, std)} == {
        fifo: (8, 1040),
        avg: (2, 201),
        std: (10, 4500),
    }
    assert run.result is not None
    assert run.result.totals == {
        "valuation": 5741,
        "book_value": 5741,
        "item_difference": 0,
        "stock_control": 5741,
        "control_difference": 0,
    }
    assert [f.rsplit(".", 1)[1] for f in run.result.files] == ["csv", "pdf"]
    _sound(engine)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_on_sqlite_the_valuation_is_committed_before_its_files_so_others_can_write_meanwhile(
    books: Books, engine: Engine, settings: Settings, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_methods(books)
    seen = lock_seen_during(monkeypatch, stock_valuation, "write_csv", db_url)  # as the job writes its CSV
    run = run_job(engine, settings, "ST_STOCK_VALUATION", now=NOW, business_date=DAY)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert seen == [True]


def test_a_changed_standard_cost_is_listed_as_a_difference_and_warns(
    books: Books, engine: Engine, settings: Settings
) -> None:
    # Given the standard cost raised from 450 to 500 without a revaluation posted
    _, _, std = _three_methods(books)
    books.session.execute(update(Item).where(Item.id == std).values(standard_cost_pence=500))
    books.session.commit()
    run = run_job(engine, settings, "ST_STOCK_VALUATION", now=NOW, business_date=DAY, params={"output_format": "csv"})
    # Then the item is valued at 5000 against 4500 in the books, and the run ends in WARNING
    assert run.state is ExecutionState.WARNING
    assert run.result is not None and run.result.totals["control_difference"] == 500
    lines = {r["cost_method"]: r for r in _csv(run.result.files[0])}
    assert (lines["standard"]["value_pence"], lines["standard"]["difference_pence"]) == ("5000", "500")
    assert len(run.result.files) == 1


# ---- demo company, checked by an independent computation ---------------------------------


@pytest.fixture
def demo(engine: Engine) -> Engine:
    generate(engine, size=DEMO, end=DEMO_END, seed=7)
    return engine


def test_abc_and_valuation_on_a_demo_company_match_plain_python(demo: Engine, settings: Settings) -> None:
    now = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
    abc = run_job(demo, settings, "ST_ABC_ANALYSIS", now=now, business_date=DEMO_END)
    val = run_job(demo, settings, "ST_STOCK_VALUATION", now=now, business_date=DEMO_END)
    assert abc.state is ExecutionState.SUCCEEDED, abc.error
    assert val.state is ExecutionState.SUCCEEDED, val.error
    with Session(demo) as s:
        items = {i.id: i for i in s.scalars(select(Item))}
        used: dict[int, int] = defaultdict(int)
        since = year_before(DEMO_END)
        for m in s.scalars(select(StockMovement).where(StockMovement.kind == MovementKind.ISSUE)):
            if since < m.movement_date <= DEMO_END:
                used[m.item_id] -= m.value_pence
        expected = abc_classify([(items[i].code, used.get(i, 0)) for i in items if items[i].active])
        assert {items[i].code: items[i].abc_class for i in items if items[i].active} == expected
        assert sum(used.values()) > 0

        fifo: dict[tuple[int, int], int] = defaultdict(int)
        for lot in s.scalars(select(Lot)):
            fifo[lot.item_id, lot.warehouse_id] += lot.quantity_on_hand * lot.unit_cost_pence
        moved: dict[tuple[int, int], int] = defaultdict(int)
        for m in s.scalars(select(StockMovement)):
            moved[m.item_id, m.warehouse_id] += m.value_pence
        want = {}
        for level in s.scalars(select(StockLevel)):
            if level.quantity or level.value_pence:
                item, key = items[level.item_id], (level.item_id, level.warehouse_id)
                by = {CostMethod.FIFO: fifo[key], CostMethod.AVERAGE: moved[key]}
                want[key] = by.get(item.cost_method, level.quantity * item.standard_cost_pence)
        got = {(r.item_id, r.warehouse_id): r.value_pence for r in s.scalars(select(ValuationResult))}
        assert got == want
        assert sum(want.values()) == balances.control_balance(s, ControlKind.STOCK)
        Books(s).assert_sound()


def test_the_engine_runs_the_jobs_and_a_forced_rerun_replaces_the_snapshot(
    books: Books, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    _three_methods(books)
    load_standard_jobs()
    svc = JobSchedulerService(
        engine,
        settings=engine_settings(db_url, tmp_path, job_modules="acas_batch.jobs.stock"),
        actor=user(engine, "ann"),
    )
    for name in ("ST_STOCK_VALUATION", "ST_ABC_ANALYSIS"):
        created, problem = svc.create_job(name, "ST")
        assert created, problem
    ok, execution_id = svc.execute_job_now("ST_STOCK_VALUATION", {"business_date": "2027-06-30"})
    assert ok, execution_id
    ok, detail = svc.wait_for(execution_id, timeout=120)
    assert ok and detail["state"] == "succeeded", (detail.get("error_type"), detail.get("error_message"))
    assert detail["result"]["totals"]["valuation"] == 5741
    ran = []
    for reason in (None, "recount after a correction"):
        ok, abc_id = svc.execute_job_now("ST_ABC_ANALYSIS", {"business_date": "2027-06-30"}, force_reason=reason)
        assert ok, abc_id
        ok, detail = svc.wait_for(abc_id, timeout=120)
        assert ok and detail["state"] == "succeeded", (detail.get("error_type"), detail.get("error_message"))
        ran.append(abc_id)
    ok, refused = svc.execute_job_now("ST_ABC_ANALYSIS", {"business_date": "2027-06-30"})
    assert not ok and "already succeeded" in refused
    with Session(engine) as s:
        assert set(s.scalars(select(ValuationResult.execution_id))) == {execution_id}
        assert set(s.scalars(select(AbcResult.execution_id))) == {ran[1]}
        assert len(list(s.scalars(select(AbcResult)))) == 3

"""A deterministic demo company: a UK wholesaler with months of trading, at any size.

The same seed, size and end date give the same rows, value for value, on SQLite and
PostgreSQL: every id is assigned here and every figure comes from one seeded
``random.Random``. Rows stream to the database in chunks (``COPY`` on PostgreSQL), planned
events wait on disk, and what is kept per customer, supplier, item and stock is a few
``array`` columns, so memory hardly grows with the company's size and not at all with the
length of its history.
"""

from __future__ import annotations

import random
import time as clock
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from sqlalchemy import Engine, bindparam, func, select, update

from acas_batch.db import write_engine
from acas_batch.errors import DemoDataExists, ValidationError
from acas_batch.ledger.bulk import BulkWriter
from acas_batch.ledger.chart import (
    chart_rows,
    financial_year_of,
    month_start,
    period_rows,
    sync_id_sequences,
    vat_rows,
)
from acas_batch.ledger.demo_masters import PL_ACCOUNTS, build_masters
from acas_batch.ledger.demo_trade import Trade
from acas_batch.models import (
    LEDGER_TABLES,
    Account,
    Customer,
    Item,
    Location,
    LocationKind,
    Lot,
    PeriodStatus,
    VatScheme,
)

YEAR_START_MONTH = 4  # April, as most UK small companies
INVOICES_PER_CUSTOMER_MONTH = 2.0


@dataclass(frozen=True)
class DemoSize:
    """How big the company is and how much history it has."""

    customers: int
    suppliers: int
    items: int
    months: int = 24

    @classmethod
    def scaled(cls, scale: float, months: int = 24) -> DemoSize:
        """Scale 1 is a small company (40 customers, about 2,000 invoices in 24 months);
        scale 650 gives over 1,000,000 invoices and 10,000,000 journal lines; scale
        :data:`MAX_SCALE` is the most there can be."""
        if not scale > 0:  # also NaN
            raise ValidationError(f"demo scale must be positive, not {scale}")
        if scale > MAX_SCALE:
            raise ValidationError(
                f"demo scale {scale:g} is more than the {MAX_SCALE} allowed (scale {MAX_SCALE}: "
                f"{MAX_SIZE.customers:,} customers, about 1.8 million invoices in 24 months)"
            )
        return cls(
            customers=max(6, round(40 * scale)),
            suppliers=max(8, round(6 * scale)),
            items=max(10, round(50 * scale)),
            months=months,
        )

    def check(self) -> None:
        """Refuse a size below one of anything, or beyond :data:`MAX_SIZE` (one clear line each)."""
        for name in ("customers", "suppliers", "items", "months"):
            value, most = getattr(self, name), getattr(MAX_SIZE, name)
            if value < 1:
                raise ValidationError(f"demo {name} must be at least 1, not {value}")
            if value > most:
                raise ValidationError(f"demo {name} {value:,} is more than the {most:,} allowed")


#: The largest demo: a thousand times the small company, at most ten years of history. A
#: bigger one would take hours and tens of gigabytes for no test or demonstration it serves.
MAX_SCALE = 1000
MAX_SIZE = DemoSize(customers=40 * MAX_SCALE, suppliers=6 * MAX_SCALE, items=50 * MAX_SCALE, months=120)


@dataclass(frozen=True)
class DemoProgress:
    """Where the generator is: reported once a simulated week and at the end."""

    day: date
    days_done: int
    days_total: int
    rows_written: int


@dataclass(frozen=True)
class DemoReport:
    """What was generated, and how fast."""

    seed: int
    size: DemoSize
    start: date
    end: date
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "seed": self.seed,
            "size": asdict(self.size),
            "start": self.start,
            "end": self.end,
            "seconds": round(self.seconds, 2),
            "total_rows": self.total_rows,
            "rows_per_second": round(self.rows_per_second),
            "sales_invoices": self.rows.get("sl_invoice_rec", 0),
            "journal_lines": self.rows.get("gl_journal_line_rec", 0),
            "rows": dict(sorted(self.rows.items())),
        }


def ledger_is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return not conn.scalar(select(func.count()).select_from(Account))


#: Seeds are kept on the company record, an integer column on both databases.
MAX_SEED = 2**31 - 1


def generate(
    engine: Engine,
    *,
    size: DemoSize,
    end: date,
    seed: int = 1,
    chunk_rows: int = 20_000,
    progress: Callable[[DemoProgress], None] | None = None,
) -> DemoReport:
    """Write a demo company with ``size.months`` of history ending on ``end`` into an empty ledger.

    All of it in one transaction: a generation that is interrupted (killed, out of space, the
    connection lost) leaves the database as it was, and the next one starts afresh. On SQLite
    the write lock is held throughout, so generate before starting the scheduler.
    """
    size.check()
    if not 0 <= seed <= MAX_SEED:
        raise ValidationError(f"demo seed must be between 0 and {MAX_SEED}, not {seed}")
    if not ledger_is_empty(engine):
        raise DemoDataExists("the database already holds ledger data; the demo company goes into an empty ledger")
    started = clock.perf_counter()
    rng = random.Random(seed)
    start = month_start(end, -(size.months - 1))
    scale = size.customers / 40
    created_at = datetime.combine(end, time(0), UTC)
    days_total = (end - start).days + 1

    with write_engine(engine).connect() as conn:
        conn.begin()
        if conn.dialect.name == "postgresql":  # a second generator waits here, then finds the ledger taken
            conn.exec_driver_sql("LOCK TABLE gl_account_rec IN EXCLUSIVE MODE")
        if conn.scalar(select(func.count()).select_from(Account)):
            raise DemoDataExists("the database already holds ledger data; the demo company goes into an empty ledger")
        w = BulkWriter(conn, chunk_rows=chunk_rows)
        w.add_many("gl_account_rec", chart_rows())
        w.add_many("vat_code_rec", vat_rows())
        periods, fy_ends = _periods(w, start, end)
        w.add(
            "bank_account_rec",
            {
                "id": 1,
                "code": "BANK1",
                "name": "Current account",
                "account_id": 4,
                "sort_code": "401276",
                "account_number": "71234567",
            },
        )
        closures = [date(y, 12, d) for y in range(start.year, end.year + 2) for d in (27, 28, 29, 30, 31)]
        w.add_many(
            "closure_day_rec",
            ({"id": n, "date": d, "description": "Christmas shutdown"} for n, d in enumerate(closures, start=1)),
        )
        masters = build_masters(
            w,
            rng,
            customers=size.customers,
            suppliers=size.suppliers,
            items=size.items,
            start=start,
            end=end,
            daily_lines=size.customers * INVOICES_PER_CUSTOMER_MONTH * 12 / 252 * 2.5,
        )
        w.flush()
        days_done = 0

        def on_day(day: date) -> None:
            nonlocal days_done
            days_done += 1
            w.maybe_flush()
            if progress is not None and (day.weekday() == 6 or day == end):
                progress(DemoProgress(day, days_done, days_total, w.written + w.pending))

        trade = Trade(
            w,
            rng,
            masters,
            start=start,
            end=end,
            periods=periods,
            fy_ends=fy_ends,
            scale=scale,
            invoices_per_customer_month=INVOICES_PER_CUSTOMER_MONTH,
            created_at=created_at,
            on_day=on_day,
        )
        trade.run()
        _finish(w, trade, rng, periods, end)
        w.add(
            "company_rec",
            {
                "id": 1,
                "name": "Pennine Wholesale Ltd (demo)",
                "base_currency": "GBP",
                "year_start_month": YEAR_START_MONTH,
                "vat_registration": "GB987654321",
                "vat_scheme": VatScheme.ACCRUAL,
                "demo_seed": seed,
                "created_at": created_at,
            },
        )
        w.flush()
        sync_id_sequences(conn, LEDGER_TABLES)
        conn.commit()
        if conn.dialect.name == "postgresql":
            # Planner statistics for what was just bulk-loaded: without them (autovacuum off, or
            # not yet round) the jobs' first queries are planned blind.
            conn.exec_driver_sql("ANALYZE " + ", ".join(LEDGER_TABLES))
            conn.commit()
        if progress is not None:
            progress(DemoProgress(end, days_total, days_total, w.written))
    return DemoReport(seed, size, start, end, clock.perf_counter() - started, dict(w.counts))


def _periods(w: BulkWriter, start: date, end: date) -> tuple[dict[tuple[int, int], int], list[date]]:
    """Periods of every financial year the history touches, and one more; which are closed or locked.

    Periods ending before the end date's month are closed, as the books of a company handing
    over to the system would be, so the first scheduled GL_PERIOD_CLOSE (the end date's month)
    finds no earlier period open; a financial year whose periods are all closed was year-end
    closed: locked.
    """
    first_fy = financial_year_of(start, YEAR_START_MONTH)
    years = financial_year_of(end, YEAR_START_MONTH) - first_fy + 2
    rows = period_rows(first_fy, years, YEAR_START_MONTH)
    closed_before = month_start(end, 0)
    ends = {int(str(r["id"])): cast(date, r["end_date"]) for r in rows}
    fy_of = {int(str(r["id"])): int(str(r["financial_year"])) for r in rows}
    locked_years = {fy for fy in set(fy_of.values()) if all(ends[p] < closed_before for p in ends if fy_of[p] == fy)}
    fy_ends = sorted(max(ends[p] for p in ends if fy_of[p] == fy) for fy in locked_years)
    for r in rows:
        pid = int(str(r["id"]))
        if ends[pid] < closed_before:
            r["status"] = PeriodStatus.LOCKED if fy_of[pid] in locked_years else PeriodStatus.CLOSED
            r["closed_at"] = datetime.combine(ends[pid] + timedelta(days=5), time(18, 0), UTC)
    w.add_many("accounting_period_rec", rows)
    lookup = {(ends[p].year, ends[p].month): p for p in ends}
    return lookup, [e for e in fy_ends if e >= start]


def _finish(w: BulkWriter, trade: Trade, rng: random.Random, periods: dict[tuple[int, int], int], end: date) -> None:
    """Stock levels, budgets, then the few rows whose final state only the end knows."""
    stock = trade.m.stock
    for stock_id, (k, item_id, wh) in enumerate(stock.keys(), start=1):
        w.add(
            "st_stock_rec",
            {
                "id": stock_id,
                "item_id": item_id,
                "warehouse_id": wh,
                "quantity": stock.qty[k],
                "value_pence": stock.value[k],
                "allocated_qty": 0,
            },
        )
        w.maybe_flush()
    last_period = max(periods.values())
    budgets: dict[tuple[int, int], int] = {}
    for (account, period), actual in sorted(trade.actuals.items()):
        if account in PL_ACCOUNTS and actual:
            budgets[(account, period)] = round(actual * rng.uniform(0.88, 1.12) / 10_000) * 10_000
    for (account, period), actual in sorted(trade.actuals.items()):
        ahead = period + 12
        if account in PL_ACCOUNTS and actual and ahead <= last_period and (account, ahead) not in budgets:
            budgets[(account, ahead)] = round(actual * 1.06 / 10_000) * 10_000
    for budget_id, ((account, period), amount) in enumerate(sorted(budgets.items()), start=1):
        w.add(
            "gl_budget_rec", {"id": budget_id, "account_id": account, "period_id": period, "amount_pence": int(amount)}
        )
        w.maybe_flush()
    for n, ((account, period), (debit, credit)) in enumerate(sorted(trade.balances.items()), start=1):
        w.add(
            "gl_balance_rec",
            {"id": n, "account_id": account, "period_id": period, "debit_pence": debit, "credit_pence": credit},
        )
        w.maybe_flush()
    w.flush()
    conn = w.conn
    conn.execute(update(Lot).values(quantity_on_hand=0))
    w.execute_many(
        update(Lot).where(Lot.id == bindparam("lot")).values(quantity_on_hand=bindparam("qty")),
        ({"lot": lot, "qty": qty} for k in range(stock.items * stock.warehouses) for lot, qty in stock.lots(k)),
    )
    _warehouse_floor(w, trade, end)
    w.execute_many(
        update(Customer)
        .where(Customer.id == bindparam("cust"))
        .values(
            dunning_level=bindparam("level"), last_dunning_on=bindparam("sent"), in_collection=bindparam("collect")
        ),
        (
            {"cust": customer, "level": level, "sent": on, "collect": level == 3}
            for customer, level, on in trade.dunning.reminded(end)
        ),
    )


def _warehouse_floor(w: BulkWriter, trade: Trade, end: date) -> None:
    """Pick bins and counts as a warehouse would have them; no random draws, so other rows stay as they were.

    Every other item's newest lot sits in its pick bin (some bins above their minimum, some
    not: replenishment has work of both kinds); most items were last counted some days ago
    and every fifth never was (the cycle count starts with those).
    """
    conn = w.conn
    bins = conn.execute(
        select(Location.id, Location.warehouse_id, Location.item_id).where(Location.kind == LocationKind.PICK)
    ).all()
    moves = []
    for bin_id, wh, item_id in bins:
        if item_id is not None and item_id % 2 == 0:
            newest = trade.m.stock.newest_lot(trade.m.stock.key(item_id, wh))
            if newest is not None:
                moves.append({"lot": newest, "bin": bin_id})
    if moves:
        conn.execute(update(Lot).where(Lot.id == bindparam("lot")).values(location_id=bindparam("bin")), moves)
    w.execute_many(
        update(Item).where(Item.id == bindparam("item")).values(last_counted_on=bindparam("on")),
        (
            {"item": item_id, "on": end - timedelta(days=(item_id * 37) % 360 + 1)}
            for item_id in range(1, len(trade.m.items) + 1)
            if item_id % 5
        ),
    )

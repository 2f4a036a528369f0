"""The demo company's standing data: customers, suppliers, items, warehouses and bins.

Sizes follow heavy-tailed distributions (Pareto activity weights, log-normal prices), so a
few customers and items carry most of the trade, as in a real wholesaler.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from acas_batch.ledger.bulk import BulkWriter
from acas_batch.ledger.chart import STANDARD_CHART, STANDARD_VAT
from acas_batch.models import AccountType, CostMethod, LocationKind

#: Account ids of the standard chart by code and by control role; VAT rates by code id.
ACC = {a.code: n for n, a in enumerate(STANDARD_CHART, start=1)}
CTRL = {a.control: n for n, a in enumerate(STANDARD_CHART, start=1) if a.control is not None}
PL_ACCOUNTS = {n for n, a in enumerate(STANDARD_CHART, start=1) if a.type in (AccountType.INCOME, AccountType.EXPENSE)}
RATES = {n: v.rate for n, v in enumerate(STANDARD_VAT, start=1)}
SEASON = (0.85, 0.9, 1.0, 1.0, 1.05, 1.0, 0.95, 0.85, 1.05, 1.1, 1.25, 1.2)  # January first

# VAT code ids of the standard books (chart.STANDARD_VAT order).
VAT_S, VAT_R, VAT_Z = 1, 2, 3

CATEGORIES = (
    ("FOOD", 0.18, VAT_Z, 180),  # (name, share, VAT code, shelf life days or 0)
    ("DRINK", 0.07, VAT_S, 365),
    ("CLEAN", 0.15, VAT_S, 730),
    ("PAPER", 0.15, VAT_S, 0),
    ("PACK", 0.15, VAT_S, 0),
    ("HYGIENE", 0.10, VAT_S, 540),
    ("ENERGY", 0.05, VAT_R, 0),
    ("TOOLS", 0.15, VAT_S, 0),
)
FIRST = ("Acme", "Albion", "Beacon", "Bridge", "Castle", "Crown", "Dale", "Eden", "Forge", "Granite", "Harbour")
SECOND = ("Foods", "Catering", "Stores", "Trading", "Hotels", "Cafes", "Supplies", "Retail", "Services", "Bakery")
TOWNS = ("Leeds", "York", "Hull", "Bradford", "Harrogate", "Wakefield", "Sheffield", "Doncaster", "Ripon", "Selby")
#: Payment behaviour: (share of customers, days after due: low, high); last two are special.
PAYER_PROFILES = ((0.55, -5, 5), (0.25, 5, 45), (0.12, 30, 120), (0.05, 0, 0), (0.03, 0, 0))
PART_PAYER, BAD_PAYER = 3, 4
#: Overhead suppliers: (name, expense account code, monthly pence per scale unit, VAT code).
OVERHEADS = (
    ("Yorkshire Property Ltd", "6100", 180_000, 4),
    ("Northern Energy plc", "6200", 45_000, VAT_R),
    ("Fleetfuel Cards", "6300", 60_000, VAT_S),
    ("Pennine IT Services", "6400", 30_000, VAT_S),
    ("Express Carriers", "5100", 50_000, VAT_S),
)


@dataclass(slots=True)
class Cust:
    id: int
    terms: int
    profile: int
    salesperson: int


@dataclass(slots=True)
class Supp:
    id: int
    code: str
    terms: int
    discount_pct: Decimal
    discount_days: int
    has_bank: bool
    email: str | None
    overhead: tuple[str, str, int, int] | None = None


@dataclass(slots=True)
class ItemState:
    id: int
    code: str
    method: CostMethod
    standard_cost: int
    cost: int
    price: int
    vat: int
    supplier: int  # index into suppliers
    lead: int
    reorder_point: int
    reorder_qty: int
    pack: int
    shelf_life: int | None
    dead_from: date | None


class StockBook:
    """Stock of every item in every warehouse while the demo runs, held in columns.

    Per (item, warehouse), at :meth:`key`: quantity, value and quantity on order, and the
    FIFO lots as one flat array of (lot id, quantity left, unit cost) triples, oldest first.
    An object per stock with a deque of lists cost about 1,100 bytes; these cost about 100,
    for every item in every warehouse.
    """

    LOT = 3  # ints per lot in ``lots``

    def __init__(self, items: int, warehouses: int) -> None:
        self.items, self.warehouses = items, warehouses
        n = items * warehouses
        self.qty = array("q", bytes(8 * n))
        self.value = array("q", bytes(8 * n))
        self.on_order = array("q", bytes(8 * n))
        self.lots = [array("q") for _ in range(n)]

    def key(self, item_id: int, warehouse_id: int) -> int:
        return (item_id - 1) * self.warehouses + warehouse_id - 1

    def keys(self) -> Iterator[tuple[int, int, int]]:
        """(key, item id, warehouse id) by item, then warehouse."""
        for k in range(self.items * self.warehouses):
            yield k, k // self.warehouses + 1, k % self.warehouses + 1


@dataclass
class Masters:
    customers: list[Cust]
    customer_weights: list[float]
    suppliers: list[Supp]
    items: list[ItemState]
    item_weights: list[float]
    warehouses: list[int]
    bulk_bins: dict[int, list[int]]
    stock: StockBook


def _pareto_weights(rng: random.Random, n: int, alpha: float) -> list[float]:
    return [rng.paretovariate(alpha) for _ in range(n)]


def build_masters(
    w: BulkWriter,
    rng: random.Random,
    *,
    customers: int,
    suppliers: int,
    items: int,
    start: date,
    end: date,
    daily_lines: float,
) -> Masters:
    """Write the standing data and return the state the trading simulation needs."""
    n_sales = max(2, customers // 400)
    for i in range(1, n_sales + 1):
        w.add(
            "sl_salesperson_rec",
            {
                "id": i,
                "code": f"SP{i:03d}",
                "name": f"Salesperson {i}",
                "commission_rate": Decimal(rng.choice(("0.0200", "0.0250", "0.0300", "0.0400", "0.0500"))),
                "email": f"sp{i}@demo.example",
                "active": True,
            },
        )
        w.maybe_flush()
    w.add("st_warehouse_rec", {"id": 1, "code": "MAIN", "name": "Leeds main warehouse"})
    w.add("st_warehouse_rec", {"id": 2, "code": "NORTH", "name": "Teesside depot"})
    warehouses = [1, 2]

    supps: list[Supp] = []
    for i in range(1, max(len(OVERHEADS) + 2, suppliers) + 1):
        overhead = OVERHEADS[i - 1] if i <= len(OVERHEADS) else None
        discount = Decimal(rng.choice(("0", "0", "0", "1.5", "2.0", "2.5"))) if overhead is None else Decimal(0)
        has_bank = rng.random() < 0.85
        s = Supp(
            id=i,
            code=f"S{i:05d}",
            terms=rng.choice((14, 30, 30, 30, 45, 60)),
            discount_pct=discount,
            discount_days=10 if discount else 0,
            has_bank=has_bank,
            email=f"accounts@supplier{i}.example" if rng.random() < 0.7 else None,
            overhead=overhead,
        )
        supps.append(s)
        w.add(
            "pl_supplier_rec",
            {
                "id": i,
                "code": s.code,
                "name": overhead[0] if overhead else f"{rng.choice(FIRST)} {rng.choice(SECOND)} Wholesale {i}",
                "payment_terms_days": s.terms,
                "settlement_discount_pct": discount,
                "settlement_days": s.discount_days,
                "sort_code": f"{rng.randrange(10**6):06d}" if has_bank else None,
                "bank_account_number": f"{rng.randrange(10**8):08d}" if has_bank else None,
                "remittance_email": s.email,
                "on_hold": False,
                "opened_on": start - timedelta(days=rng.randrange(30, 3000)),
            },
        )
        w.maybe_flush()
    trade_suppliers = list(range(len(OVERHEADS), len(supps)))
    supplier_weights = _pareto_weights(rng, len(trade_suppliers), 1.3)

    custs: list[Cust] = []
    weights = _pareto_weights(rng, customers, 1.5)
    shares = [p[0] for p in PAYER_PROFILES]
    for i in range(1, customers + 1):
        profile = rng.choices(range(len(PAYER_PROFILES)), weights=shares)[0]
        c = Cust(
            id=i, terms=rng.choice((14, 30, 30, 30, 30, 45, 60)), profile=profile, salesperson=rng.randint(1, n_sales)
        )
        custs.append(c)
        limit = int(weights[i - 1] * 250_000) // 10_000 * 10_000 + 50_000
        w.add(
            "sl_customer_rec",
            {
                "id": i,
                "code": f"C{i:06d}",
                "name": f"{rng.choice(FIRST)} {rng.choice(SECOND)} {rng.choice(TOWNS)}",
                "credit_limit_pence": limit,
                "payment_terms_days": c.terms,
                "on_stop": False,
                "salesperson_id": c.salesperson,
                "statement_email": f"accounts@customer{i}.example" if rng.random() < 0.7 else None,
                "dunning_enabled": rng.random() < 0.9,
                "dunning_level": 0,
                "in_collection": False,
                "opened_on": start - timedelta(days=rng.randrange(0, 3650)),
            },
        )
        w.maybe_flush()

    item_weights = _pareto_weights(rng, items, 1.2)
    total_weight = sum(item_weights)
    cat_shares = [c[1] for c in CATEGORIES]
    states: list[ItemState] = []
    dead_cut = end - timedelta(days=rng.randint(200, 300))
    for i in range(1, items + 1):
        cat, _, vat, life = CATEGORIES[rng.choices(range(len(CATEGORIES)), weights=cat_shares)[0]]
        cost = max(5, int(rng.lognormvariate(math.log(600), 0.9)))
        price = cost * rng.randint(125, 165) // 100
        method = rng.choices((CostMethod.FIFO, CostMethod.AVERAGE, CostMethod.STANDARD), weights=(5, 4, 1))[0]
        standard = cost if method == CostMethod.STANDARD else 0
        supplier = trade_suppliers[rng.choices(range(len(trade_suppliers)), weights=supplier_weights)[0]]
        lead = rng.choice((3, 5, 7, 7, 10, 14, 21))
        pack = rng.choice((1, 1, 1, 6, 12, 24))
        demand = daily_lines * 2.2 * item_weights[i - 1] / total_weight  # units per day
        reorder_point = max(pack, math.ceil(demand * (lead + 5)))
        reorder_qty = max(pack, math.ceil(demand * 30 / pack) * pack)
        dead = rng.random() < 0.03 or i % 25 == 0  # slow sellers that stopped selling: dead stock
        states.append(
            ItemState(
                id=i,
                code=f"{cat[:2]}{i:06d}",
                method=method,
                standard_cost=standard,
                cost=cost,
                price=price,
                vat=vat,
                supplier=supplier,
                lead=lead,
                reorder_point=reorder_point,
                reorder_qty=reorder_qty,
                pack=pack,
                shelf_life=life or None,
                dead_from=dead_cut if dead else None,
            )
        )
        w.add(
            "st_item_rec",
            {
                "id": i,
                "code": states[-1].code,
                "description": f"{cat.title()} product {i}",
                "category": cat,
                "unit": "EA" if pack == 1 else f"PK{pack}",
                "cost_method": method,
                "standard_cost_pence": standard,
                "sell_price_pence": price,
                "vat_code_id": vat,
                "supplier_id": supps[supplier].id,
                "lead_time_days": lead,
                "reorder_point": reorder_point,
                "reorder_qty": reorder_qty,
                "pack_size": pack,
                "shelf_life_days": life or None,
                "active": True,
            },
        )
        w.maybe_flush()

    bulk_bins: dict[int, list[int]] = {}
    location_id = 0
    ranked = sorted(range(items), key=lambda k: -item_weights[k])
    for wh in warehouses:
        bulk_bins[wh] = []
        for b in range(1, max(4, min(200, items // 20)) + 1):
            location_id += 1
            bulk_bins[wh].append(location_id)
            w.add(
                "st_location_rec",
                {
                    "id": location_id,
                    "warehouse_id": wh,
                    "code": f"B{b:03d}",
                    "kind": LocationKind.BULK,
                    "item_id": None,
                },
            )
            w.maybe_flush()
        for rank, k in enumerate(ranked[: min(items, 500)], start=1):
            location_id += 1
            top = max(2, states[k].reorder_point)
            w.add(
                "st_location_rec",
                {
                    "id": location_id,
                    "warehouse_id": wh,
                    "code": f"P{rank:04d}",
                    "kind": LocationKind.PICK,
                    "item_id": states[k].id,
                    "min_qty": top // 2,
                    "max_qty": top,
                },
            )
            w.maybe_flush()
    stock = StockBook(items, len(warehouses))  # warehouse ids are 1, 2, ...
    return Masters(custs, weights, supps, states, item_weights, warehouses, bulk_bins, stock)

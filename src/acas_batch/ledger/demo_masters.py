"""The demo company's standing data: customers, suppliers, items, warehouses and bins.

Sizes follow heavy-tailed distributions (Pareto activity weights, log-normal prices), so a
few customers and items carry most of the trade, as in a real wholesaler.
"""

from __future__ import annotations

import heapq
import math
import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate

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


#: Cost methods by their index in :attr:`Items.method`.
METHODS = (CostMethod.FIFO, CostMethod.AVERAGE, CostMethod.STANDARD)
FIFO, AVERAGE, STANDARD = range(len(METHODS))
#: Settlement discounts offered by trade suppliers, by their index in :attr:`Suppliers.discount`.
DISCOUNTS = ("0", "1.5", "2.0", "2.5")
DISCOUNT_PCT = tuple(Decimal(d) for d in DISCOUNTS)


class Customers:
    """Customers' trading terms, in columns indexed by customer number (id - 1).

    A slotted record per customer, with its place in a list, cost about 120 bytes; these
    columns cost 6, so standing data stays small at any size.
    """

    def __init__(self) -> None:
        self.terms = array("B")  # payment terms in days
        self.profile = array("B")  # index into PAYER_PROFILES
        self.salesperson = array("I")

    def __len__(self) -> int:
        return len(self.terms)


class Suppliers:
    """Suppliers in columns indexed by supplier number (id - 1); code and email follow from the number."""

    def __init__(self) -> None:
        self.terms = array("B")  # payment terms in days
        self.discount = array("B")  # index into DISCOUNTS
        self.has_bank = array("B")
        self.has_email = array("B")

    def __len__(self) -> int:
        return len(self.terms)

    @staticmethod
    def code(s: int) -> str:
        return f"S{s + 1:05d}"

    def email(self, s: int) -> str | None:
        return f"accounts@supplier{s + 1}.example" if self.has_email[s] else None

    def discount_pct(self, s: int) -> Decimal:
        return DISCOUNT_PCT[self.discount[s]]

    def discount_days(self, s: int) -> int:
        return 10 if self.discount[s] else 0

    @staticmethod
    def overhead(s: int) -> tuple[str, str, int, int] | None:
        """The first suppliers invoice overheads (rent, energy, ...), the rest sell stock."""
        return OVERHEADS[s] if s < len(OVERHEADS) else None


class Items:
    """Items in columns indexed by item number (id - 1): about 45 bytes an item, not 600 as records."""

    def __init__(self, dead_from: date) -> None:
        self.dead_from = dead_from  # the day dead stock stopped selling
        self.category = array("B")  # index into CATEGORIES
        self.method = array("B")  # index into METHODS
        self.standard_cost = array("q")
        self.cost = array("q")
        self.price = array("q")
        self.vat = array("B")  # VAT code id
        self.supplier = array("I")  # supplier number (index into Suppliers)
        self.lead = array("B")  # lead time in days
        self.reorder_point = array("q")
        self.reorder_qty = array("q")
        self.pack = array("B")
        self.shelf_life = array("H")  # days, 0 for none
        self.dead = array("B")  # 1: stops selling on ``dead_from``

    def __len__(self) -> int:
        return len(self.cost)

    def code(self, k: int) -> str:
        return f"{CATEGORIES[self.category[k]][0][:2]}{k + 1:06d}"

    def unit_cost(self, k: int) -> int:
        """What a unit is carried at: the standard cost for standard-cost items, else the list cost."""
        return self.standard_cost[k] if self.method[k] == STANDARD else self.cost[k]

    def selling(self, k: int, day: date) -> bool:
        """Whether the item still sells on ``day`` (dead stock stops)."""
        return not self.dead[k] or day < self.dead_from


END = -1  # no slot: the end of a chain of lots


class StockBook:
    """Stock of every item in every warehouse while the demo runs, held in columns.

    Per (item, warehouse), at :meth:`key`: quantity, value and quantity on order, and its
    FIFO lots as a chain, oldest first, through one pool of lot slots (lot id, quantity left,
    unit cost, next slot). A slot is reused once its lot is used up, so the pool holds the lots
    on hand, not every lot received. An array of lots per stock cost about 130 bytes even when
    nearly empty; a stock costs 32 bytes here, and each lot on hand 28.
    """

    def __init__(self, items: int, warehouses: int) -> None:
        self.items, self.warehouses = items, warehouses
        n = items * warehouses
        self.qty = array("q", bytes(8 * n))
        self.value = array("q", bytes(8 * n))
        self.on_order = array("q", bytes(8 * n))
        self.head = array("i", [END]) * n  # oldest lot's slot
        self.tail = array("i", [END]) * n  # newest lot's slot
        self.lot_id = array("q")
        self.lot_qty = array("q")
        self.lot_cost = array("q")
        self.next = array("i")  # the next newer lot's slot in the same stock, or the next free slot
        self.free = END

    def add_lot(self, k: int, lot_id: int, qty: int, cost: int) -> None:
        """Put a lot at the newest end of stock ``k``'s lots."""
        slot = self.free
        if slot == END:
            slot = len(self.next)
            self.lot_id.append(lot_id)
            self.lot_qty.append(qty)
            self.lot_cost.append(cost)
            self.next.append(END)
        else:
            self.free = self.next[slot]
            self.lot_id[slot], self.lot_qty[slot], self.lot_cost[slot], self.next[slot] = lot_id, qty, cost, END
        if self.tail[k] == END:
            self.head[k] = slot
        else:
            self.next[self.tail[k]] = slot
        self.tail[k] = slot

    def drop_oldest(self, k: int) -> None:
        """Remove stock ``k``'s oldest lot (used up) and free its slot."""
        slot = self.head[k]
        self.head[k] = self.next[slot]
        if self.head[k] == END:
            self.tail[k] = END
        self.next[slot] = self.free
        self.free = slot

    def lots(self, k: int) -> Iterator[tuple[int, int]]:
        """(lot id, quantity left) of stock ``k``'s lots, oldest first."""
        slot = self.head[k]
        while slot != END:
            yield self.lot_id[slot], self.lot_qty[slot]
            slot = self.next[slot]

    def newest_lot(self, k: int) -> int | None:
        slot = self.tail[k]
        return None if slot == END else self.lot_id[slot]

    def fifo_value(self, k: int, qty: int) -> int:
        """Value of the oldest ``qty`` units of stock ``k``."""
        value, left, slot = 0, qty, self.head[k]
        while slot != END:
            take = min(left, self.lot_qty[slot])
            value += take * self.lot_cost[slot]
            left -= take
            if left == 0:
                break
            slot = self.next[slot]
        return value

    def key(self, item_id: int, warehouse_id: int) -> int:
        return (item_id - 1) * self.warehouses + warehouse_id - 1

    def keys(self) -> Iterator[tuple[int, int, int]]:
        """(key, item id, warehouse id) by item, then warehouse."""
        for k in range(self.items * self.warehouses):
            yield k, k // self.warehouses + 1, k % self.warehouses + 1


@dataclass
class Masters:
    customers: Customers
    customer_weights: array[float]
    suppliers: Suppliers
    items: Items
    item_weights: array[float]
    warehouses: list[int]
    bulk_bins: dict[int, list[int]]
    stock: StockBook


def _pareto_weights(rng: random.Random, n: int, alpha: float) -> array[float]:
    return array("d", (rng.paretovariate(alpha) for _ in range(n)))


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

    supps = Suppliers()
    for i in range(1, max(len(OVERHEADS) + 2, suppliers) + 1):
        overhead = Suppliers.overhead(i - 1)
        discount = DISCOUNTS.index(rng.choice(("0", "0", "0", "1.5", "2.0", "2.5"))) if overhead is None else 0
        has_bank = rng.random() < 0.85
        supps.terms.append(rng.choice((14, 30, 30, 30, 45, 60)))
        supps.discount.append(discount)
        supps.has_bank.append(has_bank)
        supps.has_email.append(rng.random() < 0.7)
        w.add(
            "pl_supplier_rec",
            {
                "id": i,
                "code": supps.code(i - 1),
                "name": overhead[0] if overhead else f"{rng.choice(FIRST)} {rng.choice(SECOND)} Wholesale {i}",
                "payment_terms_days": supps.terms[-1],
                "settlement_discount_pct": DISCOUNT_PCT[discount] if overhead is None else Decimal(0),
                "settlement_days": supps.discount_days(i - 1),
                "sort_code": f"{rng.randrange(10**6):06d}" if has_bank else None,
                "bank_account_number": f"{rng.randrange(10**8):08d}" if has_bank else None,
                "remittance_email": supps.email(i - 1),
                "on_hold": False,
                "opened_on": start - timedelta(days=rng.randrange(30, 3000)),
            },
        )
        w.maybe_flush()
    trade_suppliers = range(len(OVERHEADS), len(supps))
    # Cumulative weights once, not per draw: ``choices`` would accumulate the same sums each time.
    supplier_cum = list(accumulate(_pareto_weights(rng, len(trade_suppliers), 1.3)))

    custs = Customers()
    weights = _pareto_weights(rng, customers, 1.5)
    shares = [p[0] for p in PAYER_PROFILES]
    for i in range(1, customers + 1):
        profile = rng.choices(range(len(PAYER_PROFILES)), weights=shares)[0]
        terms = rng.choice((14, 30, 30, 30, 30, 45, 60))
        salesperson = rng.randint(1, n_sales)
        custs.terms.append(terms)
        custs.profile.append(profile)
        custs.salesperson.append(salesperson)
        limit = int(weights[i - 1] * 1_000_000) // 10_000 * 10_000 + 200_000
        w.add(
            "sl_customer_rec",
            {
                "id": i,
                "code": f"C{i:06d}",
                "name": f"{rng.choice(FIRST)} {rng.choice(SECOND)} {rng.choice(TOWNS)}",
                "credit_limit_pence": limit,
                "payment_terms_days": terms,
                "on_stop": False,
                "salesperson_id": salesperson,
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
    dead_cut = end - timedelta(days=rng.randint(200, 300))
    states = Items(dead_cut)
    for i in range(1, items + 1):
        c_index = rng.choices(range(len(CATEGORIES)), weights=cat_shares)[0]
        cat, _, vat, life = CATEGORIES[c_index]
        cost = max(20, int(rng.lognormvariate(math.log(2_400), 0.9)))
        price = cost * rng.randint(125, 165) // 100
        method = rng.choices(range(len(METHODS)), weights=(5, 4, 1))[0]
        standard = cost if method == STANDARD else 0
        supplier = trade_suppliers[rng.choices(range(len(trade_suppliers)), cum_weights=supplier_cum)[0]]
        lead = rng.choice((3, 5, 7, 7, 10, 14, 21))
        pack = rng.choice((1, 1, 1, 6, 12, 24))
        demand = daily_lines * 2.2 * item_weights[i - 1] / total_weight  # units per day
        reorder_point = max(pack, math.ceil(demand * (lead + 5)))
        reorder_qty = max(pack, math.ceil(demand * 30 / pack) * pack)
        dead = rng.random() < 0.03 or i % 25 == 0  # slow sellers that stopped selling: dead stock
        states.category.append(c_index)
        states.method.append(method)
        states.standard_cost.append(standard)
        states.cost.append(cost)
        states.price.append(price)
        states.vat.append(vat)
        states.supplier.append(supplier)
        states.lead.append(lead)
        states.reorder_point.append(reorder_point)
        states.reorder_qty.append(reorder_qty)
        states.pack.append(pack)
        states.shelf_life.append(life)
        states.dead.append(dead)
        w.add(
            "st_item_rec",
            {
                "id": i,
                "code": states.code(i - 1),
                "description": f"{cat.title()} product {i}",
                "category": cat,
                "unit": "EA" if pack == 1 else f"PK{pack}",
                "cost_method": METHODS[method],
                "standard_cost_pence": standard,
                "sell_price_pence": price,
                "vat_code_id": vat,
                "supplier_id": supplier + 1,
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
    # The busiest items get pick bins: the first of a stable sort by weight, without sorting them all.
    ranked = heapq.nsmallest(min(items, 500), range(items), key=lambda k: -item_weights[k])
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
        for rank, k in enumerate(ranked, start=1):
            location_id += 1
            top = max(2, states.reorder_point[k])
            w.add(
                "st_location_rec",
                {
                    "id": location_id,
                    "warehouse_id": wh,
                    "code": f"P{rank:04d}",
                    "kind": LocationKind.PICK,
                    "item_id": k + 1,
                    "min_qty": top // 2,
                    "max_qty": top,
                },
            )
            w.maybe_flush()
    stock = StockBook(items, len(warehouses))  # warehouse ids are 1, 2, ...
    return Masters(custs, weights, supps, states, item_weights, warehouses, bulk_bins, stock)

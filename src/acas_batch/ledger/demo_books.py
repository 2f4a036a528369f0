"""The demo company's books while it trades: the shared state every part of the demo writes through.

:class:`TradeBooks` owns what sales, purchasing and the company's own routine (:mod:`demo_trade`)
share: the bulk writer, the random source, the master data, ids, planned events, balances, VAT
totals, stock lots and each customer's dunning state, with the plumbing that posts a journal
or a bank statement line. :mod:`demo_sales` and :mod:`demo_buying` depend on it; :class:`Trade`
extends it with the day-by-day run, so nothing imports back up.
"""

from __future__ import annotations

import random
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import holidays

from acas_batch.ledger.bulk import BulkWriter
from acas_batch.ledger.chart import month_start
from acas_batch.ledger.demo_events import PlannedEvents
from acas_batch.ledger.demo_masters import FIFO, PL_ACCOUNTS, Masters
from acas_batch.ledger.money import pro_rata
from acas_batch.ledger.posting import JournalDraft, LineDraft, journal_problems
from acas_batch.models import (
    JournalSource,
    JournalStatus,
    MovementKind,
)

REPEAT_DAYS = 14  # SL_OVERDUE_REMINDERS' default: no letter within 14 days of one as firm
NEVER = 2**31 - 1  # an item never settled within the history


class Dunning:
    """Each customer's reminder state, in columns by customer number, kept by SL_OVERDUE_REMINDERS' rules.

    A letter's level is its item's (7, 30, 60 days overdue) but never below a level already
    sent about an item still open; a letter waits while one at least as firm went out within
    the repeat days. The customer's level is the latest letter's, back to 0 once nothing
    overdue is left open.
    """

    def __init__(self, customers: int) -> None:
        self.level = array("B", bytes(customers))  # 0: never reminded
        self.sent = array("i", bytes(4 * customers))  # date ordinal of the latest reminder
        self.by_level = [array("i", bytes(4 * customers)) for _ in range(3)]  # latest letter at levels 1, 2, 3
        self.top = array("B", bytes(customers))  # the highest level sent about an item ...
        self.top_until = array("i", bytes(4 * customers))  # ... open until this ordinal
        self.open_until = array("i", bytes(4 * customers))  # the latest settling day of any reminded item

    def letter(self, customer: int, level: int, on: date, settled: int) -> int:
        """The level a letter about an item earning ``level`` goes out at ``on``, or 0 if it waits."""
        c, day = customer - 1, on.toordinal()
        if self.top_until[c] > day:
            level = max(level, self.top[c])
        if any(self.by_level[n - 1][c] and day - self.by_level[n - 1][c] < REPEAT_DAYS for n in range(level, 4)):
            return 0
        self.by_level[level - 1][c] = day
        if level > self.top[c] or self.top_until[c] <= day:
            self.top[c], self.top_until[c] = level, settled
        elif level == self.top[c]:
            self.top_until[c] = max(self.top_until[c], settled)
        self.open_until[c] = max(self.open_until[c], settled)
        self.level[c], self.sent[c] = level, day
        return level

    def reminded(self, end: date) -> Iterator[tuple[int, int, date]]:
        """(customer id, level, day sent) of every customer reminded, level 0 once everything reminded is paid."""
        for c, level in enumerate(self.level):
            if level:
                still_open = self.open_until[c] > end.toordinal()
                yield c + 1, level if still_open else 0, date.fromordinal(self.sent[c])


class TradeBooks:
    """The state of the demo company's trade from ``start`` to ``end``, written through ``w``."""

    def __init__(
        self,
        w: BulkWriter,
        rng: random.Random,
        m: Masters,
        *,
        start: date,
        end: date,
        periods: dict[tuple[int, int], int],
        fy_ends: list[date],
        scale: float,
        invoices_per_customer_month: float,
        created_at: datetime,
        on_day: Callable[[date], None] | None = None,
    ) -> None:
        self.w, self.rng, self.m = w, rng, m
        self.start, self.end = start, end
        self.periods = periods
        self.fy_ends = fy_ends
        self.scale = scale
        self.rate = invoices_per_customer_month
        self.created_at = created_at
        self.on_day = on_day
        self.ids: dict[str, int] = defaultdict(int)
        self.planned = PlannedEvents()
        self.balances: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        self.actuals: dict[tuple[int, int], int] = defaultdict(int)
        self.vat_q: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # box1, box4, box6, box7 by quarter end
        self.returns_to_pay: dict[date, dict[str, Any]] = {}  # written when paid (by the end date)
        self.dunning = Dunning(len(m.customers))
        self.touched: dict[tuple[int, int], None] = {}
        years = range(start.year, end.year + 2)
        self.holidays = set(holidays.country_holidays("GB", subdiv="ENG", years=years))
        self.closures = {date(y, 12, d) for y in years for d in (27, 28, 29, 30, 31)}
        total = sum(m.customer_weights)
        self.cust_cum = _cumulative(x / total for x in m.customer_weights)
        self.item_cum = _cumulative(m.item_weights)
        self.invoices = self.sales_lines = 0

    # -- plumbing ---------------------------------------------------------------------------

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def at(self, day: date, kind: str, *payload: Any) -> None:
        if day <= self.end:
            self.planned.at(day, kind, payload)

    def working(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays and day not in self.closures

    def next_working(self, day: date) -> date:
        while not self.working(day):
            day += timedelta(days=1)
        return day

    def quarter_end(self, day: date) -> date:
        q_end_month = ((day.month - 1) // 3 + 1) * 3
        return month_start(date(day.year, q_end_month, 1), 1) - timedelta(days=1)

    def journal(
        self,
        day: date,
        source: JournalSource,
        reference: str,
        lines: tuple[LineDraft, ...] | list[LineDraft],
        description: str = "",
        *,
        journal_id: int | None = None,
        closing: bool = False,
    ) -> tuple[int, list[int]]:
        """Check and write a journal (pending on the end date, posted before). Returns its id and line ids."""
        draft = JournalDraft(day, source, reference, tuple(lines), description)
        problems = journal_problems(draft)
        if problems:
            raise AssertionError("demo generator built a bad journal: " + "; ".join(problems))
        jid = journal_id or self.next_id("gl_journal_rec")
        period = self.periods[(day.year, day.month)]
        posted = day < self.end
        self.w.add(
            "gl_journal_rec",
            {
                "id": jid,
                "journal_date": day,
                "period_id": period,
                "source": source,
                "reference": reference[:32],
                "description": description[:128],
                "status": JournalStatus.POSTED if posted else JournalStatus.PENDING,
                "total_pence": draft.debits,
                "posted_on": day if posted else None,
                "created_at": self.created_at,
            },
        )
        line_ids = []
        for n, line in enumerate(draft.nonzero_lines(), start=1):
            lid = self.next_id("gl_journal_line_rec")
            line_ids.append(lid)
            self.w.add(
                "gl_journal_line_rec",
                {
                    "id": lid,
                    "journal_id": jid,
                    "line_no": n,
                    "account_id": line.account_id,
                    "debit_pence": line.debit_pence,
                    "credit_pence": line.credit_pence,
                    "vat_code_id": line.vat_code_id,
                    "description": line.description[:128],
                },
            )
            if posted:
                bal = self.balances[(line.account_id, period)]
                bal[0] += line.debit_pence
                bal[1] += line.credit_pence
            if not closing and line.account_id in PL_ACCOUNTS:
                self.actuals[(line.account_id, period)] += line.debit_pence - line.credit_pence
        return jid, line_ids

    def statement_line(self, day: date, amount: int, reference: str, cash_line: int | None) -> None:
        """The bank's view of a cash-book line: a day or three later; matched if old enough."""
        if self.rng.random() < 0.004:
            return  # lost in the post: the reconciliation finds it unmatched
        on = day + timedelta(days=self.rng.choice((0, 1, 1, 2, 3)))
        if on > self.end:
            return
        matched = cash_line is not None and on < self.end - timedelta(days=45)
        self.w.add(
            "bank_statement_line_rec",
            {
                "id": self.next_id("bank_statement_line_rec"),
                "bank_account_id": 1,
                "statement_date": on,
                "amount_pence": amount,
                "reference": reference[:32],
                "description": "",
                "matched_line_id": cash_line if matched else None,
                "matched_on": on + timedelta(days=2) if matched else None,
            },
        )

    def add_lot(
        self, item_id: int, wh: int, *, qty: int, cost: int, day: date, lot_number: str, journal_id: int
    ) -> int:
        """A new lot (FIFO layer) with its receipt movement; returns the lot id."""
        life = self.m.items.shelf_life[item_id - 1]
        lot_id = self.next_id("st_lot_rec")
        self.w.add(
            "st_lot_rec",
            {
                "id": lot_id,
                "item_id": item_id,
                "warehouse_id": wh,
                "location_id": self.rng.choice(self.m.bulk_bins[wh]),
                "lot_number": lot_number[:24],
                "received_on": day,
                "expiry_date": day + timedelta(days=life) if life else None,
                "unit_cost_pence": cost,
                "quantity_received": qty,
                "quantity_on_hand": qty,  # corrected at the end for lots since drawn on
                "quarantined": False,
            },
        )
        self.w.add(
            "st_movement_rec",
            {
                "id": self.next_id("st_movement_rec"),
                "item_id": item_id,
                "warehouse_id": wh,
                "lot_id": lot_id,
                "kind": MovementKind.RECEIPT if not lot_number.startswith("OPEN") else MovementKind.ADJUSTMENT,
                "movement_date": day,
                "quantity": qty,
                "unit_cost_pence": cost,
                "value_pence": qty * cost,
                "reference": lot_number[:32],
                "journal_id": journal_id,
            },
        )
        stock, k = self.m.stock, self.m.stock.key(item_id, wh)
        stock.qty[k] += qty
        stock.value[k] += qty * cost
        stock.add_lot(k, lot_id, qty, cost)
        return lot_id

    def issue(self, item_id: int, wh: int, *, qty: int, day: date, reference: str, journal_id: int) -> int:
        """Take stock out by the item's cost method, oldest lots first; returns the value issued."""
        fifo = self.m.items.method[item_id - 1] == FIFO
        stock, k = self.m.stock, self.m.stock.key(item_id, wh)
        value = stock.fifo_value(k, qty) if fifo else pro_rata(stock.value[k], qty, stock.qty[k])
        left, remaining = qty, value
        while left:
            slot = stock.head[k]
            lot_id, on_hand, cost = stock.lot_id[slot], stock.lot_qty[slot], stock.lot_cost[slot]
            take = min(left, on_hand)
            left -= take
            if fifo:
                part = take * cost
            elif left == 0:
                part = remaining
            else:
                part = pro_rata(value, take, qty)
            remaining -= part
            if take == on_hand:
                stock.drop_oldest(k)
            else:
                stock.lot_qty[slot] = on_hand - take
            self.w.add(
                "st_movement_rec",
                {
                    "id": self.next_id("st_movement_rec"),
                    "item_id": item_id,
                    "warehouse_id": wh,
                    "lot_id": lot_id,
                    "kind": MovementKind.ISSUE,
                    "movement_date": day,
                    "quantity": -take,
                    "unit_cost_pence": part // take,
                    "value_pence": -part,
                    "reference": reference,
                    "journal_id": journal_id,
                },
            )
        stock.qty[k] -= qty
        stock.value[k] -= value
        return value

    def track_vat(self, day: date, output: int, input_: int, sales: int, purchases: int) -> None:
        q = self.vat_q[self.quarter_end(day)]
        q[0] += output
        q[1] += input_
        q[2] += sales
        q[3] += purchases


def _cumulative(weights: Iterable[float]) -> array[float]:
    out, acc = array("d"), 0.0
    for x in weights:
        acc += x
        out.append(acc)
    return out

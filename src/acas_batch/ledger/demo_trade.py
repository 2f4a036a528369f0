"""The demo company's trading, day by day: sales, receipts, purchasing, payments, overheads, VAT.

Every transaction goes through the same posting rules as the API (``sales_document_journal``,
``price_line``, ``vat_for``, ``pro_rata``, ``journal_problems``), but is written in bulk.
The fate of each document (its receipts, credit note, deliveries, invoice, payment) is
planned when it is created, so its row is written once with its state at the end date;
future events wait on disk (:class:`PlannedEvents`) until the day they fall due, and
buffered rows are flushed a chunk at a time between documents, so memory does not grow
with the volume of trade.
"""

from __future__ import annotations

import random
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import holidays

from acas_batch.ledger.bulk import BulkWriter
from acas_batch.ledger.chart import month_start
from acas_batch.ledger.demo_buying import Buying
from acas_batch.ledger.demo_events import PlannedEvents
from acas_batch.ledger.demo_masters import ACC, CTRL, FIFO, PL_ACCOUNTS, Masters
from acas_batch.ledger.demo_sales import Dunning, Sales
from acas_batch.ledger.money import pro_rata
from acas_batch.ledger.posting import JournalDraft, LineDraft, cr, dr, journal_problems
from acas_batch.models import (
    ControlKind,
    JournalSource,
    JournalStatus,
    MovementKind,
)


class Trade:
    """Runs the company from ``start`` to ``end`` and writes every row through ``w``."""

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
        self.sales = Sales(self)
        self.buying = Buying(self)
        self.handlers: dict[str, Callable[..., None]] = {
            "receipt": self.sales.on_receipt,
            "credit_note": self.sales.on_credit_note,
            "goods_received": self.buying.on_goods_received,
            "purchase_invoice": self.buying.on_purchase_invoice,
            "vat_payment": self.on_vat_payment,
        }

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

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.planned.close()

    def _run(self) -> None:
        self.opening_balances()
        day = self.start
        while day <= self.end:
            for kind, payload in self.planned.due(day):
                self.handlers[kind](day, *payload)
                self.w.maybe_flush()  # between documents: every buffered row's parents are buffered too
            if day.day == 1:
                self.month_start(day)
            if self.working(day):
                self.sales.sales_day(day)
                self.buying.payment_run(day)
                self.buying.reorder(day)
            if (day + timedelta(days=1)).day == 1:
                self.month_end(day)
            if day in self.fy_ends:
                self.year_end(day)
            if self.on_day is not None:
                self.on_day(day)
            day += timedelta(days=1)

    def opening_balances(self) -> None:
        """Opening stock (one lot per item and warehouse), cash, capital: one posted GL journal.

        The journal is written before its lots, so the lots can be flushed as they go: every
        item in every warehouse has one, too many rows to hold at full size.
        """
        day = self.start
        jid = self.next_id("gl_journal_rec")
        items = self.m.items
        # Two passes over the items (the total, then the lots) rather than a list of every opening lot.
        stock_value = sum(
            (items.reorder_point[k] + items.reorder_qty[k]) * items.unit_cost(k)
            for k in range(len(items))
            for _ in self.m.warehouses
        )
        cash = int(2_000_000 * self.scale) + 500_000
        capital = int(1_000_000 * self.scale)
        self.journal(
            day,
            JournalSource.GL,
            "OPENING",
            [
                dr(CTRL[ControlKind.STOCK], stock_value),
                dr(CTRL[ControlKind.BANK], cash),
                cr(ACC["3000"], capital),
                cr(ACC["3200"], stock_value + cash - capital),
            ],
            "Opening balances",
            journal_id=jid,
        )
        for k in range(len(items)):
            qty, cost, code = items.reorder_point[k] + items.reorder_qty[k], items.unit_cost(k), items.code(k)
            for wh in self.m.warehouses:
                self.add_lot(k + 1, wh, qty=qty, cost=cost, day=day, lot_number=f"OPEN-{code}-{wh}", journal_id=jid)
                self.w.maybe_flush()

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

    # -- overheads, VAT, closes -------------------------------------------------------------

    def month_start(self, day: date) -> None:
        """Overheads are invoiced on the first working day; the bank charges its fee; VAT falls due."""
        on = self.next_working(day)
        if on > self.end:
            return
        self.buying.overheads(on)
        self.statement_line(on, -self.rng.randint(2_500, 8_000), "BANK CHARGES", None)
        q_end = month_start(day, -1) - timedelta(days=1)
        if day.month in (2, 5, 8, 11) and q_end >= self.start:
            self.vat_return(q_end, self.next_working(day + timedelta(days=6)))

    def month_end(self, day: date) -> None:
        """Wages on the last working day of the month, paid by the bank."""
        on = day
        while not self.working(on):
            on -= timedelta(days=1)
        if on > self.end or on < self.start:
            return
        wages = int(3_500_000 * self.scale * self.rng.uniform(0.97, 1.05))
        _, (_, bank_line) = self.journal(
            on,
            JournalSource.GL,
            f"WAGES {on:%Y-%m}",
            [dr(ACC["6000"], wages), cr(CTRL[ControlKind.BANK], wages)],
            "Payroll",
        )
        self.statement_line(on, -wages, f"PAYROLL {on:%Y-%m}", bank_line)

    def track_vat(self, day: date, output: int, input_: int, sales: int, purchases: int) -> None:
        q = self.vat_q[self.quarter_end(day)]
        q[0] += output
        q[1] += input_
        q[2] += sales
        q[3] += purchases

    def vat_return(self, quarter_end: date, pay_day: date) -> None:
        """The quarter's return (submitted) and, if due by the end date, the payment to HMRC.

        A return paid by the end date is written with its payment (``paid_on``, the journal),
        when the payment is made; one paid later is written now, unsettled.
        """
        box1, box4, box6, box7 = self.vat_q.pop(quarter_end, [0, 0, 0, 0])
        quarter_start = month_start(quarter_end, -2)
        row = {
            "id": self.next_id("vat_return_rec"),
            "period_key": f"{quarter_end:%y}C{(quarter_end.month - 1) // 3 + 1}",
            "start_date": max(quarter_start, self.start),
            "end_date": quarter_end,
            "status": "submitted",
            "box1_pence": box1,
            "box3_pence": box1,
            "box4_pence": box4,
            "box5_pence": abs(box1 - box4),
            "box6_pence": box6 // 100 * 100,
            "box7_pence": box7 // 100 * 100,
            "created_at": datetime.combine(quarter_end + timedelta(days=20), time(10, 0), UTC),
            "submitted_at": datetime.combine(quarter_end + timedelta(days=21), time(10, 0), UTC),
        }
        if pay_day <= self.end:
            self.returns_to_pay[quarter_end] = row
            self.at(pay_day, "vat_payment", quarter_end, box1, box4)
        else:
            self.w.add("vat_return_rec", row)

    def on_vat_payment(self, day: date, quarter_end: date, box1: int, box4: int) -> None:
        """Pay the return's net VAT (or take HMRC's repayment) and write the return, settled."""
        reference = f"HMRC VAT {quarter_end:%Y-%m}"
        journal_id, line_ids = self.journal(
            day,
            JournalSource.GL,
            reference,
            [
                dr(CTRL[ControlKind.VAT_OUTPUT], box1),
                cr(CTRL[ControlKind.VAT_INPUT], box4),
                cr(CTRL[ControlKind.BANK], box1 - box4),
            ],
            "VAT paid to HMRC",
        )
        if box1 != box4:
            self.statement_line(day, box4 - box1, reference, line_ids[-1])
        row = self.returns_to_pay.pop(quarter_end)
        self.w.add("vat_return_rec", row | {"paid_on": day, "payment_journal_id": journal_id})

    def year_end(self, fy_end: date) -> None:
        """Close a complete financial year: income and expense to retained earnings, posted on its last day."""
        periods = {p for (y, mth), p in self.periods.items() if month_start(fy_end, -11) <= date(y, mth, 1) <= fy_end}
        totals: dict[int, int] = defaultdict(int)
        for (account, period), (d, c) in self.balances.items():
            if period in periods and account in PL_ACCOUNTS:
                totals[account] += d - c
        lines = [cr(acc, bal) for acc, bal in sorted(totals.items()) if bal]
        if not lines:
            return
        profit = -sum(totals.values())
        lines.append(cr(CTRL[ControlKind.RETAINED_EARNINGS], profit))
        self.journal(fy_end, JournalSource.GL, f"YEAR END {fy_end.isoformat()}", lines, "Year-end close", closing=True)


def _cumulative(weights: Iterable[float]) -> array[float]:
    out, acc = array("d"), 0.0
    for x in weights:
        acc += x
        out.append(acc)
    return out

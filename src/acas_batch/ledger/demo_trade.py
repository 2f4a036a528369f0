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

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from acas_batch.analysis.money import apply_rate, round_half_up
from acas_batch.ledger.chart import month_start
from acas_batch.ledger.demo_books import TradeBooks
from acas_batch.ledger.demo_buying import Buying
from acas_batch.ledger.demo_masters import ACC, CTRL, PL_ACCOUNTS
from acas_batch.ledger.demo_sales import Sales
from acas_batch.ledger.posting import cr, dr
from acas_batch.models import (
    ControlKind,
    JournalSource,
)

#: Payroll as a share of sales (the last three months'), as a wholesaler's staff cost runs;
#: never below :data:`WAGES_FLOOR` per unit of scale a month (someone answers the phone).
WAGES_SHARE = Decimal("0.12")
WAGES_FLOOR = 250_000


class Trade(TradeBooks):
    """Runs the company from ``start`` to ``end``: each day's sales, purchasing and routine."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sales = Sales(self)
        self.buying = Buying(self)
        self.handlers: dict[str, Callable[..., None]] = {
            "receipt": self.sales.on_receipt,
            "credit_note": self.sales.on_credit_note,
            "reminder": self.sales.on_reminder,
            "goods_received": self.buying.on_goods_received,
            "purchase_invoice": self.buying.on_purchase_invoice,
            "vat_payment": self.on_vat_payment,
        }

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
        # The variation is drawn as before and kept to a hundredth of a per cent, so the wage
        # itself is worked out in pence.
        variation = Decimal(round(self.rng.uniform(0.97, 1.05) * 10_000)) / 10_000
        wages = apply_rate(self.payroll(on), variation)
        _, (_, bank_line) = self.journal(
            on,
            JournalSource.GL,
            f"WAGES {on:%Y-%m}",
            [dr(ACC["6000"], wages), cr(CTRL[ControlKind.BANK], wages)],
            "Payroll",
        )
        self.statement_line(on, -wages, f"PAYROLL {on:%Y-%m}", bank_line)

    def payroll(self, on: date) -> int:
        """The month's payroll in pence before its small variation: a share of the last three months' sales."""
        months = [month_start(on, -n) for n in range(3)]
        periods = [self.periods[(m.year, m.month)] for m in months if m >= month_start(self.start, 0)]
        sales = -sum(self.actuals[(ACC[code], p)] for code in ("4000", "4010") for p in periods)
        return max(int(WAGES_FLOOR * self.scale), round_half_up(WAGES_SHARE * sales / len(periods)))

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

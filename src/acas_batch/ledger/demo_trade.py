"""The demo company's trading, day by day: sales, receipts, purchasing, payments, overheads, VAT.

Every transaction goes through the same posting rules as the API (``sales_document_journal``,
``price_line``, ``vat_for``, ``pro_rata``, ``journal_problems``), but is written in bulk.
The fate of each document (its receipts, credit note, deliveries, invoice, payment) is
planned when it is created, so its row is written once with its state at the end date;
future events wait in a heap, which holds only the next few months' work.
"""

from __future__ import annotations

import heapq
import random
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import holidays

from acas_batch.ledger.bulk import BulkWriter
from acas_batch.ledger.chart import STANDARD_CHART, STANDARD_VAT, month_start
from acas_batch.ledger.demo_masters import BAD_PAYER, PART_PAYER, PAYER_PROFILES, Masters, StockState
from acas_batch.ledger.documents import price_line
from acas_batch.ledger.money import percent_of, pro_rata, vat_for
from acas_batch.ledger.posting import JournalDraft, LineDraft, cr, dr, journal_problems
from acas_batch.ledger.sl import SalesLine, sales_document_journal
from acas_batch.models import (
    AccountType,
    ControlKind,
    CostMethod,
    DocumentKind,
    DocumentStatus,
    JournalSource,
    JournalStatus,
    MatchStatus,
    MovementKind,
    OrderStatus,
    PaymentMethod,
)

ACC = {a.code: n for n, a in enumerate(STANDARD_CHART, start=1)}
CTRL = {a.control: n for n, a in enumerate(STANDARD_CHART, start=1) if a.control is not None}
PL_ACCOUNTS = {n for n, a in enumerate(STANDARD_CHART, start=1) if a.type in (AccountType.INCOME, AccountType.EXPENSE)}
RATES = {n: v.rate for n, v in enumerate(STANDARD_VAT, start=1)}
SEASON = (0.85, 0.9, 1.0, 1.0, 1.05, 1.0, 0.95, 0.85, 1.05, 1.1, 1.25, 1.2)  # January first
MATCHED_AFTER = 3  # days before an invoice is three-way matched
HOLD_DAYS = 20  # days a price or quantity variance waits before a buyer releases it


def _status(gross: int, outstanding: int) -> DocumentStatus:
    if outstanding == 0:
        return DocumentStatus.PAID
    return DocumentStatus.OPEN if outstanding == gross else DocumentStatus.PART_PAID


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
        self.events: list[tuple[date, int, str, tuple[Any, ...]]] = []
        self.seq = 0
        self.balances: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        self.actuals: dict[tuple[int, int], int] = defaultdict(int)
        self.vat_q: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # box1, box4, box6, box7 by quarter end
        self.payment_runs: dict[date, dict[int, list[tuple[int, int, int]]]] = defaultdict(lambda: defaultdict(list))
        self.dunning: dict[int, tuple[int, date]] = {}
        self.touched: dict[tuple[int, int], None] = {}
        years = range(start.year, end.year + 2)
        self.holidays = set(holidays.country_holidays("GB", subdiv="ENG", years=years))
        self.closures = {date(y, 12, d) for y in years for d in (27, 28, 29, 30, 31)}
        total = sum(m.customer_weights)
        self.cust_cum = _cumulative([x / total for x in m.customer_weights])
        self.item_cum = _cumulative(m.item_weights)
        self.invoices = self.sales_lines = 0

    # -- plumbing ---------------------------------------------------------------------------

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def at(self, day: date, kind: str, *payload: Any) -> None:
        if day <= self.end:
            self.seq += 1
            heapq.heappush(self.events, (day, self.seq, kind, payload))

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
        self.opening_balances()
        day = self.start
        while day <= self.end:
            while self.events and self.events[0][0] <= day:
                _, _, kind, payload = heapq.heappop(self.events)
                getattr(self, f"on_{kind}")(day, *payload)
            if day.day == 1:
                self.month_start(day)
            if self.working(day):
                self.sales_day(day)
                self.payment_run(day)
                self.reorder(day)
            if (day + timedelta(days=1)).day == 1:
                self.month_end(day)
            if day in self.fy_ends:
                self.year_end(day)
            if self.on_day is not None:
                self.on_day(day)
            day += timedelta(days=1)

    def opening_balances(self) -> None:
        """Opening stock (one lot per item and warehouse), cash, capital: one posted GL journal."""
        day = self.start
        jid = self.next_id("gl_journal_rec")
        stock_value = 0
        for item in self.m.items:
            for wh in self.m.warehouses:
                qty = item.reorder_point + item.reorder_qty
                cost = item.standard_cost if item.method == CostMethod.STANDARD else item.cost
                self.add_lot(
                    item.id, wh, qty=qty, cost=cost, day=day, lot_number=f"OPEN-{item.code}-{wh}", journal_id=jid
                )
                stock_value += qty * cost
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

    def add_lot(
        self, item_id: int, wh: int, *, qty: int, cost: int, day: date, lot_number: str, journal_id: int
    ) -> int:
        """A new lot (FIFO layer) with its receipt movement; returns the lot id."""
        item = self.m.items[item_id - 1]
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
                "expiry_date": day + timedelta(days=item.shelf_life) if item.shelf_life else None,
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
        st = self.m.stock[(item_id, wh)]
        st.qty += qty
        st.value += qty * cost
        st.lots.append([lot_id, qty, cost])
        return lot_id

    def issue(self, item_id: int, wh: int, *, qty: int, day: date, reference: str, journal_id: int) -> int:
        """Take stock out by the item's cost method, oldest lots first; returns the value issued."""
        item = self.m.items[item_id - 1]
        st = self.m.stock[(item_id, wh)]
        value = sum_fifo(st, qty) if item.method == CostMethod.FIFO else pro_rata(st.value, qty, st.qty)
        left, remaining = qty, value
        while left:
            lot = st.lots[0]
            take = min(left, lot[1])
            left -= take
            if item.method == CostMethod.FIFO:
                part = take * lot[2]
            elif left == 0:
                part = remaining
            else:
                part = pro_rata(value, take, qty)
            remaining -= part
            lot[1] -= take
            if lot[1] == 0:
                st.lots.popleft()
            self.w.add(
                "st_movement_rec",
                {
                    "id": self.next_id("st_movement_rec"),
                    "item_id": item_id,
                    "warehouse_id": wh,
                    "lot_id": lot[0],
                    "kind": MovementKind.ISSUE,
                    "movement_date": day,
                    "quantity": -take,
                    "unit_cost_pence": part // take,
                    "value_pence": -part,
                    "reference": reference,
                    "journal_id": journal_id,
                },
            )
        st.qty -= qty
        st.value -= value
        return value

    # -- sales ledger -----------------------------------------------------------------------

    def sales_day(self, day: date) -> None:
        season = SEASON[day.month - 1] * (1 + 0.08 * (day - self.start).days / 365)
        expected = len(self.m.customers) * self.rate * 12 / 252 * season
        n = max(0, round(self.rng.gauss(expected, expected**0.5)))
        for c_index in self.rng.choices(range(len(self.m.customers)), cum_weights=self.cust_cum, k=n):
            self.sales_invoice(day, c_index)

    def sales_invoice(self, day: date, c_index: int) -> None:
        rng, cust = self.rng, self.m.customers[c_index]
        wh = 1 if rng.random() < 0.8 else 2
        lines: list[SalesLine] = []
        n_lines = min(8, 1 + int(rng.expovariate(0.7)))
        for k in rng.choices(range(len(self.m.items)), cum_weights=self.item_cum, k=n_lines):
            item = self.m.items[k]
            if item.dead_from is not None and day >= item.dead_from:
                continue
            st = self.m.stock[(item.id, wh)]
            qty = min(st.qty, max(1, int(rng.paretovariate(1.6))) * item.pack)
            if qty <= 0 or any(ln.item_id == item.id for ln in lines):
                continue
            lines.append(SalesLine(qty, item.price, item.vat, ACC["4000"], item.id, wh))
        if not lines:
            return
        if rng.random() < 0.12:
            lines.append(SalesLine(1, rng.choice((500, 750, 995, 1500, 2500)), 1, ACC["4010"], description="Carriage"))
        inv_id = self.next_id("sl_invoice_rec")
        number = f"SI{inv_id:08d}"
        priced = [
            (ln, price_line(ln.quantity, ln.unit_price_pence, ln.vat_code_id, RATES[ln.vat_code_id])) for ln in lines
        ]
        net = sum(p.net_pence for _, p in priced)
        vat = sum(p.vat_pence for _, p in priced)
        gross = net + vat
        draft = sales_document_journal(
            kind=DocumentKind.INVOICE,
            number=number,
            on=day,
            debtors_id=CTRL[ControlKind.DEBTORS],
            vat_output_id=CTRL[ControlKind.VAT_OUTPUT],
            lines=priced,
        )
        journal_id, _ = self.journal(day, JournalSource.SL, number, draft.lines, draft.description)
        cogs_id = self.next_id("gl_journal_rec")
        cogs = 0
        for ln in lines:
            if ln.item_id is not None and ln.warehouse_id is not None:
                cogs += self.issue(
                    ln.item_id, ln.warehouse_id, qty=ln.quantity, day=day, reference=number, journal_id=cogs_id
                )
                self.touched[(ln.item_id, ln.warehouse_id)] = None
        if cogs:
            self.journal(
                day,
                JournalSource.ST,
                number,
                [dr(CTRL[ControlKind.COST_OF_SALES], cogs), cr(CTRL[ControlKind.STOCK], cogs)],
                f"Cost of sales {number}",
                journal_id=cogs_id,
            )
        self.track_vat(day, vat, 0, net, 0)

        # The invoice's fate: a credit note, receipts, reminders.
        due = day + timedelta(days=cust.terms)
        credit_gross, credit_day = 0, None
        if rng.random() < 0.03:
            first, fp = priced[0]
            credit_net = max(1, fp.net_pence * rng.randint(10, 100) // 100)
            credit_gross = credit_net + vat_for(credit_net, RATES[first.vat_code_id])
            credit_day = self.next_working(day + timedelta(days=rng.randint(2, 12)))
            self.at(credit_day, "credit_note", cust.id, inv_id, number, credit_net, first.vat_code_id, first.account_id)
        payable = gross - credit_gross
        installments: list[tuple[date, int]] = []
        if payable > 0:
            if cust.profile == BAD_PAYER and rng.random() < 0.3:
                pass  # never paid
            elif cust.profile == PART_PAYER:
                first_part = max(1, payable * rng.randint(30, 80) // 100)
                d1 = due + timedelta(days=rng.randint(0, 20))
                installments = [(d1, first_part), (d1 + timedelta(days=rng.randint(20, 90)), payable - first_part)]
            else:
                _, low, high = PAYER_PROFILES[min(cust.profile, 2)]
                installments = [(due + timedelta(days=rng.randint(low, high)), payable)]
        paid_by_end = 0
        for planned, amount in installments:
            pay_day = self.next_working(planned)
            if pay_day <= self.end:
                paid_by_end += amount
                self.at(pay_day, "receipt", cust.id, inv_id, amount)
        if rng.random() < 0.004:
            on_account = rng.randint(1, 20) * 5_000
            self.at(self.next_working(day + timedelta(days=rng.randint(5, 40))), "receipt", cust.id, None, on_account)
        outstanding = gross - paid_by_end - (credit_gross if credit_day is not None and credit_day <= self.end else 0)
        first_payment = self.next_working(installments[0][0]) if installments else None
        for level, after in ((1, 7), (2, 30), (3, 60)):
            when = due + timedelta(days=after)
            if when >= self.end or (first_payment is not None and first_payment <= when):
                break
            self.reminder(cust.id, inv_id, level=level, on=when, days=after, amount=payable)
        self.w.add(
            "sl_invoice_rec",
            {
                "id": inv_id,
                "number": number,
                "kind": DocumentKind.INVOICE,
                "customer_id": cust.id,
                "invoice_date": day,
                "due_date": due,
                "net_pence": net,
                "vat_pence": vat,
                "gross_pence": gross,
                "outstanding_pence": outstanding,
                "status": _status(gross, outstanding),
                "disputed": outstanding > 0 and cust.profile == 2 and rng.random() < 0.1,
                "on_hold": False,
                "journal_id": journal_id,
            },
        )
        for n, (ln, p) in enumerate(priced, start=1):
            self.w.add(
                "sl_invoice_line_rec",
                {
                    "id": self.next_id("sl_invoice_line_rec"),
                    "invoice_id": inv_id,
                    "line_no": n,
                    "item_id": ln.item_id,
                    "warehouse_id": ln.warehouse_id,
                    "description": ln.description,
                    "quantity": p.quantity,
                    "unit_price_pence": p.unit_price_pence,
                    "net_pence": p.net_pence,
                    "vat_code_id": p.vat_code_id,
                    "vat_pence": p.vat_pence,
                    "account_id": ln.account_id,
                },
            )
        self.invoices += 1
        self.sales_lines += len(priced)

    def reminder(self, customer: int, invoice: int, *, level: int, on: date, days: int, amount: int) -> None:
        self.w.add(
            "sl_reminder_rec",
            {
                "id": self.next_id("sl_reminder_rec"),
                "customer_id": customer,
                "invoice_id": invoice,
                "level": level,
                "sent_on": on,
                "days_overdue": days,
                "overdue_pence": amount,
            },
        )
        last = self.dunning.get(customer)
        if last is None or on >= last[1]:
            self.dunning[customer] = (level, on)

    def on_credit_note(  # noqa: PLR0917 - event handlers take their payload positionally
        self, day: date, customer: int, invoice_id: int, invoice_number: str, net: int, vat_code: int, account: int
    ) -> None:
        note_id = self.next_id("sl_invoice_rec")
        number = f"SC{note_id:08d}"
        line = SalesLine(1, net, vat_code, account, description=f"Credit against {invoice_number}")
        priced = price_line(1, net, vat_code, RATES[vat_code])
        draft = sales_document_journal(
            kind=DocumentKind.CREDIT_NOTE,
            number=number,
            on=day,
            debtors_id=CTRL[ControlKind.DEBTORS],
            vat_output_id=CTRL[ControlKind.VAT_OUTPUT],
            lines=[(line, priced)],
        )
        journal_id, _ = self.journal(day, JournalSource.SL, number, draft.lines, draft.description)
        gross = priced.net_pence + priced.vat_pence
        self.w.add(
            "sl_invoice_rec",
            {
                "id": note_id,
                "number": number,
                "kind": DocumentKind.CREDIT_NOTE,
                "customer_id": customer,
                "invoice_date": day,
                "due_date": day,
                "net_pence": priced.net_pence,
                "vat_pence": priced.vat_pence,
                "gross_pence": gross,
                "outstanding_pence": 0,
                "status": DocumentStatus.PAID,
                "credits_invoice_id": invoice_id,
                "journal_id": journal_id,
            },
        )
        self.w.add(
            "sl_invoice_line_rec",
            {
                "id": self.next_id("sl_invoice_line_rec"),
                "invoice_id": note_id,
                "line_no": 1,
                "description": line.description,
                "quantity": 1,
                "unit_price_pence": net,
                "net_pence": net,
                "vat_code_id": vat_code,
                "vat_pence": priced.vat_pence,
                "account_id": account,
            },
        )
        self.w.add(
            "sl_allocation_rec",
            {
                "id": self.next_id("sl_allocation_rec"),
                "invoice_id": invoice_id,
                "credit_note_id": note_id,
                "amount_pence": gross,
                "allocated_on": day,
            },
        )
        self.track_vat(day, -priced.vat_pence, 0, -priced.net_pence, 0)

    def on_receipt(self, day: date, customer: int, invoice_id: int | None, amount: int) -> None:
        receipt_id = self.next_id("sl_receipt_rec")
        reference = f"RC{receipt_id:08d}"
        journal_id, (bank_line, _) = self.journal(
            day,
            JournalSource.SL,
            reference,
            [dr(CTRL[ControlKind.BANK], amount), cr(CTRL[ControlKind.DEBTORS], amount)],
            "Customer receipt",
        )
        self.w.add(
            "sl_receipt_rec",
            {
                "id": receipt_id,
                "customer_id": customer,
                "receipt_date": day,
                "amount_pence": amount,
                "unallocated_pence": 0 if invoice_id is not None else amount,
                "reference": reference,
                "bank_account_id": 1,
                "journal_id": journal_id,
            },
        )
        if invoice_id is not None:
            self.w.add(
                "sl_allocation_rec",
                {
                    "id": self.next_id("sl_allocation_rec"),
                    "invoice_id": invoice_id,
                    "receipt_id": receipt_id,
                    "amount_pence": amount,
                    "allocated_on": day,
                },
            )
        self.statement_line(day, amount, reference, bank_line)

    # -- purchasing -------------------------------------------------------------------------

    def reorder(self, day: date) -> None:
        """Items sold today at or below their reorder point get ordered, one order per supplier and warehouse."""
        orders: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        for item_id, wh in self.touched:
            item = self.m.items[item_id - 1]
            st = self.m.stock[(item_id, wh)]
            if (item.dead_from is None or day < item.dead_from) and st.qty + st.on_order <= item.reorder_point:
                # Items about to stop selling were over-bought: that is how dead stock happens.
                qty = item.reorder_qty * (4 if item.dead_from is not None else 1)
                orders[(item.supplier, wh)].append((item_id, qty))
                st.on_order += qty
        self.touched.clear()
        for (s_index, wh), lines in orders.items():
            self.purchase_order(day, s_index, wh, lines)

    def purchase_order(self, day: date, s_index: int, wh: int, wanted: list[tuple[int, int]]) -> None:
        """An order, its deliveries (some partial, some closed short) and its invoices, planned at once."""
        rng = self.rng
        po_id = self.next_id("pl_order_rec")
        lead = max(self.m.items[i - 1].lead for i, _ in wanted)
        first = self.next_working(day + timedelta(days=lead))
        deliveries: dict[date, list[tuple[int, int, int, int, int]]] = defaultdict(list)
        rows: dict[int, list[int]] = {}
        short = False
        for n, (item_id, qty) in enumerate(wanted, start=1):
            item = self.m.items[item_id - 1]
            line_id = self.next_id("pl_order_line_rec")
            price = max(1, item.cost * rng.randint(97, 103) // 100)
            fate = rng.random()
            # (date, quantity delivered, quantity no longer on order once it arrives)
            parts = [(first, qty, qty)]
            if fate < 0.12 and qty > 1:
                q1 = max(1, qty * rng.randint(60, 90) // 100)
                later = self.next_working(first + timedelta(days=rng.randint(7, 20)))
                parts = [(first, q1, q1), (later, qty - q1, qty - q1)]
            elif fate < 0.15:
                parts = [(first, max(1, qty * rng.randint(50, 90) // 100), qty)]
                short = True
            for d, q, release in parts:
                deliveries[d].append((line_id, item_id, q, price, release))
            received = sum(q for d, q, _ in parts if d <= self.end)
            rows[line_id] = [n, item_id, qty, received, 0, price]
        for d in sorted(deliveries):
            invoice_day = self.next_working(d + timedelta(days=rng.randint(0, 10)))
            plan = []
            for line_id, item_id, q, price, release in deliveries[d]:
                inv_q = max(1, q + rng.choice((-2, -1, 1, 2))) if rng.random() < 0.03 else q
                inv_price = max(1, price * rng.randint(92, 108) // 100) if rng.random() < 0.08 else price
                plan.append((line_id, item_id, q, price, inv_q, inv_price, release))
                if d <= self.end and invoice_day <= self.end:
                    rows[line_id][4] += inv_q
            self.at(d, "goods_received", po_id, s_index, wh, tuple(plan), invoice_day)
        ordered = sum(r[2] for r in rows.values())
        received = sum(r[3] for r in rows.values())
        if received == 0:
            status = OrderStatus.OPEN
        elif short and first <= self.end:
            status = OrderStatus.CLOSED
        elif received >= ordered:
            status = OrderStatus.RECEIVED
        else:
            status = OrderStatus.PART_RECEIVED
        self.w.add(
            "pl_order_rec",
            {
                "id": po_id,
                "number": f"PO{po_id:07d}",
                "supplier_id": self.m.suppliers[s_index].id,
                "warehouse_id": wh,
                "order_date": day,
                "expected_date": first,
                "status": status,
            },
        )
        for line_id, (n, item_id, qty, received_qty, invoiced, price) in rows.items():
            self.w.add(
                "pl_order_line_rec",
                {
                    "id": line_id,
                    "order_id": po_id,
                    "line_no": n,
                    "item_id": item_id,
                    "quantity_ordered": qty,
                    "quantity_received": received_qty,
                    "quantity_invoiced": invoiced,
                    "unit_price_pence": price,
                },
            )

    def on_goods_received(  # noqa: PLR0917 - event handlers take their payload positionally
        self, day: date, po_id: int, s_index: int, wh: int, plan: tuple[tuple[int, ...], ...], invoice_day: date
    ) -> None:
        grn_id = self.next_id("pl_grn_rec")
        number = f"GR{grn_id:07d}"
        journal_id = self.next_id("gl_journal_rec")
        self.w.add(
            "pl_grn_rec",
            {"id": grn_id, "number": number, "order_id": po_id, "received_on": day, "journal_id": journal_id},
        )
        carried = accrued = 0
        for line_id, item_id, q, price, _, _, release in plan:
            item = self.m.items[item_id - 1]
            cost = item.standard_cost if item.method == CostMethod.STANDARD else price
            carried += q * cost
            accrued += q * price
            lot_id = self.add_lot(
                item_id, wh, qty=q, cost=cost, day=day, lot_number=f"{number}-{line_id}", journal_id=journal_id
            )
            self.w.add(
                "pl_grn_line_rec",
                {
                    "id": self.next_id("pl_grn_line_rec"),
                    "grn_id": grn_id,
                    "order_line_id": line_id,
                    "quantity": q,
                    "unit_price_pence": price,
                    "lot_id": lot_id,
                },
            )
            st = self.m.stock[(item_id, wh)]
            st.on_order = max(0, st.on_order - release)
        self.journal(
            day,
            JournalSource.ST,
            number,
            [
                dr(CTRL[ControlKind.STOCK], carried),
                cr(CTRL[ControlKind.GRNI], accrued),
                dr(CTRL[ControlKind.PURCHASE_VARIANCE], accrued - carried),
            ],
            f"Goods received PO{po_id:07d}",
            journal_id=journal_id,
        )
        self.at(invoice_day, "purchase_invoice", s_index, plan)

    def on_purchase_invoice(self, day: date, s_index: int, plan: tuple[tuple[int, ...], ...]) -> None:
        supplier = self.m.suppliers[s_index]
        inv_id = self.next_id("pl_invoice_rec")
        number = f"{supplier.code}/{inv_id}"
        grni = ppv = net = vat = 0
        rows = []
        worst = MatchStatus.MATCHED
        for n, (line_id, item_id, q, price, inv_q, inv_price, _) in enumerate(plan, start=1):
            item = self.m.items[item_id - 1]
            p = price_line(inv_q, inv_price, item.vat, RATES[item.vat])
            at_order = inv_q * price
            grni += at_order
            ppv += p.net_pence - at_order
            net += p.net_pence
            vat += p.vat_pence
            if inv_q != q:
                status = MatchStatus.QUANTITY_VARIANCE
            elif abs(inv_price - price) * 100 > 2 * price:
                status = MatchStatus.PRICE_VARIANCE
            else:
                status = MatchStatus.MATCHED
            if status != MatchStatus.MATCHED:
                worst = status
            rows.append(
                (
                    n,
                    line_id,
                    item.id,
                    inv_q,
                    inv_price,
                    p.net_pence,
                    p.vat_pence,
                    item.vat,
                    status,
                    inv_q - q,
                    inv_price - price,
                )
            )
        matched_on = day + timedelta(days=MATCHED_AFTER)
        checked = matched_on <= self.end
        approved_on = matched_on if worst == MatchStatus.MATCHED else matched_on + timedelta(days=HOLD_DAYS)
        approved = approved_on <= self.end
        on_hold = checked and not approved
        self.post_purchase(
            day,
            supplier_index=s_index,
            inv_id=inv_id,
            number=number,
            net=net,
            vat=vat,
            debits=[dr(CTRL[ControlKind.GRNI], grni), dr(CTRL[ControlKind.PURCHASE_VARIANCE], ppv)],
            approved_on=approved_on,
            extra={
                "approved": approved,
                "on_hold": on_hold,
                "hold_reason": f"three-way match: {worst.value}" if on_hold else None,
            },
        )
        for n, line_id, item_id, inv_q, inv_price, line_net, line_vat, vat_code, status, qv, pv in rows:
            self.w.add(
                "pl_invoice_line_rec",
                {
                    "id": self.next_id("pl_invoice_line_rec"),
                    "invoice_id": inv_id,
                    "line_no": n,
                    "order_line_id": line_id,
                    "item_id": item_id,
                    "quantity": inv_q,
                    "unit_price_pence": inv_price,
                    "net_pence": line_net,
                    "vat_code_id": vat_code,
                    "vat_pence": line_vat,
                    "account_id": CTRL[ControlKind.GRNI],
                    "match_status": status if checked else MatchStatus.UNMATCHED,
                    "quantity_variance": qv if checked else None,
                    "price_variance_pence": pv if checked else None,
                },
            )

    def post_purchase(
        self,
        day: date,
        *,
        supplier_index: int,
        inv_id: int,
        number: str,
        net: int,
        vat: int,
        debits: list[LineDraft],
        approved_on: date,
        extra: dict[str, Any],
    ) -> None:
        """Write a purchase invoice with its journal and plan its payment by a weekly payment run."""
        supplier = self.m.suppliers[supplier_index]
        gross = net + vat
        due = day + timedelta(days=supplier.terms)
        journal_id, _ = self.journal(
            day,
            JournalSource.PL,
            number,
            [*debits, dr(CTRL[ControlKind.VAT_INPUT], vat), cr(CTRL[ControlKind.CREDITORS], gross)],
            f"Purchase invoice {number}",
        )
        self.track_vat(day, 0, vat, 0, net)
        discount = 0
        pay_day = _friday_on_or_after(max(approved_on, due - timedelta(days=7)))
        if supplier.discount_pct:
            early = _friday_on_or_after(approved_on)
            if early <= day + timedelta(days=supplier.discount_days):
                pay_day, discount = early, percent_of(gross, supplier.discount_pct)
        while not self.working(pay_day):
            pay_day -= timedelta(days=1)  # a bank holiday Friday: the run goes out the working day before
        if pay_day < approved_on:
            pay_day = self.next_working(approved_on)
        paid = pay_day <= self.end
        if paid:
            self.payment_runs[pay_day][supplier_index].append((inv_id, gross, discount))
        self.w.add(
            "pl_invoice_rec",
            {
                "id": inv_id,
                "supplier_id": supplier.id,
                "number": number,
                "kind": DocumentKind.INVOICE,
                "invoice_date": day,
                "due_date": due,
                "net_pence": net,
                "vat_pence": vat,
                "gross_pence": gross,
                "outstanding_pence": 0 if paid else gross,
                "status": DocumentStatus.PAID if paid else DocumentStatus.OPEN,
                "journal_id": journal_id,
            }
            | extra,
        )

    def payment_run(self, day: date) -> None:
        """The weekly payment run (Fridays, or the working day before): one payment per supplier."""
        run = self.payment_runs.pop(day, None)
        if not run:
            return
        for s_index in sorted(run):
            supplier = self.m.suppliers[s_index]
            invoices = run[s_index]
            cleared = sum(g for _, g, _ in invoices)
            discount = sum(d for _, _, d in invoices)
            payment_id = self.next_id("pl_payment_rec")
            reference = f"PY{payment_id:07d}"
            journal_id, (_, bank_line, *_) = self.journal(
                day,
                JournalSource.PL,
                reference,
                [
                    dr(CTRL[ControlKind.CREDITORS], cleared),
                    cr(CTRL[ControlKind.BANK], cleared - discount),
                    cr(CTRL[ControlKind.DISCOUNT_RECEIVED], discount),
                ],
                f"Payment to {supplier.code}",
            )
            self.w.add(
                "pl_payment_rec",
                {
                    "id": payment_id,
                    "supplier_id": supplier.id,
                    "payment_date": day,
                    "amount_pence": cleared - discount,
                    "discount_pence": discount,
                    "unallocated_pence": 0,
                    "method": PaymentMethod.BACS if supplier.has_bank else PaymentMethod.CHEQUE,
                    "reference": reference,
                    "run_key": f"PL_PAYMENT_RUN:{day.isoformat()}",
                    "bank_account_id": 1,
                    "journal_id": journal_id,
                },
            )
            for inv_id, gross, disc in invoices:
                self.w.add(
                    "pl_allocation_rec",
                    {
                        "id": self.next_id("pl_allocation_rec"),
                        "invoice_id": inv_id,
                        "payment_id": payment_id,
                        "amount_pence": gross,
                        "discount_pence": disc,
                        "allocated_on": day,
                    },
                )
            if supplier.email and day < self.end:
                self.w.add(
                    "pl_remittance_rec",
                    {
                        "id": self.next_id("pl_remittance_rec"),
                        "payment_id": payment_id,
                        "created_at": datetime.combine(day, time(17, 0), UTC),
                        "sent_at": datetime.combine(day, time(17, 5), UTC),
                        "sent_to": supplier.email,
                    },
                )
            self.statement_line(day, -(cleared - discount), reference, bank_line)

    # -- overheads, VAT, closes -------------------------------------------------------------

    def month_start(self, day: date) -> None:
        """Overhead suppliers invoice on the first working day; the bank charges its fee."""
        on = self.next_working(day)
        if on > self.end:
            return
        for s_index, supplier in enumerate(self.m.suppliers):
            if supplier.overhead is None:
                continue
            _, code, monthly, vat_code = supplier.overhead
            net = max(100, int(monthly * self.scale * self.rng.uniform(0.8, 1.2)))
            vat = vat_for(net, RATES[vat_code])
            inv_id = self.next_id("pl_invoice_rec")
            number = f"{supplier.code}/{inv_id}"
            self.post_purchase(
                on,
                supplier_index=s_index,
                inv_id=inv_id,
                number=number,
                net=net,
                vat=vat,
                debits=[dr(ACC[code], net)],
                approved_on=on,
                extra={"approved": True, "on_hold": False},
            )
            self.w.add(
                "pl_invoice_line_rec",
                {
                    "id": self.next_id("pl_invoice_line_rec"),
                    "invoice_id": inv_id,
                    "line_no": 1,
                    "description": f"{STANDARD_CHART[ACC[code] - 1].name} {on:%B %Y}",
                    "quantity": 1,
                    "unit_price_pence": net,
                    "net_pence": net,
                    "vat_code_id": vat_code,
                    "vat_pence": vat,
                    "account_id": ACC[code],
                    "match_status": MatchStatus.NOT_REQUIRED,
                },
            )
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
        """The quarter's return (submitted) and, if due by the end date, the payment to HMRC."""
        box1, box4, box6, box7 = self.vat_q.pop(quarter_end, [0, 0, 0, 0])
        quarter_start = month_start(quarter_end, -2)
        self.w.add(
            "vat_return_rec",
            {
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
            },
        )
        self.at(pay_day, "vat_payment", quarter_end, box1, box4)

    def on_vat_payment(self, day: date, quarter_end: date, box1: int, box4: int) -> None:
        reference = f"HMRC VAT {quarter_end:%Y-%m}"
        _, line_ids = self.journal(
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
        self.journal(fy_end, JournalSource.GL, f"YEAR END {fy_end.year}", lines, "Year-end close", closing=True)


def _cumulative(weights: list[float]) -> list[float]:
    out, acc = [], 0.0
    for x in weights:
        acc += x
        out.append(acc)
    return out


def _friday_on_or_after(day: date) -> date:
    return day + timedelta(days=(4 - day.weekday()) % 7)


def sum_fifo(st: StockState, qty: int) -> int:
    """Value of the oldest ``qty`` units of a FIFO stock."""
    value, left = 0, qty
    for _, on_hand, cost in st.lots:
        take = min(left, on_hand)
        value += take * cost
        left -= take
        if left == 0:
            break
    return value

"""The demo company's purchasing: reorders, deliveries, supplier invoices, weekly payment runs, overheads."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from acas_batch.ledger.chart import STANDARD_CHART
from acas_batch.ledger.demo_books import TradeBooks
from acas_batch.ledger.demo_masters import ACC, CTRL, RATES, STANDARD
from acas_batch.ledger.documents import price_line
from acas_batch.ledger.money import percent_of, vat_for
from acas_batch.ledger.posting import LineDraft, cr, dr
from acas_batch.models import (
    ControlKind,
    DocumentKind,
    DocumentStatus,
    JournalSource,
    MatchStatus,
    OrderStatus,
    PaymentMethod,
)

MATCHED_AFTER = 3  # days before an invoice is three-way matched
HOLD_DAYS = 20  # days a price or quantity variance waits before a buyer releases it


class Buying:
    """Orders at the reorder point, receives, is invoiced and pays, as planned when each order is raised."""

    def __init__(self, t: TradeBooks) -> None:
        self.t = t

    def reorder(self, day: date) -> None:
        """Items sold today at or below their reorder point get ordered, one order per supplier and warehouse."""
        orders: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        items, stock = self.t.m.items, self.t.m.stock
        for item_id, wh in self.t.touched:
            i, k = item_id - 1, stock.key(item_id, wh)
            if items.selling(i, day) and stock.qty[k] + stock.on_order[k] <= items.reorder_point[i]:
                # Items about to stop selling were over-bought: that is how dead stock happens.
                qty = items.reorder_qty[i] * (4 if items.dead[i] else 1)
                orders[(items.supplier[i], wh)].append((item_id, qty))
                stock.on_order[k] += qty
        self.t.touched.clear()
        for (s_index, wh), lines in orders.items():
            self.purchase_order(day, s_index, wh, lines)
            self.t.w.maybe_flush()

    def purchase_order(self, day: date, s_index: int, wh: int, wanted: list[tuple[int, int]]) -> None:
        """An order, its deliveries (some partial, some closed short) and its invoices, planned at once."""
        rng = self.t.rng
        po_id = self.t.next_id("pl_order_rec")
        items = self.t.m.items
        lead = max(items.lead[i - 1] for i, _ in wanted)
        first = self.t.next_working(day + timedelta(days=lead))
        deliveries: dict[date, list[tuple[int, int, int, int, int]]] = defaultdict(list)
        rows: dict[int, list[int]] = {}
        short = False
        for n, (item_id, qty) in enumerate(wanted, start=1):
            line_id = self.t.next_id("pl_order_line_rec")
            price = max(1, items.cost[item_id - 1] * rng.randint(97, 103) // 100)
            fate = rng.random()
            # (date, quantity delivered, quantity no longer on order once it arrives)
            parts = [(first, qty, qty)]
            if fate < 0.12 and qty > 1:
                q1 = max(1, qty * rng.randint(60, 90) // 100)
                later = self.t.next_working(first + timedelta(days=rng.randint(7, 20)))
                parts = [(first, q1, q1), (later, qty - q1, qty - q1)]
            elif fate < 0.15:
                parts = [(first, max(1, qty * rng.randint(50, 90) // 100), qty)]
                short = True
            for d, q, release in parts:
                deliveries[d].append((line_id, item_id, q, price, release))
            received = sum(q for d, q, _ in parts if d <= self.t.end)
            rows[line_id] = [n, item_id, qty, received, 0, price]
        for d in sorted(deliveries):
            invoice_day = self.t.next_working(d + timedelta(days=rng.randint(0, 10)))
            plan = []
            for line_id, item_id, q, price, release in deliveries[d]:
                inv_q = max(1, q + rng.choice((-2, -1, 1, 2))) if rng.random() < 0.03 else q
                inv_price = max(1, price * rng.randint(92, 108) // 100) if rng.random() < 0.08 else price
                plan.append((line_id, item_id, q, price, inv_q, inv_price, release))
                if d <= self.t.end and invoice_day <= self.t.end:
                    rows[line_id][4] += inv_q
            self.t.at(d, "goods_received", po_id, s_index, wh, tuple(plan), invoice_day)
        ordered = sum(r[2] for r in rows.values())
        received = sum(r[3] for r in rows.values())
        if received == 0:
            status = OrderStatus.OPEN
        elif short and first <= self.t.end:
            status = OrderStatus.CLOSED
        elif received >= ordered:
            status = OrderStatus.RECEIVED
        else:
            status = OrderStatus.PART_RECEIVED
        self.t.w.add(
            "pl_order_rec",
            {
                "id": po_id,
                "number": f"PO{po_id:07d}",
                "supplier_id": s_index + 1,
                "warehouse_id": wh,
                "order_date": day,
                "expected_date": first,
                "status": status,
            },
        )
        for line_id, (n, item_id, qty, received_qty, invoiced, price) in rows.items():
            self.t.w.add(
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
        items = self.t.m.items
        grn_id = self.t.next_id("pl_grn_rec")
        number = f"GR{grn_id:07d}"
        journal_id = self.t.next_id("gl_journal_rec")
        self.t.w.add(
            "pl_grn_rec",
            {"id": grn_id, "number": number, "order_id": po_id, "received_on": day, "journal_id": journal_id},
        )
        carried = accrued = 0
        for line_id, item_id, q, price, _, _, release in plan:
            cost = items.standard_cost[item_id - 1] if items.method[item_id - 1] == STANDARD else price
            carried += q * cost
            accrued += q * price
            lot_id = self.t.add_lot(
                item_id, wh, qty=q, cost=cost, day=day, lot_number=f"{number}-{line_id}", journal_id=journal_id
            )
            self.t.w.add(
                "pl_grn_line_rec",
                {
                    "id": self.t.next_id("pl_grn_line_rec"),
                    "grn_id": grn_id,
                    "order_line_id": line_id,
                    "quantity": q,
                    "unit_price_pence": price,
                    "lot_id": lot_id,
                },
            )
            stock, k = self.t.m.stock, self.t.m.stock.key(item_id, wh)
            stock.on_order[k] = max(0, stock.on_order[k] - release)
        self.t.journal(
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
        self.t.at(invoice_day, "purchase_invoice", s_index, plan)

    def on_purchase_invoice(self, day: date, s_index: int, plan: tuple[tuple[int, ...], ...]) -> None:
        items = self.t.m.items
        inv_id = self.t.next_id("pl_invoice_rec")
        number = f"{self.t.m.suppliers.code(s_index)}/{inv_id}"
        grni = ppv = net = vat = 0
        rows = []
        worst = MatchStatus.MATCHED
        for n, (line_id, item_id, q, price, inv_q, inv_price, _) in enumerate(plan, start=1):
            vat_code = items.vat[item_id - 1]
            p = price_line(inv_q, inv_price, vat_code, RATES[vat_code])
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
                    item_id,
                    inv_q,
                    inv_price,
                    p.net_pence,
                    p.vat_pence,
                    vat_code,
                    status,
                    inv_q - q,
                    inv_price - price,
                )
            )
        matched_on = day + timedelta(days=MATCHED_AFTER)
        checked = matched_on <= self.t.end
        approved_on = matched_on if worst == MatchStatus.MATCHED else matched_on + timedelta(days=HOLD_DAYS)
        approved = approved_on <= self.t.end
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
            self.t.w.add(
                "pl_invoice_line_rec",
                {
                    "id": self.t.next_id("pl_invoice_line_rec"),
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
        suppliers = self.t.m.suppliers
        gross = net + vat
        due = day + timedelta(days=suppliers.terms[supplier_index])
        journal_id, _ = self.t.journal(
            day,
            JournalSource.PL,
            number,
            [*debits, dr(CTRL[ControlKind.VAT_INPUT], vat), cr(CTRL[ControlKind.CREDITORS], gross)],
            f"Purchase invoice {number}",
        )
        self.t.track_vat(day, 0, vat, 0, net)
        discount = 0
        pay_day = _friday_on_or_after(max(approved_on, due - timedelta(days=7)))
        if suppliers.discount[supplier_index]:
            early = _friday_on_or_after(approved_on)
            if early <= day + timedelta(days=suppliers.discount_days(supplier_index)):
                pay_day, discount = early, percent_of(gross, suppliers.discount_pct(supplier_index))
        while not self.t.working(pay_day):
            pay_day -= timedelta(days=1)  # a bank holiday Friday: the run goes out the working day before
        if pay_day < approved_on:
            pay_day = self.t.next_working(approved_on)
        paid = pay_day <= self.t.end
        if paid:
            self.t.planned.pay(pay_day, supplier_index, inv_id, gross, discount)
        self.t.w.add(
            "pl_invoice_rec",
            {
                "id": inv_id,
                "supplier_id": supplier_index + 1,
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
        run = self.t.planned.payment_run(day)
        suppliers = self.t.m.suppliers
        for s_index in sorted(run):
            code, email = suppliers.code(s_index), suppliers.email(s_index)
            invoices = run[s_index]
            cleared = sum(g for _, g, _ in invoices)
            discount = sum(d for _, _, d in invoices)
            payment_id = self.t.next_id("pl_payment_rec")
            reference = f"PY{payment_id:07d}"
            journal_id, (_, bank_line, *_) = self.t.journal(
                day,
                JournalSource.PL,
                reference,
                [
                    dr(CTRL[ControlKind.CREDITORS], cleared),
                    cr(CTRL[ControlKind.BANK], cleared - discount),
                    cr(CTRL[ControlKind.DISCOUNT_RECEIVED], discount),
                ],
                f"Payment to {code}",
            )
            self.t.w.add(
                "pl_payment_rec",
                {
                    "id": payment_id,
                    "supplier_id": s_index + 1,
                    "payment_date": day,
                    "amount_pence": cleared - discount,
                    "discount_pence": discount,
                    "unallocated_pence": 0,
                    "method": PaymentMethod.BACS if suppliers.has_bank[s_index] else PaymentMethod.CHEQUE,
                    "reference": reference,
                    "run_key": f"PL_PAYMENT_RUN:{day.isoformat()}",
                    "bank_account_id": 1,
                    "journal_id": journal_id,
                },
            )
            for inv_id, gross, disc in invoices:
                self.t.w.add(
                    "pl_allocation_rec",
                    {
                        "id": self.t.next_id("pl_allocation_rec"),
                        "invoice_id": inv_id,
                        "payment_id": payment_id,
                        "amount_pence": gross,
                        "discount_pence": disc,
                        "allocated_on": day,
                    },
                )
            if email and day < self.t.end:
                self.t.w.add(
                    "pl_remittance_rec",
                    {
                        "id": self.t.next_id("pl_remittance_rec"),
                        "payment_id": payment_id,
                        "created_at": datetime.combine(day, time(17, 0), UTC),
                        "sent_at": datetime.combine(day, time(17, 5), UTC),
                        "sent_to": email,
                    },
                )
            self.t.statement_line(day, -(cleared - discount), reference, bank_line)
            self.t.w.maybe_flush()

    def overheads(self, on: date) -> None:
        """Overhead suppliers (rent, energy, fuel, IT, carriage) invoice monthly: expense lines, approved at once."""
        suppliers = self.t.m.suppliers
        for s_index in range(len(suppliers)):
            overhead = suppliers.overhead(s_index)
            if overhead is None:
                continue
            _, code, monthly, vat_code = overhead
            net = max(100, int(monthly * self.t.scale * self.t.rng.uniform(0.8, 1.2)))
            vat = vat_for(net, RATES[vat_code])
            inv_id = self.t.next_id("pl_invoice_rec")
            number = f"{suppliers.code(s_index)}/{inv_id}"
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
            self.t.w.add(
                "pl_invoice_line_rec",
                {
                    "id": self.t.next_id("pl_invoice_line_rec"),
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


def _friday_on_or_after(day: date) -> date:
    return day + timedelta(days=(4 - day.weekday()) % 7)

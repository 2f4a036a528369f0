"""The demo company's sales ledger: invoices with their planned fate, credit notes, receipts, reminders."""

from __future__ import annotations

from datetime import date, timedelta

from acas_batch.ledger.demo_books import NEVER, TradeBooks
from acas_batch.ledger.demo_masters import ACC, BAD_PAYER, CTRL, PART_PAYER, PAYER_PROFILES, RATES, SEASON
from acas_batch.ledger.documents import price_line
from acas_batch.ledger.money import vat_for
from acas_batch.ledger.posting import cr, dr
from acas_batch.ledger.sl import SalesLine, sales_document_journal
from acas_batch.models import ControlKind, DocumentKind, DocumentStatus, JournalSource


def _status(gross: int, outstanding: int) -> DocumentStatus:
    if outstanding == 0:
        return DocumentStatus.PAID
    return DocumentStatus.OPEN if outstanding == gross else DocumentStatus.PART_PAID


class Sales:
    """Sells from stock every working day; plans each invoice's receipts, credit note and reminders."""

    def __init__(self, t: TradeBooks) -> None:
        self.t = t

    def sales_day(self, day: date) -> None:
        season = SEASON[day.month - 1] * (1 + 0.08 * (day - self.t.start).days / 365)
        expected = len(self.t.m.customers) * self.t.rate * 12 / 252 * season
        n = max(0, round(self.t.rng.gauss(expected, expected**0.5)))
        for c_index in self.t.rng.choices(range(len(self.t.m.customers)), cum_weights=self.t.cust_cum, k=n):
            self.sales_invoice(day, c_index)
            self.t.w.maybe_flush()

    def sales_invoice(self, day: date, c_index: int) -> None:
        rng, custs, items = self.t.rng, self.t.m.customers, self.t.m.items
        customer, terms, profile = c_index + 1, custs.terms[c_index], custs.profile[c_index]
        wh = 1 if rng.random() < 0.8 else 2
        lines: list[SalesLine] = []
        n_lines = min(8, 1 + int(rng.expovariate(0.7)))
        for k in rng.choices(range(len(items)), cum_weights=self.t.item_cum, k=n_lines):
            if not items.selling(k, day):
                continue
            item_id = k + 1
            on_hand = self.t.m.stock.qty[self.t.m.stock.key(item_id, wh)]
            qty = min(on_hand, max(1, int(rng.paretovariate(1.6))) * items.pack[k])
            if qty <= 0 or any(ln.item_id == item_id for ln in lines):
                continue
            lines.append(SalesLine(qty, items.price[k], items.vat[k], ACC["4000"], item_id, wh))
        if not lines:
            return
        if rng.random() < 0.12:
            lines.append(SalesLine(1, rng.choice((500, 750, 995, 1500, 2500)), 1, ACC["4010"], description="Carriage"))
        inv_id = self.t.next_id("sl_invoice_rec")
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
        journal_id, _ = self.t.journal(day, JournalSource.SL, number, draft.lines, draft.description)
        cogs_id = self.t.next_id("gl_journal_rec")
        cogs = 0
        for ln in lines:
            if ln.item_id is not None and ln.warehouse_id is not None:
                cogs += self.t.issue(
                    ln.item_id, ln.warehouse_id, qty=ln.quantity, day=day, reference=number, journal_id=cogs_id
                )
                self.t.touched[(ln.item_id, ln.warehouse_id)] = None
        if cogs:
            self.t.journal(
                day,
                JournalSource.ST,
                number,
                [dr(CTRL[ControlKind.COST_OF_SALES], cogs), cr(CTRL[ControlKind.STOCK], cogs)],
                f"Cost of sales {number}",
                journal_id=cogs_id,
            )
        self.t.track_vat(day, vat, 0, net, 0)

        # The invoice's fate: a credit note, receipts, reminders.
        due = day + timedelta(days=terms)
        credit_gross, credit_day = 0, None
        if rng.random() < 0.03:
            first, fp = priced[0]
            credit_net = max(1, fp.net_pence * rng.randint(10, 100) // 100)
            credit_gross = credit_net + vat_for(credit_net, RATES[first.vat_code_id])
            credit_day = self.t.next_working(day + timedelta(days=rng.randint(2, 12)))
            self.t.at(
                credit_day, "credit_note", customer, inv_id, number, credit_net, first.vat_code_id, first.account_id
            )
        payable = gross - credit_gross
        installments: list[tuple[date, int]] = []
        if payable > 0:
            if profile == BAD_PAYER and rng.random() < 0.3:
                pass  # never paid
            elif profile == PART_PAYER:
                first_part = max(1, payable * rng.randint(30, 80) // 100)
                d1 = due + timedelta(days=rng.randint(0, 20))
                installments = [(d1, first_part), (d1 + timedelta(days=rng.randint(20, 90)), payable - first_part)]
            else:
                _, low, high = PAYER_PROFILES[min(profile, 2)]
                installments = [(due + timedelta(days=rng.randint(low, high)), payable)]
        paid_by_end = 0
        for planned, amount in installments:
            pay_day = self.t.next_working(planned)
            if pay_day <= self.t.end:
                paid_by_end += amount
                self.t.at(pay_day, "receipt", customer, inv_id, amount)
        if rng.random() < 0.004:
            on_account = rng.randint(1, 20) * 5_000
            self.t.at(
                self.t.next_working(day + timedelta(days=rng.randint(5, 40))), "receipt", customer, None, on_account
            )
        outstanding = gross - paid_by_end - (credit_gross if credit_day is not None and credit_day <= self.t.end else 0)
        first_payment = self.t.next_working(installments[0][0]) if installments else None
        settled = NEVER
        if outstanding <= 0:
            days = [self.t.next_working(d) for d, _ in installments] + ([credit_day] if credit_day else [])
            settled = max(days).toordinal() if days else day.toordinal()
        for level, after in ((1, 7), (2, 30), (3, 60)):
            when = due + timedelta(days=after)
            if when >= self.t.end or (first_payment is not None and first_payment <= when):
                break
            self.t.at(when, "reminder", customer, inv_id, level, after, payable, settled)
        self.t.w.add(
            "sl_invoice_rec",
            {
                "id": inv_id,
                "number": number,
                "kind": DocumentKind.INVOICE,
                "customer_id": customer,
                "invoice_date": day,
                "due_date": due,
                "net_pence": net,
                "vat_pence": vat,
                "gross_pence": gross,
                "outstanding_pence": outstanding,
                "status": _status(gross, outstanding),
                "disputed": outstanding > 0 and profile == 2 and rng.random() < 0.1,
                "on_hold": False,
                "journal_id": journal_id,
            },
        )
        for n, (ln, p) in enumerate(priced, start=1):
            self.t.w.add(
                "sl_invoice_line_rec",
                {
                    "id": self.t.next_id("sl_invoice_line_rec"),
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
        self.t.invoices += 1
        self.t.sales_lines += len(priced)

    def on_reminder(  # noqa: PLR0917 - event handlers take their payload positionally
        self, day: date, customer: int, invoice: int, level: int, days: int, amount: int, settled: int
    ) -> None:
        """A letter about ``invoice`` as SL_OVERDUE_REMINDERS would have sent it that day, if at all."""
        level = self.t.dunning.letter(customer, level, day, settled)
        if not level:
            return
        self.t.w.add(
            "sl_reminder_rec",
            {
                "id": self.t.next_id("sl_reminder_rec"),
                "customer_id": customer,
                "invoice_id": invoice,
                "level": level,
                "sent_on": day,
                "days_overdue": days,
                "overdue_pence": amount,
            },
        )

    def on_credit_note(  # noqa: PLR0917 - event handlers take their payload positionally
        self, day: date, customer: int, invoice_id: int, invoice_number: str, net: int, vat_code: int, account: int
    ) -> None:
        note_id = self.t.next_id("sl_invoice_rec")
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
        journal_id, _ = self.t.journal(day, JournalSource.SL, number, draft.lines, draft.description)
        gross = priced.net_pence + priced.vat_pence
        self.t.w.add(
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
        self.t.w.add(
            "sl_invoice_line_rec",
            {
                "id": self.t.next_id("sl_invoice_line_rec"),
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
        self.t.w.add(
            "sl_allocation_rec",
            {
                "id": self.t.next_id("sl_allocation_rec"),
                "invoice_id": invoice_id,
                "credit_note_id": note_id,
                "amount_pence": gross,
                "allocated_on": day,
            },
        )
        self.t.track_vat(day, -priced.vat_pence, 0, -priced.net_pence, 0)

    def on_receipt(self, day: date, customer: int, invoice_id: int | None, amount: int) -> None:
        receipt_id = self.t.next_id("sl_receipt_rec")
        reference = f"RC{receipt_id:08d}"
        journal_id, (bank_line, _) = self.t.journal(
            day,
            JournalSource.SL,
            reference,
            [dr(CTRL[ControlKind.BANK], amount), cr(CTRL[ControlKind.DEBTORS], amount)],
            "Customer receipt",
        )
        self.t.w.add(
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
            self.t.w.add(
                "sl_allocation_rec",
                {
                    "id": self.t.next_id("sl_allocation_rec"),
                    "invoice_id": invoice_id,
                    "receipt_id": receipt_id,
                    "amount_pence": amount,
                    "allocated_on": day,
                },
            )
        self.t.statement_line(day, amount, reference, bank_line)

"""PL_PAYMENT_RUN: pays approved supplier invoices due by the payment date, and never twice.

Safety comes from the schema as much as from this code: a payment run pays a supplier once
(``UNIQUE (run_key, supplier_id)`` on payments), a payment allocates an invoice once
(``UNIQUE (payment_id, invoice_id)``) and an invoice's outstanding amount can never go below
zero (guarded UPDATE and CHECK). Suppliers are paid set-based in chunks, each committed with
a checkpoint; a chunk whose documents were paid elsewhere after the run read them is refused
whole by the guarded UPDATE, read again and planned again without them. A rerun or a resumed
run selects only what is still outstanding and skips the suppliers this run key has already
paid, so a crash mid-run never pays anything twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.analysis.bacs import BacsPayment, Originator, bank_csv, standard18
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.batch.schedules import company_calendar
from acas_batch.db import one_of
from acas_batch.errors import StaleDocuments, ValidationError
from acas_batch.jobs.params import Notify
from acas_batch.ledger.money import percent_of
from acas_batch.ledger.pl import PaymentAllocation
from acas_batch.ledger.supplier_payments import CreditAllocation, PaymentDraft, post_supplier_payments
from acas_batch.models import (
    BankAccount,
    Company,
    DocumentKind,
    DocumentStatus,
    Module,
    PaymentMethod,
    PaymentRun,
    PurchaseAllocation,
    PurchaseInvoice,
    Supplier,
    SupplierPayment,
)
from acas_batch.reports.render import write_csv, write_text

#: Test-only hook: each function is called with the number of suppliers paid so far, after
#: every committed chunk that paid someone (a test raises in it to crash the run part way).
AFTER_CHUNK: list[Callable[[int], None]] = []

#: How often a chunk is planned again after other runs paid some of its documents, before the run fails.
_ATTEMPTS = 10


class PaymentRunParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_date: date | None = Field(
        None, description="The day the money arrives (default: two working days after the business date)."
    )
    lookahead_days: int = Field(0, ge=0, le=366, description="Also pay invoices due this many days later.")
    max_total: int | None = Field(None, gt=0, description="Pay at most this many pence, oldest due first.")
    bank_format: Literal["bacs18", "csv"] = Field("bacs18", description="Bacs Standard 18 file or the bank's CSV.")
    bank_account_id: int = Field(1, ge=1, description="The bank account paid from.")
    service_user_number: str = Field("000000", pattern=r"^\d{6}$", description="Bacs service user number.")
    chunk_suppliers: int = Field(500, ge=1, le=10_000, description="Suppliers paid per committed chunk.")
    notify: Notify = Field(default_factory=Notify)


class OpenDoc(NamedTuple):
    """An open invoice or credit note of a supplier (a tuple: thousands are held, and tuples of
    numbers and dates cost the garbage collector nothing once it has seen them)."""

    id: int
    outstanding: int
    due_date: date
    invoice_date: date


@dataclass
class SupplierPlan:
    """What one supplier is paid: credit notes set against invoices, then the payment's allocations."""

    supplier_id: int
    credits: list[tuple[int, int, int]] = field(default_factory=list)  # (credit note, invoice, pence)
    allocations: list[PaymentAllocation] = field(default_factory=list)

    @property
    def paid(self) -> int:
        return sum(a.amount_pence - a.discount_pence for a in self.allocations)

    @property
    def discount(self) -> int:
        return sum(a.discount_pence for a in self.allocations)


def plan_supplier(
    supplier_id: int,
    invoices: Sequence[OpenDoc],
    credits: Sequence[OpenDoc],
    *,
    payment_date: date,
    discount_pct: Decimal,
    settlement_days: int,
    budget: int | None,
) -> SupplierPlan | None:
    """Oldest due first: credit notes clear invoices, the rest is paid less any settlement discount.

    Returns None when nothing is to be paid: the supplier's net is a debit (credits cover the
    invoices) or the budget cannot take even the oldest invoice.
    """
    if sum(i.outstanding for i in invoices) - sum(c.outstanding for c in credits) <= 0:
        return None
    plan = SupplierPlan(supplier_id)
    left = [[c.id, c.outstanding] for c in sorted(credits, key=lambda c: (c.invoice_date, c.id))]
    cash = 0
    for inv in sorted(invoices, key=lambda i: (i.due_date, i.id)):
        use = min(sum(amount for _, amount in left), inv.outstanding)
        rest = inv.outstanding - use
        in_time = payment_date <= inv.invoice_date + timedelta(days=settlement_days)
        discount = percent_of(rest, discount_pct) if in_time and discount_pct > 0 else 0
        if budget is not None and cash + rest - discount > budget:
            break
        cash += rest - discount
        for entry in left:
            take = min(entry[1], use)
            if take:
                plan.credits.append((int(entry[0]), inv.id, take))
                entry[1] -= take
                use -= take
        if rest:
            plan.allocations.append(PaymentAllocation(inv.id, rest, discount))
    return plan if plan.paid > 0 else None


def _open_documents(
    session: Session, run_key: str, due_by: date, suppliers: Collection[int] | None = None
) -> tuple[dict[int, list[OpenDoc]], dict[int, list[OpenDoc]]]:
    """Payable invoices (oldest due first) and open credit notes per supplier (of ``suppliers``,
    default all), those paid by this run left out, in one query.

    Only suppliers with a payable invoice are kept. The documents are found through the open
    status (``ix_pl_invoice_rec_open``; the CHECK ties it to a positive outstanding amount), not
    by scanning every document ever entered, and read whole rather than through a server-side
    cursor: the run keeps them all anyway, and a cursor's plan is chosen for its first rows."""
    inv = PurchaseInvoice
    paid_here = exists().where(SupplierPayment.run_key == run_key, SupplierPayment.supplier_id == inv.supplier_id)
    payable = and_(
        inv.kind == DocumentKind.INVOICE, inv.approved.is_(True), inv.on_hold.is_(False), inv.due_date <= due_by
    )
    query = (
        select(inv.supplier_id, inv.kind, inv.id, inv.outstanding_pence, inv.due_date, inv.invoice_date)
        .where(
            inv.status.in_([DocumentStatus.OPEN, DocumentStatus.PART_PAID]),
            inv.outstanding_pence > 0,
            or_(payable, inv.kind == DocumentKind.CREDIT_NOTE),
            inv.supplier_id.in_(select(Supplier.id).where(Supplier.on_hold.is_(False))),
            ~paid_here,
        )
        .order_by(inv.supplier_id, inv.due_date, inv.id)
    )
    if suppliers is not None:
        query = query.where(one_of(session, inv.supplier_id, suppliers))
    invoices: dict[int, list[OpenDoc]] = defaultdict(list)
    credits: dict[int, list[OpenDoc]] = defaultdict(list)
    for sid, kind, doc_id, outstanding, due, on in session.connection().execute(query):
        (invoices if kind == DocumentKind.INVOICE else credits)[sid].append(OpenDoc(doc_id, outstanding, due, on))
    for sid in [sid for sid in credits if sid not in invoices]:
        del credits[sid]
    return invoices, credits


def _draft(plan: SupplierPlan, on: date) -> PaymentDraft:
    return PaymentDraft(
        plan.supplier_id,
        tuple(plan.allocations),
        tuple(CreditAllocation(note, invoice, amount) for note, invoice, amount in plan.credits),
        reference=f"PAYRUN {on:%Y%m%d} {plan.supplier_id}",
    )


def _plan_chunk(
    chunk: Sequence[int],
    invoices: Mapping[int, Sequence[OpenDoc]],
    credits: Mapping[int, Sequence[OpenDoc]],
    terms: Mapping[int, tuple[Decimal, int]],
    *,
    pay_day: date,
    budget: int | None,
) -> tuple[list[SupplierPlan], list[int]]:
    """The chunk's supplier plans in order, the budget shrinking as they go, and the suppliers left unpaid."""
    plans: list[SupplierPlan] = []
    unpaid: list[int] = []
    spent = 0
    for sid in chunk:
        pct, days = terms[sid]
        plan = plan_supplier(
            sid,
            invoices.get(sid, []),
            credits.get(sid, []),
            payment_date=pay_day,
            discount_pct=pct,
            settlement_days=days,
            budget=None if budget is None else budget - spent,
        )
        if plan is None:
            unpaid.append(sid)
        else:
            plans.append(plan)
            spent += plan.paid
    return plans, unpaid


def _pay_chunk(
    ctx: JobContext[PaymentRunParams],
    chunk: Sequence[int],
    invoices: dict[int, list[OpenDoc]],
    credits: dict[int, list[OpenDoc]],
    terms: Mapping[int, tuple[Decimal, int]],
    *,
    run_key: str,
    pay_day: date,
    budget: int | None,
) -> tuple[list[SupplierPlan], list[int], set[int]]:
    """Pay one chunk of suppliers set-based; returns the plans paid, the suppliers not paid and those re-planned.

    The chunk is planned from the documents as read, then posted at once by
    :func:`~acas_batch.ledger.supplier_payments.post_supplier_payments`, whose guarded UPDATE refuses the
    whole chunk if any document no longer holds the amount it was planned with (another run
    paid or allocated it meanwhile). The chunk's documents are then read again (suppliers this
    run key has paid are left out, which also answers a refusal by ``UNIQUE (run_key,
    supplier_id)``) and the chunk planned and posted again without what was paid elsewhere.
    ``invoices`` and ``credits`` are updated in place with what was read again.
    """
    s, p = ctx.session, ctx.params
    changed: set[int] = set()
    attempt = 0
    while True:
        attempt += 1
        plans, unpaid = _plan_chunk(chunk, invoices, credits, terms, pay_day=pay_day, budget=budget)
        expected = {doc.id: doc.outstanding for sid in chunk for doc in (*invoices[sid], *credits.get(sid, []))}
        try:
            post_supplier_payments(
                s,
                [_draft(plan, pay_day) for plan in plans],
                expected=expected,
                payment_date=pay_day,
                bank_account_id=p.bank_account_id,
                run_key=run_key,
            )
            return plans, unpaid, changed
        except (StaleDocuments, IntegrityError) as exc:
            if attempt == _ATTEMPTS:
                raise
            reason = str(exc).splitlines()[0]
        due_by = pay_day + timedelta(days=p.lookahead_days)
        fresh_invoices, fresh_credits = _open_documents(s, run_key, due_by, chunk)
        for sid in chunk:
            before = (invoices[sid], credits.get(sid, []))
            invoices[sid], credits[sid] = fresh_invoices.get(sid, []), fresh_credits.get(sid, [])
            if (invoices[sid], credits[sid]) != before:
                changed.add(sid)
                ctx.log.warning(
                    f"supplier {sid}: documents paid elsewhere since the run read them ({reason}); planned again",
                    event="payment_conflict",
                )


def _start(ctx: JobContext[PaymentRunParams], run_key: str, pay_day: date, processing: date) -> PaymentRun:
    s = ctx.session
    run = s.scalar(select(PaymentRun).where(PaymentRun.run_key == run_key))
    if run is None:
        run = PaymentRun(
            run_key=run_key, execution_id=ctx.execution_id, payment_date=pay_day, processing_date=processing
        )
        s.add(run)
        s.flush()
    elif run.payment_date != pay_day:
        raise ValidationError(
            f"payment_date: run {run_key} pays on {run.payment_date.isoformat()}, not {pay_day.isoformat()}"
        )
    else:
        run.execution_id = ctx.execution_id
    return run


@job(
    "PL_PAYMENT_RUN",
    module=Module.PL,
    params=PaymentRunParams,
    timeout_seconds=3600,
    max_attempts=1,
    resources=({"name": "ledger:PL", "mode": "exclusive"}, {"name": "ledger:GL", "mode": "shared"}),
)
def payment_run(ctx: JobContext[PaymentRunParams]) -> JobResult:
    """Pays approved supplier invoices due by the payment date (Bacs or cheque); never pays an invoice twice."""
    p, s = ctx.params, ctx.session
    calendar = company_calendar(s, ctx.settings)
    # Submitted on a business day on or after the run's date, paid two business days later.
    earliest = calendar.add_business_days(calendar.on_or_after(ctx.business_date), 2)
    pay_day = p.payment_date or earliest
    processing = calendar.add_business_days(pay_day, -2)
    run_key = f"PL_PAYMENT_RUN:{ctx.business_date.isoformat()}"
    if s.get(BankAccount, p.bank_account_id) is None:
        raise ValidationError(f"bank_account_id: bank account {p.bank_account_id} does not exist")
    if processing < ctx.business_date:
        # The bank rejects a file whose processing day has passed (or pays late): refuse before paying anyone.
        raise ValidationError(
            f"payment_date: paying on {pay_day.isoformat()} needs the Bacs submission on {processing.isoformat()}, "
            f"before the business date {ctx.business_date.isoformat()}; the earliest payment date is "
            f"{earliest.isoformat()}"
        )
    run = _start(ctx, run_key, pay_day, processing)
    resumed = run.payments
    invoices, credits = _open_documents(s, run_key, pay_day + timedelta(days=p.lookahead_days))
    terms = {
        sid: (pct, days)
        for sid, pct, days in s.execute(
            select(Supplier.id, Supplier.settlement_discount_pct, Supplier.settlement_days).where(
                Supplier.on_hold.is_(False)
            )
        )
    }
    order = sorted(invoices, key=lambda sid: (invoices[sid][0].due_date, sid))
    ctx.log.info(
        f"payment run {run_key}: paying on {pay_day.isoformat()} (Bacs processing {processing.isoformat()}); "
        f"{sum(len(v) for v in invoices.values())} invoices of {len(order)} suppliers due by "
        f"{(pay_day + timedelta(days=p.lookahead_days)).isoformat()}"
        + (f"; resuming after {resumed} suppliers already paid" if resumed else ""),
        event="payment_run_started",
    )
    skipped_debit, skipped_budget, conflicted = 0, 0, set[int]()
    for start in range(0, len(order), p.chunk_suppliers):
        chunk = order[start : start + p.chunk_suppliers]
        budget = None if p.max_total is None else p.max_total - run.paid_pence
        plans, unpaid, changed = _pay_chunk(
            ctx, chunk, invoices, credits, terms, run_key=run_key, pay_day=pay_day, budget=budget
        )
        conflicted |= changed
        for sid in unpaid:
            if sid in conflicted:
                continue
            net = sum(i.outstanding for i in invoices.get(sid, [])) - sum(c.outstanding for c in credits.get(sid, []))
            if net <= 0:
                skipped_debit += 1
            else:
                skipped_budget += 1
        run.payments += len(plans)
        run.paid_pence += sum(plan.paid for plan in plans)
        run.discount_pence += sum(plan.discount for plan in plans)
        ctx.progress(start + len(chunk), len(order))
        ctx.checkpoint({"suppliers_paid": run.payments, "paid_pence": run.paid_pence})
        if plans:
            for hook in AFTER_CHUNK:
                hook(run.payments)
    files = _write_files(ctx, run)
    run.completed = True
    ctx.log.info(
        f"{run.payments} suppliers paid {run.paid_pence} pence (discount taken {run.discount_pence} pence); "
        f"{skipped_debit} skipped with a net debit, {skipped_budget} over max_total",
        event="payment_run_done",
    )
    if conflicted:
        ctx.warn_outcome(
            f"{len(conflicted)} supplier(s) had invoices paid elsewhere while the run was paying: not paid again"
        )
    return JobResult(
        summary=f"{run.payments} payments totalling {run.paid_pence} pence on {pay_day.isoformat()}",
        counts={
            "payments": run.payments,
            "skipped_debit": skipped_debit,
            "skipped_budget": skipped_budget,
            "conflicts": len(conflicted),
        },
        totals={"paid_pence": run.paid_pence, "discount_pence": run.discount_pence},
        files=files,
        data={"payment_date": pay_day.isoformat(), "processing_date": processing.isoformat(), "run_key": run_key},
    )


def _write_files(ctx: JobContext[PaymentRunParams], run: PaymentRun) -> list[str]:
    """Payments list (remittance data), cheque list, and the Bacs file or bank CSV, from every payment of the run."""
    s, p = ctx.session, ctx.params
    rows = (
        s.connection()
        .execute(
            select(
                Supplier.code,
                Supplier.name,
                Supplier.sort_code,
                Supplier.bank_account_number,
                SupplierPayment.id,
                SupplierPayment.method,
                SupplierPayment.amount_pence,
                SupplierPayment.discount_pence,
                SupplierPayment.reference,
            )
            .join(Supplier, Supplier.id == SupplierPayment.supplier_id)
            .where(SupplierPayment.run_key == run.run_key)
            .order_by(Supplier.code)
        )
        .all()
    )
    files = []
    lines = s.connection().execute(
        select(Supplier.code, SupplierPayment.id, PurchaseInvoice.number, PurchaseInvoice.invoice_date)
        .add_columns(PurchaseAllocation.amount_pence, PurchaseAllocation.discount_pence)
        .join(SupplierPayment, SupplierPayment.id == PurchaseAllocation.payment_id)
        .join(Supplier, Supplier.id == SupplierPayment.supplier_id)
        .join(PurchaseInvoice, PurchaseInvoice.id == PurchaseAllocation.invoice_id)
        .where(SupplierPayment.run_key == run.run_key)
        .order_by(Supplier.code, PurchaseInvoice.invoice_date, PurchaseInvoice.id)
    )
    path = ctx.output("payments.csv")
    write_csv(
        path,
        ["supplier", "payment_id", "invoice", "invoice_date", "cleared_pence", "discount_pence", "paid_pence"],
        ([*r[:4], r[4], r[5], r[4] - r[5]] for r in lines),
    )
    files.append(str(path))
    cheques = [r for r in rows if r.method is PaymentMethod.CHEQUE]
    if cheques:
        path = ctx.output("cheques.csv")
        write_csv(path, ["supplier", "name", "amount_pence", "reference"], ((r[0], r[1], r[6], r[8]) for r in cheques))
        files.append(str(path))
    bacs = [
        BacsPayment(sort_code=r[2] or "", account=r[3] or "", name=r[1], amount_pence=r[6], reference=r[8])
        for r in rows
        if r.method is PaymentMethod.BACS
    ]
    if bacs:
        bank = s.get_one(BankAccount, p.bank_account_id)
        if p.bank_format == "bacs18":
            originator = Originator(
                service_user_number=p.service_user_number,
                name=s.scalar(select(Company.name).limit(1)) or bank.name,
                sort_code=bank.sort_code,
                account=bank.account_number,
            )
            text = standard18(originator, bacs, run.processing_date, created=ctx.business_date)
            path = ctx.output("bacs_standard18.txt")
        else:
            text, path = bank_csv(bacs), ctx.output("bank_payments.csv")
        write_text(path, text, encoding="ascii")
        run.bank_file = str(path)
        files.append(str(path))
    return files

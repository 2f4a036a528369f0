"""SL_COMMISSION_CALCULATION: each salesperson's commission on the period's net sales.

A customer's sales belong to the customer's salesperson; amounts are net of VAT.

* ``invoiced``: invoices dated in the period add their net, credit notes dated in it
  subtract theirs.
* ``paid``: an invoice counts as it is settled: the net share of what receipts and credit
  notes allocated to it in the period cleared (``net × settled ÷ gross``, taken as the
  change in the cumulative share so that an invoice settled over several periods counts
  its exact net in the end). A credit note subtracts its net in the period it is dated,
  as on the invoiced basis; the part of an invoice it settles counts as settled, so it is
  not taken off twice. Over a document's life both bases count the same net sales.

Commission is the salesperson's rate (``sl_salesperson_rec``) on the net, with optional
marginal tiers (``sl_commission_tier_rec``), rounded half-up once per salesperson. With
``post_accrual`` the period's total is accrued by one balanced GL journal (debit sales
commission, credit accruals) dated the period end; ``sl_commission_accrual_rec`` holds one
row per period under a UNIQUE constraint, so a rerun, or two runs at once, never accrue a
period twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, delete, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.analysis.commission import Tier, commission_due, effective_rate
from acas_batch.analysis.money import format_pounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import insert_rows
from acas_batch.errors import UnknownAccount
from acas_batch.jobs.params import DateRange, Notify, OutputFormat, Period, resolve_period_range
from acas_batch.jobs.sl.aged_debtors import company_name
from acas_batch.ledger.chart import ACCRUALS_CODE, COMMISSION_EXPENSE_CODE
from acas_batch.ledger.money import pro_rata
from acas_batch.ledger.posting import JournalDraft, cr, dr, post_journal
from acas_batch.models import (
    Account,
    CommissionAccrual,
    CommissionBasis,
    CommissionDocument,
    CommissionLine,
    CommissionTier,
    Customer,
    DocumentKind,
    JournalSource,
    Module,
    SalesAllocation,
    SalesInvoice,
    Salesperson,
)
from acas_batch.reports.render import write_csv, write_pdf

CHUNK = 2000


class CommissionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period = Field("CURRENT", description="CURRENT, PREVIOUS or YYYY-MM.")
    basis: CommissionBasis = Field(
        CommissionBasis.INVOICED, description="invoiced: by document date; paid: as invoices are settled."
    )
    post_accrual: bool = Field(False, description="Accrue the period's commission by a GL journal (once per period).")
    output_format: OutputFormat = OutputFormat.BOTH
    notify: Notify = Field(default_factory=Notify)


def period_key(params: CommissionParams, business_date: date) -> str:
    """Run key: the month (CURRENT/PREVIOUS as the calendar month they stand for) and the basis."""
    if params.period in ("CURRENT", "PREVIOUS"):
        index = business_date.year * 12 + business_date.month - 1 - (params.period == "PREVIOUS")
        month = f"{index // 12}-{index % 12 + 1:02d}"
    else:
        month = params.period
    return f"{month}:{params.basis.value}"


@dataclass(frozen=True)
class Counted:
    """A document counted for a salesperson: its net sales counted (negative for a credit note)."""

    salesperson_id: int
    customer_id: int
    invoice_id: int
    kind: DocumentKind
    settled_pence: int
    net_pence: int


def invoiced_documents(session: Session, period: DateRange) -> Iterator[Counted]:
    """Invoices (+net) and credit notes (-net) dated in the period, of customers with a salesperson."""
    rows = session.execute(
        select(Customer.salesperson_id, SalesInvoice.customer_id, SalesInvoice.id, SalesInvoice.kind)
        .add_columns(SalesInvoice.net_pence)
        .join(Customer, Customer.id == SalesInvoice.customer_id)
        .where(SalesInvoice.invoice_date.between(period.start, period.end), Customer.salesperson_id.is_not(None))
        .order_by(SalesInvoice.id)
        .execution_options(yield_per=5000)
    )
    for sp, cid, doc, kind, net in rows:
        sign = 1 if kind == DocumentKind.INVOICE else -1
        yield Counted(sp, cid, doc, kind, 0, sign * int(net))


def paid_documents(session: Session, period: DateRange) -> Iterator[Counted]:
    """Invoices settled in the period (net share of the settlement) and credit notes dated in it."""
    before = func.sum(case((SalesAllocation.allocated_on < period.start, SalesAllocation.amount_pence), else_=0))
    upto = func.sum(case((SalesAllocation.allocated_on <= period.end, SalesAllocation.amount_pence), else_=0))
    touched = select(SalesAllocation.invoice_id).where(SalesAllocation.allocated_on.between(period.start, period.end))
    settled = (
        select(SalesAllocation.invoice_id.label("invoice_id"), before.label("before"), upto.label("upto"))
        .where(SalesAllocation.invoice_id.in_(touched))
        .group_by(SalesAllocation.invoice_id)
        .subquery()
    )
    doc = (Customer.salesperson_id, SalesInvoice.customer_id, SalesInvoice.id, SalesInvoice.kind)
    amounts = (SalesInvoice.net_pence, SalesInvoice.gross_pence)
    invoices = (
        select(*doc, *amounts, settled.c.before, settled.c.upto)
        .join(settled, settled.c.invoice_id == SalesInvoice.id)
        .join(Customer, Customer.id == SalesInvoice.customer_id)
        .where(SalesInvoice.kind == DocumentKind.INVOICE, Customer.salesperson_id.is_not(None))
    )
    credits = (
        select(*doc, *amounts, literal(0), literal(0))
        .join(Customer, Customer.id == SalesInvoice.customer_id)
        .where(
            SalesInvoice.kind == DocumentKind.CREDIT_NOTE,
            SalesInvoice.invoice_date.between(period.start, period.end),
            Customer.salesperson_id.is_not(None),
        )
    )
    both = union_all(invoices, credits).subquery()
    rows = session.execute(select(both).order_by(both.c.id).execution_options(yield_per=5000))
    for sp, cid, doc, kind, net, gross, settled_before, settled_upto in rows:
        if kind == DocumentKind.CREDIT_NOTE:
            yield Counted(sp, cid, doc, kind, 0, -int(net))
            continue
        now, earlier = int(settled_upto), int(settled_before)
        earned = pro_rata(int(net), now, int(gross)) - pro_rata(int(net), earlier, int(gross))
        yield Counted(sp, cid, doc, kind, now - earlier, earned)


def unassigned_sales(session: Session, period: DateRange) -> tuple[int, int]:
    """Documents dated in the period whose customer has no salesperson: count and signed net."""
    sign = case((SalesInvoice.kind == DocumentKind.INVOICE, 1), else_=-1)
    count, net = session.execute(
        select(func.count(), func.coalesce(func.sum(sign * SalesInvoice.net_pence), 0))
        .join(Customer, Customer.id == SalesInvoice.customer_id)
        .where(SalesInvoice.invoice_date.between(period.start, period.end), Customer.salesperson_id.is_(None))
    ).one()
    return int(count), int(net)


@dataclass
class Statement:
    """One salesperson's commission statement, as the CSV and PDF show it."""

    salesperson_id: int
    code: str
    name: str
    rate: Decimal
    tiers: tuple[Tier, ...]
    sales: int = 0
    credits: int = 0
    commission: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def net(self) -> int:
        return self.sales - self.credits

    def row(self) -> list[Any]:
        """The salesperson's line of the summary (CSV and PDF)."""
        tiered = "Y" if self.tiers else ""
        summary = [self.code, self.name, len(self.lines), self.sales, self.credits, self.net, self.rate, tiered]
        return [*summary, effective_rate(self.net, self.commission), self.commission]


def _account(session: Session, code: str, role: str) -> int:
    account_id = session.scalar(select(Account.id).where(Account.code == code, Account.active.is_(True)))
    if account_id is None:
        raise UnknownAccount(f"no active account {code} ({role}) in the chart of accounts")
    return account_id


def accrue(ctx: JobContext[CommissionParams], period: DateRange, total: int) -> tuple[CommissionAccrual | None, bool]:
    """The period's accrual: ``(row, posted_now)``. Posts it unless the period already has one."""
    s = ctx.session
    existing = s.scalar(select(CommissionAccrual).where(CommissionAccrual.period_start == period.start))
    if existing is not None or total == 0:
        return existing, False
    expense = _account(s, COMMISSION_EXPENSE_CODE, "sales commission")
    accruals = _account(s, ACCRUALS_CODE, "accruals")
    ref = f"COMM {period.label}"
    draft = JournalDraft(
        period.end,
        JournalSource.GL,
        ref,
        (dr(expense, total, f"Sales commission {period.label}"), cr(accruals, total, f"Commission due {period.label}")),
        f"Sales commission accrued for {period.label} ({ctx.params.basis.value} basis)",
    )
    try:
        with s.begin_nested():
            journal_id = post_journal(s, draft)
            row = CommissionAccrual(
                period_start=period.start,
                period_end=period.end,
                execution_id=ctx.execution_id,
                basis=ctx.params.basis,
                journal_id=journal_id,
                amount_pence=total,
                created_at=ctx.now,
            )
            s.add(row)
            s.flush()
    except IntegrityError:  # another run accrued the period between our read and our insert
        return s.scalar(select(CommissionAccrual).where(CommissionAccrual.period_start == period.start)), False
    return row, True


def _statements(session: Session, ids: set[int]) -> dict[int, Statement]:
    tiers: dict[int, list[Tier]] = defaultdict(list)
    for sp, start, rate in session.execute(
        select(CommissionTier.salesperson_id, CommissionTier.from_pence, CommissionTier.rate)
    ):
        tiers[sp].append(Tier(int(start), Decimal(rate)))
    return {
        sp: Statement(sp, code, name, Decimal(rate), tuple(sorted(tiers[sp], key=lambda t: t.from_pence)))
        for sp, code, name, rate in session.execute(
            select(Salesperson.id, Salesperson.code, Salesperson.name, Salesperson.commission_rate).where(
                Salesperson.active.is_(True) | Salesperson.id.in_(ids)
            )
        )
    }


@job(
    "SL_COMMISSION_CALCULATION",
    module=Module.SL,
    params=CommissionParams,
    run_key=period_key,
    timeout_seconds=1800,
    resources=({"name": "ledger:SL", "mode": "shared"},),
)
def commission_calculation(ctx: JobContext[CommissionParams]) -> JobResult:
    """Commission per salesperson on the period's net sales (invoiced or paid basis)."""
    p, s = ctx.params, ctx.session
    period = resolve_period_range(s, p.period, ctx.business_date)
    key = f"SL_COMMISSION_CALCULATION:{period.label}:{p.basis.value}"
    previous = select(CommissionLine.execution_id).where(CommissionLine.run_key == key)
    s.execute(delete(CommissionDocument).where(CommissionDocument.execution_id.in_(previous)))
    s.execute(delete(CommissionLine).where(CommissionLine.run_key == key))  # a rerun replaces the period's set
    source = invoiced_documents if p.basis is CommissionBasis.INVOICED else paid_documents
    counted = [c for c in source(s, period) if c.net_pence or c.settled_pence]
    statements = _statements(s, {c.salesperson_id for c in counted})
    for start in range(0, len(counted), CHUNK):
        chunk = counted[start : start + CHUNK]
        insert_rows(
            s,
            CommissionDocument,
            [
                {
                    "execution_id": ctx.execution_id,
                    "salesperson_id": c.salesperson_id,
                    "customer_id": c.customer_id,
                    "invoice_id": c.invoice_id,
                    "settled_pence": c.settled_pence,
                    "net_pence": c.net_pence,
                }
                for c in chunk
            ],
        )
        ctx.progress(start + len(chunk), len(counted))
    refs = {
        i: (number, on, code)
        for i, number, on, code in s.execute(
            select(SalesInvoice.id, SalesInvoice.number, SalesInvoice.invoice_date, Customer.code)
            .join(Customer, Customer.id == SalesInvoice.customer_id)
            .join(CommissionDocument, CommissionDocument.invoice_id == SalesInvoice.id)
            .where(CommissionDocument.execution_id == ctx.execution_id)
        )
    }
    for c in counted:
        st = statements[c.salesperson_id]
        if c.kind == DocumentKind.INVOICE:
            st.sales += c.net_pence
        else:
            st.credits -= c.net_pence
        number, on, customer = refs[c.invoice_id]
        st.lines.append(
            {
                "number": number,
                "on": on,
                "customer": customer,
                "kind": c.kind.value.replace("_", " "),
                "settled": c.settled_pence,
                "net": c.net_pence,
            }
        )
    ordered = sorted(statements.values(), key=lambda st: st.code)
    for st in ordered:
        st.commission = commission_due(st.net, st.rate, st.tiers)
        st.lines.sort(key=lambda line: (line["on"], line["number"]))
    if ordered:
        insert_rows(
            s,
            CommissionLine,
            [
                {
                    "execution_id": ctx.execution_id,
                    "run_key": key,
                    "period_start": period.start,
                    "period_end": period.end,
                    "basis": p.basis,
                    "salesperson_id": st.salesperson_id,
                    "documents": len(st.lines),
                    "sales_pence": st.sales,
                    "credits_pence": st.credits,
                    "net_sales_pence": st.net,
                    "rate": st.rate,
                    "tiered": bool(st.tiers),
                    "commission_pence": st.commission,
                }
                for st in ordered
            ],
        )
    total = sum(st.commission for st in ordered)
    net_total = sum(st.net for st in ordered)
    accrual, posted = accrue(ctx, period, total) if p.post_accrual else (None, False)
    files = _write_files(ctx, period, ordered, total, accrual)
    loose, loose_net = unassigned_sales(s, period)
    ctx.log.info(
        f"commission {period.label} ({p.basis.value} basis): {len(ordered)} salespeople, "
        f"{len(counted)} documents, net sales {format_pounds(net_total)}, commission {format_pounds(total)}",
        event="commission_calculated",
        salespeople=len(ordered),
        documents=len(counted),
        net_sales_pence=net_total,
        commission_pence=total,
    )
    if loose:
        ctx.log.warning(
            f"{loose} documents dated in {period.label} ({format_pounds(loose_net)} net) belong to customers "
            "with no salesperson: no commission on them",
            event="commission_unassigned",
            documents=loose,
            net_pence=loose_net,
        )
    if p.post_accrual:
        _log_accrual(ctx, period, total, accrual, posted)
    return JobResult(
        summary=f"commission {period.label} ({p.basis.value}): {format_pounds(total)} on net sales "
        f"{format_pounds(net_total)} for {len(ordered)} salespeople",
        counts={"salespeople": len(ordered), "documents": len(counted), "unassigned_documents": loose},
        totals={
            "net_sales_pence": net_total,
            "commission_pence": total,
            "accrued_pence": accrual.amount_pence if posted and accrual else 0,
        },
        files=[str(f) for f in files],
        data={
            "period": period.label,
            "basis": p.basis.value,
            "accrual_journal_id": accrual.journal_id if accrual else None,
            "accrual_posted_now": posted,
        },
    )


def _log_accrual(
    ctx: JobContext[CommissionParams], period: DateRange, total: int, accrual: CommissionAccrual | None, posted: bool
) -> None:
    if posted and accrual is not None:
        ctx.log.info(
            f"accrued {format_pounds(total)} commission for {period.label} in journal {accrual.journal_id}",
            event="commission_accrued",
            journal_id=accrual.journal_id,
            amount_pence=total,
        )
    elif accrual is None:
        ctx.log.info(f"no commission to accrue for {period.label}", event="commission_accrual_none")
    else:
        ctx.log.info(
            f"{period.label} was accrued already (journal {accrual.journal_id}, {format_pounds(accrual.amount_pence)}):"
            " nothing posted",
            event="commission_accrual_exists",
            journal_id=accrual.journal_id,
        )
        if accrual.amount_pence != total:
            message = (
                f"commission for {period.label} is now {format_pounds(total)}; the accrual posted is "
                f"{format_pounds(accrual.amount_pence)} (difference {format_pounds(total - accrual.amount_pence)})"
            )
            ctx.log.warning(message, event="commission_accrual_differs")
            ctx.warn_outcome(message)


def _write_files(
    ctx: JobContext[CommissionParams],
    period: DateRange,
    statements: list[Statement],
    total: int,
    accrual: CommissionAccrual | None,
) -> list[Any]:
    p = ctx.params
    header = ["salesperson", "name", "documents", "sales_pence", "credits_pence", "net_sales_pence"]
    header += ["rate", "tiered", "effective_rate", "commission_pence"]
    rows = [st.row() for st in statements]
    totals = ["TOTAL", "", sum(len(st.lines) for st in statements), sum(st.sales for st in statements)]
    totals += [sum(st.credits for st in statements), sum(st.net for st in statements), None, None, None, total]
    files = [ctx.output("commission.csv"), ctx.output("commission_documents.csv")]
    write_csv(files[0], header, [*rows, totals])
    write_csv(
        files[1],
        ["salesperson", "document", "date", "customer", "kind", "settled_pence", "net_pence"],
        (
            [st.code, line["number"], line["on"].isoformat()]
            + [line[k] for k in ("customer", "kind", "settled", "net")]
            for st in statements
            for line in st.lines
        ),
    )
    if p.output_format.pdf:
        notes = []
        if accrual is not None:
            notes.append(
                f"Accrued in journal {accrual.journal_id}: {format_pounds(accrual.amount_pence)}"
                f" (debit {COMMISSION_EXPENSE_CODE} sales commission, credit {ACCRUALS_CODE} accruals)."
            )
        files.append(
            write_pdf(
                ctx.output("commission.pdf"),
                "commission.html",
                title=f"Sales commission {period.label}",
                company=company_name(ctx),
                start=period.start,
                end=period.end,
                basis=p.basis.value,
                statements=statements,
                rows=rows,
                totals=totals,
                notes=notes,
            )
        )
    return files

"""Purchase ledger jobs: aged creditors and three-way matching.

The work is done in the database (streamed selects, bulk inserts and updates); each job
writes a result snapshot keyed by its run key, replaced by a rerun, and its files (CSV,
and PDF for documents people read) in the execution's output folder.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Select, Table, bindparam, delete, exists, select, union_all, update
from sqlalchemy.orm import Session

from acas_batch.analysis.ageing import age_items, bucket_index, check_bounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import insert_rows, rowcount
from acas_batch.jobs.params import Notify, OutputFormat
from acas_batch.ledger.balances import control_balance
from acas_batch.models import (
    AgedCreditorLine,
    Company,
    ControlKind,
    DocumentKind,
    DocumentStatus,
    MatchResultLine,
    MatchStatus,
    Module,
    PurchaseInvoice,
    PurchaseInvoiceLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Supplier,
    SupplierPayment,
)
from acas_batch.reports import write_csv, write_table_pdf

CHUNK = 2000


def _company(session: Session) -> str:
    return session.scalar(select(Company.name).limit(1)) or ""


def _stream(session: Session, stmt: Select[*tuple[Any, ...]]) -> Iterator[Any]:
    yield from session.execute(stmt.execution_options(yield_per=CHUNK))


# ---- PL_AGED_CREDITORS ------------------------------------------------------------------


class AgedCreditorsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    age_by: Literal["due_date", "invoice_date"] = Field("due_date", description="Age invoices from this date.")
    buckets: list[int] = Field([0, 30, 60, 90, 120], description="Inclusive upper bounds of the age buckets, days.")
    output_format: OutputFormat = OutputFormat.BOTH
    notify: Notify = Field(default_factory=Notify)

    @field_validator("buckets")
    @classmethod
    def _bounds(cls, value: list[int]) -> list[int]:
        return list(check_bounds(value))


def _open_items(age_by: str) -> Select[Any]:
    """Every open item as (supplier, signed pence, age date): invoices, credit notes, payments on account."""
    inv = PurchaseInvoice
    invoices = select(
        inv.supplier_id, inv.outstanding_pence.label("amount"), getattr(inv, age_by).label("since")
    ).where(inv.kind == DocumentKind.INVOICE, inv.outstanding_pence > 0)
    notes = select(inv.supplier_id, -inv.outstanding_pence, inv.invoice_date).where(
        inv.kind == DocumentKind.CREDIT_NOTE, inv.outstanding_pence > 0
    )
    pay = SupplierPayment
    on_account = select(pay.supplier_id, -pay.unallocated_pence, pay.payment_date).where(pay.unallocated_pence > 0)
    return select(union_all(invoices, notes, on_account).subquery())


@job(
    "PL_AGED_CREDITORS",
    module=Module.PL,
    params=AgedCreditorsParams,
    timeout_seconds=1800,
    resources=({"name": "ledger:PL", "mode": "shared"},),
)
def aged_creditors(ctx: JobContext[AgedCreditorsParams]) -> JobResult:
    """Open items per supplier by age bucket; the total ties to the creditors control account."""
    p, s, today = ctx.params, ctx.session, ctx.business_date
    run_key = f"PL_AGED_CREDITORS:{today.isoformat()}"
    per_bucket: dict[tuple[int, int], int] = defaultdict(int)

    def rows() -> Iterator[tuple[int, int, int]]:
        for sid, amount, since in _stream(s, _open_items(p.age_by)):
            days = (today - since).days
            per_bucket[sid, bucket_index(days, p.buckets)] += 1
            yield sid, int(amount), days

    report = age_items(rows(), p.buckets)
    items = sum(b.items for b in report.balances.values())
    ctx.progress(items, items)
    s.execute(delete(AgedCreditorLine).where(AgedCreditorLine.run_key == run_key))
    lines = [
        {"run_key": run_key, "execution_id": ctx.execution_id, "supplier_id": sid, "bucket_no": n}
        | {"bucket_label": report.labels[n], "amount_pence": amount, "items": per_bucket[sid, n]}
        for sid, bal in report.balances.items()
        for n, amount in enumerate(bal.buckets)
        if amount
    ]
    if lines:
        insert_rows(s, AgedCreditorLine, lines)
    control = -control_balance(s, ControlKind.CREDITORS)
    difference = report.grand_total - control
    suppliers = {
        sid: (code, name)
        for sid, code, name in s.execute(
            select(Supplier.id, Supplier.code, Supplier.name).where(Supplier.id.in_(list(report.balances)))
        )
    }
    table = [
        [suppliers[sid][0], suppliers[sid][1], *bal.buckets, bal.total]
        for sid, bal in sorted(report.balances.items(), key=lambda kv: suppliers[kv[0]][0])
    ]
    header = ["supplier", "name", *report.labels, "total"]
    files = _write_report(
        ctx,
        "aged_creditors",
        header,
        table,
        money=range(2, len(header)),
        totals=["Total", "", *report.totals, report.grand_total],
        title=f"Aged creditors at {today:%d/%m/%Y}",
        subtitle=f"aged by {p.age_by.replace('_', ' ')}",
        notes=[f"Creditors control account: {control} pence; difference {difference} pence."],
    )
    ctx.log.info(
        f"{len(report.balances)} suppliers, {items} open items, total {report.grand_total} pence",
        event="aged_creditors",
        suppliers=len(report.balances),
        total_pence=report.grand_total,
    )
    if difference:
        msg = f"aged creditors total {report.grand_total} differs from the control account {control} by {difference}"
        ctx.log.warning(msg, event="control_difference")
        ctx.warn_outcome(msg)
    return JobResult(
        summary=f"{len(report.balances)} suppliers owed {report.grand_total} pence; control difference {difference}",
        counts={"suppliers": len(report.balances), "items": items},
        totals={"total_pence": report.grand_total, "control_pence": control, "difference_pence": difference}
        | {f"bucket_{label}": t for label, t in zip(report.labels, report.totals, strict=True)},
        files=files,
    )


def _write_report(
    ctx: JobContext[Any],
    stem: str,
    header: Sequence[str],
    rows: list[list[Any]],
    *,
    money: Sequence[int],
    totals: Sequence[Any] | None,
    title: str,
    subtitle: str = "",
    notes: Sequence[str] = (),
) -> list[str]:
    """The CSV (always, for machines) and the PDF (when asked, for people)."""
    files = [str(ctx.output(f"{stem}.csv"))]
    write_csv(ctx.output(f"{stem}.csv"), header, [*rows, *([list(totals)] if totals else [])])
    if getattr(ctx.params, "output_format", OutputFormat.CSV).pdf:
        pdf = write_table_pdf(
            ctx.output(f"{stem}.pdf"),
            title=title,
            subtitle=subtitle,
            company=_company(ctx.session),
            columns=header,
            rows=rows,
            money_columns=list(money),
            totals=totals,
            notes=notes,
        )
        files.append(str(pdf))
    return files


# ---- PL_THREE_WAY_MATCHING --------------------------------------------------------------


class MatchingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qty_tolerance_pct: Decimal = Field(Decimal(0), ge=0, le=100, description="Allowed |invoiced - received|, %.")
    price_tolerance_pct: Decimal = Field(Decimal(2), ge=0, le=100, description="Allowed |price variance|, %.")
    amount_tolerance: int = Field(500, ge=0, description="Largest accepted price variance value per line, pence.")
    output_format: OutputFormat = OutputFormat.CSV
    notify: Notify = Field(default_factory=Notify)


_SETTLED = (MatchStatus.MATCHED, MatchStatus.NOT_REQUIRED)
_REASON = {
    MatchStatus.NO_ORDER: "no order",
    MatchStatus.NO_RECEIPT: "no receipt",
    MatchStatus.QUANTITY_VARIANCE: "quantity variance",
    MatchStatus.PRICE_VARIANCE: "price variance",
}


def classify(
    p: MatchingParams, *, has_order: bool, received: int, invoiced: int, price: int, order_price: int
) -> tuple[MatchStatus, int | None, int | None]:
    """Status, quantity variance and price variance of one invoice line."""
    if not has_order:
        return MatchStatus.NO_ORDER, None, None
    if received == 0:
        return MatchStatus.NO_RECEIPT, invoiced, price - order_price
    qv, pv = invoiced - received, price - order_price
    if Decimal(abs(qv)) * 100 > p.qty_tolerance_pct * received:
        return MatchStatus.QUANTITY_VARIANCE, qv, pv
    if Decimal(abs(pv)) * 100 > p.price_tolerance_pct * order_price or abs(pv) * invoiced > p.amount_tolerance:
        return MatchStatus.PRICE_VARIANCE, qv, pv
    return MatchStatus.MATCHED, qv, pv


def _candidates() -> Select[int, int, int, int, int, int, int, int, int]:
    """Lines of open, unapproved invoices not yet matched, with their order line (if any)."""
    line, ol, inv = PurchaseInvoiceLine, PurchaseOrderLine, PurchaseInvoice
    return (
        select(
            line.id,
            line.invoice_id,
            line.line_no,
            line.quantity,
            line.unit_price_pence,
            ol.id,
            ol.quantity_received,
            ol.quantity_invoiced,
            ol.unit_price_pence,
        )
        .join(inv, inv.id == line.invoice_id)
        .outerjoin(ol, ol.id == line.order_line_id)
        .outerjoin(PurchaseOrder, PurchaseOrder.id == ol.order_id)
        .where(
            inv.kind == DocumentKind.INVOICE,
            inv.status != DocumentStatus.PAID,
            inv.approved.is_(False),
            line.match_status.not_in(_SETTLED),
        )
        .order_by(line.invoice_id, line.line_no)
    )


def _approve_and_hold(session: Session, invoice_ids: list[int], reasons: dict[int, str]) -> tuple[int, int]:
    """Approve invoices whose lines all match; hold the others with their first reason."""
    line = PurchaseInvoiceLine
    unsettled = exists().where(line.invoice_id == PurchaseInvoice.id, line.match_status.not_in(_SETTLED))
    approved = 0
    for start in range(0, len(invoice_ids), CHUNK):
        chunk = invoice_ids[start : start + CHUNK]
        approved += rowcount(
            session.execute(
                update(PurchaseInvoice)
                .where(PurchaseInvoice.id.in_(chunk), ~unsettled)
                .values(approved=True, on_hold=False, hold_reason=None)
                .execution_options(synchronize_session=False)
            )
        )
    held = [{"b_id": i, "b_reason": r[:128]} for i, r in reasons.items()]
    if held:
        invoices = cast(Table, PurchaseInvoice.__table__)
        session.connection().execute(
            update(invoices)
            .where(invoices.c.id == bindparam("b_id"))
            .values(on_hold=True, approved=False, hold_reason=bindparam("b_reason")),
            held,
        )
    return approved, len(held)


@job(
    "PL_THREE_WAY_MATCHING",
    module=Module.PL,
    params=MatchingParams,
    timeout_seconds=1800,
    resources=({"name": "ledger:PL", "mode": "exclusive"},),
)
def three_way_matching(ctx: JobContext[MatchingParams]) -> JobResult:
    """Matches invoice lines to order and receipt lines within tolerances; approves or holds invoices."""
    p, s = ctx.params, ctx.session
    run_key = f"PL_THREE_WAY_MATCHING:{ctx.business_date.isoformat()}"
    s.execute(delete(MatchResultLine).where(MatchResultLine.run_key == run_key))
    counts = dict.fromkeys(MatchStatus, 0)
    reasons: dict[int, str] = {}
    touched: list[int] = []
    results: list[dict[str, Any]] = []
    csv_rows: list[list[Any]] = []
    for row in _stream(s, _candidates()):
        line_id, invoice_id, line_no, qty, price, ol_id, received, invoiced, order_price = row
        status, qv, pv = classify(
            p,
            has_order=ol_id is not None,
            received=int(received or 0),
            invoiced=int(invoiced or qty),
            price=int(price),
            order_price=int(order_price or 0),
        )
        counts[status] += 1
        if not touched or touched[-1] != invoice_id:
            touched.append(invoice_id)
        amount = None if pv is None else pv * int(invoiced or qty)
        if status is not MatchStatus.MATCHED and invoice_id not in reasons:
            detail = {
                MatchStatus.QUANTITY_VARIANCE: f" {qv:+d} units",
                MatchStatus.PRICE_VARIANCE: f" {pv:+d}p/unit ({amount:+d}p)",
            }.get(status, "")
            reasons[invoice_id] = f"line {line_no}: {_REASON[status]}{detail}"
        results.append(
            {
                "run_key": run_key,
                "execution_id": ctx.execution_id,
                "invoice_id": invoice_id,
                "invoice_line_id": line_id,
                "status": status,
                "quantity_invoiced": int(invoiced or qty),
                "quantity_received": int(received or 0),
                "quantity_variance": qv,
                "price_variance_pence": pv,
                "variance_amount_pence": amount,
            }
        )
        csv_rows.append([invoice_id, line_no, status.value, invoiced or qty, received or 0, qv, pv, amount])
    for start in range(0, len(results), CHUNK):
        chunk = results[start : start + CHUNK]
        insert_rows(s, MatchResultLine, chunk)
        table = cast(Table, PurchaseInvoiceLine.__table__)
        s.connection().execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                match_status=bindparam("b_status"),
                quantity_variance=bindparam("b_qv"),
                price_variance_pence=bindparam("b_pv"),
            ),
            [
                {"b_id": r["invoice_line_id"], "b_status": r["status"]}
                | {"b_qv": r["quantity_variance"], "b_pv": r["price_variance_pence"]}
                for r in chunk
            ],
        )
        ctx.progress(start + len(chunk), len(results))
    approved, held = _approve_and_hold(s, touched, reasons)
    header = ["invoice_id", "line_no", "status", "invoiced", "received", "qty_variance", "price_variance", "amount"]
    files = _write_report(
        ctx, "three_way_matching", header, csv_rows, money=(6, 7), totals=None, title="Three-way matching"
    )
    summary = ", ".join(f"{counts[k]} {k.value.replace('_', ' ')}" for k in _REASON | {MatchStatus.MATCHED: ""})
    ctx.log.info(f"{len(results)} invoice lines checked: {summary}", event="matching_done")
    ctx.log.info(f"{approved} invoices approved for payment, {held} held", event="matching_outcome")
    if held:
        ctx.log.warning(f"{held} invoices held: " + "; ".join(list(reasons.values())[:5]), event="invoices_held")
    return JobResult(
        summary=f"{len(results)} lines checked; {approved} invoices approved, {held} held",
        counts={"lines": len(results), "approved": approved, "held": held}
        | {k.value: v for k, v in counts.items() if k not in (MatchStatus.UNMATCHED, MatchStatus.NOT_REQUIRED)},
        files=files,
        data={"held": {str(k): v for k, v in reasons.items()}},
    )


__all__ = ["AgedCreditorsParams", "MatchingParams", "aged_creditors", "classify", "three_way_matching"]

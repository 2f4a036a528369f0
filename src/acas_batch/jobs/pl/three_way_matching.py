"""PL_THREE_WAY_MATCHING: purchase invoices matched against their orders and goods received; mismatches held."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, Table, bindparam, delete, exists, select, update
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import insert_rows, rowcount
from acas_batch.jobs.params import Notify, OutputFormat
from acas_batch.jobs.pl.common import CHUNK, stream, write_report
from acas_batch.models import (
    DocumentKind,
    DocumentStatus,
    MatchResultLine,
    MatchStatus,
    Module,
    PurchaseInvoice,
    PurchaseInvoiceLine,
    PurchaseOrder,
    PurchaseOrderLine,
)


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
    for row in stream(s, _candidates()):
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
    files = write_report(
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


__all__ = ["MatchingParams", "classify", "three_way_matching"]

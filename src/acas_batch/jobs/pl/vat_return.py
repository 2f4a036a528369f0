"""PL_VAT_RETURN: the quarter's VAT return, input side from purchases, output side as the sales ledger computed it."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from acas_batch.analysis.money import whole_pounds_truncated
from acas_batch.analysis.vat_return import VatBoxesPence, build_return
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.errors import ReturnSubmitted, ValidationError
from acas_batch.jobs.params import (
    VatReturnParams,
    hmrc_period_key,
    quarter_run_key,
    resolve_quarter,
    vat_scheme,
)
from acas_batch.ledger.money import pro_rata
from acas_batch.models import (
    DocumentKind,
    Module,
    PurchaseAllocation,
    PurchaseInvoice,
    PurchaseInvoiceLine,
    SupplierPayment,
    VatCode,
    VatReturn,
    VatReturnRun,
    VatReturnStatus,
)
from acas_batch.reports.render import write_csv, write_table_pdf, write_text


def _net_by_box() -> Any:
    """Per purchase document: its VAT, its net in box 7 and its net of EU goods (box 9)."""
    line = PurchaseInvoiceLine
    return (
        select(
            line.invoice_id.label("invoice_id"),
            func.sum(line.vat_pence).label("vat"),
            func.sum(case((VatCode.in_net_boxes.is_(True), line.net_pence), else_=0)).label("box7"),
            func.sum(case((VatCode.ec_goods.is_(True), line.net_pence), else_=0)).label("box9"),
        )
        .join(VatCode, VatCode.id == line.vat_code_id)
        .group_by(line.invoice_id)
        .subquery()
    )


def input_side(session: Session, start: date, end: date) -> tuple[int, int, int]:
    """Accrual scheme: box 4 (VAT on purchases), box 7 and box 9 (net, in pence, before rounding),
    by invoice date; credit notes subtract."""
    docs, inv = _net_by_box(), PurchaseInvoice
    sign = case((inv.kind == DocumentKind.CREDIT_NOTE, -1), else_=1)
    row = session.execute(
        select(
            func.coalesce(func.sum(sign * docs.c.vat), 0),
            func.coalesce(func.sum(sign * docs.c.box7), 0),
            func.coalesce(func.sum(sign * docs.c.box9), 0),
        )
        .join(docs, docs.c.invoice_id == inv.id)
        .where(inv.invoice_date >= start, inv.invoice_date <= end)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def cash_input_side(session: Session, start: date, end: date) -> tuple[int, int, int]:
    """Cash scheme: each payment made in the quarter reclaims its share of the invoice it paid
    (money paid, without the settlement discount, over the invoice's gross), per allocation,
    rounded half-up; box 9 (acquisitions) stays by invoice date, as cash accounting never
    applies to them."""
    docs = _net_by_box()
    rows = session.execute(
        select(
            PurchaseAllocation.amount_pence - PurchaseAllocation.discount_pence,
            PurchaseInvoice.gross_pence,
            docs.c.vat,
            docs.c.box7,
        )
        .join(SupplierPayment, SupplierPayment.id == PurchaseAllocation.payment_id)
        .join(PurchaseInvoice, PurchaseInvoice.id == PurchaseAllocation.invoice_id)
        .join(docs, docs.c.invoice_id == PurchaseInvoice.id)
        .where(SupplierPayment.payment_date.between(start, end), PurchaseInvoice.gross_pence > 0)
        .execution_options(yield_per=5000)
    )
    box4 = box7 = 0
    for paid, gross, vat, net in rows:
        box4 += pro_rata(int(vat), int(paid), int(gross))
        box7 += pro_rata(int(net), int(paid), int(gross))
    return box4, box7, input_side(session, start, end)[2]


def _same_scheme(session: Session, row: VatReturn, scheme: str) -> None:
    """Refuse to complete a return whose output side SL_VAT_RETURN computed on the other scheme."""
    last = session.scalar(
        select(VatReturnRun.scheme)
        .where(VatReturnRun.vat_return_id == row.id)
        .order_by(VatReturnRun.id.desc())
        .limit(1)
    )
    if last is not None and last != scheme:
        raise ValidationError(
            f"scheme: VAT return {row.period_key} has its output side on the {last} scheme; "
            f"its input side cannot be on the {scheme} scheme"
        )


@job(
    "PL_VAT_RETURN",
    module=Module.PL,
    params=VatReturnParams,
    books_run_key=quarter_run_key,
    timeout_seconds=1800,
    max_attempts=2,
    resources=({"name": "ledger:PL", "mode": "shared"}, {"name": "ledger:GL", "mode": "shared"}),
)
def vat_return(ctx: JobContext[VatReturnParams]) -> JobResult:
    """Input side of the VAT return (boxes 4, 7, 9); completes boxes 3 and 5."""
    p, s = ctx.params, ctx.session
    q = resolve_quarter(s, p.quarter, ctx.business_date)
    start, end, key = q.start, q.end, hmrc_period_key(q)
    scheme = vat_scheme(s, p.scheme)
    row = s.scalar(select(VatReturn).where(VatReturn.period_key == key)) or s.scalar(
        select(VatReturn).where(VatReturn.start_date == start, VatReturn.end_date == end)
    )
    if row is not None and row.status is VatReturnStatus.SUBMITTED:
        raise ReturnSubmitted(f"quarter: the VAT return {row.period_key} was submitted; it is never changed again")
    if row is None:
        row = VatReturn(period_key=key, start_date=start, end_date=end, created_at=ctx.now)
        row.box1_pence = row.box2_pence = row.box6_pence = row.box8_pence = 0
        s.add(row)
        ctx.log.warning(
            f"no output side for {key} (SL_VAT_RETURN has not run): boxes 1, 2, 6 and 8 are zero",
            event="vat_output_missing",
        )
    elif row.status is VatReturnStatus.COMPLETE:
        ctx.log.info(f"VAT return {key} was complete: its input side is computed again", event="vat_recomputed")
    if row.id is not None:
        _same_scheme(s, row, scheme)
    box4, net7, net9 = (input_side if scheme == "accrual" else cash_input_side)(s, start, end)
    figures = VatBoxesPence(
        vat_due_sales=row.box1_pence,
        vat_due_acquisitions=row.box2_pence,
        vat_reclaimed=box4,
        sales_ex_vat=row.box6_pence,
        purchases_ex_vat=net7,
        goods_supplied_ex_vat=row.box8_pence,
        acquisitions_ex_vat=net9,
    )
    mtd = build_return(row.period_key, figures)
    row.box3_pence = row.box1_pence + row.box2_pence
    row.box4_pence = box4
    row.box5_pence = abs(row.box3_pence - box4)
    row.box7_pence = whole_pounds_truncated(net7) * 100
    row.box9_pence = whole_pounds_truncated(net9) * 100
    row.status = VatReturnStatus.COMPLETE
    # The complete return is committed (and durable) before any file is written from it: a
    # crash after this point leaves a complete return that a rerun computes again into the
    # same files.
    ctx.checkpoint({"period_key": row.period_key, "figures_committed": True})
    boxes = [getattr(row, f"box{n}_pence") for n in range(1, 10)]
    names = [
        "VAT due on sales",
        "VAT due on acquisitions",
        "Total VAT due",
        "VAT reclaimed on purchases",
        "Net VAT to pay or reclaim",
        "Sales excluding VAT",
        "Purchases excluding VAT",
        "Supplies to EU excluding VAT",
        "Acquisitions from EU excluding VAT",
    ]
    table = [[f"Box {n}", names[n - 1], boxes[n - 1]] for n in range(1, 10)]
    csv_path = ctx.output("vat_return.csv")
    write_csv(csv_path, ["box", "description", "pence"], table)
    json_path = ctx.output("vat_return_mtd.json")
    write_text(json_path, json.dumps(mtd.mtd_json(), indent=2))
    files = [str(csv_path), str(json_path)]
    if p.output_format.pdf:
        pdf = write_table_pdf(
            ctx.output("vat_return.pdf"),
            title=f"VAT return {row.period_key}",
            subtitle=f"{start:%d/%m/%Y} to {end:%d/%m/%Y}, {scheme} scheme",
            columns=["Box", "Description", "Amount"],
            rows=table,
            money_columns=(2,),
        )
        files.append(str(pdf))
    pay = "to pay" if row.box3_pence >= box4 else "to reclaim"
    ctx.log.info(
        f"VAT return {row.period_key} ({scheme}): box 4 {box4} pence, box 7 {row.box7_pence}, "
        f"box 5 {row.box5_pence} {pay}",
        event="vat_return_complete",
    )
    return JobResult(
        summary=f"VAT return {row.period_key} complete: {row.box5_pence} pence {pay}",
        totals={f"box{n}_pence": boxes[n - 1] for n in range(1, 10)},
        files=files,
        data={"period_key": row.period_key, "start": start.isoformat(), "end": end.isoformat(), "scheme": scheme},
    )

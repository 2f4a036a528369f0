"""SL_VAT_RETURN: the output side of the quarter's nine-box VAT return (boxes 1, 2, 6, 8).

Accrual scheme: documents by tax point (invoice date). Cash scheme: the share of each invoice
paid by receipts dated in the quarter. The return row (``vat_return_rec``, one per HMRC period
key) is written as a draft; PL_VAT_RETURN completes the same row with the input side. A return
already completed or submitted is never touched again.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from acas_batch.analysis.money import format_pounds, whole_pounds_truncated
from acas_batch.analysis.vat_return import ROUNDING_NOTE, VatBoxesPence, build_return
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.errors import Conflict
from acas_batch.jobs.params import (
    DateRange,
    VatReturnParams,
    hmrc_period_key,
    quarter_run_key,
    resolve_quarter,
    vat_scheme,
)
from acas_batch.jobs.sl.aged_debtors import company_name
from acas_batch.ledger.money import pro_rata, vat_for
from acas_batch.models import (
    DocumentKind,
    Module,
    PurchaseInvoice,
    PurchaseInvoiceLine,
    Receipt,
    SalesAllocation,
    SalesInvoice,
    SalesInvoiceLine,
    VatCode,
    VatReturn,
    VatReturnRun,
    VatReturnStatus,
)
from acas_batch.reports.render import write_csv, write_table_pdf, write_text


def _lines_per_invoice() -> Any:
    """Per sales document: VAT, net in box 6, net of EU goods (box 8), all rounded per line already."""
    return (
        select(
            SalesInvoiceLine.invoice_id.label("invoice_id"),
            func.sum(SalesInvoiceLine.vat_pence).label("vat"),
            func.sum(case((VatCode.in_net_boxes, SalesInvoiceLine.net_pence), else_=0)).label("box6"),
            func.sum(case((VatCode.ec_goods, SalesInvoiceLine.net_pence), else_=0)).label("box8"),
        )
        .join(VatCode, VatCode.id == SalesInvoiceLine.vat_code_id)
        .group_by(SalesInvoiceLine.invoice_id)
        .subquery()
    )


def accrual_figures(session: Session, q: DateRange) -> tuple[dict[str, int], int]:
    """Boxes 1, 6, 8 by tax point: invoices add, credit notes subtract. One grouped query."""
    lines = _lines_per_invoice()
    sign = case((SalesInvoice.kind == DocumentKind.INVOICE, 1), else_=-1)
    row = session.execute(
        select(
            func.coalesce(func.sum(sign * lines.c.vat), 0),
            func.coalesce(func.sum(sign * lines.c.box6), 0),
            func.coalesce(func.sum(sign * lines.c.box8), 0),
            func.count(),
        )
        .join(lines, lines.c.invoice_id == SalesInvoice.id)
        .where(SalesInvoice.invoice_date.between(q.start, q.end))
    ).one()
    return {"box1": int(row[0]), "box6": int(row[1]), "box8": int(row[2])}, int(row[3])


def cash_figures(session: Session, q: DateRange) -> tuple[dict[str, int], int]:
    """Boxes 1, 6, 8 by receipt date: each receipt allocation brings in its share of the invoice."""
    lines = _lines_per_invoice()
    rows = session.execute(
        select(SalesAllocation.amount_pence, SalesInvoice.gross_pence, lines.c.vat, lines.c.box6, lines.c.box8)
        .join(Receipt, Receipt.id == SalesAllocation.receipt_id)
        .join(SalesInvoice, SalesInvoice.id == SalesAllocation.invoice_id)
        .join(lines, lines.c.invoice_id == SalesInvoice.id)
        .where(Receipt.receipt_date.between(q.start, q.end))
        .execution_options(yield_per=5000)
    )
    out = {"box1": 0, "box6": 0, "box8": 0}
    count = 0
    for paid, gross, vat, box6, box8 in rows:
        count += 1
        out["box1"] += pro_rata(int(vat), int(paid), int(gross))
        out["box6"] += pro_rata(int(box6), int(paid), int(gross))
        out["box8"] += pro_rata(int(box8), int(paid), int(gross))
    return out, count


def acquisitions_vat(session: Session, q: DateRange) -> tuple[int, int]:
    """Box 2 and box 9: VAT due at the code's rate on EU goods bought (Northern Ireland), by invoice date.

    Cash accounting never applies to acquisitions, so this is by tax point in both schemes.
    """
    rows = session.execute(
        select(PurchaseInvoiceLine.net_pence, VatCode.rate, PurchaseInvoice.kind)
        .join(VatCode, and_(VatCode.id == PurchaseInvoiceLine.vat_code_id, VatCode.ec_goods.is_(True)))
        .join(PurchaseInvoice, PurchaseInvoice.id == PurchaseInvoiceLine.invoice_id)
        .where(PurchaseInvoice.invoice_date.between(q.start, q.end))
        .execution_options(yield_per=5000)
    )
    vat = net = 0
    for line_net, rate, kind in rows:
        sign = 1 if kind == DocumentKind.INVOICE else -1
        vat += sign * vat_for(int(line_net), rate)
        net += sign * int(line_net)
    return vat, net


def _return_row(session: Session, q: DateRange, now: Any) -> VatReturn:
    """The quarter's return row (found by its dates, as PL_VAT_RETURN finds it), created if new."""
    row = session.scalar(
        select(VatReturn).where(VatReturn.start_date == q.start, VatReturn.end_date == q.end).with_for_update()
    )
    period_key = row.period_key if row is not None else hmrc_period_key(q)
    if row is not None and row.status is not VatReturnStatus.DRAFT:
        raise Conflict(
            f"VAT return {period_key} ({q.label}) is already {row.status.value}; its output side is not written again"
        )
    if row is None:
        row = VatReturn(period_key=period_key, start_date=q.start, end_date=q.end, created_at=now)
        session.add(row)
    return row


@job(
    "SL_VAT_RETURN",
    module=Module.SL,
    params=VatReturnParams,
    books_run_key=quarter_run_key,
    timeout_seconds=1800,
    max_attempts=2,
    resources=({"name": "ledger:SL", "mode": "shared"}, {"name": "ledger:GL", "mode": "shared"}),
)
def sl_vat_return(ctx: JobContext[VatReturnParams]) -> JobResult:
    """Output side of the VAT return (boxes 1, 2, 6, 8) for the quarter, after the quarter-end close."""
    p, s = ctx.params, ctx.session
    q = resolve_quarter(s, p.quarter, ctx.business_date)
    if ctx.business_date < q.end:
        raise Conflict(f"VAT quarter {q.label} ends {q.end:%d/%m/%Y}; it is not over on {ctx.business_date:%d/%m/%Y}")
    row = _return_row(s, q, ctx.now)
    key = row.period_key
    scheme = vat_scheme(s, p.scheme)
    figures, documents = (accrual_figures if scheme == "accrual" else cash_figures)(s, q)
    figures["box2"], figures["acquisitions_net"] = acquisitions_vat(s, q)
    row.box1_pence = figures["box1"]
    row.box2_pence = figures["box2"]
    row.box6_pence = whole_pounds_truncated(figures["box6"]) * 100
    row.box8_pence = whole_pounds_truncated(figures["box8"]) * 100
    row.box3_pence = row.box1_pence + row.box2_pence
    row.box5_pence = abs(row.box3_pence - (row.box4_pence or 0))
    s.flush()
    s.add(
        VatReturnRun(
            execution_id=ctx.execution_id, vat_return_id=row.id, scheme=scheme, documents=documents, figures=figures
        )
    )
    built = build_return(
        key,
        VatBoxesPence(
            vat_due_sales=figures["box1"],
            vat_due_acquisitions=figures["box2"],
            vat_reclaimed=row.box4_pence or 0,
            sales_ex_vat=figures["box6"],
            purchases_ex_vat=row.box7_pence or 0,
            goods_supplied_ex_vat=figures["box8"],
            acquisitions_ex_vat=row.box9_pence or 0,
        ),
    )
    mtd = built.mtd_json()
    # The figures are committed (and durable) before any file is written from them: a crash
    # after this point leaves a draft that a rerun computes again into the same files.
    ctx.checkpoint({"period_key": key, "figures_committed": True})
    json_path = ctx.output(f"vat_return_{key}.json")
    write_text(json_path, json.dumps(mtd, indent=2) + "\n")
    boxes = [
        ("1", "VAT due on sales and other outputs", row.box1_pence),
        ("2", "VAT due on acquisitions from the EU (NI)", row.box2_pence),
        ("3", "Total VAT due (1 + 2)", row.box3_pence),
        ("4", "VAT reclaimed on purchases (PL_VAT_RETURN)", row.box4_pence or 0),
        ("5", "Net VAT (|3 - 4|)", row.box5_pence),
        ("6", "Total sales excluding VAT", row.box6_pence),
        ("7", "Total purchases excluding VAT (PL_VAT_RETURN)", row.box7_pence or 0),
        ("8", "Goods supplied to the EU (NI)", row.box8_pence),
        ("9", "Acquisitions from the EU (NI) (PL_VAT_RETURN)", row.box9_pence or 0),
    ]
    files = [ctx.output(f"vat_return_{key}.csv"), json_path]
    write_csv(files[0], ["box", "description", "pence"], boxes)
    if p.output_format.pdf:
        files.append(
            write_table_pdf(
                ctx.output(f"vat_return_{key}.pdf"),
                title=f"VAT return {key} (output side, draft)",
                subtitle=f"{q.start:%d/%m/%Y} to {q.end:%d/%m/%Y}, {scheme} scheme; {documents} documents",
                company=company_name(ctx),
                columns=["box", "description", "amount"],
                rows=boxes,
                money_columns=(2,),
                notes=[ROUNDING_NOTE],
            )
        )
    ctx.log.info(
        f"VAT {key} output side ({scheme}): box 1 {format_pounds(row.box1_pence)}, "
        f"box 6 {format_pounds(row.box6_pence)} from {documents} documents",
        event="vat_output_side_written",
        period_key=key,
    )
    return JobResult(
        summary=f"VAT return {key}: box 1 {format_pounds(row.box1_pence)}, box 6 {format_pounds(row.box6_pence)}",
        counts={"documents": documents},
        totals={f"box{n}_pence": v for n, _, v in boxes},
        files=[str(f) for f in files],
        data={"period_key": key, "quarter": q.label, "mtd": mtd},
    )

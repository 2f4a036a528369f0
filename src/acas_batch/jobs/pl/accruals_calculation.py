"""PL_ACCRUALS_CALCULATION: goods received not invoiced at the period end, accrued and listed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Date, Integer, Select, String, delete, func, insert, literal, select

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.jobs.params import (
    Notify,
    OutputFormat,
    Period,
    resolve_period,
)
from acas_batch.ledger.balances import account_balance
from acas_batch.ledger.posting import control_account
from acas_batch.models import (
    AccrualLine,
    ControlKind,
    GoodsReceivedLine,
    GoodsReceivedNote,
    Module,
    PurchaseInvoice,
    PurchaseInvoiceLine,
    PurchaseOrder,
    PurchaseOrderLine,
)
from acas_batch.reports import write_csv, write_table_pdf

# ---- PL_ACCRUALS_CALCULATION ------------------------------------------------------------


class AccrualsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period = "CURRENT"
    post_journal: bool = Field(False, description="Accrue by journal (refused: GRNI already accrues at receipt).")
    output_format: OutputFormat = OutputFormat.BOTH
    notify: Notify = Field(default_factory=Notify)

    @field_validator("post_journal")
    @classmethod
    def _no_journal(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "goods received are accrued in GRNI when they arrive; an accrual journal would count them twice"
            )
        return value


def _period_key(params: Any, business_date: date) -> str:
    """The month of the period (accounting periods are calendar months)."""
    period = str(params.period)
    if period == "CURRENT":
        return f"{business_date:%Y-%m}"
    if period == "PREVIOUS":
        return f"{business_date.replace(day=1) - timedelta(days=1):%Y-%m}"
    return period


def grni_lines(end: date) -> Select[Any]:
    """Per order line: received and invoiced on or before ``end``, where they differ."""
    received = (
        select(GoodsReceivedLine.order_line_id.label("ol"), func.sum(GoodsReceivedLine.quantity).label("qty"))
        .join(GoodsReceivedNote, GoodsReceivedNote.id == GoodsReceivedLine.grn_id)
        .where(GoodsReceivedNote.received_on <= end)
        .group_by(GoodsReceivedLine.order_line_id)
        .subquery()
    )
    invoiced = (
        select(PurchaseInvoiceLine.order_line_id.label("ol"), func.sum(PurchaseInvoiceLine.quantity).label("qty"))
        .join(PurchaseInvoice, PurchaseInvoice.id == PurchaseInvoiceLine.invoice_id)
        .where(PurchaseInvoice.invoice_date <= end, PurchaseInvoiceLine.order_line_id.is_not(None))
        .group_by(PurchaseInvoiceLine.order_line_id)
        .subquery()
    )
    got = func.coalesce(received.c.qty, 0)
    billed = func.coalesce(invoiced.c.qty, 0)
    ol = PurchaseOrderLine
    return (
        select(
            ol.id,
            PurchaseOrder.supplier_id,
            ol.item_id,
            got.label("received"),
            billed.label("invoiced"),
            ol.unit_price_pence,
            ((got - billed) * ol.unit_price_pence).label("value"),
        )
        .join(PurchaseOrder, PurchaseOrder.id == ol.order_id)
        .outerjoin(received, received.c.ol == ol.id)
        .outerjoin(invoiced, invoiced.c.ol == ol.id)
        .where(got != billed)
    )


@job(
    "PL_ACCRUALS_CALCULATION",
    module=Module.PL,
    params=AccrualsParams,
    run_key=_period_key,
    timeout_seconds=1800,
    resources=({"name": "ledger:PL", "mode": "shared"}, {"name": "ledger:GL", "mode": "shared"}),
)
def accruals_calculation(ctx: JobContext[AccrualsParams]) -> JobResult:
    """Goods received not invoiced at period end, tied to the GRNI account."""
    p, s = ctx.params, ctx.session
    period = resolve_period(s, p.period, ctx.business_date)
    end = period.end_date
    run_key = f"PL_ACCRUALS_CALCULATION:{end:%Y-%m}"
    s.execute(delete(AccrualLine).where(AccrualLine.run_key == run_key))
    lines = grni_lines(end).subquery()
    s.execute(
        insert(AccrualLine).from_select(
            [
                "run_key",
                "execution_id",
                "period_end",
                "order_line_id",
                "supplier_id",
                "item_id",
                "quantity_received",
                "quantity_invoiced",
                "unit_price_pence",
                "value_pence",
            ],
            select(literal(run_key, String()), literal(ctx.execution_id, Integer()), literal(end, Date()), *lines.c),
        )
    )
    count, total = s.execute(
        select(func.count(), func.coalesce(func.sum(AccrualLine.value_pence), 0)).where(AccrualLine.run_key == run_key)
    ).one()
    grni = -account_balance(s, control_account(s, ControlKind.GRNI), as_of=end)
    difference = int(total) - grni
    rows = [
        list(r)
        for r in s.execute(
            select(
                AccrualLine.order_line_id,
                AccrualLine.supplier_id,
                AccrualLine.item_id,
                AccrualLine.quantity_received,
                AccrualLine.quantity_invoiced,
                AccrualLine.unit_price_pence,
                AccrualLine.value_pence,
            )
            .where(AccrualLine.run_key == run_key)
            .order_by(AccrualLine.supplier_id, AccrualLine.order_line_id)
        )
    ]
    header = ["order_line", "supplier", "item", "received", "invoiced", "unit_price_pence", "value_pence"]
    csv_path = ctx.output("accruals.csv")
    write_csv(csv_path, header, [*rows, ["Total", "", "", "", "", "", int(total)]])
    files = [str(csv_path)]
    if p.output_format.pdf:
        files.append(
            str(
                write_table_pdf(
                    ctx.output("accruals.pdf"),
                    title=f"Goods received not invoiced at {end:%d/%m/%Y}",
                    columns=header,
                    rows=rows,
                    money_columns=(5, 6),
                    totals=["Total", None, None, None, None, None, int(total)],
                    notes=[f"GRNI account: {grni} pence; difference {difference} pence."],
                )
            )
        )
    ctx.log.info(
        f"{count} order lines received not invoiced at {end.isoformat()}: {total} pence; GRNI account {grni} pence",
        event="accruals_done",
    )
    if difference:
        msg = f"GRNI listing {total} differs from the GRNI account {grni} by {difference} pence"
        ctx.log.warning(msg, event="control_difference")
        ctx.warn_outcome(msg)
    return JobResult(
        summary=f"GRNI at {end.isoformat()}: {count} lines, {total} pence; difference {difference}",
        counts={"lines": int(count)},
        totals={"grni_listing_pence": int(total), "grni_account_pence": grni, "difference_pence": difference},
        files=files,
        data={"period_end": end.isoformat()},
    )


# ---- PL_VAT_RETURN ----------------------------------------------------------------------

"""PL_AGED_CREDITORS: every supplier's open items aged into buckets; the total ties to creditors control.

The work is done in the database (streamed selects, bulk inserts); the job writes a result
snapshot keyed by its run key, replaced by a rerun, and its files (CSV, and PDF for
documents people read) in the execution's output folder.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Select, delete, select, union_all

from acas_batch.analysis.ageing import age_items, bucket_index, check_bounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import insert_rows
from acas_batch.jobs.params import Notify, OutputFormat
from acas_batch.jobs.pl.common import stream, write_report
from acas_batch.ledger.balances import control_balance
from acas_batch.models import (
    AgedCreditorLine,
    ControlKind,
    DocumentKind,
    Module,
    PurchaseInvoice,
    Supplier,
    SupplierPayment,
)

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
        for sid, amount, since in stream(s, _open_items(p.age_by)):
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
    files = write_report(
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


# ---- PL_THREE_WAY_MATCHING --------------------------------------------------------------

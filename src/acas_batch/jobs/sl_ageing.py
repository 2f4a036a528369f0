"""SL_AGED_DEBTORS: every customer's open items aged into buckets; the total ties to debtors control."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import delete, insert, select

from acas_batch.analysis.ageing import DEFAULT_BOUNDS, age_items, check_bounds
from acas_batch.analysis.money import format_pounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.jobs.sl_params import Notify, OutputFormat
from acas_batch.jobs.sl_queries import AgeBy, as_date, open_items_by_date
from acas_batch.ledger.balances import control_balance
from acas_batch.models import AgedDebtorLine, Company, ControlKind, Customer, Module
from acas_batch.reports.render import write_csv, write_table_pdf

CHUNK = 2000


def _bounds(values: list[int]) -> list[int]:
    return list(check_bounds(values))


class AgedDebtorsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    age_by: AgeBy = Field("due_date", description="Age by days past due date, or by invoice date as ACAS does.")
    buckets: Annotated[list[int], AfterValidator(_bounds)] = Field(
        default_factory=lambda: list(DEFAULT_BOUNDS), description="Inclusive upper bounds in days, increasing."
    )
    output_format: OutputFormat = OutputFormat.BOTH
    notify: Notify = Field(default_factory=Notify)


def snapshot_key(business_date: date) -> str:
    """The run key the aged-debtors snapshot of a day is kept under."""
    return f"SL_AGED_DEBTORS:{business_date.isoformat()}"


def company_name(ctx: JobContext[Any]) -> str:
    return ctx.session.scalar(select(Company.name)) or ""


@job(
    "SL_AGED_DEBTORS",
    module=Module.SL,
    params=AgedDebtorsParams,
    timeout_seconds=1800,
    resources=({"name": "ledger:SL", "mode": "shared"},),
)
def aged_debtors(ctx: JobContext[AgedDebtorsParams]) -> JobResult:
    """Aged debtors: open items per customer by age bucket; the total ties to the debtors control account."""
    p, day, s = ctx.params, ctx.business_date, ctx.session
    items: dict[int, int] = defaultdict(int)

    def aged() -> Any:
        rows = s.execute(open_items_by_date(p.age_by).execution_options(yield_per=5000))
        for customer_id, age_date, amount, count in rows:
            items[customer_id] += int(count)
            ref = as_date(age_date)
            assert ref is not None
            yield customer_id, int(amount), (day - ref).days

    report = age_items(aged(), p.buckets)
    customers = {
        cid: (code, name, int(limit))
        for cid, code, name, limit in s.execute(
            select(Customer.id, Customer.code, Customer.name, Customer.credit_limit_pence)
        )
    }
    key = snapshot_key(day)
    s.execute(delete(AgedDebtorLine).where(AgedDebtorLine.run_key == key))  # a rerun replaces the snapshot
    lines = [bal for bal in sorted(report.balances.values(), key=lambda b: customers[b.key][0]) if bal.items]
    over = 0
    csv_rows: list[list[Any]] = []
    for start in range(0, len(lines), CHUNK):
        chunk = []
        for bal in lines[start : start + CHUNK]:
            code, name, limit = customers[bal.key]
            flagged = bal.total > limit
            over += flagged
            chunk.append(
                {
                    "execution_id": ctx.execution_id,
                    "run_key": key,
                    "business_date": day,
                    "customer_id": bal.key,
                    "bucket_labels": report.labels,
                    "bucket_pence": bal.buckets,
                    "total_pence": bal.total,
                    "items": items[bal.key],
                    "credit_limit_pence": limit,
                    "over_limit": flagged,
                }
            )
            csv_rows.append([code, name, *bal.buckets, bal.total, limit, "Y" if flagged else ""])
        s.execute(insert(AgedDebtorLine), chunk)
        ctx.progress(start + len(chunk), len(lines))
        ctx.checkpoint({"customers_written": start + len(chunk)})
    control = control_balance(s, ControlKind.DEBTORS)
    total = report.grand_total
    header = ["customer", "name", *report.labels, "total", "credit_limit", "over_limit"]
    files = [ctx.output("aged_debtors.csv")]
    totals_row = ["TOTAL", "", *report.totals, total, None, over]
    write_csv(files[0], header, [*csv_rows, totals_row])
    if p.output_format.pdf:
        files.append(
            write_table_pdf(
                ctx.output("aged_debtors.pdf"),
                title="Aged debtors",
                subtitle=f"At {day:%d/%m/%Y}, aged by {p.age_by.replace('_', ' ')}",
                company=company_name(ctx),
                columns=header,
                rows=csv_rows,
                money_columns=range(2, 4 + len(report.labels)),
                totals=["TOTAL", "", *report.totals, total, None, str(over)],
                notes=[
                    f"Debtors control account: {format_pounds(control)}; difference {format_pounds(total - control)}."
                ],
            )
        )
    ctx.log.info(
        f"aged {sum(items.values())} open items of {len(lines)} customers: total {format_pounds(total)}",
        event="aged_debtors_done",
        customers=len(lines),
        total_pence=total,
    )
    if over:
        ctx.log.warning(f"{over} customer(s) over their credit limit", event="customers_over_limit", count=over)
    if total != control:
        message = f"aged debtors total {format_pounds(total)} differs from debtors control {format_pounds(control)}"
        ctx.log.error(message, event="control_mismatch", difference_pence=total - control)
        ctx.warn_outcome(message)
    return JobResult(
        summary=f"{len(lines)} customers owe {format_pounds(total)}; {over} over their credit limit",
        counts={"customers": len(lines), "items": sum(items.values()), "over_limit": over},
        totals={"total_pence": total, "control_pence": control}
        | {f"bucket_{label}": amount for label, amount in zip(report.labels, report.totals, strict=True)},
        files=[str(f) for f in files],
    )

"""SL_AGED_DEBTORS: every customer's open items aged into buckets; the total ties to debtors control."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import BigInteger, Date, cast, delete, func, insert, literal, select

from acas_batch.analysis.ageing import DEFAULT_BOUNDS, bucket_labels, check_bounds
from acas_batch.analysis.money import format_pounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import rowcount
from acas_batch.jobs.params import Notify, OutputFormat
from acas_batch.jobs.sl.queries import AgeBy, aged_sums
from acas_batch.ledger.balances import control_balance
from acas_batch.models import AgedDebtorLine, Company, ControlKind, Customer, Module
from acas_batch.models.base import JSONType
from acas_batch.reports.render import pence_header, write_csv, write_table_pdf


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


def _write_snapshot(ctx: JobContext[AgedDebtorsParams], key: str, labels: list[str]) -> int:
    """Age every customer's open items and write the snapshot rows, all inside the database
    (one ``INSERT ... SELECT``: no row travels through Python). Returns the rows written."""
    p, s = ctx.params, ctx.session
    aged = aged_sums(p.age_by, ctx.business_date, p.buckets)
    buckets = [cast(aged.c[f"b{i}"], BigInteger) for i in range(len(labels))]
    as_list = func.json_array if s.get_bind().dialect.name == "sqlite" else func.jsonb_build_array
    total, limit = cast(aged.c.total, BigInteger), Customer.credit_limit_pence
    snapshot = select(
        literal(ctx.execution_id),
        literal(key),
        literal(ctx.business_date, Date),
        aged.c.customer_id,
        literal(labels, JSONType),
        as_list(*buckets),
        total,
        aged.c["items"],
        limit,
        total > limit,
    ).join(Customer, Customer.id == aged.c.customer_id)
    columns = ["execution_id", "run_key", "business_date", "customer_id", "bucket_labels", "bucket_pence"]
    columns += ["total_pence", "items", "credit_limit_pence", "over_limit"]
    return rowcount(s.execute(insert(AgedDebtorLine).from_select(columns, snapshot)))


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
    labels = bucket_labels(p.buckets)
    key = snapshot_key(day)
    s.execute(delete(AgedDebtorLine).where(AgedDebtorLine.run_key == key))  # a rerun replaces the snapshot
    customers = _write_snapshot(ctx, key, labels)
    ctx.progress(customers, customers)
    ctx.checkpoint({"customers_written": customers})
    n = len(labels)
    totals = [0] * n
    over = items = 0
    csv_rows: list[list[Any]] = []
    # The buckets read as integers, taken out of the JSON array by the database: decoding one
    # JSON value per customer in Python was most of the read's time in a profile.
    bucket_columns = [cast(AgedDebtorLine.bucket_pence[i].as_string(), BigInteger) for i in range(n)]
    for code, name, *buckets, total, count, limit, flagged in s.execute(
        select(
            Customer.code,
            Customer.name,
            *bucket_columns,
            AgedDebtorLine.total_pence,
            AgedDebtorLine.items,
            AgedDebtorLine.credit_limit_pence,
            AgedDebtorLine.over_limit,
        )
        .join(Customer, Customer.id == AgedDebtorLine.customer_id)
        .where(AgedDebtorLine.execution_id == ctx.execution_id)
        .order_by(Customer.code)
    ):
        over += flagged
        items += count
        totals = [t + b for t, b in zip(totals, buckets, strict=True)]
        csv_rows.append([code, name, *buckets, total, limit, "Y" if flagged else ""])
    control = control_balance(s, ControlKind.DEBTORS)
    total = sum(totals)
    header = ["customer", "name", *labels, "total", "credit_limit", "over_limit"]
    files = [ctx.output("aged_debtors.csv")]
    totals_row = ["TOTAL", "", *totals, total, None, over]
    write_csv(files[0], pence_header(header, range(2, 4 + len(labels))), [*csv_rows, totals_row])
    if p.output_format.pdf:
        files.append(
            write_table_pdf(
                ctx.output("aged_debtors.pdf"),
                title="Aged debtors",
                subtitle=f"At {day:%d/%m/%Y}, aged by {p.age_by.replace('_', ' ')}",
                company=company_name(ctx),
                columns=header,
                rows=csv_rows,
                money_columns=range(2, 4 + len(labels)),
                totals=["TOTAL", "", *totals, total, None, str(over)],
                notes=[
                    f"Debtors control account: {format_pounds(control)}; difference {format_pounds(total - control)}."
                ],
            )
        )
    ctx.log.info(
        f"aged {items} open items of {customers} customers: total {format_pounds(total)}",
        event="aged_debtors_done",
        customers=customers,
        total_pence=total,
    )
    if over:
        ctx.log.warning(f"{over} customer(s) over their credit limit", event="customers_over_limit", count=over)
    if total != control:
        message = f"aged debtors total {format_pounds(total)} differs from debtors control {format_pounds(control)}"
        ctx.log.error(message, event="control_mismatch", difference_pence=total - control)
        ctx.warn_outcome(message)
    return JobResult(
        summary=f"{customers} customers owe {format_pounds(total)}; {over} over their credit limit",
        counts={"customers": customers, "items": items, "over_limit": over},
        totals={"total_pence": total, "control_pence": control}
        | {f"bucket_{label}": amount for label, amount in zip(labels, totals, strict=True)},
        files=[str(f) for f in files],
    )

"""SL_CREDIT_LIMIT_CHECK: customers over their limit or long overdue go on stop; those back in line are released."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import insert, update

from acas_batch.analysis.money import format_pounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.jobs.params import Notify, OutputFormat
from acas_batch.jobs.sl.aged_debtors import company_name
from acas_batch.jobs.sl.queries import as_date, exposures
from acas_batch.models import CreditAction, CreditChange, Customer, Module
from acas_batch.reports.render import write_csv, write_table_pdf

CHUNK = 500


class CreditCheckParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stop_after_days: int = Field(60, ge=0, le=3650, description="An item overdue longer than this puts on stop.")
    auto_release: bool = Field(True, description="Take customers back in line off stop.")
    output_format: OutputFormat = OutputFormat.CSV
    notify: Notify = Field(default_factory=Notify)


def decide(
    *, on_stop: bool, exposure: int, limit: int, overdue_days: int, stop_after_days: int, auto_release: bool
) -> tuple[CreditAction | None, str]:
    """The change (if any) the figures call for, and why."""
    over_limit = exposure > limit
    too_late = overdue_days > stop_after_days
    figures = f"exposure {format_pounds(exposure)}, limit {format_pounds(limit)}, oldest overdue {overdue_days} days"
    if not on_stop and (over_limit or too_late):
        why = " and ".join(
            w
            for w, hit in (("over the credit limit", over_limit), (f"overdue past {stop_after_days} days", too_late))
            if hit
        )
        return CreditAction.STOP, f"{why}: {figures}"
    if on_stop and auto_release and not over_limit and not too_late:
        return CreditAction.RELEASE, f"back within limit and terms: {figures}"
    return None, figures


@job(
    "SL_CREDIT_LIMIT_CHECK",
    module=Module.SL,
    params=CreditCheckParams,
    timeout_seconds=1800,
    resources=({"name": "ledger:SL", "mode": "exclusive"},),
)
def credit_limit_check(ctx: JobContext[CreditCheckParams]) -> JobResult:
    """Puts customers over their limit or overdue past the stop days on stop; releases those back in line."""
    p, day, s = ctx.params, ctx.business_date, ctx.session
    changes: list[dict[str, Any]] = []
    listing: list[list[Any]] = []
    checked = 0
    codes: dict[int, str] = {}
    for cid, code, name, limit, on_stop, balance, unposted, oldest_due in s.execute(
        exposures(day).execution_options(yield_per=5000)
    ):
        checked += 1
        due = as_date(oldest_due)
        overdue = (day - due).days if due is not None else 0
        exposure = int(balance) + int(unposted)
        action, reason = decide(
            on_stop=bool(on_stop),
            exposure=exposure,
            limit=int(limit),
            overdue_days=overdue,
            stop_after_days=p.stop_after_days,
            auto_release=p.auto_release,
        )
        listing.append(
            [
                code,
                name,
                int(balance),
                int(unposted),
                exposure,
                int(limit),
                overdue,
                "Y" if on_stop else "",
                action.value if action else "",
            ]
        )
        if action is not None:
            codes[cid] = code
            changes.append(
                {
                    "execution_id": ctx.execution_id,
                    "business_date": day,
                    "customer_id": cid,
                    "action": action,
                    "changed_by": ctx.job_name,
                    "balance_pence": int(balance),
                    "unposted_pence": int(unposted),
                    "exposure_pence": exposure,
                    "credit_limit_pence": int(limit),
                    "oldest_overdue_days": overdue,
                    "reason": reason,
                }
            )
    stopped = [c["customer_id"] for c in changes if c["action"] is CreditAction.STOP]
    released = [c["customer_id"] for c in changes if c["action"] is CreditAction.RELEASE]
    for start in range(0, len(changes), CHUNK):
        part = changes[start : start + CHUNK]
        for action, flag in ((CreditAction.STOP, True), (CreditAction.RELEASE, False)):
            ids = [c["customer_id"] for c in part if c["action"] is action]
            if ids:
                s.execute(update(Customer).where(Customer.id.in_(ids)).values(on_stop=flag))
        s.execute(insert(CreditChange), part)
        ctx.checkpoint({"changes_written": start + len(part)})
    ctx.progress(checked, checked)
    header = [
        "customer",
        "name",
        "balance_pence",
        "unposted_pence",
        "exposure_pence",
        "credit_limit_pence",
        "oldest_overdue_days",
        "was_on_stop",
        "action",
    ]
    files = [ctx.output("credit_check.csv")]
    write_csv(files[0], header, listing)
    if p.output_format.pdf:
        files.append(
            write_table_pdf(
                ctx.output("credit_changes.pdf"),
                title="Credit limit check",
                subtitle=f"{day:%d/%m/%Y}: {len(stopped)} put on stop, {len(released)} released",
                company=company_name(ctx),
                columns=["customer", "action", "exposure", "credit limit", "overdue days", "reason"],
                rows=[
                    [
                        codes[c["customer_id"]],
                        c["action"].value,
                        c["exposure_pence"],
                        c["credit_limit_pence"],
                        c["oldest_overdue_days"],
                        c["reason"],
                    ]
                    for c in changes
                ],
                money_columns=(2, 3),
            )
        )
    ctx.log.info(f"checked {checked} customers", event="credit_checked", customers=checked)
    if stopped:
        ctx.log.warning(
            f"{len(stopped)} customer(s) put on stop (over limit or overdue past {p.stop_after_days} days)",
            event="customers_stopped",
            count=len(stopped),
        )
    if released:
        ctx.log.info(f"{len(released)} customer(s) released from stop", event="customers_released", count=len(released))
    return JobResult(
        summary=f"{checked} customers checked; {len(stopped)} put on stop, {len(released)} released",
        counts={"customers": checked, "stopped": len(stopped), "released": len(released)},
        files=[str(f) for f in files],
        data={"stopped": stopped, "released": released},
    )

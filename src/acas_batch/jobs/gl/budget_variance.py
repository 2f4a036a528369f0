"""GL_BUDGET_VARIANCE: each account's actual against its budget for the period and the year to date."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import insert_rows
from acas_batch.jobs.params import (
    Notify,
    OutputFormat,
    Period,
    period_from_upstream,
    period_label,
    period_run_key,
    resolve_period,
)
from acas_batch.models import (
    Account,
    AccountingPeriod,
    AccountPeriodBalance,
    AccountType,
    Budget,
    BudgetVarianceLine,
    Module,
)
from acas_batch.reports import write_csv, write_table_pdf

#: (id, code, name, budget, actual, variance, %, ytd budget, ytd actual, ytd variance, ytd %, flagged)
VarianceRow = tuple[int, str, str, int, int, int, Decimal | None, int, int, int, Decimal | None, bool]
_GL_SHARED = ({"name": "ledger:GL", "mode": "shared"},)


class BudgetVarianceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period = "CURRENT"
    threshold_pct: Decimal = Field(Decimal(10), ge=0, le=1000, description="Flag lines whose variance % exceeds it.")
    output_format: OutputFormat = OutputFormat.BOTH
    notify: Notify = Field(default_factory=Notify)


def variance_pct(variance: int, budget: int) -> Decimal | None:
    """Variance as a percentage of the budget's size, half-up to 0.01; none without a budget."""
    if budget == 0:
        return None
    return (Decimal(variance) * 100 / abs(budget)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def budget_and_actual(session: Session, period: AccountingPeriod) -> list[tuple[int, str, str, int, int, int, int]]:
    """Per income/expense account: (id, code, name, budget, actual, ytd budget, ytd actual), debit-positive."""
    ap = AccountingPeriod
    in_year = (ap.financial_year == period.financial_year) & (ap.period_no <= period.period_no)
    actual = (
        select(
            AccountPeriodBalance.account_id.label("account_id"),
            func.sum(case((ap.id == period.id, AccountPeriodBalance.debit_pence - AccountPeriodBalance.credit_pence),
                          else_=0)).label("now"),
            func.sum(AccountPeriodBalance.debit_pence - AccountPeriodBalance.credit_pence).label("ytd"),
        )
        .join(ap, ap.id == AccountPeriodBalance.period_id)
        .where(in_year)
        .group_by(AccountPeriodBalance.account_id)
        .subquery()
    )  # fmt: skip
    budget = (
        select(
            Budget.account_id.label("account_id"),
            func.sum(case((ap.id == period.id, Budget.amount_pence), else_=0)).label("now"),
            func.sum(Budget.amount_pence).label("ytd"),
        )
        .join(ap, ap.id == Budget.period_id)
        .where(in_year)
        .group_by(Budget.account_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Account.id,
            Account.code,
            Account.name,
            func.coalesce(budget.c.now, 0),
            func.coalesce(actual.c.now, 0),
            func.coalesce(budget.c.ytd, 0),
            func.coalesce(actual.c.ytd, 0),
        )
        .outerjoin(actual, actual.c.account_id == Account.id)
        .outerjoin(budget, budget.c.account_id == Account.id)
        .where(Account.type.in_((AccountType.INCOME, AccountType.EXPENSE)))
        .order_by(Account.code)
    )
    return [(i, c, n, int(b), int(a), int(yb), int(ya)) for i, c, n, b, a, yb, ya in rows if b or a or yb or ya]


@job(
    "GL_BUDGET_VARIANCE",
    module=Module.GL,
    params=BudgetVarianceParams,
    run_key=period_run_key,
    from_upstream=period_from_upstream,
    timeout_seconds=1800,
    resources=_GL_SHARED,
)
def budget_variance(ctx: JobContext[BudgetVarianceParams]) -> JobResult:
    """Budget against actual per account for the period and the year to date; flags variances past the threshold."""
    p, s = ctx.params, ctx.session
    period = resolve_period(s, p.period, ctx.business_date)
    key = period_run_key(p, ctx.business_date)
    # Debit-positive amounts make "budget - actual" favourable-positive for income and expense alike.
    lines: list[VarianceRow] = []
    for i, c, n, b, a, yb, ya in budget_and_actual(s, period):
        pct, ypct = variance_pct(b - a, b), variance_pct(yb - ya, yb)
        flag = (abs(pct) > p.threshold_pct) if pct is not None else a != 0
        lines.append((i, c, n, b, a, b - a, pct, yb, ya, yb - ya, ypct, flag))
    s.execute(delete(BudgetVarianceLine).where(BudgetVarianceLine.run_key == key))
    if lines:
        insert_rows(
            s,
            BudgetVarianceLine,
            [
                {"execution_id": ctx.execution_id, "run_key": key, "period_id": period.id, "account_id": i,
                 "budget_pence": b, "actual_pence": a, "variance_pence": v, "variance_pct": pct,
                 "ytd_budget_pence": yb, "ytd_actual_pence": ya, "ytd_variance_pence": yv, "ytd_variance_pct": ypct,
                 "flagged": f}
                for i, _c, _n, b, a, v, pct, yb, ya, yv, ypct, f in lines
            ],
        )  # fmt: skip
    flagged = [ln for ln in lines if ln[-1]]
    for ln in flagged:
        ctx.log.warning(
            f"account {ln[1]} {ln[2]}: variance {ln[5]} pence ({ln[6] if ln[6] is not None else 'no budget'}%)"
            f" {'favourable' if ln[5] >= 0 else 'adverse'}",
            event="budget_variance_flagged",
        )
    files = _variance_files(ctx, period, lines)
    total = sum(ln[5] for ln in lines)
    ctx.log.info(f"{len(lines)} accounts compared with budget for {period_label(period)}; {len(flagged)} flagged")
    return JobResult(
        summary=f"{period_label(period)}: {len(lines)} accounts, {len(flagged)} past {p.threshold_pct}%",
        counts={"accounts": len(lines), "flagged": len(flagged)},
        totals={"variance_pence": total},
        files=files,
    )


def _variance_files(
    ctx: JobContext[BudgetVarianceParams], period: AccountingPeriod, lines: list[VarianceRow]
) -> list[str]:
    header = ("code", "name", "budget_pence", "actual_pence", "variance_pence", "variance_pct", "favourable",
              "ytd_budget_pence", "ytd_actual_pence", "ytd_variance_pence", "ytd_variance_pct", "flagged")  # fmt: skip
    table = [
        (c, n, b, a, v, pct, "yes" if v >= 0 else "no", yb, ya, yv, ypct, "yes" if f else "no")
        for _i, c, n, b, a, v, pct, yb, ya, yv, ypct, f in lines
    ]
    files: list[str] = []
    path = ctx.output(f"budget_variance_{period_label(period)}.csv")
    write_csv(path, header, table)
    files.append(str(path))
    if ctx.params.output_format.pdf:
        path = ctx.output(f"budget_variance_{period_label(period)}.pdf")
        write_table_pdf(
            path,
            title=f"Budget variance {period_label(period)}",
            subtitle="Debit-positive; variance = budget - actual, favourable positive",
            columns=(
                "Code",
                "Account",
                "Budget",
                "Actual",
                "Variance",
                "%",
                "YTD budget",
                "YTD actual",
                "YTD variance",
                "YTD %",
                "Flag",
            ),
            rows=[
                (c, n, b, a, v, pct, yb, ya, yv, ypct, fl) for c, n, b, a, v, pct, _fav, yb, ya, yv, ypct, fl in table
            ],
            money_columns=(2, 3, 4, 6, 7, 8),
        )
        files.append(str(path))
    return files

"""GL_TRIAL_BALANCE: the posted ledger's balances at the period end, proved to balance.

Its snapshot is replaced per run key.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import insert_rows
from acas_batch.errors import TrialBalanceOutOfBalance
from acas_batch.jobs.params import Notify, OutputFormat, Period, period_from_upstream, period_run_key, resolve_period
from acas_batch.ledger import trial_balance
from acas_batch.models import (
    Module,
    TrialBalanceLine,
)
from acas_batch.reports import write_csv, write_table_pdf

#: (id, code, name, budget, actual, variance, %, ytd budget, ytd actual, ytd variance, ytd %, flagged)
VarianceRow = tuple[int, str, str, int, int, int, Decimal | None, int, int, int, Decimal | None, bool]
_GL_SHARED = ({"name": "ledger:GL", "mode": "shared"},)


class TrialBalanceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period = Field("CURRENT", description="The balance is taken at the period's last day ...")
    as_of: date | None = Field(None, description="... or at this date when given.")
    compare_last_year: bool = False
    output_format: OutputFormat = OutputFormat.BOTH
    notify: Notify = Field(default_factory=Notify)


def _tb_key(params: BaseModel, business_date: date) -> str:
    as_of = getattr(params, "as_of", None)
    return f"date:{as_of.isoformat()}" if as_of else period_run_key(params, business_date)


def _one_year_back(day: date) -> date:
    return day.replace(year=day.year - 1, day=28) if (day.month, day.day) == (2, 29) else day.replace(year=day.year - 1)


@job(
    "GL_TRIAL_BALANCE",
    module=Module.GL,
    params=TrialBalanceParams,
    run_key=_tb_key,
    from_upstream=period_from_upstream,
    timeout_seconds=1800,
    resources=_GL_SHARED,
)
def gl_trial_balance(ctx: JobContext[TrialBalanceParams]) -> JobResult:
    """Debit or credit balance per account at a date; fails loudly when the totals differ."""
    p, s = ctx.params, ctx.session
    as_of = p.as_of or resolve_period(s, p.period, ctx.business_date).end_date
    rows = trial_balance(s, as_of=as_of, posted_only=True)
    last_year = (
        {r.account_id: r.balance_pence for r in trial_balance(s, as_of=_one_year_back(as_of), posted_only=True)}
        if p.compare_last_year
        else {}
    )
    debits = sum(max(r.balance_pence, 0) for r in rows)
    credits = sum(max(-r.balance_pence, 0) for r in rows)
    if debits != credits:
        ctx.log.error(
            f"trial balance at {as_of.isoformat()} does not balance: debits {debits}, credits {credits} pence",
            event="trial_balance_out_of_balance",
        )
        raise TrialBalanceOutOfBalance(
            f"trial balance at {as_of.isoformat()} does not balance: debits {debits} pence,"
            f" credits {credits} pence (difference {debits - credits}): the ledger is faulty"
        )
    key = _tb_key(p, ctx.business_date)
    s.execute(delete(TrialBalanceLine).where(TrialBalanceLine.run_key == key))
    table = [
        (
            r.account_id,
            r.code,
            r.name,
            max(r.balance_pence, 0),
            max(-r.balance_pence, 0),
            last_year.get(r.account_id, 0),
        )
        for r in rows
        if r.balance_pence or (p.compare_last_year and last_year.get(r.account_id))
    ]
    if table:
        insert_rows(
            s,
            TrialBalanceLine,
            [
                {"execution_id": ctx.execution_id, "run_key": key, "as_of": as_of, "account_id": i, "code": c,
                 "name": n, "debit_pence": d, "credit_pence": k, "last_year_pence": ly if p.compare_last_year else None}
                for i, c, n, d, k, ly in table
            ],
        )  # fmt: skip
    files = _tb_files(ctx, as_of, table)
    ctx.log.info(f"trial balance at {as_of.isoformat()}: {len(table)} accounts, {debits} pence each side")
    return JobResult(
        summary=f"trial balance at {as_of.isoformat()}: {len(table)} accounts, balanced at {debits} pence",
        counts={"accounts": len(table)},
        totals={"debit_pence": debits, "credit_pence": credits},
        files=files,
    )


def _tb_files(
    ctx: JobContext[TrialBalanceParams], as_of: date, table: list[tuple[int, str, str, int, int, int]]
) -> list[str]:
    compare = ctx.params.compare_last_year
    header = ["code", "name", "debit_pence", "credit_pence"] + (["last_year_pence"] if compare else [])
    out = [[c, n, d, k] + ([ly] if compare else []) for _i, c, n, d, k, ly in table]
    files: list[str] = []
    path = ctx.output(f"trial_balance_{as_of.isoformat()}.csv")
    write_csv(path, header, out)
    files.append(str(path))
    if ctx.params.output_format.pdf:
        path = ctx.output(f"trial_balance_{as_of.isoformat()}.pdf")
        totals = ["Total", "", sum(r[3] for r in table), sum(r[4] for r in table)] + (
            [sum(r[5] for r in table)] if compare else []
        )
        write_table_pdf(
            path,
            title=f"Trial balance at {as_of:%d/%m/%Y}",
            subtitle="Posted journals" + ("; last year's balance debit-positive" if compare else ""),
            columns=["Code", "Account", "Debit", "Credit"] + (["Last year"] if compare else []),
            rows=out,
            money_columns=(2, 3, 4) if compare else (2, 3),
            totals=totals,
        )
        files.append(str(path))
    return files

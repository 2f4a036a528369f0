"""GL_PERIOD_CLOSE: the period closed, its refusals, its closing balances.

It (and GL_YEAR_END_CLOSE) refuse before writing anything when the ledger is not ready, and refuse a second
close of the same period or year by the period's status (a schema-backed state, not a
memory of earlier runs). Balances come from ``gl_balance_rec``, the posted ledger the
daily close keeps, summed by grouped queries.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.errors import CloseRefused
from acas_batch.jobs.params import (
    Notify,
    OutputFormat,
    Period,
    period_label,
    period_name,
    period_run_key,
    resolve_period,
)
from acas_batch.ledger import reconcile
from acas_batch.models import (
    Account,
    AccountingPeriod,
    AccountPeriodBalance,
    AccountType,
    BatchExecution,
    BatchJob,
    ExecutionState,
    Journal,
    JournalStatus,
    Module,
    PeriodClosingBalance,
    PeriodStatus,
)
from acas_batch.reports import write_csv, write_table_pdf

_GL = {"name": "ledger:GL", "mode": "exclusive"}
PL_TYPES = (AccountType.INCOME, AccountType.EXPENSE)


class PeriodCloseParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period = "CURRENT"
    control_tolerance: int = Field(0, ge=0, description="Pence a control account may differ from its subledger.")
    require_daily_close: bool = Field(True, description="Refuse unless a daily close ran on or after the period end.")
    output_format: OutputFormat = OutputFormat.BOTH
    notify: Notify = Field(default_factory=Notify)


def _label(p: AccountingPeriod) -> str:
    return f"{period_name(p)}, {p.start_date.isoformat()} to {p.end_date.isoformat()},"


def period_close_refusals(
    session: Session, period: AccountingPeriod, *, tolerance: int, require_daily_close: bool
) -> list[str]:
    """Every reason ``period`` may not be closed now (empty: it may)."""
    problems: list[str] = []
    earlier = session.scalars(
        select(AccountingPeriod)
        .where(AccountingPeriod.end_date < period.start_date, AccountingPeriod.status == PeriodStatus.OPEN)
        .order_by(AccountingPeriod.start_date)
    ).all()
    if earlier:
        problems.append("earlier period(s) still open: " + ", ".join(period_name(p) for p in earlier))
    pending = session.scalar(
        select(func.count())
        .select_from(Journal)
        .where(Journal.period_id == period.id, Journal.status == JournalStatus.PENDING)
    )
    if pending:
        problems.append(f"{pending} journal(s) of the period are still pending (run GL_DAILY_CLOSE)")
    if require_daily_close:
        closed_day = session.scalar(
            select(func.max(BatchExecution.business_date))
            .join(BatchJob, BatchJob.id == BatchExecution.job_id)
            .where(
                BatchJob.name == "GL_DAILY_CLOSE",
                BatchExecution.state.in_((ExecutionState.SUCCEEDED, ExecutionState.WARNING)),
            )
        )
        if closed_day is None or closed_day < period.end_date:
            last = closed_day.isoformat() if closed_day else "never"
            problems.append(f"no daily close has finished for {period.end_date.isoformat()} (last: {last})")
    for rec in reconcile(session):
        if abs(rec.difference_pence) > tolerance:
            problems.append(
                f"{rec.name} control {rec.control_pence} pence vs subledger {rec.subledger_pence} pence"
                f" (difference {rec.difference_pence}, tolerance {tolerance})"
            )
    return problems


def next_period(session: Session, period: AccountingPeriod) -> AccountingPeriod:
    """The period after ``period``, created (open) if the calendar of periods ends here."""
    start = period.end_date + timedelta(days=1)
    found = session.scalars(select(AccountingPeriod).where(AccountingPeriod.start_date == start)).first()
    if found is not None:
        return found
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    year, number = (period.financial_year, period.period_no + 1) if period.period_no < 12 else (
        period.financial_year + 1, 1)  # fmt: skip
    created = AccountingPeriod(financial_year=year, period_no=number, start_date=start, end_date=end)
    session.add(created)
    session.flush()
    return created


def closing_balances(session: Session, period: AccountingPeriod) -> list[tuple[int, str, str, int, int, int]]:
    """Per account with any balance: (id, code, name, opening, debits, credits), one grouped query."""
    before = AccountingPeriod.end_date < period.start_date
    b, ap = AccountPeriodBalance, AccountingPeriod
    opening = func.sum(case((before, b.debit_pence - b.credit_pence), else_=0))
    debits = func.sum(case((ap.id == period.id, b.debit_pence), else_=0))
    credits = func.sum(case((ap.id == period.id, b.credit_pence), else_=0))
    rows = session.execute(
        select(Account.id, Account.code, Account.name, opening, debits, credits)
        .join(b, b.account_id == Account.id)
        .join(ap, ap.id == b.period_id)
        .where(ap.end_date <= period.end_date)
        .group_by(Account.id, Account.code, Account.name)
        .order_by(Account.code)
    )
    return [(i, c, n, int(o), int(d), int(k)) for i, c, n, o, d, k in rows if o or d or k]


@job(
    "GL_PERIOD_CLOSE",
    module=Module.GL,
    params=PeriodCloseParams,
    run_key=period_run_key,
    timeout_seconds=7200,
    resources=(_GL, {"name": "ledger:SL", "mode": "shared"}, {"name": "ledger:PL", "mode": "shared"},
               {"name": "ledger:ST", "mode": "shared"}),
)  # fmt: skip
def period_close(ctx: JobContext[PeriodCloseParams]) -> JobResult:
    """Closes an accounting period: closing balances per account, period closed, next period open."""
    p, s = ctx.params, ctx.session
    period = s.get_one(AccountingPeriod, resolve_period(s, p.period, ctx.business_date).id, with_for_update=True)
    if period.status != PeriodStatus.OPEN:
        closed = f" on {period.closed_at:%Y-%m-%d %H:%M} UTC" if period.closed_at else ""
        raise CloseRefused(f"period {_label(period)} is already {period.status.value}{closed}; it is closed once")
    problems = period_close_refusals(
        s, period, tolerance=p.control_tolerance, require_daily_close=p.require_daily_close
    )
    if problems:
        for problem in problems:
            ctx.log.error(f"period {period_name(period)} not closed: {problem}", event="period_close_refused")
        raise CloseRefused(f"period {_label(period)} not closed: " + "; ".join(problems))
    rows = closing_balances(s, period)
    if rows:
        s.execute(
            insert(PeriodClosingBalance),
            [
                {
                    "period_id": period.id,
                    "account_id": i,
                    "execution_id": ctx.execution_id,
                    "opening_pence": o,
                    "debit_pence": d,
                    "credit_pence": k,
                    "closing_pence": o + d - k,
                }
                for i, _c, _n, o, d, k in rows
            ],
        )
    period.status, period.closed_at = PeriodStatus.CLOSED, ctx.now
    following = next_period(s, period)
    debits, credits = sum(r[4] for r in rows), sum(r[5] for r in rows)
    files = _period_report(ctx, period, rows)
    ctx.log.info(
        f"period {period_name(period)} closed: {len(rows)} accounts, debits {debits}, credits {credits} pence;"
        f" next period {period_name(following)} is {following.status.value}",
        event="period_closed",
    )
    return JobResult(
        summary=f"period {period_name(period)} closed ({len(rows)} accounts); {period_name(following)} open",
        counts={"accounts": len(rows)},
        totals={"debit_pence": debits, "credit_pence": credits},
        files=files,
        data={"period": period_label(period), "next_period": period_label(following)},
    )


def _period_report(
    ctx: JobContext[PeriodCloseParams], period: AccountingPeriod, rows: list[tuple[int, str, str, int, int, int]]
) -> list[str]:
    header = ("code", "name", "opening_pence", "debit_pence", "credit_pence", "closing_pence")
    table = [(c, n, o, d, k, o + d - k) for _i, c, n, o, d, k in rows]
    files: list[str] = []
    path = ctx.output(f"period_trial_balance_{period_label(period)}.csv")
    write_csv(path, header, table)
    files.append(str(path))
    if ctx.params.output_format.pdf:
        path = ctx.output(f"period_trial_balance_{period_label(period)}.pdf")
        opening, debits, credits = sum(r[3] for r in rows), sum(r[4] for r in rows), sum(r[5] for r in rows)
        totals = ["Total", "", opening, debits, credits, opening + debits - credits]
        write_table_pdf(
            path,
            title=f"Period trial balance {period_name(period)}",
            subtitle=f"{period.start_date:%d/%m/%Y} to {period.end_date:%d/%m/%Y}; balances debit-positive",
            columns=("Code", "Account", "Opening", "Debits", "Credits", "Closing"),
            rows=table,
            money_columns=(2, 3, 4, 5),
            totals=totals,
        )
        files.append(str(path))
    return files

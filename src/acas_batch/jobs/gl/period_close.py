"""GL_PERIOD_CLOSE and GL_YEAR_END_CLOSE: the closes, their refusals, their closing balances.

Both refuse before writing anything when the ledger is not ready, and refuse a second
close of the same period or year by the period's status (a schema-backed state, not a
memory of earlier runs). Balances come from ``gl_balance_rec``, the posted ledger the
daily close keeps, summed by grouped queries.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.errors import CloseRefused, PeriodNotFound
from acas_batch.jobs.params import (
    FinancialYear,
    Notify,
    OutputFormat,
    Period,
    period_label,
    period_run_key,
    resolve_period,
    resolve_year,
    year_run_key,
)
from acas_batch.ledger import cr, reconcile
from acas_batch.ledger.posting import JournalDraft, control_account, post_journal
from acas_batch.models import (
    Account,
    AccountingPeriod,
    AccountPeriodBalance,
    AccountType,
    BatchExecution,
    BatchJob,
    ControlKind,
    ExecutionState,
    Journal,
    JournalSource,
    JournalStatus,
    Module,
    PeriodClosingBalance,
    PeriodStatus,
    YearEndLine,
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
    return f"{period_label(p)} ({p.start_date.isoformat()} to {p.end_date.isoformat()})"


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
        problems.append("earlier period(s) still open: " + ", ".join(period_label(p) for p in earlier))
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


def _next_period(session: Session, period: AccountingPeriod) -> AccountingPeriod:
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
            ctx.log.error(f"period {period_label(period)} not closed: {problem}", event="period_close_refused")
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
    following = _next_period(s, period)
    debits, credits = sum(r[4] for r in rows), sum(r[5] for r in rows)
    files = _period_report(ctx, period, rows)
    ctx.log.info(
        f"period {period_label(period)} closed: {len(rows)} accounts, debits {debits}, credits {credits} pence;"
        f" next period {period_label(following)} is {following.status.value}",
        event="period_closed",
    )
    return JobResult(
        summary=f"period {period_label(period)} closed ({len(rows)} accounts); {period_label(following)} open",
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
            title=f"Period trial balance {period_label(period)}",
            subtitle=f"{period.start_date:%d/%m/%Y} to {period.end_date:%d/%m/%Y}; balances debit-positive",
            columns=("Code", "Account", "Opening", "Debits", "Credits", "Closing"),
            rows=table,
            money_columns=(2, 3, 4, 5),
            totals=totals,
        )
        files.append(str(path))
    return files


class YearEndParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    financial_year: FinancialYear = "CURRENT"
    output_format: OutputFormat = OutputFormat.BOTH
    notify: Notify = Field(default_factory=Notify)


def _year_periods(session: Session, year: int) -> list[AccountingPeriod]:
    periods = list(
        session.scalars(
            select(AccountingPeriod)
            .where(AccountingPeriod.financial_year == year)
            .order_by(AccountingPeriod.period_no)
            .with_for_update()
        )
    )
    if not periods:
        raise PeriodNotFound(f"financial year {year} has no accounting periods")
    return periods


def _balances_to(
    session: Session, end: date, types: tuple[AccountType, ...], since: date | None = None
) -> list[tuple[int, str, str, int]]:
    """Debit-positive balance per account of ``types`` over the periods ending by ``end`` (from ``since``)."""
    b, ap = AccountPeriodBalance, AccountingPeriod
    query = (
        select(Account.id, Account.code, Account.name, func.sum(b.debit_pence - b.credit_pence))
        .join(b, b.account_id == Account.id)
        .join(ap, ap.id == b.period_id)
        .where(ap.end_date <= end, Account.type.in_(types))
        .group_by(Account.id, Account.code, Account.name)
        .order_by(Account.code)
    )
    if since is not None:
        query = query.where(ap.start_date >= since)
    return [(i, c, n, int(v)) for i, c, n, v in session.execute(query) if v]


@job(
    "GL_YEAR_END_CLOSE",
    module=Module.GL,
    params=YearEndParams,
    run_key=year_run_key,
    timeout_seconds=14400,
    max_attempts=1,
    resources=(_GL, {"name": "ledger:SL", "mode": "exclusive"}, {"name": "ledger:PL", "mode": "exclusive"},
               {"name": "ledger:ST", "mode": "exclusive"}),
)  # fmt: skip
def year_end_close(ctx: JobContext[YearEndParams]) -> JobResult:
    """Closes income and expense to retained earnings, carries the balance sheet forward, locks the year."""
    s = ctx.session
    year = resolve_year(s, ctx.params.financial_year, ctx.business_date)
    periods = _year_periods(s, year)
    if all(p.status == PeriodStatus.LOCKED for p in periods):
        raise CloseRefused(f"financial year {year} is already closed and locked; a year is closed once")
    still_open = [period_label(p) for p in periods if p.status == PeriodStatus.OPEN]
    if still_open:
        raise CloseRefused(f"financial year {year} not closed: period(s) still open: {', '.join(still_open)}")
    first, last = periods[0], periods[-1]
    pl = _balances_to(s, last.end_date, PL_TYPES, since=first.start_date)
    journal_id: int | None = None
    net = -sum(v for *_x, v in pl)  # debit-positive sum of income and expense; its negative is the profit
    if pl:
        retained = control_account(s, ControlKind.RETAINED_EARNINGS)
        lines = (*(cr(i, v, "close to retained earnings") for i, _c, _n, v in pl), cr(retained, net, "net result"))
        draft = JournalDraft(last.end_date, JournalSource.GL, f"YEAR END {year}", lines, f"Year-end close {year}")
        journal_id = post_journal(s, draft, post=True, posted_on=ctx.business_date, into_closed=True)
    opening = _balances_to(s, last.end_date, (AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY))
    s.execute(
        insert(YearEndLine),
        [
            {"financial_year": year, "section": "profit_and_loss", "account_id": i, "balance_pence": v,
             "closing_journal_id": journal_id, "execution_id": ctx.execution_id}
            for i, _c, _n, v in pl
        ]
        + [
            {"financial_year": year, "section": "opening", "account_id": i, "balance_pence": v,
             "closing_journal_id": journal_id, "execution_id": ctx.execution_id}
            for i, _c, _n, v in opening
        ],
    ) if pl or opening else None  # fmt: skip
    s.execute(
        update(AccountingPeriod).where(AccountingPeriod.financial_year == year).values(status=PeriodStatus.LOCKED)
    )
    following = _next_period(s, last)
    while following.financial_year == year + 1 and following.period_no < 12:
        following = _next_period(s, following)
    files = _year_report(ctx, year, pl=pl, opening=opening, net=net, journal_id=journal_id)
    verb = "profit" if net >= 0 else "loss"
    ctx.log.info(
        f"year {year} closed: net {verb} {abs(net)} pence to retained earnings; {len(pl)} P&L accounts zeroed,"
        f" {len(opening)} opening balances carried forward; periods locked",
        event="year_closed",
    )
    return JobResult(
        summary=f"financial year {year} closed: net {verb} {abs(net)} pence; year locked",
        counts={"pl_accounts": len(pl), "opening_balances": len(opening)},
        totals={"net_profit_pence": net},
        files=files,
        data={"financial_year": year, "closing_journal_id": journal_id},
    )


def _year_report(
    ctx: JobContext[YearEndParams],
    year: int,
    *,
    pl: list[tuple[int, str, str, int]],
    opening: list[tuple[int, str, str, int]],
    net: int,
    journal_id: int | None,
) -> list[str]:
    rows = [("profit_and_loss", c, n, v) for _i, c, n, v in pl]
    rows += [("closing_journal", c, n, -v) for _i, c, n, v in pl]
    if pl:
        rows.append(("closing_journal", "", "Retained earnings (net result)", -net))
    rows += [("opening", c, n, v) for _i, c, n, v in opening]
    files: list[str] = []
    path = ctx.output(f"year_end_{year}.csv")
    write_csv(path, ("section", "code", "name", "balance_pence"), rows)
    files.append(str(path))
    if ctx.params.output_format.pdf:
        path = ctx.output(f"year_end_{year}.pdf")
        verb = "profit" if net >= 0 else "loss"
        write_table_pdf(
            path,
            title=f"Year-end close {year}",
            subtitle="Profit and loss closed, closing journal, opening balances of the new year (debit-positive)",
            columns=("Section", "Code", "Account", "Amount"),
            rows=[(sec.replace("_", " "), c, n, v) for sec, c, n, v in rows],
            money_columns=(3,),
            notes=[f"Net {verb} for the year: {abs(net)} pence, taken to retained earnings"
                   + (f" by journal {journal_id}." if journal_id else ".")],
        )  # fmt: skip
        files.append(str(path))
    return files

"""GL_YEAR_END_CLOSE: the financial year's income and expense closed to retained earnings."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.errors import CloseRefused, PeriodNotFound
from acas_batch.jobs.gl.period_close import next_period
from acas_batch.jobs.params import (
    FinancialYear,
    Notify,
    OutputFormat,
    period_label,
    resolve_year,
    year_run_key,
)
from acas_batch.ledger import cr
from acas_batch.ledger.posting import JournalDraft, control_account, post_journal
from acas_batch.models import (
    Account,
    AccountingPeriod,
    AccountPeriodBalance,
    AccountType,
    ControlKind,
    JournalSource,
    Module,
    PeriodStatus,
    YearEndLine,
)
from acas_batch.reports import write_csv, write_table_pdf

_GL = {"name": "ledger:GL", "mode": "exclusive"}
PL_TYPES = (AccountType.INCOME, AccountType.EXPENSE)


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
    following = next_period(s, last)
    while following.financial_year == year + 1 and following.period_no < 12:
        following = next_period(s, following)
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

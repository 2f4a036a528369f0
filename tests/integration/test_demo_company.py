"""The demo company is a plausible small wholesaler, ready for its first month end.

The figures are computed here from the posted journal lines alone (not from anything the
generator keeps), over the twelve complete months before the end date.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models import (
    Account,
    AccountingPeriod,
    ExecutionState,
    Journal,
    JournalLine,
    PeriodStatus,
)
from tests.integration.test_gl_close_jobs import at
from tests.sl_support import assert_ledger_sound
from tests.support.context import run_job

END = date(2026, 12, 6)  # a Sunday early in December, as the issue found it
YEAR_END_REF = "YEAR END"


def _month_ends(first: date, last: date) -> list[date]:
    out, day = [], first
    while day <= last:
        following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        out.append(following - timedelta(days=1))
        day = following
    return [d for d in out if d <= last]


def test_the_demo_is_a_solvent_wholesaler_with_its_earlier_periods_closed(engine: Engine, settings: Settings) -> None:
    # Given the demo company at scale 1, generated to 6 December 2026
    report = generate(engine, size=DemoSize.scaled(1), end=END, seed=1)
    with Session(engine) as s:
        code: dict[int, str] = {row.id: row.code for row in s.execute(select(Account.id, Account.code))}
        # Every line, by account code and day (the year-end closing journals left out of the
        # profit and loss: they move the year's result to retained earnings)
        by_day: dict[tuple[str, date], int] = defaultdict(int)
        closing: dict[str, int] = defaultdict(int)
        for account, debit, credit, day, reference in s.execute(
            select(JournalLine.account_id, JournalLine.debit_pence, JournalLine.credit_pence,
                   Journal.journal_date, Journal.reference).join(Journal, Journal.id == JournalLine.journal_id)
        ):  # fmt: skip
            if reference.startswith(YEAR_END_REF):
                closing[code[account]] += debit - credit
            else:
                by_day[(code[account], day)] += debit - credit
        periods = s.scalars(select(AccountingPeriod).order_by(AccountingPeriod.start_date)).all()

    def balance(codes: tuple[str, ...], until: date, since: date = date.min) -> int:
        return sum(v for (c, d), v in by_day.items() if c in codes and since <= d <= until)

    year_from, year_to = date(2025, 12, 1), date(2026, 11, 30)
    sales = -balance(("4000", "4010"), year_to, year_from)
    cost_of_sales = balance(("5000", "5010", "5020", "5100"), year_to, year_from)
    wages = balance(("6000",), year_to, year_from)
    margin = (sales - cost_of_sales) / sales

    # Then it trades as a small wholesaler: some hundreds of thousands of pounds a year, a gross
    # margin of a fifth to a third, and a payroll of a tenth or so of its sales
    assert 200_000_00 < sales < 2_000_000_00, sales
    assert 0.20 <= margin <= 0.35, margin
    assert 0.08 <= wages / sales <= 0.20, wages / sales
    # And it is solvent: the bank in credit at (nearly) every month end, and at the end; its
    # profits retained (a credit balance), not losses
    month_ends = _month_ends(report.start, END)
    bank = [balance(("1200",), day) for day in month_ends]
    assert sum(1 for b in bank if b > 0) >= 0.9 * len(bank), [b // 100 for b in bank]
    assert balance(("1200",), END) > 0
    assert balance(("3200",), END) + closing["3200"] < 0
    # And it hands over with every period before the end date's month closed
    assert [p.start_date for p in periods if p.status is PeriodStatus.OPEN and p.end_date < END.replace(day=1)] == []
    assert next(p for p in periods if p.start_date <= END <= p.end_date).status is PeriodStatus.OPEN
    assert_ledger_sound(engine)

    # When December's scheduled closes run on its last day (the daily close, then the period's)
    month_end = date(2026, 12, 31)
    daily = run_job(engine, settings, "GL_DAILY_CLOSE", now=at(month_end), business_date=month_end)
    assert daily.state is ExecutionState.SUCCEEDED, daily.error
    close = run_job(engine, settings, "GL_PERIOD_CLOSE", now=at(month_end), business_date=month_end,
                    params={"output_format": "csv"})  # fmt: skip
    # Then the first month-end close succeeds
    assert close.state is ExecutionState.SUCCEEDED, (close.error, close.context.warning)
    with Session(engine) as s:
        december = s.scalars(select(AccountingPeriod).where(AccountingPeriod.start_date == date(2026, 12, 1))).one()
        assert december.status is PeriodStatus.CLOSED

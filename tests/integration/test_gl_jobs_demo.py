"""The GL jobs on a generated demo company, checked against plain Python over the journal lines."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.ledger import balances
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models import (
    Account,
    AccountingPeriod,
    AccountPeriodBalance,
    AccountType,
    BankAccount,
    BankStatementLine,
    Budget,
    BudgetVarianceLine,
    ExecutionState,
    Journal,
    JournalLine,
    JournalStatus,
    PeriodClosingBalance,
    PeriodStatus,
    ReconciliationLine,
    TrialBalanceLine,
    VatReturn,
)
from acas_batch.services import JobSchedulerService
from tests.engine_helpers import engine_settings
from tests.integration.test_gl_close_jobs import at
from tests.support.context import run_job
from tests.support.users import user

END = date(2026, 11, 23)
SIZE = DemoSize(customers=6, suppliers=8, items=10, months=4)


def lines_by_account(s: Session, *, since: date | None = None, until: date) -> dict[int, int]:
    """Debit-positive sums of posted lines per account, in Python over the raw rows."""
    out: dict[int, int] = defaultdict(int)
    rows = s.execute(
        select(JournalLine.account_id, JournalLine.debit_pence, JournalLine.credit_pence, Journal.journal_date)
        .join(Journal, Journal.id == JournalLine.journal_id)
        .where(Journal.status != JournalStatus.PENDING)
    )
    for account, debit, credit, day in rows:
        if day <= until and (since is None or day >= since):
            out[account] += debit - credit
    return {k: v for k, v in out.items() if v}


def assert_sound(s: Session) -> None:
    tb = balances.trial_balance(s, posted_only=True)
    assert sum(r.debit_pence for r in tb) == sum(r.credit_pence for r in tb)
    assert [r.difference_pence for r in balances.reconcile(s)] == [0, 0, 0, 0, 0]


def test_demo_company_daily_close_period_close_trial_balance_and_budget(engine: Engine, settings: Settings) -> None:
    generate(engine, size=SIZE, end=END, seed=7)
    with Session(engine) as s:
        pending = set(
            s.scalars(select(Journal.id).where(Journal.status == JournalStatus.PENDING, Journal.journal_date <= END))
        )
    assert pending  # the demo leaves the last days for the daily close

    daily = run_job(engine, settings, "GL_DAILY_CLOSE", now=at(END), business_date=END)
    assert daily.state is ExecutionState.SUCCEEDED, (daily.error, daily.context.warning)
    assert daily.result is not None and daily.result.counts == {"posted": len(pending), "refused": 0}

    with Session(engine) as s:
        # The period balances equal the posted lines, summed per account and period in Python
        expected: dict[tuple[int, int], tuple[int, int]] = defaultdict(lambda: (0, 0))
        for account, period, debit, credit in s.execute(
            select(JournalLine.account_id, Journal.period_id, JournalLine.debit_pence, JournalLine.credit_pence)
            .join(Journal, Journal.id == JournalLine.journal_id)
            .where(Journal.status != JournalStatus.PENDING)
        ):
            d, c = expected[(account, period)]
            expected[(account, period)] = (d + debit, c + credit)
        kept = {
            (a, p): (d, c)
            for a, p, d, c in s.execute(
                select(AccountPeriodBalance.account_id, AccountPeriodBalance.period_id,
                       AccountPeriodBalance.debit_pence, AccountPeriodBalance.credit_pence)
            )
            if d or c
        }  # fmt: skip
        assert kept == {k: v for k, v in expected.items() if v != (0, 0)}
        assert_sound(s)

    # The demo hands over with October closed: November's own close, on its last day, is the first
    month_end = date(2026, 11, 30)
    last_daily = run_job(engine, settings, "GL_DAILY_CLOSE", now=at(month_end), business_date=month_end)
    assert last_daily.state is ExecutionState.SUCCEEDED, last_daily.error
    close = run_job(engine, settings, "GL_PERIOD_CLOSE", now=at(month_end), business_date=month_end,
                    params={"period": "CURRENT", "output_format": "csv"})  # fmt: skip
    assert close.state is ExecutionState.SUCCEEDED, close.error
    tb_run = run_job(engine, settings, "GL_TRIAL_BALANCE", now=at(END), business_date=END,
                     params={"as_of": END.isoformat(), "output_format": "csv"})  # fmt: skip
    assert tb_run.state is ExecutionState.SUCCEEDED, tb_run.error
    budget = run_job(engine, settings, "GL_BUDGET_VARIANCE", now=at(END), business_date=END,
                     params={"period": "PREVIOUS", "output_format": "csv"})  # fmt: skip
    assert budget.state is ExecutionState.SUCCEEDED, budget.error

    with Session(engine) as s:
        october = s.scalars(select(AccountingPeriod).where(AccountingPeriod.start_date == date(2026, 10, 1))).one()
        november = s.scalars(select(AccountingPeriod).where(AccountingPeriod.start_date == date(2026, 11, 1))).one()
        assert october.status is PeriodStatus.CLOSED and november.status is PeriodStatus.CLOSED
        closing = dict(
            s.execute(
                select(PeriodClosingBalance.account_id, PeriodClosingBalance.closing_pence).where(
                    PeriodClosingBalance.period_id == november.id
                )
            ).all()
        )
        assert {a: v for a, v in closing.items() if v} == lines_by_account(s, until=november.end_date)
        tb = {
            a: d - c
            for a, d, c in s.execute(
                select(TrialBalanceLine.account_id, TrialBalanceLine.debit_pence, TrialBalanceLine.credit_pence)
            )
        }
        assert tb == lines_by_account(s, until=END)

        # Budget variance: Python over budgets and October's posted lines (income and expense)
        pl = set(s.scalars(select(Account.id).where(Account.type.in_((AccountType.INCOME, AccountType.EXPENSE)))))
        actual = lines_by_account(s, since=october.start_date, until=october.end_date)
        budgets = dict(
            s.execute(select(Budget.account_id, Budget.amount_pence).where(Budget.period_id == october.id)).all()
        )
        want = {a: (budgets.get(a, 0), actual.get(a, 0)) for a in pl if budgets.get(a) or actual.get(a)}
        got = {
            a: (b, act)
            for a, b, act, v in s.execute(
                select(BudgetVarianceLine.account_id, BudgetVarianceLine.budget_pence,
                       BudgetVarianceLine.actual_pence, BudgetVarianceLine.variance_pence)
            )
            if (b or act) and v == b - act
        }  # fmt: skip
        assert got == want and len(want) > 3
        assert_sound(s)


def test_demo_company_bank_reconciliation(engine: Engine, settings: Settings) -> None:
    generate(engine, size=SIZE, end=END, seed=5)
    run_job(engine, settings, "GL_DAILY_CLOSE", now=at(END), business_date=END)

    run = run_job(engine, settings, "GL_ACCOUNT_RECONCILIATION", now=at(END), business_date=END,
                  params={"output_format": "csv"})  # fmt: skip

    assert run.state is ExecutionState.SUCCEEDED, (run.error, run.context.warning)
    assert run.result is not None and run.result.counts["matched"] > 10
    with Session(engine) as s:
        # Every stored pair, old or new, has equal amounts; each cash-book line is matched at most once
        cash = {
            i: (d - c, day, ref)
            for i, d, c, day, ref in s.execute(
                select(JournalLine.id, JournalLine.debit_pence, JournalLine.credit_pence, Journal.journal_date,
                       Journal.reference)
                .join(Journal, Journal.id == JournalLine.journal_id)
                .join(BankAccount, BankAccount.account_id == JournalLine.account_id)
                .where(Journal.status != JournalStatus.PENDING)
            )
        }  # fmt: skip
        statement = s.execute(
            select(BankStatementLine.amount_pence, BankStatementLine.statement_date, BankStatementLine.reference,
                   BankStatementLine.matched_line_id, BankStatementLine.matched_on)
        ).all()  # fmt: skip
        matched = [m for *_x, m, _on in statement if m is not None]
        assert len(matched) == len(set(matched))
        for amount, day, ref, line, on in statement:
            if line is not None:
                assert cash[line][0] == amount
                if on == END:  # matched by this run: by reference, or within three days
                    assert cash[line][2] == ref or abs((cash[line][1] - day).days) <= 3
        # The proof, in Python: statement = cash book - open cash-book items + open statement items
        open_cash = sum(v for i, (v, _d, _r) in cash.items() if i not in set(matched))
        open_statement = sum(a for a, *_x, m, _on in statement if m is None)
        assert sum(a for a, *_x in statement) == sum(v for v, _d, _r in cash.values()) - open_cash + open_statement
        proof = s.scalar(select(ReconciliationLine.difference_pence).where(ReconciliationLine.section == "bank_proof"))
        assert proof == 0
        # The VAT line: a real balance owed to HMRC, equal to the documents' VAT less the settled returns
        vat = s.execute(
            select(ReconciliationLine.control_pence, ReconciliationLine.subledger_pence,
                   ReconciliationLine.difference_pence)
            .where(ReconciliationLine.section == "control", ReconciliationLine.name == "vat")
        ).one()  # fmt: skip
        assert vat.difference_pence == 0 and vat.control_pence == vat.subledger_pence > 0
        # ... each return paid by the end date is settled by its journal, which moved its net VAT out of the bank
        settled = s.scalars(select(VatReturn).where(VatReturn.paid_on.is_not(None))).all()
        assert settled
        for r in settled:
            bank = s.execute(
                select(JournalLine.debit_pence - JournalLine.credit_pence)
                .join(BankAccount, BankAccount.account_id == JournalLine.account_id)
                .where(JournalLine.journal_id == r.payment_journal_id)
            ).scalar_one()
            assert bank == r.box4_pence - r.box3_pence != 0
        assert_sound(s)


def test_daily_close_through_the_real_engine(engine: Engine, db_url: str, tmp_path: Path) -> None:
    generate(engine, size=SIZE, end=END, seed=3)
    settings = engine_settings(db_url, tmp_path, job_modules="acas_batch.jobs.gl.daily_close")
    svc = JobSchedulerService(engine, settings=settings, actor=user(engine, "ann"))
    assert svc.create_job("GL_DAILY_CLOSE", "GL", handler="GL_DAILY_CLOSE")[0]

    ok, execution_id = svc.execute_job_now("GL_DAILY_CLOSE", {"business_date": END.isoformat()})
    assert ok, execution_id
    ok, detail = svc.wait_for(execution_id, timeout=120)

    assert ok and detail["state"] == "succeeded", detail
    with Session(engine) as s:
        left = s.scalars(select(Journal.id).where(Journal.status == JournalStatus.PENDING, Journal.journal_date <= END))
        assert list(left) == []
        assert_sound(s)
    ok, again = svc.execute_job_now("GL_DAILY_CLOSE", {"business_date": END.isoformat()})
    assert not ok and "already succeeded" in again

"""GL_TRIAL_BALANCE and GL_BUDGET_VARIANCE on a hand-written ledger, both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, update

from acas_batch.batch.registry import REGISTRY
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import TrialBalanceOutOfBalance, ValidationError
from acas_batch.jobs import load_standard_jobs
from acas_batch.jobs.gl import account_reconciliation
from acas_batch.models import (
    AccountingPeriod,
    BankStatementLine,
    BatchExecution,
    Budget,
    BudgetVarianceLine,
    ExecutionState,
    Journal,
    JournalLine,
    ReconciliationLine,
    TrialBalanceLine,
)
from tests.books import Books
from tests.integration.test_gl_close_jobs import APR_END, at, books, gl
from tests.support.context import run_job
from tests.support.write_lock import lock_seen_during

__all__ = ["books"]  # a fixture shared with the close tests

MAY_END = date(2026, 5, 31)


def trade(b: Books) -> None:
    """April: rent 120.00, sales 500.00 and 100.00 (+VAT 20.00 on credit). May: rent 130.00, sales 450.00."""
    gl(b, date(2026, 4, 10), "RENT4", ("6100", 12_000), ("1200", -12_000))
    gl(b, date(2026, 4, 15), "CASH4", ("1200", 50_000), ("4000", -50_000))
    b.invoice(b.customer(), 10_000, on=date(2026, 4, 20))
    gl(b, date(2026, 5, 10), "RENT5", ("6100", 13_000), ("1200", -13_000))
    gl(b, date(2026, 5, 15), "CASH5", ("1200", 45_000), ("4000", -45_000))
    b.session.commit()


def forced_rerun(engine: Engine, execution_id: int) -> None:
    """What forcing a rerun does to the earlier success of the run key: it is superseded."""
    with transaction(engine, write=True) as s:
        s.execute(update(BatchExecution).where(BatchExecution.id == execution_id).values(superseded_by_id=execution_id))


def post_all(engine: Engine, settings: Settings, day: date) -> None:
    run = run_job(engine, settings, "GL_DAILY_CLOSE", now=at(day), business_date=day)
    assert run.state is ExecutionState.SUCCEEDED, run.error


def test_trial_balance_at_the_period_end_with_last_year_and_its_files(
    engine: Engine, settings: Settings, books: Books
) -> None:
    trade(books)
    post_all(engine, settings, MAY_END)

    run = run_job(engine, settings, "GL_TRIAL_BALANCE", now=at(APR_END), business_date=APR_END,
                  params={"compare_last_year": True})  # fmt: skip

    # Then April's balances only (May is after the date), debit or credit, equal totals
    assert run.state is ExecutionState.SUCCEEDED, run.error
    s = books.session
    s.rollback()
    rows = s.execute(
        select(TrialBalanceLine.code, TrialBalanceLine.debit_pence, TrialBalanceLine.credit_pence,
               TrialBalanceLine.last_year_pence).order_by(TrialBalanceLine.code)
    ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        ("1100", 12_000, 0, 0),
        ("1200", 38_000, 0, 0),
        ("2200", 0, 2_000, 0),
        ("4000", 0, 60_000, 0),
        ("6100", 12_000, 0, 0),
    ]
    assert run.result is not None and run.result.totals == {"debit_pence": 62_000, "credit_pence": 62_000}
    out = run.context.folder
    assert (out / "trial_balance_2026-04-30.pdf").read_bytes().startswith(b"%PDF")
    assert "1200,Bank current account,38000,0,0" in (out / "trial_balance_2026-04-30.csv").read_text()

    # A forced rerun for the same run key replaces the snapshot; an as-of date is its own key
    forced_rerun(engine, run.execution_id)
    again = run_job(engine, settings, "GL_TRIAL_BALANCE", now=at(APR_END), business_date=APR_END,
                    params={"compare_last_year": True, "output_format": "csv"})  # fmt: skip
    dated = run_job(engine, settings, "GL_TRIAL_BALANCE", now=at(MAY_END), business_date=MAY_END,
                    params={"as_of": "2026-05-31", "output_format": "csv"})  # fmt: skip
    s.rollback()
    owners = s.execute(select(TrialBalanceLine.execution_id, TrialBalanceLine.run_key).distinct()).all()
    assert sorted(owners) == [(again.execution_id, "month:2026-04"), (dated.execution_id, "date:2026-05-31")]
    may_bank = s.scalar(
        select(TrialBalanceLine.debit_pence).where(
            TrialBalanceLine.execution_id == dated.execution_id, TrialBalanceLine.code == "1200"
        )
    )
    assert may_bank == 38_000 - 13_000 + 45_000


def test_trial_balance_fails_loudly_when_debits_and_credits_differ(
    engine: Engine, settings: Settings, books: Books
) -> None:
    trade(books)
    post_all(engine, settings, APR_END)
    # Given a posted journal corrupted behind the ledger's back
    s = books.session
    jid = s.scalar(select(Journal.id).where(Journal.reference == "RENT4"))
    s.execute(insert(JournalLine).values(journal_id=jid, line_no=9, account_id=books.acc("6100"), debit_pence=7))
    s.commit()

    run = run_job(engine, settings, "GL_TRIAL_BALANCE", now=at(APR_END), business_date=APR_END)

    assert run.state is ExecutionState.FAILED
    assert isinstance(run.error, TrialBalanceOutOfBalance)
    assert "debits 62007 pence, credits 62000 pence (difference 7)" in str(run.error)
    s.rollback()
    assert books.count(TrialBalanceLine) == 0


def test_budget_variance_by_account_type_for_the_period_and_year_to_date(
    engine: Engine, settings: Settings, books: Books
) -> None:
    trade(books)
    s = books.session
    apr, may = s.scalars(select(AccountingPeriod.id).order_by(AccountingPeriod.start_date).limit(2)).all()
    # Budgets (debit-positive): sales 550.00 a month, rent 100.00 a month
    s.execute(
        insert(Budget),
        [
            {"account_id": books.acc(code), "period_id": p, "amount_pence": amount}
            for p in (apr, may)
            for code, amount in (("4000", -55_000), ("6100", 10_000))
        ],
    )
    s.commit()
    post_all(engine, settings, MAY_END)

    run = run_job(engine, settings, "GL_BUDGET_VARIANCE", now=at(MAY_END), business_date=MAY_END)

    assert run.state is ExecutionState.SUCCEEDED, run.error
    s.rollback()
    got = {
        code: (b, a, v, pct, yb, ya, yv, ypct, f)
        for code, b, a, v, pct, yb, ya, yv, ypct, f in s.execute(
            select(
                BudgetVarianceLine.account_id,
                BudgetVarianceLine.budget_pence, BudgetVarianceLine.actual_pence, BudgetVarianceLine.variance_pence,
                BudgetVarianceLine.variance_pct, BudgetVarianceLine.ytd_budget_pence,
                BudgetVarianceLine.ytd_actual_pence, BudgetVarianceLine.ytd_variance_pence,
                BudgetVarianceLine.ytd_variance_pct, BudgetVarianceLine.flagged,
            )
        )
    }  # fmt: skip
    sales, rent = books.acc("4000"), books.acc("6100")
    # May sales 450.00 against 550.00: income short of budget is adverse (-100.00, -18.18%), flagged
    assert got[sales] == (-55_000, -45_000, -10_000, Decimal("-18.18"), -110_000, -105_000, -5_000,
                          Decimal("-4.55"), True)  # fmt: skip
    # May rent 130.00 against 100.00: expense over budget is adverse (-30.00, -30%); year to date -50.00
    assert got[rent] == (10_000, 13_000, -3_000, Decimal("-30.00"), 20_000, 25_000, -5_000, Decimal("-25.00"), True)
    assert run.result is not None and run.result.counts == {"accounts": 2, "flagged": 2}
    out = run.context.folder
    assert (out / "budget_variance_2026-02.pdf").read_bytes().startswith(b"%PDF")
    assert "4000,Sales - goods,-55000,-45000,-10000,-18.18,no," in (out / "budget_variance_2026-02.csv").read_text()

    # With a wider threshold nothing is flagged; the forced rerun replaced the snapshot of its key
    forced_rerun(engine, run.execution_id)
    wide = run_job(engine, settings, "GL_BUDGET_VARIANCE", now=at(MAY_END), business_date=MAY_END,
                   params={"threshold_pct": 50, "output_format": "csv"})  # fmt: skip
    s.rollback()
    assert set(s.scalars(select(BudgetVarianceLine.execution_id))) == {wide.execution_id}
    assert not any(s.scalars(select(BudgetVarianceLine.flagged)))


def test_bad_parameters_are_refused_naming_the_field() -> None:
    load_standard_jobs()
    cases = {
        "GL_TRIAL_BALANCE": ({"period": "2026-13"}, "period: "),
        "GL_PERIOD_CLOSE": ({"control_tolerance": -1}, "control_tolerance: "),
        "GL_YEAR_END_CLOSE": ({"financial_year": "last"}, "financial_year: "),
        "GL_BUDGET_VARIANCE": ({"output_format": "xls"}, "output_format: "),
        "GL_DAILY_CLOSE": ({"chunk": 5}, "chunk: unknown parameter"),
    }
    for name, (params, message) in cases.items():
        with pytest.raises(ValidationError, match=message):
            REGISTRY.get(name).validate_params(params)
    ok = REGISTRY.get("GL_TRIAL_BALANCE").validate_params({"period": "2026/3"})
    assert ok.model_dump()["period"] == "2026-03"


def test_bank_reconciliation_matches_once_and_proves_the_statement_balance(
    engine: Engine, settings: Settings, books: Books
) -> None:
    # Given a cash book (takings 500.00, rent 120.00, a cheque 30.00 not yet presented) ...
    gl(books, date(2026, 4, 15), "CASH4", ("1200", 50_000), ("4000", -50_000))
    gl(books, date(2026, 4, 10), "RENT4", ("6100", 12_000), ("1200", -12_000))
    gl(books, date(2026, 4, 28), "CHQ100", ("6400", 3_000), ("1200", -3_000))
    s = books.session
    s.commit()
    post_all(engine, settings, APR_END)
    # ... and a statement: takings by reference, rent 2 days later, bank charges, a stray debit 15 days out
    statement = [
        (date(2026, 4, 16), 50_000, "CASH4"),
        (date(2026, 4, 12), -12_000, "SO RENT"),
        (date(2026, 4, 30), -1_500, "BANK CHARGES"),
        (date(2026, 4, 25), -12_000, "X"),
    ]
    s.execute(
        insert(BankStatementLine),
        [{"bank_account_id": 1, "statement_date": d, "amount_pence": a, "reference": r} for d, a, r in statement],
    )
    s.commit()

    run = run_job(engine, settings, "GL_ACCOUNT_RECONCILIATION", now=at(APR_END), business_date=APR_END)

    assert run.state is ExecutionState.SUCCEEDED, (run.error, run.context.warning)
    s.rollback()
    got = s.execute(
        select(ReconciliationLine.section, ReconciliationLine.reference, ReconciliationLine.rule,
               ReconciliationLine.amount_pence).where(ReconciliationLine.section != "control")
        .order_by(ReconciliationLine.section, ReconciliationLine.reference)
    ).all()  # fmt: skip
    assert [tuple(r) for r in got] == [
        ("bank_proof", "", None, 24_500),
        ("cashbook_unmatched", "CHQ100", None, -3_000),
        ("matched", "CASH4", "reference", 50_000),
        ("matched", "SO RENT", "date_window", -12_000),
        ("statement_unmatched", "BANK CHARGES", None, -1_500),
        ("statement_unmatched", "X", None, -12_000),
    ]
    proof = s.execute(
        select(ReconciliationLine.control_pence, ReconciliationLine.subledger_pence,
               ReconciliationLine.difference_pence).where(ReconciliationLine.section == "bank_proof")
    ).one()  # fmt: skip
    # statement 245.00 = cash book 350.00 + unpresented 30.00 - charges 15.00 - stray 120.00
    assert tuple(proof) == (35_000, 24_500, 0)
    assert {
        r.name: r.difference_pence
        for r in s.scalars(select(ReconciliationLine).where(ReconciliationLine.section == "control"))
    } == {"debtors": 0, "creditors": 0, "stock": 0, "grni": 0, "vat": 0}
    assert s.scalar(select(func.count()).where(BankStatementLine.matched_line_id.is_not(None))) == 2
    out = run.context.folder
    assert (out / "reconciliation_2026-04-30.pdf").read_bytes().startswith(b"%PDF")

    # A pair stored with unequal amounts breaks the proof: the run ends in warning, naming the difference
    cheque_line = s.scalar(
        select(JournalLine.id).join(Journal, Journal.id == JournalLine.journal_id)
        .where(Journal.reference == "CHQ100", JournalLine.account_id == books.acc("1200"))
    )  # fmt: skip
    s.execute(
        insert(BankStatementLine).values(
            bank_account_id=1, statement_date=APR_END, amount_pence=100, reference="?", matched_line_id=cheque_line
        )
    )
    s.commit()
    forced_rerun(engine, run.execution_id)
    again = run_job(engine, settings, "GL_ACCOUNT_RECONCILIATION", now=at(APR_END), business_date=APR_END)
    assert again.state is ExecutionState.WARNING
    assert again.context.warning == "bank BANK1 does not reconcile: difference 3100 pence"
    assert again.result is not None and "matched" not in again.result.counts  # nothing matched twice


def _cash_received_and_on_the_statement(engine: Engine, settings: Settings, books: Books) -> None:
    """£500 received on 15 April, posted; the bank's statement shows it the next day."""
    gl(books, date(2026, 4, 15), "CASH4", ("1200", 50_000), ("4000", -50_000))
    books.session.commit()
    post_all(engine, settings, APR_END)
    books.session.execute(
        insert(BankStatementLine).values(
            bank_account_id=1, statement_date=date(2026, 4, 16), amount_pence=50_000, reference="CASH4"
        )
    )
    books.session.commit()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_on_sqlite_the_reconciliation_matches_before_it_takes_the_write_lock(
    engine: Engine, settings: Settings, books: Books, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cash_received_and_on_the_statement(engine, settings, books)
    seen = lock_seen_during(monkeypatch, account_reconciliation, "match", db_url)  # as it reads and matches
    files = [
        lock_seen_during(monkeypatch, account_reconciliation, name, db_url) for name in ("write_csv", "write_table_pdf")
    ]
    run = run_job(engine, settings, "GL_ACCOUNT_RECONCILIATION", now=at(APR_END), business_date=APR_END)
    assert run.state is ExecutionState.SUCCEEDED, (run.error, run.context.warning)
    assert seen == [True]
    assert files == [[True], [True]]  # nor as it writes its CSV and its PDF
    assert run.result is not None and run.result.summary.startswith("1 bank line(s) matched")


def test_a_reconciliation_that_failed_writing_its_files_resumes_with_what_it_matched(
    engine: Engine, settings: Settings, books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cash_received_and_on_the_statement(engine, settings, books)
    real_pdf = account_reconciliation.write_table_pdf

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    # Given a run that matched and then failed writing its PDF
    monkeypatch.setattr(account_reconciliation, "write_table_pdf", disk_full)
    failed = run_job(engine, settings, "GL_ACCOUNT_RECONCILIATION", now=at(APR_END), business_date=APR_END)
    assert failed.state is ExecutionState.FAILED and isinstance(failed.error, OSError)
    # When its retry resumes from the last checkpoint
    monkeypatch.setattr(account_reconciliation, "write_table_pdf", real_pdf)
    retry = run_job(engine, settings, "GL_ACCOUNT_RECONCILIATION", now=at(APR_END), business_date=APR_END,
                    checkpoint=failed.context.last_checkpoint)  # fmt: skip
    # Then its report holds the pair the failed attempt matched, matched once
    assert retry.state is ExecutionState.SUCCEEDED, (retry.error, retry.context.warning)
    assert retry.result is not None and retry.result.summary.startswith("1 bank line(s) matched")
    assert retry.result.counts["matched"] == 1
    csv = next(f for f in retry.result.files if f.endswith(".csv"))
    matched = [line for line in Path(csv).read_text().splitlines() if line.startswith("matched,")]
    assert len(matched) == 1 and ",CASH4," in matched[0] and ",50000," in matched[0]
    assert len(retry.result.files) == 2

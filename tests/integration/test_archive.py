"""Archiving closed years: lines move to the archive, every balance stays, open or unbacked-up years are refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from acas_batch.config import load_settings
from acas_batch.db import transaction
from acas_batch.errors import ArchiveRefused
from acas_batch.ledger import balances
from acas_batch.ledger.sl import post_receipt
from acas_batch.models import (
    AccountingPeriod,
    ArchivedJournalLine,
    ArchivedStatementLine,
    ArchiveRun,
    BankAccount,
    BankStatementLine,
    ExecutionState,
    Journal,
    JournalLine,
    PeriodStatus,
)
from acas_batch.system.backup_register import take_backup
from tests.books import Books
from tests.support.context import run_job

# Journals carry their creation instant from the wall clock: the run must come after it.
NOW = datetime(2030, 6, 30, 2, 0, tzinfo=UTC)


def _books_with_a_locked_year(engine: Engine) -> None:
    """FY2026 (Apr 2026 - Mar 2027): eight invoices and a receipt matched on the bank statement,
    then locked; FY2027: one invoice, still open."""
    with transaction(engine, write=True) as s:
        books = Books.open(s)
        customer = books.customer()
        for month in range(8):
            books.invoice(customer, 10_000 + month, on=date(2026, 4 + month, 10))
        books.invoice(customer, 5_000, on=date(2027, 5, 10))
        receipt = post_receipt(s, customer_id=customer, amount_pence=12_000, receipt_date=date(2026, 9, 1))
        bank_account = s.get_one(BankAccount, 1)
        bank_line = s.scalars(
            select(JournalLine.id)
            .join(Journal, Journal.id == JournalLine.journal_id)
            .where(JournalLine.account_id == bank_account.account_id, Journal.journal_date == date(2026, 9, 1))
        ).one()
        s.add(
            BankStatementLine(
                bank_account_id=1,
                statement_date=date(2026, 9, 2),
                amount_pence=12_000,
                reference="RCT",
                matched_line_id=bank_line,
                matched_on=date(2026, 9, 3),
            )
        )
        s.execute(
            update(AccountingPeriod)
            .where(AccountingPeriod.financial_year == 2026)
            .values(status=PeriodStatus.LOCKED, closed_at=datetime(2027, 5, 1, tzinfo=UTC))
        )
        assert receipt


def _balances(s: Session, as_of: date | None = None) -> dict[str, int]:
    """Debit-positive balance per account code (gross debits and credits are netted by archiving)."""
    return {r.code: r.balance_pence for r in balances.trial_balance(s, as_of=as_of) if r.balance_pence}


def _lines_of_year(engine: Engine, fy: int) -> int:
    with transaction(engine) as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(JournalLine)
                .join(Journal, Journal.id == JournalLine.journal_id)
                .join(AccountingPeriod, AccountingPeriod.id == Journal.period_id)
                .where(AccountingPeriod.financial_year == fy)
            )
            or 0
        )


def test_archiving_a_locked_year_keeps_every_balance(engine: Engine, db_url: str, tmp_path: Path) -> None:
    # Given a locked year, an open one, and a verified backup taken after both
    _books_with_a_locked_year(engine)
    with transaction(engine) as s:
        tb_before = _balances(s)
        year_end_before = _balances(s, as_of=date(2027, 3, 31))
        recon_before = [(r.name, r.difference_pence) for r in balances.reconcile(s)]
    lines_2026 = _lines_of_year(engine, 2026)
    take_backup(engine, tmp_path / "backups", NOW - timedelta(days=1))
    settings = load_settings(environ={}, database_url=db_url, data_dir=tmp_path)

    # When the archive job runs with a retention of one year, two journals per chunk
    run = run_job(engine, settings, "SYS_ARCHIVE_DATA", now=NOW, params={"retention_years": 1, "chunk_size": 2})

    # Then FY2026's lines are in the archive, replaced by one brought-forward journal
    assert run.error is None, run.error
    assert run.state is ExecutionState.WARNING  # FY2027 is past retention but still open
    assert run.context.warning is not None and "2027" in run.context.warning
    assert run.result is not None and run.result.counts["journal_lines"] == lines_2026
    assert run.result.counts["chunks"] == run.context.checkpoints >= 5
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(ArchivedJournalLine)) == lines_2026
        assert s.scalar(select(func.count()).select_from(ArchivedStatementLine)) == 1
        assert s.scalar(select(func.count()).select_from(BankStatementLine)) == 0
        archive = s.scalars(select(ArchiveRun)).one()
        assert archive.status == "complete" and archive.financial_year == 2026 and archive.backup_id is not None
        bf = s.get_one(Journal, archive.brought_forward_journal_id)
        assert bf.reference == "BFWD2026" and bf.journal_date == date(2027, 3, 31)
        # And every balance is what it was, at today and at the year end
        assert _balances(s) == tb_before
        assert _balances(s, as_of=date(2027, 3, 31)) == year_end_before
        assert [(r.name, r.difference_pence) for r in balances.reconcile(s)] == recon_before
        assert balances.unbalanced_journals(s) == []
    live = _lines_of_year(engine, 2026)
    with transaction(engine) as s:
        assert live == s.scalar(
            select(func.count()).where(JournalLine.journal_id == archive.brought_forward_journal_id)
        )
    assert _lines_of_year(engine, 2027) > 0

    # And a second run finds nothing more to archive
    again = run_job(
        engine,
        settings,
        "SYS_ARCHIVE_DATA",
        now=NOW + timedelta(days=31),
        params={"retention_years": 1},
        business_date=date(2030, 7, 31),
    )
    assert again.result is not None and again.result.counts["journal_lines"] == 0


def test_a_year_without_a_newer_verified_backup_is_refused(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _books_with_a_locked_year(engine)
    lines_2026 = _lines_of_year(engine, 2026)
    settings = load_settings(environ={}, database_url=db_url, data_dir=tmp_path)

    no_backup = run_job(engine, settings, "SYS_ARCHIVE_DATA", now=NOW, params={"retention_years": 1})
    assert isinstance(no_backup.error, ArchiveRefused) and "no verified backup" in str(no_backup.error)

    take_backup(engine, tmp_path / "b", datetime(2027, 1, 1, tzinfo=UTC))  # before the year was locked
    stale = run_job(
        engine,
        settings,
        "SYS_ARCHIVE_DATA",
        now=NOW + timedelta(days=1),
        params={"retention_years": 1},
        business_date=date(2030, 7, 1),
    )
    assert isinstance(stale.error, ArchiveRefused) and "older than its last change" in str(stale.error)
    assert _lines_of_year(engine, 2026) == lines_2026
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(ArchivedJournalLine)) == 0

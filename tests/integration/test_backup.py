"""Backups: consistent under a concurrent writer, verified, restorable, refused when corrupt."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from acas_batch.config import load_settings
from acas_batch.db import make_engine, transaction
from acas_batch.errors import BackupError, Conflict
from acas_batch.ledger import balances
from acas_batch.models import (
    Account,
    BackupGeneration,
    BatchMetric,
    ControlKind,
    Journal,
    JournalLine,
    SalesInvoice,
    SysBackup,
)
from acas_batch.system.backup import BackupInfo, create_backup, restore_backup, row_counts, verify_backup
from acas_batch.system.backup_register import apply_retention, generation_for, latest_verified, record_backup
from tests.books import Books
from tests.integration.test_cli import acas
from tests.support.context import run_job

NOW = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)  # a Sunday, 01:00: the default backup time
LEDGER = "test_ledger_line"


class PairWriter(threading.Thread):
    """Inserts balancing pairs (+n, -n) in one transaction each until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(url)
        self.stop = threading.Event()
        self.commits = 0
        self.started_enough = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            with transaction(self.engine, write=True) as s:
                for value in (n, -n):
                    s.add(BatchMetric(name=LEDGER, recorded_at=NOW, value=float(value), unit="pence"))
            self.commits += 1
            if self.commits >= 25:
                self.started_enough.set()
        self.engine.dispose()


def _ledger(engine: Engine) -> tuple[int, float]:
    with transaction(engine) as s:
        count, total = s.execute(
            select(func.count(), func.coalesce(func.sum(BatchMetric.value), 0.0)).where(BatchMetric.name == LEDGER)
        ).one()
    return int(count), float(total)


def test_backup_while_a_writer_runs_restores_a_consistent_copy(
    db_url: str, engine: Engine, empty_db_url: str, tmp_path: Path
) -> None:
    # Given a writer committing balanced pairs of rows
    writer = PairWriter(db_url)
    writer.start()
    assert writer.started_enough.wait(30)
    # When the backup job runs while it writes
    settings = load_settings(environ={}, database_url=db_url, data_dir=tmp_path)
    run = run_job(engine, settings, "SYS_DATABASE_BACKUP", now=NOW)
    commits_at_backup_end = writer.commits
    while writer.commits < commits_at_backup_end + 10:
        writer.stop.wait(0.01)
    writer.stop.set()
    writer.join(30)
    assert run.error is None and run.result is not None, run.error

    # Then the backup holds whole transactions only, and the writer went on after it
    counts: dict[str, int] = run.result.data["row_counts"]
    in_backup = counts["batch_metrics_rec"]
    assert in_backup % 2 == 0 and in_backup >= 50
    assert _ledger(engine)[0] > in_backup
    path = Path(run.result.files[0])
    assert Path(str(path) + ".sha256").read_text().startswith(run.result.data["sha256"])

    # And it was verified by a test restore and registered
    with transaction(engine) as s:
        backup = s.scalars(select(SysBackup)).one()
        assert backup.verified_at is not None and backup.row_counts == counts

    # And a restore into an empty database gives identical counts and balances
    report = restore_backup(path, empty_db_url)
    assert report.row_counts == counts and not report.replaced
    target = make_engine(empty_db_url)
    assert row_counts(target) == counts
    assert _ledger(target) == (in_backup, 0.0)
    target.dispose()


def test_create_and_verify_directly_under_a_writer(db_url: str, engine: Engine, tmp_path: Path) -> None:
    writer = PairWriter(db_url)
    writer.start()
    assert writer.started_enough.wait(30)
    try:
        info = create_backup(engine, tmp_path / "backups", NOW)
        assert info.row_counts["batch_metrics_rec"] % 2 == 0
        assert verify_backup(info, engine, tmp_path) == info.row_counts
    finally:
        writer.stop.set()
        writer.join(30)


def test_restore_refuses_a_database_with_data_unless_forced(engine: Engine, db_url: str, tmp_path: Path) -> None:
    info = create_backup(engine, tmp_path, NOW)  # an empty, migrated database
    with transaction(engine, write=True) as s:
        s.add(BatchMetric(name=LEDGER, recorded_at=NOW, value=5.0))
    with pytest.raises(Conflict, match=r"is not empty .* use --force"):
        restore_backup(info.path, db_url)
    assert _ledger(engine) == (1, 5.0)  # nothing changed

    engine.dispose()
    report = restore_backup(info.path, db_url, force=True)
    assert report.replaced
    fresh = make_engine(db_url)
    assert _ledger(fresh) == (0, 0.0)
    assert row_counts(fresh) == info.row_counts
    fresh.dispose()


def test_a_corrupt_backup_is_refused_in_one_line_and_changes_nothing(
    engine: Engine, db_url: str, empty_db_url: str, tmp_path: Path
) -> None:
    with transaction(engine, write=True) as s:
        s.add(BatchMetric(name=LEDGER, recorded_at=NOW, value=7.0))
    info = create_backup(engine, tmp_path, NOW)
    data = bytearray(info.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    info.path.write_bytes(bytes(data))
    before = row_counts(engine)

    result = acas(
        "db",
        "restore",
        str(info.path),
        "--database-url",
        db_url,
        "--force",
        "--reason",
        "bring back last night's books",
    )
    assert result.returncode == 74
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: backup file") and "is corrupt" in result.stderr
    assert row_counts(engine) == before

    with pytest.raises(BackupError, match="is corrupt"):
        restore_backup(info.path, empty_db_url)


def test_a_backup_cannot_be_restored_into_the_other_kind_of_database(engine: Engine, tmp_path: Path) -> None:
    info = create_backup(engine, tmp_path, NOW)
    other = (
        "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        if engine.dialect.name == "sqlite"
        else f"sqlite:///{tmp_path / 'x.db'}"
    )
    with pytest.raises(BackupError, match="cannot be restored into"):
        restore_backup(info.path, other)


def test_db_backup_and_restore_from_the_command_line(db_url: str, empty_db_url: str, tmp_path: Path) -> None:
    assert acas("init", "--database-url", db_url).returncode == 0
    made = acas("db", "backup", "--database-url", db_url, "--dest-dir", str(tmp_path), "--json")
    assert made.returncode == 0, made.stderr
    data = json.loads(made.stdout)
    # The first backup ever is monthly only at the turn of a month (a 6 December one is weekly)
    generation = "monthly" if datetime.now(UTC).day <= 3 else "weekly"
    assert data["verified"] is True and data["generation"] == generation
    assert data["row_counts"]["batch_job_rec"] == 32

    restored = acas(
        "db", "restore", data["path"], "--database-url", empty_db_url, "--json", "--reason", "a restore test"
    )
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["row_counts"] == data["row_counts"]

    again = acas("db", "restore", data["path"], "--database-url", empty_db_url, "--reason", "a restore test")
    assert again.returncode == 75
    assert "use --force" in again.stderr

    source = make_engine(db_url)
    with transaction(source) as s:
        backup = s.scalars(select(SysBackup)).one()
        assert backup.verified_at is not None and backup.path == data["path"]
    source.dispose()

    listed = acas("db", "backups", "--database-url", db_url, "--json")
    assert [(b["path"], b["generation"], b["verified_at"] is not None) for b in json.loads(listed.stdout)] == [
        (data["path"], generation, True)
    ]


def test_the_backup_job_registers_verifies_and_grades_generations(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = load_settings(environ={}, database_url=db_url, data_dir=tmp_path)
    first = run_job(engine, settings, "SYS_DATABASE_BACKUP", now=NOW)
    assert first.error is None and first.state.value == "succeeded"
    assert first.result is not None and first.result.data["generation"] == "monthly"
    second = run_job(engine, settings, "SYS_DATABASE_BACKUP", now=NOW + timedelta(days=1))  # Monday: a new week
    third = run_job(engine, settings, "SYS_DATABASE_BACKUP", now=NOW + timedelta(days=2))
    assert [r.result.data["generation"] for r in (second, third) if r.result] == ["weekly", "daily"]
    # A first backup in the middle of a month (6 December) is not monthly
    with transaction(engine) as s:
        assert generation_for(s, datetime(2026, 12, 6, 1, tzinfo=UTC)) is BackupGeneration.WEEKLY
        assert generation_for(s, datetime(2026, 12, 1, 1, tzinfo=UTC)) is BackupGeneration.MONTHLY
    with transaction(engine) as s:
        rows = list(s.scalars(select(SysBackup).order_by(SysBackup.id)))
        assert all(r.verified_at is not None and r.execution_id is not None for r in rows)
        assert all(Path(r.path).exists() for r in rows)
        latest = latest_verified(s)
        assert latest is not None and latest.id == rows[-1].id
    assert (tmp_path / "backups").is_dir()


def _fake_backup(tmp_path: Path, when: datetime) -> BackupInfo:
    path = tmp_path / f"b-{when:%Y%m%d}.sqlite.gz"
    path.write_bytes(b"x" * 10)
    Path(str(path) + ".sha256").write_text("0  x\n")
    return BackupInfo(path, "sqlite", 10, "0" * 64, when, when, {})


def test_retention_keeps_n_of_each_generation_and_the_newest(engine: Engine, tmp_path: Path) -> None:
    # Given a verified backup every day for 70 days
    start = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    with transaction(engine, write=True) as s:
        for day in range(70):
            when = start + timedelta(days=day)
            record_backup(s, _fake_backup(tmp_path, when), verified_at=when)
    # When the policy keeps 3 daily, 2 weekly, 2 monthly
    with transaction(engine, write=True) as s:
        result = apply_retention(s, now=start + timedelta(days=70), keep_daily=3, keep_weekly=2, keep_monthly=2)
    # Then 7 remain: the newest of each generation, files of the rest deleted
    with transaction(engine) as s:
        live = list(s.scalars(select(SysBackup).where(SysBackup.deleted_at.is_(None)).order_by(SysBackup.started_at)))
        by_gen = {g: [b.started_at.date().isoformat() for b in live if b.generation is g] for g in BackupGeneration}
    assert by_gen[BackupGeneration.MONTHLY] == ["2026-02-01", "2026-03-01"]
    assert len(by_gen[BackupGeneration.WEEKLY]) == 2 and len(by_gen[BackupGeneration.DAILY]) == 3
    assert by_gen[BackupGeneration.DAILY][-1] == "2026-03-11"  # the newest survives
    assert result.kept == 7 and len(result.deleted) == 63
    assert sorted(p.name for p in tmp_path.glob("*.gz")) == sorted(f"b-{b.started_at:%Y%m%d}.sqlite.gz" for b in live)


class InvoiceWriter(threading.Thread):
    """Posts sales invoices (document, customer balance and journal) one transaction each."""

    def __init__(self, url: str, customer: int, numbers: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(url)
        self.customer, self.numbers = customer, numbers
        self.stop = threading.Event()
        self.enough = threading.Event()
        self.commits = 0

    def run(self) -> None:
        while not self.stop.is_set():
            with transaction(self.engine, write=True) as s:
                Books(s, self.numbers).invoice(self.customer, 1_000 + self.commits, on=date(2026, 5, 1))
            self.commits += 1
            if self.commits >= 15:
                self.enough.set()
        self.engine.dispose()


def _books_up_to(s: Session, last_journal: int) -> dict[str, int]:
    """Debit-positive balance per account over the journals with id <= ``last_journal``."""
    rows = s.execute(
        select(Account.code, func.sum(JournalLine.debit_pence - JournalLine.credit_pence))
        .join(JournalLine, JournalLine.account_id == Account.id)
        .where(JournalLine.journal_id <= last_journal)
        .group_by(Account.code)
    )
    return {code: int(total) for code, total in rows if total}


def test_a_backup_during_invoice_postings_restores_books_that_balance_and_reconcile(
    db_url: str, engine: Engine, empty_db_url: str, tmp_path: Path
) -> None:
    # Given a company whose sales ledger is being posted to while the backup runs
    with transaction(engine, write=True) as s:
        books = Books.open(s)
        customer = books.customer()
        numbers = books._n
    writer = InvoiceWriter(db_url, customer, numbers)
    writer.start()
    assert writer.enough.wait(60)
    info = create_backup(engine, tmp_path, NOW)
    after_backup = writer.commits
    while writer.commits < after_backup + 5:
        writer.stop.wait(0.01)
    writer.stop.set()
    writer.join(60)

    # When it is restored into an empty database
    restore_backup(info.path, empty_db_url)
    target = make_engine(empty_db_url)
    with transaction(target) as restored, transaction(engine) as source:
        last = int(restored.scalar(select(func.max(Journal.id))) or 0)
        # Then it holds a prefix of the postings: every invoice with its journal, none half-written
        assert (
            15
            <= restored.scalar(select(func.count()).select_from(SalesInvoice))
            < source.scalar(select(func.count()).select_from(SalesInvoice))
        )
        assert balances.unbalanced_journals(restored) == []
        # And its books are the source's books as of that journal, and still reconcile
        assert _books_up_to(restored, last) == _books_up_to(source, last)
        assert {r.name: r.difference_pence for r in balances.reconcile(restored)} == {
            r.name: 0 for r in balances.reconcile(restored)
        }
        assert balances.customer_balances_total(restored) == balances.control_balance(restored, ControlKind.DEBTORS)
    target.dispose()

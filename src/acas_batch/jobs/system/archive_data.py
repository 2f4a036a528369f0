"""SYS_ARCHIVE_DATA: closed financial years archived, journal lines out to archive tables, balances kept.

A year is archived only when all its periods are LOCKED (the year-end close ran), it
ended more than ``retention_years`` before the business date, and a verified backup was
taken after the year's last change (once archived, the backup is the only copy of the
lines as they were).

Journal lines (and the bank statement lines matched to them) move to
``gl_journal_line_archive_rec`` / ``bank_statement_line_archive_rec`` in chunks of whole
journals, one transaction per chunk. In the same transaction the chunk's net movement per
account is added to the year's brought-forward journal (``BFWD<year>``, posted, dated the
year's last day), so after every chunk each account's balance is what it was: the trial
balance at any date from the year end on never changes. Journal headers stay (subledger
documents point at them), and so do the period balances (``gl_balance_rec``). Stock
movements are not archived: FIFO layers may still consume old receipts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import rowcount
from acas_batch.errors import ArchiveRefused
from acas_batch.models import (
    AccountingPeriod,
    ArchivedJournalLine,
    ArchivedStatementLine,
    ArchiveRun,
    BankStatementLine,
    Journal,
    JournalLine,
    JournalSource,
    JournalStatus,
    Module,
    PeriodStatus,
    SysBackup,
    UTCDateTime,
)
from acas_batch.system.backup_register import latest_verified


@dataclass(frozen=True)
class YearState:
    """A financial year as the archiver sees it."""

    financial_year: int
    start: date
    end: date
    locked: bool
    archived: bool


def year_states(session: Session) -> list[YearState]:
    """Every financial year: its dates, whether all its periods are locked, whether archived."""
    locked = func.sum(case((AccountingPeriod.status == PeriodStatus.LOCKED, 1), else_=0))
    rows = session.execute(
        select(
            AccountingPeriod.financial_year,
            func.min(AccountingPeriod.start_date),
            func.max(AccountingPeriod.end_date),
            func.count(),
            locked,
        )
        .group_by(AccountingPeriod.financial_year)
        .order_by(AccountingPeriod.financial_year)
    )
    done = set(session.scalars(select(ArchiveRun.financial_year).where(ArchiveRun.status == "complete")))
    return [YearState(int(fy), s, e, int(n_locked or 0) == int(n), int(fy) in done) for fy, s, e, n, n_locked in rows]


def last_change(session: Session, year: YearState) -> datetime | None:
    """When the year's data last changed: its newest journal, or the locking of its periods."""
    journals = session.scalar(
        select(func.max(Journal.created_at)).where(Journal.journal_date.between(year.start, year.end))
    )
    closed = session.scalar(
        select(func.max(AccountingPeriod.closed_at)).where(AccountingPeriod.financial_year == year.financial_year)
    )
    instants = [t for t in (journals, closed) if t is not None]
    return max(instants) if instants else None


def backup_covering(session: Session, year: YearState) -> SysBackup:
    """The newest verified backup, if it was taken after the year's last change.

    Raises:
        ArchiveRefused: there is none, or it is older than the data.
    """
    backup = latest_verified(session)
    changed = last_change(session, year)
    if backup is None:
        raise ArchiveRefused(f"financial year {year.financial_year} is not archived: no verified backup exists")
    if changed is not None and backup.started_at <= changed:
        raise ArchiveRefused(
            f"financial year {year.financial_year} is not archived: the latest verified backup "
            f"({backup.started_at.isoformat()}) is older than its last change ({changed.isoformat()})"
        )
    return backup


@dataclass
class ChunkProgress:
    """Running totals of one year's archiving, handed to ``on_chunk`` after each chunk."""

    financial_year: int
    journal_lines: int = 0
    statement_lines: int = 0
    chunks: int = 0
    last_journal_id: int = 0


def archive_year(
    session: Session,
    year: YearState,
    *,
    now: datetime,
    backup: SysBackup,
    chunk_size: int = 500,
    execution_id: int | None = None,
    on_chunk: Callable[[ChunkProgress], None] | None = None,
) -> ArchiveRun:
    """Move the year's journal lines to the archive, ``chunk_size`` journals per transaction.

    ``on_chunk`` must commit (the job's checkpoint); without it the caller commits once.
    Resumes a run an earlier attempt left unfinished.
    """
    run = session.scalar(select(ArchiveRun).where(ArchiveRun.financial_year == year.financial_year))
    if run is None:
        run = ArchiveRun(
            financial_year=year.financial_year,
            status="running",
            started_at=now,
            execution_id=execution_id,
            journal_lines=0,
            statement_lines=0,
            debit_pence=0,
        )
        session.add(run)
    run.backup_id, run.execution_id = backup.id, execution_id
    session.flush()
    progress = ChunkProgress(year.financial_year, run.journal_lines, run.statement_lines)
    while True:
        ids = list(
            session.scalars(
                select(Journal.id)
                .where(
                    Journal.journal_date.between(year.start, year.end),
                    Journal.id != (run.brought_forward_journal_id or 0),
                    Journal.id.in_(select(JournalLine.journal_id)),
                )
                .order_by(Journal.id)
                .limit(chunk_size)
            )
        )
        if not ids:
            break
        _move_chunk(session, run, year, ids=ids, now=now, progress=progress)
        progress.chunks += 1
        progress.last_journal_id = ids[-1]
        if on_chunk is not None:
            on_chunk(progress)
    run.status, run.finished_at = "complete", now
    session.flush()
    return run


def _move_chunk(
    session: Session, run: ArchiveRun, year: YearState, *, ids: list[int], now: datetime, progress: ChunkProgress
) -> None:
    fy = literal(year.financial_year)
    stamp = literal(now, UTCDateTime())
    line_ids = select(JournalLine.id).where(JournalLine.journal_id.in_(ids))
    statements = session.execute(
        insert(ArchivedStatementLine).from_select(
            ["id", "bank_account_id", "statement_date", "amount_pence", "reference", "description",
             "matched_line_id", "matched_on", "financial_year", "archived_at"],
            select(
                BankStatementLine.id, BankStatementLine.bank_account_id, BankStatementLine.statement_date,
                BankStatementLine.amount_pence, BankStatementLine.reference, BankStatementLine.description,
                BankStatementLine.matched_line_id, BankStatementLine.matched_on, fy, stamp,
            ).where(BankStatementLine.matched_line_id.in_(line_ids)),
        )
    )  # fmt: skip
    session.execute(delete(BankStatementLine).where(BankStatementLine.matched_line_id.in_(line_ids)))
    session.execute(
        insert(ArchivedJournalLine).from_select(
            ["id", "journal_id", "line_no", "account_id", "debit_pence", "credit_pence", "vat_code_id",
             "description", "journal_date", "financial_year", "archived_at"],
            select(
                JournalLine.id, JournalLine.journal_id, JournalLine.line_no, JournalLine.account_id,
                JournalLine.debit_pence, JournalLine.credit_pence, JournalLine.vat_code_id, JournalLine.description,
                Journal.journal_date, fy, stamp,
            )
            .join(Journal, Journal.id == JournalLine.journal_id)
            .where(JournalLine.journal_id.in_(ids)),
        )
    )  # fmt: skip
    moved = session.execute(
        select(
            JournalLine.account_id,
            func.sum(JournalLine.debit_pence),
            func.sum(JournalLine.credit_pence),
            func.count(),
        )
        .where(JournalLine.journal_id.in_(ids))
        .group_by(JournalLine.account_id)
    ).all()
    session.execute(delete(JournalLine).where(JournalLine.journal_id.in_(ids)))
    net = {int(account): int(dr) - int(cr) for account, dr, cr, _ in moved}
    _carry_forward(session, run, year, net, now)
    run.journal_lines += sum(int(n) for *_, n in moved)
    run.statement_lines += rowcount(statements)
    run.debit_pence += sum(int(dr) for _, dr, _, _ in moved)
    progress.journal_lines, progress.statement_lines = run.journal_lines, run.statement_lines
    session.flush()


def _carry_forward(session: Session, run: ArchiveRun, year: YearState, net: dict[int, int], now: datetime) -> None:
    """Add ``net`` (debit-positive, per account) to the year's brought-forward journal."""
    journal = session.get(Journal, run.brought_forward_journal_id) if run.brought_forward_journal_id else None
    if journal is not None:
        for line in session.scalars(select(JournalLine).where(JournalLine.journal_id == journal.id)):
            net[line.account_id] = net.get(line.account_id, 0) + line.debit_pence - line.credit_pence
        session.execute(delete(JournalLine).where(JournalLine.journal_id == journal.id))
    net = {a: v for a, v in net.items() if v}
    total = sum(v for v in net.values() if v > 0)
    if not net:
        if journal is not None:
            session.delete(journal)
            run.brought_forward_journal_id = None
        session.flush()
        return
    if journal is None:
        period_id = session.scalars(
            select(AccountingPeriod.id)
            .where(AccountingPeriod.financial_year == year.financial_year)
            .order_by(AccountingPeriod.end_date.desc())
            .limit(1)
        ).one()
        journal = Journal(
            journal_date=year.end,
            period_id=period_id,
            source=JournalSource.GL,
            reference=f"BFWD{year.financial_year}",
            description=f"Brought forward: archived lines of financial year {year.financial_year}",
            status=JournalStatus.POSTED,
            posted_on=year.end,
            total_pence=total,
            created_at=now,
        )
        session.add(journal)
        session.flush()
        run.brought_forward_journal_id = journal.id
    journal.total_pence = total
    session.execute(
        insert(JournalLine),
        [
            {
                "journal_id": journal.id,
                "line_no": n,
                "account_id": account,
                "debit_pence": max(value, 0),
                "credit_pence": max(-value, 0),
                "vat_code_id": None,
                "description": "brought forward (archived)",
            }
            for n, (account, value) in enumerate(sorted(net.items()), start=1)
        ],
    )
    session.flush()


class ArchiveParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retention_years: int = Field(6, ge=1, le=100, description="Archive years that ended this many years ago.")
    chunk_size: int = Field(500, ge=1, le=50_000, description="Journals moved per transaction.")


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@job(
    "SYS_ARCHIVE_DATA",
    module=Module.SYS,
    params=ArchiveParams,
    timeout_seconds=14400,
    max_attempts=2,
    resources=(
        {"name": "database", "mode": "shared"},
        {"name": "ledger:GL", "mode": "exclusive"},
        {"name": "ledger:SL", "mode": "exclusive"},
        {"name": "ledger:PL", "mode": "exclusive"},
        {"name": "ledger:ST", "mode": "exclusive"},
    ),
)
def archive_data(ctx: JobContext[ArchiveParams]) -> JobResult:
    """Moves journal lines of closed years past retention into the archive, balances carried forward."""
    p = ctx.params
    cutoff = _years_before(ctx.business_date, p.retention_years)
    due = [y for y in year_states(ctx.session) if y.end < cutoff and not y.archived]
    still_open = [y.financial_year for y in due if not y.locked]
    ready = [y for y in due if y.locked]
    backups = {y.financial_year: backup_covering(ctx.session, y) for y in ready}  # refuse before moving anything
    totals = {"journal_lines": 0, "statement_lines": 0, "chunks": 0, "debit_pence": 0}
    for year in ready:

        def committed(progress: ChunkProgress, fy: int = year.financial_year) -> None:
            totals["chunks"] += 1
            ctx.progress(progress.journal_lines)
            ctx.checkpoint({"financial_year": fy, "last_journal_id": progress.last_journal_id})

        run = archive_year(
            ctx.session,
            year,
            now=ctx.now,
            backup=backups[year.financial_year],
            chunk_size=p.chunk_size,
            execution_id=ctx.execution_id,
            on_chunk=committed,
        )
        ctx.log.info(
            f"financial year {year.financial_year}: {run.journal_lines} journal lines archived",
            event="archive_year_done",
        )
        totals["journal_lines"] += run.journal_lines
        totals["statement_lines"] += run.statement_lines
        totals["debit_pence"] += run.debit_pence
    if still_open:
        ctx.warn_outcome("not archived, still open (run the year-end close first): " + ", ".join(map(str, still_open)))
    return JobResult(
        summary=f"{len(ready)} year(s) archived ({totals['journal_lines']} journal lines); "
        f"{len(still_open)} open year(s) refused",
        counts={"years": len(ready), "open_years": len(still_open)}
        | {k: v for k, v in totals.items() if k != "debit_pence"},
        totals={"debit_pence": totals["debit_pence"]},
        data={"cutoff": cutoff.isoformat(), "archived": [y.financial_year for y in ready], "open": still_open},
    )

"""Journals: the drafts every ledger builds, their checks, and the one place they are written.

Which journals are pending and which posted: subledger transactions (SL, PL, ST) write
*pending* journals; ``GL_DAILY_CLOSE`` posts them with :func:`post_pending`, which
re-checks them and adds them to the period balances (``gl_balance_rec``). A GL journal
entered with ``post=True`` (closes, reversals, opening balances) is posted at once.
Pending and posted journals alike pass every check when they are written, so the ledger
is double-entry at every instant; :mod:`acas_batch.ledger.balances` counts both by default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from acas_batch.db import insert_rows, reserve_ids
from acas_batch.errors import PeriodClosed, PeriodNotFound, UnbalancedJournal, UnknownAccount
from acas_batch.models import (
    Account,
    AccountingPeriod,
    AccountPeriodBalance,
    ControlKind,
    Journal,
    JournalLine,
    JournalSource,
    JournalStatus,
    PeriodStatus,
)

P = ParamSpec("P")
R = TypeVar("R")


def atomic(fn: Callable[Concatenate[Session, P], R]) -> Callable[Concatenate[Session, P], R]:
    """Run a posting in a savepoint: refused postings leave no row behind, even if the caller goes on."""

    @wraps(fn)
    def wrapper(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with session.begin_nested():
            return fn(session, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class LineDraft:
    """One side of a journal: a debit or a credit to an account, in pence."""

    account_id: int
    debit_pence: int = 0
    credit_pence: int = 0
    vat_code_id: int | None = None
    description: str = ""


def dr(account_id: int, pence: int, description: str = "", vat_code_id: int | None = None) -> LineDraft:
    """A debit line (a negative amount becomes the credit of its absolute value)."""
    if pence < 0:
        return LineDraft(account_id, 0, -pence, vat_code_id, description)
    return LineDraft(account_id, pence, 0, vat_code_id, description)


def cr(account_id: int, pence: int, description: str = "", vat_code_id: int | None = None) -> LineDraft:
    """A credit line (a negative amount becomes the debit of its absolute value)."""
    return dr(account_id, -pence, description, vat_code_id)


@dataclass(frozen=True)
class JournalDraft:
    """A journal not yet written. Zero lines are dropped when it is written."""

    journal_date: date
    source: JournalSource
    reference: str
    lines: tuple[LineDraft, ...]
    description: str = ""
    auto_reverse_on: date | None = None
    reverses_journal_id: int | None = None

    @property
    def debits(self) -> int:
        return sum(line.debit_pence for line in self.lines)

    @property
    def credits(self) -> int:
        return sum(line.credit_pence for line in self.lines)

    def nonzero_lines(self) -> tuple[LineDraft, ...]:
        return tuple(line for line in self.lines if line.debit_pence or line.credit_pence)


def journal_problems(draft: JournalDraft) -> list[str]:
    """Everything wrong with a draft's arithmetic, as messages (empty when it may be written)."""
    problems: list[str] = []
    for n, line in enumerate(draft.lines, start=1):
        if line.debit_pence < 0 or line.credit_pence < 0:
            problems.append(f"line {n} (account {line.account_id}) has a negative amount")
        if line.debit_pence and line.credit_pence:
            problems.append(f"line {n} (account {line.account_id}) is both a debit and a credit")
    if draft.debits != draft.credits:
        problems.append(
            f"journal {draft.reference!r} does not balance: debits {draft.debits} pence,"
            f" credits {draft.credits} pence (difference {draft.debits - draft.credits})"
        )
    if not draft.nonzero_lines():
        problems.append(f"journal {draft.reference!r} has no non-zero line")
    return problems


def period_for(session: Session, day: date) -> AccountingPeriod:
    """The accounting period covering ``day``."""
    period = session.scalars(
        select(AccountingPeriod).where(AccountingPeriod.start_date <= day, AccountingPeriod.end_date >= day)
    ).first()
    if period is None:
        raise PeriodNotFound(f"no accounting period covers {day.isoformat()}")
    return period


def open_period_for(session: Session, day: date) -> AccountingPeriod:
    """The period covering ``day``, refused unless it is open."""
    period = period_for(session, day)
    if period.status != PeriodStatus.OPEN:
        raise PeriodClosed(
            f"period {period.financial_year}/{period.period_no:02d} ({period.start_date} to {period.end_date})"
            f" is {period.status.value}: nothing may be posted on {day.isoformat()}"
        )
    return period


def control_account(session: Session, kind: ControlKind) -> int:
    """The id of the account playing ``kind`` (the first bank account for BANK)."""
    account_id = session.scalars(
        select(Account.id).where(Account.control == kind, Account.active.is_(True)).order_by(Account.id)
    ).first()
    if account_id is None:
        raise UnknownAccount(f"no active {kind.value} control account in the chart of accounts")
    return account_id


def _check_accounts(session: Session, account_ids: Iterable[int]) -> None:
    wanted = set(account_ids)
    found = set(session.scalars(select(Account.id).where(Account.id.in_(wanted), Account.active.is_(True))))
    missing = sorted(wanted - found)
    if missing:
        raise UnknownAccount(f"account id(s) {', '.join(map(str, missing))} do not exist or are inactive")


@atomic
def post_journal(
    session: Session,
    draft: JournalDraft,
    *,
    post: bool = False,
    posted_on: date | None = None,
    into_closed: bool = False,
) -> int:
    """Check and write a journal; pending unless ``post``. Returns its id.

    Refused with a :class:`~acas_batch.errors.LedgerError` (and nothing written) when it
    does not balance, names an unknown or inactive account, or falls in a period that is
    not open. ``into_closed`` (the year-end close only) also accepts a closed, not locked,
    period: the closing journal is dated the year's last day, whose period is closed by then.
    """
    problems = journal_problems(draft)
    if problems:
        raise UnbalancedJournal("; ".join(problems))
    period = period_for(session, draft.journal_date) if into_closed else open_period_for(session, draft.journal_date)
    if period.status == PeriodStatus.LOCKED:
        raise PeriodClosed(f"period {period.financial_year}/{period.period_no:02d} is locked: nothing may be posted")
    lines = draft.nonzero_lines()
    _check_accounts(session, (line.account_id for line in lines))
    status = JournalStatus.POSTED if post else JournalStatus.PENDING
    journal = Journal(
        journal_date=draft.journal_date,
        period_id=period.id,
        source=draft.source,
        reference=draft.reference[:32],
        description=draft.description[:128],
        status=status,
        total_pence=draft.debits,
        posted_on=(posted_on or draft.journal_date) if post else None,
        reverses_journal_id=draft.reverses_journal_id,
        auto_reverse_on=draft.auto_reverse_on,
        created_at=datetime.now(UTC),
    )
    session.add(journal)
    session.flush()
    session.execute(
        insert(JournalLine),
        [
            {
                "journal_id": journal.id,
                "line_no": n,
                "account_id": line.account_id,
                "debit_pence": line.debit_pence,
                "credit_pence": line.credit_pence,
                "vat_code_id": line.vat_code_id,
                "description": line.description[:128],
            }
            for n, line in enumerate(lines, start=1)
        ],
    )
    if post:
        _add_to_balances(session, period.id, lines)
    return journal.id


@atomic
def post_journals(
    session: Session, drafts: Sequence[JournalDraft], *, post: bool = False, posted_on: date | None = None
) -> list[int]:
    """Check a batch of journals, then write them all at once; pending unless ``post``. Returns their ids in order.

    The same rules as :func:`post_journal`, applied to the whole batch before anything is
    written: if any draft does not balance, names an unknown or inactive account, or falls in
    a period that is not open, the batch is refused with every problem named and nothing is
    written. The journals' ids are drawn at once, then one ``COPY`` (PostgreSQL) or one
    prepared ``executemany`` (SQLite) writes the journals and one their lines, so a job
    posting thousands of journals pays a few round trips instead of a few per journal.
    """
    problems = [problem for draft in drafts for problem in journal_problems(draft)]
    if problems:
        raise UnbalancedJournal("; ".join(problems))
    if not drafts:
        return []
    periods = {day: open_period_for(session, day).id for day in sorted({d.journal_date for d in drafts})}
    lines = [draft.nonzero_lines() for draft in drafts]
    _check_accounts(session, (line.account_id for journal in lines for line in journal))
    status = JournalStatus.POSTED if post else JournalStatus.PENDING
    created = datetime.now(UTC)
    # Ids drawn first, then COPY (PostgreSQL) or one prepared executemany (SQLite): no RETURNING.
    ids = reserve_ids(session, Journal, len(drafts))
    insert_rows(
        session,
        Journal,
        [
            {
                "id": journal_id,
                "journal_date": d.journal_date,
                "period_id": periods[d.journal_date],
                "source": d.source,
                "reference": d.reference[:32],
                "description": d.description[:128],
                "status": status,
                "total_pence": d.debits,
                "posted_on": (posted_on or d.journal_date) if post else None,
                "reverses_journal_id": d.reverses_journal_id,
                "auto_reverse_on": d.auto_reverse_on,
                "created_at": created,
            }
            for journal_id, d in zip(ids, drafts, strict=True)
        ],
    )
    insert_rows(
        session,
        JournalLine,
        (
            {
                "journal_id": journal_id,
                "line_no": n,
                "account_id": line.account_id,
                "debit_pence": line.debit_pence,
                "credit_pence": line.credit_pence,
                "vat_code_id": line.vat_code_id,
                "description": line.description[:128],
            }
            for journal_id, journal in zip(ids, lines, strict=True)
            for n, line in enumerate(journal, start=1)
        ),
    )
    if post:
        by_period: dict[int, list[LineDraft]] = {}
        for draft, journal in zip(drafts, lines, strict=True):
            by_period.setdefault(periods[draft.journal_date], []).extend(journal)
        for period_id, period_lines in sorted(by_period.items()):
            _add_to_balances(session, period_id, period_lines)
    return ids


@atomic
def post_pending(session: Session, journal_id: int, *, posted_on: date) -> None:
    """Post a pending journal: re-check its balance and period, add it to the period balances."""
    journal = session.get(Journal, journal_id, with_for_update=True)
    if journal is None or journal.status != JournalStatus.PENDING:
        state = "does not exist" if journal is None else f"is {journal.status.value}"
        raise UnbalancedJournal(f"journal {journal_id} {state}; only pending journals are posted")
    open_period_for(session, journal.journal_date)
    lines = [
        LineDraft(acc, d, c)
        for acc, d, c in session.execute(
            select(JournalLine.account_id, JournalLine.debit_pence, JournalLine.credit_pence).where(
                JournalLine.journal_id == journal_id
            )
        )
    ]
    draft = JournalDraft(journal.journal_date, journal.source, journal.reference, tuple(lines))
    problems = journal_problems(draft)
    if problems:
        raise UnbalancedJournal("; ".join(problems))
    _check_accounts(session, (line.account_id for line in lines))
    journal.status = JournalStatus.POSTED
    journal.posted_on = posted_on
    _add_to_balances(session, journal.period_id, lines)
    session.flush()


@atomic
def reverse_journal(session: Session, journal_id: int, *, on: date, posted_on: date | None = None) -> int:
    """Post the mirror image of a posted journal on ``on`` and mark the original reversed."""
    original = session.get(Journal, journal_id, with_for_update=True)
    if original is None or original.status != JournalStatus.POSTED:
        state = "does not exist" if original is None else f"is {original.status.value}"
        raise UnbalancedJournal(f"journal {journal_id} {state}; only posted journals are reversed")
    rows = session.execute(
        select(JournalLine.account_id, JournalLine.debit_pence, JournalLine.credit_pence, JournalLine.vat_code_id)
        .where(JournalLine.journal_id == journal_id)
        .order_by(JournalLine.line_no)
    ).all()
    draft = JournalDraft(
        journal_date=on,
        source=original.source,
        reference=f"REV {original.reference}"[:32],
        lines=tuple(LineDraft(acc, c, d, vat) for acc, d, c, vat in rows),
        description=f"Reversal of journal {journal_id}",
        reverses_journal_id=journal_id,
    )
    new_id = post_journal(session, draft, post=True, posted_on=posted_on or on)
    original.status = JournalStatus.REVERSED
    session.flush()
    return new_id


def _add_to_balances(session: Session, period_id: int, lines: Sequence[LineDraft]) -> None:
    totals: dict[int, tuple[int, int]] = {}
    for line in lines:
        d, c = totals.get(line.account_id, (0, 0))
        totals[line.account_id] = (d + line.debit_pence, c + line.credit_pence)
    for account_id, (debit, credit) in sorted(totals.items()):
        result = session.execute(
            update(AccountPeriodBalance)
            .where(AccountPeriodBalance.account_id == account_id, AccountPeriodBalance.period_id == period_id)
            .values(
                debit_pence=AccountPeriodBalance.debit_pence + debit,
                credit_pence=AccountPeriodBalance.credit_pence + credit,
            )
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            session.execute(
                insert(AccountPeriodBalance).values(
                    account_id=account_id, period_id=period_id, debit_pence=debit, credit_pence=credit
                )
            )


def pending_count(session: Session, *, up_to: date | None = None) -> int:
    """How many journals wait for the daily close (dated on or before ``up_to``)."""
    query = select(func.count()).select_from(Journal).where(Journal.status == JournalStatus.PENDING)
    if up_to is not None:
        query = query.where(Journal.journal_date <= up_to)
    return int(session.scalar(query) or 0)

"""GL_ACCOUNT_RECONCILIATION: bank statement lines to the cash book, and control accounts to their subledgers.

Bank: only the items not yet matched are read (matched pairs are stored on the statement
line and never matched again), first paired on equal amount and reference, then on equal
amount within ``date_window_days``, closest date first, one to one. The proof

    statement balance = cash-book balance - unmatched cash-book items + unmatched statement items

(unmatched cash-book items are the outstanding lodgements, positive, and the unpresented
payments, negative; unmatched statement items are charges and receipts not yet in the
cash book) holds exactly when every stored pair has equal amounts; a difference is a fault
and ends the run in the warning state.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Table, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import business_date_key, job
from acas_batch.jobs.params import Notify, OutputFormat
from acas_batch.ledger import reconcile
from acas_batch.models import (
    BankAccount,
    BankStatementLine,
    Journal,
    JournalLine,
    JournalStatus,
    Module,
    ReconciliationLine,
)
from acas_batch.reports import write_csv, write_table_pdf


class ReconciliationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank_account: str = Field("ALL", description="A bank account code, or ALL.")
    date_window_days: int = Field(3, ge=0, le=60, description="Second pass: equal amounts this many days apart.")
    tolerance: int = Field(0, ge=0, description="Pence a control account may differ from its subledger.")
    output_format: OutputFormat = OutputFormat.BOTH
    notify: Notify = Field(default_factory=Notify)


@dataclass(frozen=True)
class Item:
    """An unmatched statement or cash-book line (money in positive)."""

    id: int
    day: date
    amount: int
    reference: str


def match(statement: list[Item], cashbook: list[Item], window: int) -> list[tuple[Item, Item, str]]:
    """One-to-one pairs: equal amount and reference first, then equal amount within ``window`` days, closest first."""
    pairs: list[tuple[Item, Item, str]] = []
    free = {c.id: c for c in cashbook}
    by_ref: dict[tuple[int, str], list[Item]] = defaultdict(list)
    for c in sorted(cashbook, key=lambda c: (c.day, c.id)):
        by_ref[(c.amount, c.reference.strip().upper())].append(c)
    rest: list[Item] = []
    for st in sorted(statement, key=lambda x: (x.day, x.id)):
        candidates = by_ref.get((st.amount, st.reference.strip().upper()), [])
        while candidates and candidates[0].id not in free:
            candidates.pop(0)
        if st.reference.strip() and candidates:
            pairs.append((st, free.pop(candidates.pop(0).id), "reference"))
        else:
            rest.append(st)
    by_amount: dict[int, list[Item]] = defaultdict(list)
    for c in free.values():
        by_amount[c.amount].append(c)
    for st in rest:
        near = [c for c in by_amount.get(st.amount, []) if c.id in free and abs((c.day - st.day).days) <= window]
        if near:
            best = min(near, key=lambda c: (abs((c.day - st.day).days), c.day, c.id))
            pairs.append((st, free.pop(best.id), "date_window"))
    return pairs


def _unmatched(session: Session, bank: BankAccount, day: date) -> tuple[list[Item], list[Item]]:
    statement = [
        Item(i, d, a, r)
        for i, d, a, r in session.execute(
            select(BankStatementLine.id, BankStatementLine.statement_date, BankStatementLine.amount_pence,
                   BankStatementLine.reference)
            .where(BankStatementLine.bank_account_id == bank.id, BankStatementLine.statement_date <= day,
                   BankStatementLine.matched_line_id.is_(None))
        )
    ]  # fmt: skip
    taken = exists().where(BankStatementLine.matched_line_id == JournalLine.id)
    cashbook = [
        Item(i, d, int(dr) - int(cr), r)
        for i, d, dr, cr, r in session.execute(
            select(JournalLine.id, Journal.journal_date, JournalLine.debit_pence, JournalLine.credit_pence,
                   Journal.reference)
            .join(Journal, Journal.id == JournalLine.journal_id)
            .where(JournalLine.account_id == bank.account_id, Journal.status != JournalStatus.PENDING,
                   Journal.journal_date <= day, ~taken)
        )
    ]  # fmt: skip
    return statement, cashbook


def _balances(session: Session, bank: BankAccount, day: date) -> tuple[int, int]:
    """Statement balance and cash-book balance (posted) at ``day``."""
    statement = session.scalar(
        select(func.coalesce(func.sum(BankStatementLine.amount_pence), 0)).where(
            BankStatementLine.bank_account_id == bank.id, BankStatementLine.statement_date <= day
        )
    )
    cash = session.scalar(
        select(func.coalesce(func.sum(JournalLine.debit_pence - JournalLine.credit_pence), 0))
        .join(Journal, Journal.id == JournalLine.journal_id)
        .where(JournalLine.account_id == bank.account_id, Journal.status != JournalStatus.PENDING,
               Journal.journal_date <= day)
    )  # fmt: skip
    return int(statement or 0), int(cash or 0)


@job(
    "GL_ACCOUNT_RECONCILIATION",
    module=Module.GL,
    params=ReconciliationParams,
    run_key=business_date_key,
    timeout_seconds=1800,
    resources=tuple({"name": f"ledger:{m}", "mode": "shared"} for m in ("GL", "SL", "PL", "ST")),
)
def account_reconciliation(ctx: JobContext[ReconciliationParams]) -> JobResult:
    """Matches bank statement lines to the cash book and proves the balance; control accounts vs subledgers."""
    key = f"{ctx.job_name}:{ctx.business_date.isoformat()}"
    state = ctx.last_checkpoint or {}
    if not state.get("reconciled"):
        state = _reconcile(ctx, key)
        # Committed before the files: on SQLite the job holds the write lock for its writes only,
        # not while it writes the CSV and the PDF (at a million invoices, 110,000 lines and a PDF
        # of 10,000 took the lock past the workers' leases). A retry writes the files from here.
        ctx.checkpoint(state)
    problems: list[str] = list(state["problems"])
    rows = _stored(ctx.session, key)
    files = _files(ctx, rows)
    for problem in problems:
        ctx.log.warning(problem, event="reconciliation_difference")
    if problems:
        ctx.warn_outcome("; ".join(problems))
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row[0]] += 1  # the section
    return JobResult(
        summary=f"{state['matched']} bank line(s) matched; {len(problems)} difference(s)",
        counts=dict(counts),
        files=files,
    )


def _reconcile(ctx: JobContext[ReconciliationParams], key: str) -> dict[str, Any]:
    """Match, prove and write this run's lines; returns the checkpoint: pairs matched, problems."""
    p, s, day = ctx.params, ctx.session, ctx.business_date
    banks = s.scalars(select(BankAccount).order_by(BankAccount.code)).all()
    if p.bank_account.upper() != "ALL":
        banks = [b for b in banks if b.code.upper() == p.bank_account.upper()]
    rows: list[dict[str, Any]] = []
    base = {"execution_id": ctx.execution_id, "run_key": key}
    problems: list[str] = []
    matches: list[dict[str, int]] = []
    # Everything is read and matched first, then written at once: on SQLite a job holds the
    # database's write lock from its first write to its commit, so other processes wait only
    # for the writes, not for the reading and matching
    for bank in banks:
        statement, cashbook = _unmatched(s, bank, day)
        pairs = match(statement, cashbook, p.date_window_days)
        matches += [{"sid": st.id, "lid": cb.id} for st, cb, _rule in pairs]
        paired_st = {st.id for st, _c, _r in pairs}
        paired_cb = {cb.id for _s, cb, _r in pairs}
        open_st = [x for x in statement if x.id not in paired_st]
        open_cb = [x for x in cashbook if x.id not in paired_cb]
        rows += [
            base | {"section": "matched", "name": bank.code, "statement_line_id": st.id, "journal_line_id": cb.id,
                    "line_date": st.day, "reference": st.reference[:32], "rule": rule, "amount_pence": st.amount}
            for st, cb, rule in pairs
        ] + [
            base | {"section": "statement_unmatched", "name": bank.code, "statement_line_id": x.id,
                    "line_date": x.day, "reference": x.reference[:32], "amount_pence": x.amount}
            for x in open_st
        ] + [
            base | {"section": "cashbook_unmatched", "name": bank.code, "journal_line_id": x.id,
                    "line_date": x.day, "reference": x.reference[:32], "amount_pence": x.amount}
            for x in open_cb
        ]  # fmt: skip
        statement_balance, cash_balance = _balances(s, bank, day)
        explained = cash_balance - sum(x.amount for x in open_cb) + sum(x.amount for x in open_st)
        diff = statement_balance - explained
        rows.append(base | {"section": "bank_proof", "name": bank.code, "line_date": day,
                            "amount_pence": statement_balance, "control_pence": cash_balance,
                            "subledger_pence": explained, "difference_pence": diff})  # fmt: skip
        ctx.log.info(
            f"bank {bank.code}: {len(pairs)} matched, {len(open_st)} statement and {len(open_cb)} cash-book items"
            f" open; statement {statement_balance}, cash book {cash_balance}, difference {diff} pence",
            event="bank_reconciled",
        )
        if diff:
            problems.append(f"bank {bank.code} does not reconcile: difference {diff} pence")
    for rec in reconcile(s):
        figures = {"control_pence": rec.control_pence, "subledger_pence": rec.subledger_pence}
        rows.append(base | {"section": "control", "name": rec.name, "difference_pence": rec.difference_pence} | figures)
        if abs(rec.difference_pence) > p.tolerance:
            problems.append(f"{rec.name} control differs from its subledger by {rec.difference_pence} pence")
    if matches:
        table = BankStatementLine.__table__
        assert isinstance(table, Table)
        # Core executemany: one statement for every pair; a line matched meanwhile is left alone.
        s.connection().execute(
            update(table)
            .where(table.c.id == bindparam("sid"), table.c.matched_line_id.is_(None))
            .values(matched_line_id=bindparam("lid"), matched_on=day),
            matches,
        )
    s.execute(delete(ReconciliationLine).where(ReconciliationLine.run_key == key))
    if rows:
        s.execute(insert(ReconciliationLine), rows)
    return {"reconciled": True, "matched": len(matches), "problems": problems}


#: The lines' columns as the CSV has them, in order.
_HEADER = ("section", "name", "line_date", "reference", "rule", "amount_pence", "control_pence",
           "subledger_pence", "difference_pence", "statement_line_id", "journal_line_id")  # fmt: skip


def _stored(session: Session, key: str) -> list[tuple[Any, ...]]:
    """This run's lines as written, in the order written, their columns those of :data:`_HEADER`."""
    columns = [getattr(ReconciliationLine, h) for h in _HEADER]
    query = select(*columns).where(ReconciliationLine.run_key == key).order_by(ReconciliationLine.id)
    return [tuple(row) for row in session.execute(query)]


def _files(ctx: JobContext[ReconciliationParams], table: list[tuple[Any, ...]]) -> list[str]:
    header = _HEADER
    files: list[str] = []
    stamp = ctx.business_date.isoformat()
    path = ctx.output(f"reconciliation_{stamp}.csv")
    write_csv(path, header, table)
    files.append(str(path))
    if ctx.params.output_format.pdf:
        path = ctx.output(f"reconciliation_{stamp}.pdf")
        shown = [r for r in table if r[0] != "matched"]
        write_table_pdf(
            path,
            title=f"Account reconciliation {ctx.business_date:%d/%m/%Y}",
            subtitle="Unmatched items, bank proof (statement, cash book, explained) and control accounts",
            # The account and the section in one column ("BANK1 statement unmatched"), so that
            # the table fits across the page: the PDF writer draws it (10,000 unmatched lines in
            # seconds, where WeasyPrint took 70 s and 1.6 GB)
            columns=("Item", "Date", "Reference", "Amount", "Control / cash book", "Subledger", "Difference"),
            rows=[(f"{r[1]} {str(r[0]).replace('_', ' ')}", r[2], r[3], r[5], r[6], r[7], r[8]) for r in shown],
            money_columns=(3, 4, 5, 6),
        )
        files.append(str(path))
    return files

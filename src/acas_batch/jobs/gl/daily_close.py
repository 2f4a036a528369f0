"""GL_DAILY_CLOSE: post the pending journals up to the business date, set-based, in chunks; write the day book.

Each chunk of pending journals is checked by three grouped queries (balance, accounts,
period), the sound ones are added to ``gl_balance_rec`` with one grouped upsert and marked
posted with one update; the refused ones stay pending and are listed with their reason.
The chunk's writes commit together with a checkpoint holding the last journal id, so a
crash resumes after the last committed chunk and nothing is posted twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import and_, func, insert, literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.jobs.params import Notify, OutputFormat, Period, WarehouseCode, resolve_period
from acas_batch.models import (
    Account,
    AccountingPeriod,
    AccountPeriodBalance,
    DayBookLine,
    Journal,
    JournalLine,
    JournalStatus,
    Module,
    PeriodStatus,
)
from acas_batch.reports import write_csv


class DailyCloseParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period = Field("CURRENT", description="CURRENT: every pending journal up to the business date; "
                           "PREVIOUS or YYYY-MM: only that period's.")  # fmt: skip
    warehouse: WarehouseCode = Field(
        "ALL", description="The spec's common parameter; the general ledger is not kept per warehouse, so ALL."
    )
    chunk_size: int = Field(2000, ge=1, le=20_000, description="Journals checked and posted per committed chunk.")
    output_format: OutputFormat = OutputFormat.CSV
    notify: Notify = Field(default_factory=Notify)

    @field_validator("warehouse")
    @classmethod
    def _whole_ledger(cls, value: str) -> str:
        if value != "ALL":
            raise ValueError(f"{value!r}: the general ledger is closed for the whole company, so only ALL")
        return value


def journal_refusals(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    """Why each of the journals ``ids`` may not be posted (absent: it may), from three grouped queries."""
    reasons: dict[int, list[str]] = defaultdict(list)
    sums = session.execute(
        select(
            JournalLine.journal_id,
            func.sum(JournalLine.debit_pence),
            func.sum(JournalLine.credit_pence),
            func.count(),
        )
        .where(JournalLine.journal_id.in_(ids))
        .group_by(JournalLine.journal_id)
    )
    seen: set[int] = set()
    for jid, debit, credit, _n in sums:
        seen.add(jid)
        if int(debit) != int(credit):
            reasons[jid].append(f"does not balance: debits {int(debit)} pence, credits {int(credit)} pence")
    for jid in set(ids) - seen:
        reasons[jid].append("has no lines")
    bad_accounts = session.execute(
        select(JournalLine.journal_id, Account.code)
        .join(Account, Account.id == JournalLine.account_id)
        .where(JournalLine.journal_id.in_(ids), Account.active.is_(False))
        .distinct()
        .order_by(JournalLine.journal_id, Account.code)
    )
    for jid, code in bad_accounts:
        reasons[jid].append(f"account {code} is inactive and accepts no postings")
    closed = session.execute(
        select(Journal.id, AccountingPeriod.financial_year, AccountingPeriod.period_no, AccountingPeriod.status)
        .join(AccountingPeriod, AccountingPeriod.id == Journal.period_id)
        .where(Journal.id.in_(ids), AccountingPeriod.status != PeriodStatus.OPEN)
    )
    for jid, year, number, status in closed:
        reasons[jid].append(f"period {year}-{number:02d} is {status.value}")
    return dict(reasons)


def _upsert_balances(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add posted debits and credits to ``gl_balance_rec``: one statement for the whole chunk."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(AccountPeriodBalance)
    stmt = ins.on_conflict_do_update(
        index_elements=["account_id", "period_id"],
        set_={
            "debit_pence": AccountPeriodBalance.debit_pence + ins.excluded.debit_pence,
            "credit_pence": AccountPeriodBalance.credit_pence + ins.excluded.credit_pence,
        },
    )
    session.execute(stmt, rows)


def post_chunk(session: Session, ids: Sequence[int], *, posted_on: Any, execution_id: int) -> dict[int, list[str]]:
    """Post the sound journals among ``ids``; record every one in the day book. Returns the refusals."""
    refused = journal_refusals(session, ids)
    sound = [i for i in ids if i not in refused]
    if sound:
        movements = session.execute(
            select(
                JournalLine.account_id,
                Journal.period_id,
                func.sum(JournalLine.debit_pence),
                func.sum(JournalLine.credit_pence),
            )
            .join(Journal, Journal.id == JournalLine.journal_id)
            .where(Journal.id.in_(sound))
            .group_by(JournalLine.account_id, Journal.period_id)
            .order_by(JournalLine.account_id, Journal.period_id)
        )
        _upsert_balances(
            session,
            [
                {"account_id": a, "period_id": p, "debit_pence": int(d), "credit_pence": int(c)}
                for a, p, d, c in movements
            ],
        )
        session.execute(
            update(Journal)
            .where(Journal.id.in_(sound), Journal.status == JournalStatus.PENDING)
            .values(status=JournalStatus.POSTED, posted_on=posted_on)
        )
    session.execute(
        insert(DayBookLine).from_select(
            [
                "execution_id",
                "business_date",
                "journal_id",
                "journal_date",
                "source",
                "reference",
                "total_pence",
                "posted",
            ],
            select(
                literal(execution_id),
                literal(posted_on),
                Journal.id,
                Journal.journal_date,
                Journal.source,
                Journal.reference,
                Journal.total_pence,
                true(),
            ).where(Journal.id.in_(sound)),
        )
    )
    if refused:
        rows = session.execute(
            select(Journal.id, Journal.journal_date, Journal.source, Journal.reference, Journal.total_pence).where(
                Journal.id.in_(list(refused))
            )
        )
        session.execute(
            insert(DayBookLine),
            [
                {
                    "execution_id": execution_id,
                    "business_date": posted_on,
                    "journal_id": jid,
                    "journal_date": day,
                    "source": str(source),
                    "reference": ref,
                    "total_pence": total,
                    "posted": False,
                    "reason": "; ".join(refused[jid]),
                }
                for jid, day, source, ref, total in rows
            ],
        )
    return refused


@job(
    "GL_DAILY_CLOSE",
    module=Module.GL,
    params=DailyCloseParams,
    timeout_seconds=3600,
    resources=({"name": "ledger:GL", "mode": "exclusive"},),
)
def daily_close(ctx: JobContext[DailyCloseParams]) -> JobResult:
    """Posts every pending journal dated up to the business date; writes the day book."""
    p, s, day = ctx.params, ctx.session, ctx.business_date
    where = [Journal.status == JournalStatus.PENDING, Journal.journal_date <= day]
    if p.period not in ("CURRENT", "PREVIOUS"):
        where.append(Journal.period_id == resolve_period(s, p.period, day).id)
    elif p.period == "PREVIOUS":
        where.append(Journal.period_id == resolve_period(s, "PREVIOUS", day).id)
    state = ctx.last_checkpoint or {}
    last_id, posted, refused_n = int(state.get("last_id", 0)), int(state.get("posted", 0)), int(state.get("refused", 0))
    total = int(s.scalar(select(func.count()).select_from(Journal).where(*where, Journal.id > last_id)) or 0)
    ctx.log.info(f"{total} pending journal(s) dated up to {day.isoformat()}", event="daily_close_started")
    done = 0
    while True:
        ids = list(
            s.scalars(
                select(Journal.id)
                .where(and_(*where), Journal.id > last_id)
                .order_by(Journal.id)
                .limit(p.chunk_size)
                .with_for_update()
            )
        )
        if not ids:
            break
        refused = post_chunk(s, ids, posted_on=day, execution_id=ctx.execution_id)
        for jid, reasons in sorted(refused.items()):
            ctx.log.warning(f"journal {jid} not posted: {'; '.join(reasons)}", event="journal_refused", journal=jid)
        last_id, done = ids[-1], done + len(ids)
        posted += len(ids) - len(refused)
        refused_n += len(refused)
        ctx.progress(done, total)
        ctx.checkpoint({"last_id": last_id, "posted": posted, "refused": refused_n})
    return _report(ctx, posted, refused_n)


def _report(ctx: JobContext[DailyCloseParams], posted: int, refused: int) -> JobResult:
    s = ctx.session
    lines = s.execute(
        select(
            DayBookLine.journal_id,
            DayBookLine.journal_date,
            DayBookLine.source,
            DayBookLine.reference,
            DayBookLine.total_pence,
            DayBookLine.posted,
            DayBookLine.reason,
        )
        .where(DayBookLine.execution_id == ctx.execution_id)
        .order_by(DayBookLine.journal_id)
        .execution_options(yield_per=5000)
    )
    path = ctx.output("day_book.csv")
    header = ("journal_id", "journal_date", "source", "reference", "total_pence", "posted", "reason")
    write_csv(
        path, header, ((j, d.isoformat(), src, ref, t, "yes" if ok else "no", r) for j, d, src, ref, t, ok, r in lines)
    )
    by_source = {
        str(src): int(t)
        for src, t in s.execute(
            select(DayBookLine.source, func.sum(DayBookLine.total_pence))
            .where(DayBookLine.execution_id == ctx.execution_id, DayBookLine.posted.is_(True))
            .group_by(DayBookLine.source)
        )
    }
    ctx.log.info(
        f"posted {posted} journal(s); totals by source: "
        + (", ".join(f"{k} {v} pence" for k, v in sorted(by_source.items())) or "none"),
        event="daily_close_done",
    )
    summary = f"{posted} journal(s) posted, {refused} refused"
    if refused:
        listed = s.execute(
            select(DayBookLine.journal_id, DayBookLine.reference, DayBookLine.reason)
            .where(DayBookLine.execution_id == ctx.execution_id, DayBookLine.posted.is_(False))
            .order_by(DayBookLine.journal_id)
            .limit(10)
        ).all()
        detail = "; ".join(f"journal {j} ({ref}): {why}" for j, ref, why in listed)
        more = f" and {refused - len(listed)} more" if refused > len(listed) else ""
        ctx.warn_outcome(f"{refused} journal(s) not posted: {detail}{more}")
    return JobResult(
        summary=summary,
        counts={"posted": posted, "refused": refused},
        totals={f"posted_{k}_pence": v for k, v in by_source.items()},
        files=[str(path)],
    )

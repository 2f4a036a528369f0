"""SL_STATEMENT_GENERATION: the period's statement for each customer with a balance or activity (as ACAS sl110)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, delete, func, literal, select, union_all
from sqlalchemy.orm import Session

from acas_batch.analysis.ageing import DEFAULT_BOUNDS, bucket_labels
from acas_batch.analysis.money import format_pounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import insert_rows
from acas_batch.jobs.params import DateRange, Notify, OutputFormat, Period, resolve_period_range
from acas_batch.jobs.sl_ageing import company_name
from acas_batch.jobs.sl_queries import aged_by_customer, as_date
from acas_batch.models import Customer, DocumentKind, Module, Receipt, SalesInvoice, StatementLine
from acas_batch.reports.render import PDF_SET_CHUNK, merge_pdfs, write_csv, write_pdf_set

CHUNK = 1000


class StatementParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period = Field("CURRENT", description="CURRENT, PREVIOUS or YYYY-MM.")
    include_zero_balance: bool = Field(False, description="Also customers with no balance and no activity.")
    output_format: OutputFormat = OutputFormat.PDF
    notify: Notify = Field(default_factory=Notify)


def period_key(params: StatementParams, business_date: date) -> str:
    """Run key: the month named, or the calendar month CURRENT/PREVIOUS stand for (monthly periods)."""
    if params.period not in ("CURRENT", "PREVIOUS"):
        return params.period
    index = business_date.year * 12 + business_date.month - 1 - (params.period == "PREVIOUS")
    return f"{index // 12}-{index % 12 + 1:02d}"


@dataclass
class Statement:
    """One customer's statement, as the template prints it."""

    customer_id: int
    code: str
    name: str
    email: str | None
    opening: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)
    aged: list[int] = field(default_factory=list)

    @property
    def debits(self) -> int:
        return sum(t["debit"] for t in self.lines)

    @property
    def credits(self) -> int:
        return sum(t["credit"] for t in self.lines)

    @property
    def closing(self) -> int:
        return self.opening + self.debits - self.credits


def _movements() -> Any:
    """Every document and receipt as ``(customer_id, on, kind, ref, amount, doc_id)``; debit-positive."""
    is_invoice = SalesInvoice.kind == DocumentKind.INVOICE
    docs = select(
        SalesInvoice.customer_id.label("customer_id"),
        SalesInvoice.invoice_date.label("on"),
        case((is_invoice, "invoice"), else_="credit note").label("kind"),
        SalesInvoice.number.label("ref"),
        (case((is_invoice, 1), else_=-1) * SalesInvoice.gross_pence).label("amount"),
        SalesInvoice.id.label("doc_id"),
    )
    receipts = select(
        Receipt.customer_id,
        Receipt.receipt_date,
        literal("receipt"),
        Receipt.reference,
        literal(0) - Receipt.amount_pence,
        Receipt.id,
    )
    return union_all(docs, receipts).subquery()


def build_statements(session: Session, p: DateRange, *, include_zero: bool) -> Iterator[Statement]:
    """Statements in customer code order: opening balance, the period's lines with a running balance."""
    moves = _movements()
    opening = {
        int(cid): int(total)
        for cid, total in session.execute(
            select(moves.c.customer_id, func.sum(moves.c.amount))
            .where(moves.c.on < p.start)
            .group_by(moves.c.customer_id)
        )
    }
    lines: dict[int, list[tuple[Any, ...]]] = {}
    for cid, on, kind, ref, amount, _ in session.execute(
        select(moves)
        .where(moves.c.on.between(p.start, p.end))
        .order_by(moves.c.customer_id, moves.c.on, moves.c.kind, moves.c.doc_id)
        .execution_options(yield_per=5000)
    ):
        lines.setdefault(cid, []).append((as_date(on), kind, ref, int(amount)))
    aged = {
        int(cid): [int(v) for v in figures[:-2]]
        for cid, _code, _name, _limit, *figures in session.execute(aged_by_customer("due_date", p.end, DEFAULT_BOUNDS))
    }
    no_items = [0] * (len(DEFAULT_BOUNDS) + 1)
    for cid, code, name, email in session.execute(
        select(Customer.id, Customer.code, Customer.name, Customer.statement_email).order_by(Customer.code)
    ):
        st = Statement(cid, code, name, email, opening=int(opening.get(cid) or 0))
        balance = st.opening
        for on, kind, ref, amount in lines.get(cid, ()):
            balance += amount
            st.lines.append(
                {
                    "on": on,
                    "kind": kind,
                    "ref": ref,
                    "debit": max(amount, 0),
                    "credit": max(-amount, 0),
                    "balance": balance,
                }
            )
        st.aged = aged.get(cid, no_items)
        if include_zero or st.lines or st.closing:
            yield st


def _batches(items: Iterable[Statement], size: int) -> Iterator[list[Statement]]:
    batch: list[Statement] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_chunk(ctx: JobContext[StatementParams], rows: list[dict[str, Any]], written: int) -> None:
    insert_rows(ctx.session, StatementLine, rows)
    ctx.progress(written)
    ctx.checkpoint({"statements_written": written})


@job(
    "SL_STATEMENT_GENERATION",
    module=Module.SL,
    params=StatementParams,
    run_key=period_key,
    timeout_seconds=3600,
    resources=({"name": "ledger:SL", "mode": "shared"},),
)
def statement_generation(ctx: JobContext[StatementParams]) -> JobResult:
    """Customer statements for the period: opening balance, transactions, closing balance, aged summary."""
    p, s = ctx.params, ctx.session
    period = resolve_period_range(s, p.period, ctx.business_date)
    key = f"SL_STATEMENT_GENERATION:{period.label}"
    company = company_name(ctx)
    labels = bucket_labels(DEFAULT_BOUNDS)
    s.execute(delete(StatementLine).where(StatementLine.run_key == key))  # a rerun replaces the period's set
    common = {"company": company, "start": period.start, "end": period.end, "labels": labels, "title": "Statement"}
    # Statements stream, laid out PDF_SET_CHUNK at a time; the combined PDF is put together
    # from the per-customer files at the end.
    csv_rows: list[list[Any]] = []
    rows: list[dict[str, Any]] = []
    pdfs: list[Path] = []
    n = queued = owed = 0
    for part in _batches(build_statements(s, period, include_zero=p.include_zero_balance), PDF_SET_CHUNK):
        paths: list[Path | None] = [None] * len(part)
        if p.output_format.pdf:
            written = write_pdf_set(
                "statement.html",
                "statements",
                part,
                [ctx.output(f"statement_{st.code}.pdf") for st in part],
                context=common,
            )
            paths = list(written)
            pdfs += written
        for st, path in zip(part, paths, strict=True):
            n += 1
            debits, credits = st.debits, st.credits
            closing = st.opening + debits - credits
            queued += bool(st.email)
            owed += closing
            csv_rows.append([st.code, st.name, st.opening, debits, credits, closing, len(st.lines), st.email or ""])
            rows.append(
                {
                    "execution_id": ctx.execution_id,
                    "run_key": key,
                    "period_start": period.start,
                    "period_end": period.end,
                    "customer_id": st.customer_id,
                    "opening_pence": st.opening,
                    "debits_pence": debits,
                    "credits_pence": credits,
                    "closing_pence": closing,
                    "transactions": len(st.lines),
                    "file": str(path) if path else None,
                    "email_to": st.email,
                    "email_state": "queued" if st.email else None,
                }
            )
            if len(rows) == CHUNK:
                _write_chunk(ctx, rows, n)
                rows = []
    if rows:
        _write_chunk(ctx, rows, n)
    files = [str(x) for x in pdfs]
    if pdfs:
        files.append(str(merge_pdfs(ctx.output("statements_all.pdf"), pdfs)))
    csv_path = ctx.output("statements.csv")
    write_csv(
        csv_path, ["customer", "name", "opening", "debits", "credits", "closing", "transactions", "email"], csv_rows
    )
    ctx.log.info(
        f"{n} statements for {period.label}, {format_pounds(owed)} due; {queued} queued for e-mail",
        event="statements_written",
        statements=n,
        queued=queued,
    )
    return JobResult(
        summary=f"{n} statements for {period.label}; {queued} queued for e-mail",
        counts={"statements": n, "email_queued": queued},
        totals={"closing_pence": owed},
        files=[str(csv_path), *files],
    )

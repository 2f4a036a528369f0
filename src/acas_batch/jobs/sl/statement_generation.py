"""SL_STATEMENT_GENERATION: the period's statement for each customer with a balance or activity (as ACAS sl110)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, as_completed, wait
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    BigInteger,
    Date,
    Select,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from acas_batch.analysis.ageing import DEFAULT_BOUNDS, bucket_labels
from acas_batch.analysis.money import format_pounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.db import transaction
from acas_batch.jobs.mailing import (
    Document,
    email_field,
    emails_documents,
    queue_documents,
    record_unmailed,
    send_documents_where,
)
from acas_batch.jobs.params import DateRange, Notify, OutputFormat, Period, resolve_period_range
from acas_batch.jobs.sl.aged_debtors import company_name
from acas_batch.jobs.sl.queries import aged_sums, as_date
from acas_batch.models import (
    Customer,
    DocumentKind,
    Module,
    Receipt,
    SalesInvoice,
    StatementLine,
)
from acas_batch.reports.files import atomic_files
from acas_batch.reports.letters import statement_pages
from acas_batch.reports.pdf import write_combined, write_pages, write_parts
from acas_batch.reports.pool import ProcessPool
from acas_batch.reports.render import write_csv

#: Statements read back per page for the CSV and the e-mails (each page's e-mails committed together).
CHUNK = 1000

#: Statements laid out by one call in a worker process (and checkpointed together).
PDF_SET_CHUNK = 200

#: A row of :func:`statement_figures`.
FigureRow = Sequence[Any]


class StatementParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period = Field("CURRENT", description="CURRENT, PREVIOUS or YYYY-MM.")
    include_zero_balance: bool = Field(False, description="Also customers with no balance and no activity.")
    output_format: OutputFormat = OutputFormat.PDF
    pdf_workers: int | None = Field(
        None, ge=1, le=16, description="Processes laying out the PDFs; default the smaller of 2 and the CPUs."
    )
    email: bool = email_field("the customer's statement address")
    notify: Notify = Field(default_factory=Notify)


def period_key(params: StatementParams, business_date: date) -> str:
    """Run key: the month named, or the calendar month CURRENT/PREVIOUS stand for (monthly periods)."""
    if params.period not in ("CURRENT", "PREVIOUS"):
        return params.period
    index = business_date.year * 12 + business_date.month - 1 - (params.period == "PREVIOUS")
    return f"{index // 12}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class Statement:
    """One customer's statement, as the template prints it (only the PDFs need these)."""

    customer_id: int
    code: str
    name: str
    email: str | None
    opening: int
    debits: int
    credits: int
    transactions: int
    closing: int
    aged: list[int]
    lines: list[dict[str, Any]] = field(default_factory=list)


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


def statement_figures(p: DateRange, *, include_zero: bool) -> Select[Any]:
    """One row per statement, in customer code order: ``(customer_id, code, name, email, opening,
    debits, credits, transactions, closing, aged bucket 0 .. bucket n)``.

    One grouped read of every document and receipt dated up to the period end (the opening
    balance is what is dated before the period), joined to the customer's open items aged at
    the period end by due date (``sl_queries.aged_sums``, the aged-debtors buckets). Without
    ``include_zero`` only customers with a transaction in the period or a closing balance.
    """
    moves = _movements()
    on, amount = moves.c.on, moves.c.amount
    before, during = on < p.start, on >= p.start
    per = (
        select(
            moves.c.customer_id.label("customer_id"),
            func.sum(case((before, amount), else_=0)).label("opening"),
            func.sum(case((and_(during, amount > 0), amount), else_=0)).label("debits"),
            func.sum(case((and_(during, amount < 0), -amount), else_=0)).label("credits"),
            func.sum(case((during, 1), else_=0)).label("transactions"),
        )
        .where(on <= p.end)
        .group_by(moves.c.customer_id)
        .subquery()
    )
    aged = aged_sums("due_date", p.end, DEFAULT_BOUNDS)

    def whole(value: Any) -> Any:  # SUM of integers is NUMERIC on PostgreSQL: read back as int, not Decimal
        return cast(func.coalesce(value, 0), BigInteger)

    opening, debits, credits = whole(per.c.opening), whole(per.c.debits), whole(per.c.credits)
    query = (
        select(
            Customer.id.label("customer_id"),
            Customer.code.label("code"),
            Customer.name.label("name"),
            Customer.statement_email.label("email"),
            opening.label("opening"),
            debits.label("debits"),
            credits.label("credits"),
            whole(per.c.transactions).label("transactions"),
            (opening + debits - credits).label("closing"),
            *(whole(aged.c[f"b{i}"]).label(f"aged_{i}") for i in range(len(DEFAULT_BOUNDS) + 1)),
        )
        .outerjoin(per, per.c.customer_id == Customer.id)
        .outerjoin(aged, aged.c.customer_id == Customer.id)
        .order_by(Customer.code)
    )
    if not include_zero:
        query = query.where(or_(per.c.transactions > 0, per.c.opening + per.c.debits - per.c.credits != 0))
    return query


def with_lines(session: Session, p: DateRange, figures: Sequence[FigureRow]) -> list[Statement]:
    """The statements of ``figures`` (rows of :func:`statement_figures`) with the period's
    lines and a running balance: one query for them all."""
    moves = _movements()
    lines: dict[int, list[dict[str, Any]]] = {}
    balance = {int(r[0]): int(r[4]) for r in figures}
    for cid, on, kind, ref, amount, _ in session.execute(
        select(moves)
        .where(moves.c.customer_id.in_(list(balance)), moves.c.on.between(p.start, p.end))
        .order_by(moves.c.customer_id, moves.c.on, moves.c.kind, moves.c.doc_id)
    ):
        balance[cid] += int(amount)
        lines.setdefault(cid, []).append(
            {
                "on": as_date(on),
                "kind": kind,
                "ref": ref,
                "debit": max(int(amount), 0),
                "credit": max(-int(amount), 0),
                "balance": balance[cid],
            }
        )
    statements = []
    for cid, code, name, email, *figures_ in figures:
        opening, debits, credits, transactions, closing, *aged = (int(v) for v in figures_)
        statements.append(
            Statement(int(cid), code, name, email, opening, debits, credits, transactions, closing, aged,
                      lines.get(int(cid), []))
        )  # fmt: skip
    return statements


def build_statements(session: Session, p: DateRange, *, include_zero: bool) -> Iterator[Statement]:
    """Every statement of the period, with its lines, in customer code order (chunk by chunk)."""
    figures = session.execute(statement_figures(p, include_zero=include_zero)).all()
    for first in range(0, len(figures), PDF_SET_CHUNK):
        yield from with_lines(session, p, figures[first : first + PDF_SET_CHUNK])


def render_statements(
    statements: Sequence[Statement], paths: Sequence[str], context: dict[str, Any], part: str | None = None
) -> None:
    """Lay out one chunk of statements and write one PDF per customer (each replaced atomically),
    and their pages, in order, to ``part`` (a piece of the combined file, :func:`write_combined`)."""
    with write_parts(Path(part)) if part else contextlib.nullcontext() as pages, atomic_files(batch=20) as files:
        for st, path in zip(statements, paths, strict=True):
            contents = statement_pages(st, **context)
            write_pages(Path(path), contents, title=f"Statement {st.code}", files=files)
            if pages is not None:
                pages.extend(contents)


def _pdf_workers(params: StatementParams) -> int:
    return params.pdf_workers or min(2, os.cpu_count() or 1)


#: The columns of ``sl_statement_rec`` a page of statements is read with: a :func:`statement_figures` row.
FIGURES = (
    StatementLine.customer_id,
    StatementLine.customer_code,
    StatementLine.customer_name,
    StatementLine.email_to,
    StatementLine.opening_pence,
    StatementLine.debits_pence,
    StatementLine.credits_pence,
    StatementLine.transactions,
    StatementLine.closing_pence,
    *(getattr(StatementLine, f"aged_{i}_pence") for i in range(len(DEFAULT_BOUNDS) + 1)),
)


def _record_figures(ctx: JobContext[StatementParams], key: str, period: DateRange) -> None:
    """Write every statement's row to ``sl_statement_rec`` in one INSERT ... SELECT (replacing
    the period's set, as a rerun does), with the path its PDF will have and whether it is to
    be e-mailed. The rest of the run reads these rows back a page at a time."""
    p = ctx.params
    fig = statement_figures(period, include_zero=p.include_zero_balance).order_by(None).subquery()
    has_email = and_(fig.c.email.is_not(None), fig.c.email != "")
    # The paths are ctx.output(f"statement_{code}.pdf"), spelt in SQL.
    file = literal(str(ctx.output("statement_"))) + fig.c.code + literal(".pdf") if p.output_format.pdf else None
    queued = case((has_email, literal("queued")), else_=None) if p.email and p.output_format.pdf else None
    values = {
        "execution_id": literal(ctx.execution_id),
        "run_key": literal(key),
        "period_start": literal(period.start, Date),
        "period_end": literal(period.end, Date),
        "customer_id": fig.c.customer_id,
        "customer_code": fig.c.code,
        "customer_name": fig.c.name,
        "opening_pence": fig.c.opening,
        "debits_pence": fig.c.debits,
        "credits_pence": fig.c.credits,
        "closing_pence": fig.c.closing,
        "transactions": fig.c.transactions,
        **{f"aged_{i}_pence": fig.c[f"aged_{i}"] for i in range(len(DEFAULT_BOUNDS) + 1)},
        "file": null() if file is None else file,
        "email_to": fig.c.email,
        "email_state": null() if queued is None else queued,
    }
    s = ctx.session
    s.execute(delete(StatementLine).where(StatementLine.run_key == key))
    s.execute(insert(StatementLine).from_select(list(values), select(*values.values())))
    if s.get_bind().dialect.name == "postgresql":
        # Rows written a moment ago are not in the planner's statistics (autovacuum comes later):
        # it would take the run's 25,000 rows for a handful and sort them all for every page
        # (16 ms a page of 1,000 instead of 0.4 ms, at 25,000 customers).
        s.execute(text("ANALYZE sl_statement_rec"))


def recorded_pages(bind: Session | Engine, key: str, size: int, *columns: Any) -> Iterator[Sequence[Any]]:
    """The run's rows of ``sl_statement_rec`` in customer code order, ``size`` at a time, each
    page one short query after the last code of the page before (the run commits between
    them); with an engine, each page in a transaction of its own."""
    last: str | None = None
    while True:
        query = select(*columns, StatementLine.customer_code).where(StatementLine.run_key == key)
        if last is not None:
            query = query.where(StatementLine.customer_code > last)
        query = query.order_by(StatementLine.customer_code).limit(size)
        if isinstance(bind, Session):
            page = bind.execute(query).all()
        else:
            with transaction(bind) as session:
                page = session.execute(query).all()
        if not page:
            return
        last, rows = page[-1][-1], [row[:-1] for row in page]
        del page
        yield rows
        del rows  # not alive while the next page is read


def _write_pdfs(ctx: JobContext[StatementParams], key: str, period: DateRange, count: int,
                context: dict[str, Any]) -> None:  # fmt: skip
    """One PDF per statement, laid out PDF_SET_CHUNK at a time in a pool of processes, and
    the combined file of them all, streamed from the chunks' pages in customer code order.

    Each finished chunk is recorded in the checkpoint (``pdf_chunks_done``, indexes of the
    chunks in customer code order), so a run resumed after a crash renders only the chunks
    not finished (or whose files are missing).
    """
    chunks = (count + PDF_SET_CHUNK - 1) // PDF_SET_CHUNK
    parts = [ctx.output(f".statements_all.{i:05d}.part") for i in range(chunks)]
    done = {i for i in (ctx.last_checkpoint or {}).get("pdf_chunks_done", []) if i < chunks and parts[i].exists()}
    if done:  # a chunk counts as done only if all its files are there
        for i, files in enumerate(recorded_pages(ctx.session, key, PDF_SET_CHUNK, StatementLine.file)):
            if i in done and not all(Path(f).exists() for (f,) in files):
                done.discard(i)
        ctx.log.info(f"resuming: {len(done)} of {chunks} chunks of PDFs already written", event="pdfs_resumed")
    workers = min(_pdf_workers(ctx.params), chunks - len(done)) if chunks > len(done) else 1

    def finished(i: int) -> None:
        done.add(i)
        ctx.progress(len(done), chunks)
        ctx.checkpoint({"pdf_chunks_done": sorted(done)})

    def todo() -> Iterator[tuple[int, list[Statement], list[str]]]:
        """Each chunk still to lay out, its statements read when it is reached."""
        for i, page in enumerate(recorded_pages(ctx.session, key, PDF_SET_CHUNK, *FIGURES, StatementLine.file)):
            if i not in done:
                yield i, with_lines(ctx.session, period, [row[:-1] for row in page]), [row[-1] for row in page]

    if workers == 1:  # no pool: lay out in this process
        for i, statements, names in todo():
            render_statements(statements, names, context, str(parts[i]))
            finished(i)
    else:
        with ProcessPool(workers) as pool:
            pending: dict[Future[None], int] = {}
            for i, statements, names in todo():
                pending[pool.submit(render_statements, statements, names, context, str(parts[i]))] = i
                while len(pending) > workers:  # the next chunk is read while these are laid out
                    for future in wait(pending, return_when=FIRST_COMPLETED).done:
                        future.result()
                        finished(pending.pop(future))
            for future in as_completed(pending):
                future.result()
                finished(pending[future])
    if parts:
        write_combined(ctx.output("statements_all.pdf"), parts, title="Statements")


def _key_prefix(run_key: str) -> str:
    """The start of every document key of the run's statements; the customer's code ends it."""
    return f"statement:{run_key}:"


def _csv_rows(ctx: JobContext[StatementParams], key: str, count: int) -> Iterator[list[Any]]:
    """Each statement's CSV row, read back a page at a time."""
    written = 0
    for page in recorded_pages(ctx.session, key, CHUNK, *FIGURES):
        for _, code, name, email, opening, debits, credits, transactions, closing, *aged in page:
            yield [code, name, opening, debits, credits, closing, transactions, email or "", *aged]
        written += len(page)
        ctx.progress(written, count)
        del page  # not alive while the next page is read


@job(
    "SL_STATEMENT_GENERATION",
    module=Module.SL,
    params=StatementParams,
    run_key=period_key,
    timeout_seconds=3600,
    resources=({"name": "ledger:SL", "mode": "shared"},),
)
def statement_generation(ctx: JobContext[StatementParams]) -> JobResult:
    """Customer statements for the period: opening balance, transactions, closing balance, aged summary.

    Each statement's figures are written to ``sl_statement_rec`` first; the PDFs, the CSV and
    the e-mails read them back a page at a time, so the job's memory does not grow with the
    number of customers.
    """
    p, s = ctx.params, ctx.session
    whole_period = resolve_period_range(s, p.period, ctx.business_date)
    key = f"SL_STATEMENT_GENERATION:{whole_period.label}"
    # A statement is dated, and its items aged, on the day it is made: a run on 6 December
    # for December shows December to the 6th, never a balance "due 31/12" aged three weeks ahead.
    period = replace(whole_period, end=min(whole_period.end, ctx.business_date))
    labels = bucket_labels(DEFAULT_BOUNDS)
    _record_figures(ctx, key, period)
    n, owed = s.execute(
        select(func.count(), func.coalesce(func.sum(StatementLine.closing_pence), 0)).where(
            StatementLine.run_key == key
        )
    ).one()
    n, owed = int(n), int(owed)
    ctx.checkpoint({**(ctx.last_checkpoint or {}), "statements_written": n})
    company = company_name(ctx)
    if p.output_format.pdf:
        common = {"company": company, "start": period.start, "end": period.end, "labels": labels}
        _write_pdfs(ctx, key, period, n, common)
    csv_path = ctx.output("statements.csv")
    header = ["customer", "name", "opening_pence", "debits_pence", "credits_pence", "closing_pence"]
    header += ["transactions", "email", *(f"aged_{label}_pence" for label in labels)]
    write_csv(csv_path, header, _csv_rows(ctx, key, n))
    # A statement's document key is the prefix and the customer's code
    keys = select(literal(_key_prefix(key)) + StatementLine.customer_code).where(StatementLine.run_key == key)
    earlier, queued = 0, 0
    if emails_documents(ctx, p.email) and p.output_format.pdf:
        for page in recorded_pages(s, key, CHUNK, *FIGURES, StatementLine.file):  # each page's e-mails committed
            docs = [_document(r, Path(r[-1]) if r[-1] else None, period, company, key) for r in page]
            recorded = queue_documents(ctx, docs, run_key=key, email=p.email)
            earlier, queued = earlier + recorded.earlier, queued + len(docs)
            ctx.checkpoint({**(ctx.last_checkpoint or {}), "documents_queued": queued})
            del page, docs, recorded  # not alive while the next page is read
    else:  # none can be e-mailed: each statement recorded as such, in SQL
        unmailed = select(
            StatementLine.customer_id,
            literal(_key_prefix(key)) + StatementLine.customer_code,
            StatementLine.customer_code,
            StatementLine.email_to,
        ).where(StatementLine.run_key == key)
        recorded = record_unmailed(ctx, unmailed, kind="statement", party="customer", run_key=key, email=p.email)
        earlier, queued = recorded.earlier, n
        ctx.checkpoint({**(ctx.last_checkpoint or {}), "documents_queued": queued})
    mail = send_documents_where(ctx, key, keys, earlier=earlier)
    # Each customer's PDF is in its sl_statement_rec row and the run's folder: the result names
    # the combined file, not 25,000 files (nor does the run's notice e-mail list them).
    files = [str(ctx.output("statements_all.pdf"))] if p.output_format.pdf else []
    ctx.log.info(
        f"{n} statements for {period.label}, {format_pounds(owed)} due; {mail.summary()}",
        event="statements_written",
        statements=n,
        **mail.counts(),
    )
    return JobResult(
        summary=f"{n} statements for {period.label}; {mail.summary()}",
        counts={"statements": n, **mail.counts()},
        totals={"closing_pence": owed},
        files=[str(csv_path), *files],
    )


def _document(row: FigureRow, pdf: Path | None, period: DateRange, company: str, run_key: str) -> Document:
    """The e-mail that carries one customer's statement."""
    cid, code, name, email, *_ = row
    closing = int(row[8])
    span = f"{period.start:%d/%m/%Y} to {period.end:%d/%m/%Y}"
    body = (
        f"Dear {name},\n\n"
        f"Please find attached your statement of account ({code}) for {span}.\n"
        f"The balance of your account on {period.end:%d/%m/%Y} is £{format_pounds(closing)}.\n\n"
        f"{company}\n"
    )
    return Document(
        kind="statement",
        key=f"{_key_prefix(run_key)}{code}",
        party="customer",
        party_id=int(cid),
        party_code=str(code),
        email_to=email,
        file=pdf,
        subject=f"Statement of account from {company}, {span}",
        body=body,
    )

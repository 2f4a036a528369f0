"""What the purchase ledger's report jobs share: the company's name, streamed selects, and their files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobContext
from acas_batch.jobs.params import OutputFormat
from acas_batch.models import Company
from acas_batch.reports import write_csv, write_table_pdf
from acas_batch.reports.render import pence_header

CHUNK = 2000


def company_name(session: Session) -> str:
    return session.scalar(select(Company.name).limit(1)) or ""


def stream(session: Session, stmt: Select[*tuple[Any, ...]]) -> Iterator[Any]:
    yield from session.execute(stmt.execution_options(yield_per=CHUNK))


def write_report(
    ctx: JobContext[Any],
    stem: str,
    header: Sequence[str],
    rows: list[list[Any]],
    *,
    money: Sequence[int],
    totals: Sequence[Any] | None,
    title: str,
    subtitle: str = "",
    notes: Sequence[str] = (),
) -> list[str]:
    """The CSV (always, for machines) and the PDF (when asked, for people)."""
    files = [str(ctx.output(f"{stem}.csv"))]
    write_csv(ctx.output(f"{stem}.csv"), pence_header(header, money), [*rows, *([list(totals)] if totals else [])])
    if getattr(ctx.params, "output_format", OutputFormat.CSV).pdf:
        pdf = write_table_pdf(
            ctx.output(f"{stem}.pdf"),
            title=title,
            subtitle=subtitle,
            company=company_name(ctx.session),
            columns=header,
            rows=rows,
            money_columns=list(money),
            totals=totals,
            notes=notes,
        )
        files.append(str(pdf))
    return files

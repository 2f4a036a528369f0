"""SL_STATEMENT_GENERATION with PDFs for a bureau: statements/s, wall time and peak memory at two sizes.

A small demo company (its company row, bank account and journals) is given ``N`` more
customers, each with a one-page statement for October 2026: a September invoice brought
forward, three invoices, a credit note and a receipt in October. The job runs through the
real job context (execution row, snapshot rows, CSV, one PDF per customer and the combined
file, checkpoints) with its default two worker processes, first over the first fifth of the
customers, then over all ``N`` (the customers are added between the two runs); each run in a
fresh process, whose peak RSS and its workers' largest are printed beside the wall time, so
memory that grows with the customers shows as the difference between the two sizes.

Beside it, the same statements laid out by each renderer in one process, side by side:
WeasyPrint (HTML and CSS, ``statement.html``), ReportLab (the same drawing on its canvas, the
fonts embedded and subset by it), and the purpose-built writer the job uses
(``reports/pdf.py``).

Environment:

- ``ACAS_BENCH_STATEMENTS``: ``N`` (default 2,000; 25,000 for the bureau figure).
- ``ACAS_BENCH_STATEMENTS_DATABASES``: ``sqlite,postgresql`` (default both).
- ``ACAS_BENCH_STATEMENTS_PG_URL``: a PostgreSQL server to create a throw-away database on
  (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``).
- ``ACAS_BENCH_STATEMENTS_RENDERERS``: how many statements each renderer lays out (default 100; 0 skips).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from acas_batch.db import insert_rows, make_engine
from acas_batch.models import Customer, DocumentKind, Receipt, SalesInvoice
from benchmarks.measure import children_peak_rss_mb, in_child, peak_rss_mb, timed
from benchmarks.statements import first_statements

END = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
PARAMS = {"period": "PREVIOUS", "output_format": "pdf"}


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh database of ``kind`` (``sqlite`` or ``postgresql``), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'statements.db'}"
        return
    admin_url = os.environ.get("ACAS_BENCH_STATEMENTS_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"acas_bench_statements_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def company(url: str) -> None:
    """The demo company the customers are added to (its company row, bank account, journals)."""
    from acas_batch.ledger.demo import DemoSize, generate
    from acas_batch.models.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    generate(engine, size=DemoSize(customers=6, suppliers=8, items=10, months=2), end=END, seed=3)
    engine.dispose()


def add_customers(url: str, first: int, count: int) -> None:
    """Customers ``first`` .. ``first + count - 1``, each with a one-page statement for October."""
    engine = make_engine(url)
    with Session(engine) as s:
        customer = dict(s.execute(select(Customer.__table__).limit(1)).mappings().one())
        invoice = dict(
            s.execute(select(SalesInvoice.__table__).where(SalesInvoice.kind == DocumentKind.INVOICE).limit(1))
            .mappings()
            .one()
        )
        receipt = dict(s.execute(select(Receipt.__table__).limit(1)).mappings().one())
        for row in (customer, invoice, receipt):
            row.pop("id")
        next_id = int(s.scalar(select(func.max(Customer.id))) or 0) + 1
        for start in range(first, first + count, 5000):
            ids = range(next_id + start - first, next_id + min(start + 5000, first + count) - first)
            customers, invoices, receipts = [], [], []
            for n, cid in zip(range(start, start + len(ids)), ids, strict=True):
                customers.append(
                    {**customer, "id": cid, "code": f"B{n:07d}", "name": f"Bureau Client {n} Ltd",
                     "statement_email": None}
                )  # fmt: skip
                for k, (day, kind, net) in enumerate(
                    [(date(2026, 9, 14), DocumentKind.INVOICE, 41_000 + n % 997),
                     (date(2026, 10, 3), DocumentKind.INVOICE, 12_500 + n % 89),
                     (date(2026, 10, 12), DocumentKind.INVOICE, 8_000 + n % 53),
                     (date(2026, 10, 19), DocumentKind.CREDIT_NOTE, 1_500),
                     (date(2026, 10, 27), DocumentKind.INVOICE, 23_000 + n % 31)]
                ):  # fmt: skip
                    gross = net + net // 5
                    invoices.append(
                        {**invoice, "number": f"BI{n:08d}{k}", "kind": kind, "customer_id": cid,
                         "invoice_date": day, "due_date": day + timedelta(days=30), "net_pence": net,
                         "vat_pence": net // 5, "gross_pence": gross, "outstanding_pence": gross}
                    )  # fmt: skip
                receipts.append(
                    {**receipt, "customer_id": cid, "receipt_date": date(2026, 10, 21), "amount_pence": 20_000,
                     "unallocated_pence": 20_000, "reference": f"BACS {n}"}
                )  # fmt: skip
            insert_rows(s, Customer, customers)
            insert_rows(s, SalesInvoice, invoices)
            insert_rows(s, Receipt, receipts)
            s.commit()
    if engine.dialect.name == "postgresql":
        # A month's postings have long been analysed by autovacuum when the statements run; rows
        # loaded a second ago have not (the planner then takes 125,000 invoices for a handful).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE sl_customer_rec, sl_invoice_rec, sl_receipt_rec"))
    engine.dispose()


def _child_job(url: str, folder: str) -> dict[str, Any]:
    import gc

    from tests.support.context import run_job

    from acas_batch.config import load_settings
    from acas_batch.jobs import load_standard_jobs
    from acas_batch.models import BatchExecution

    load_standard_jobs()
    engine = make_engine(url)
    with Session(engine) as s:  # earlier runs superseded, as an operator's forced rerun does
        s.execute(
            BatchExecution.__table__.update()
            .where(BatchExecution.superseded_by_id.is_(None))
            .values(superseded_by_id=BatchExecution.id)
        )
        s.commit()
    settings = load_settings(environ={}, database_url=url, data_dir=Path(folder), mail_documents=False)
    gc.freeze()
    with timed() as t:
        done = run_job(engine, settings, "SL_STATEMENT_GENERATION", now=NOW, business_date=END, params=PARAMS)
    if done.result is None:
        raise RuntimeError(f"SL_STATEMENT_GENERATION failed: {done.error!r}")
    combined = Path(done.result.files[-1])
    engine.dispose()
    return {
        "seconds": t.seconds,
        "statements": done.result.counts["statements"],
        "job_mb": peak_rss_mb(),
        "worker_mb": children_peak_rss_mb(),
        "combined_mb": combined.stat().st_size / 1e6,
    }


def _child_renderers(url: str, folder: str, count: int) -> dict[str, Any]:
    """``count`` statements laid out by each renderer in this process (after one warm-up each)."""
    from acas_batch.analysis.ageing import DEFAULT_BOUNDS, bucket_labels
    from acas_batch.jobs.sl.statement_generation import render_statements

    period, statements = first_statements(url, END, count)
    context = {"company": "Bureau Benchmark Ltd", "start": period.start, "end": period.end,
               "labels": bucket_labels(DEFAULT_BOUNDS)}  # fmt: skip
    out = Path(folder)

    def own(chunk: list[Any], tag: str) -> None:
        render_statements(chunk, [str(out / f"{tag}_{st.code}.pdf") for st in chunk], context)

    def weasyprint(chunk: list[Any], tag: str) -> None:
        from acas_batch.reports.render import write_pdf_set

        paths = [out / f"{tag}_{st.code}.pdf" for st in chunk]
        write_pdf_set("statement.html", "statements", chunk, paths, context={**context, "title": "Statement"})

    def reportlab(chunk: list[Any], tag: str) -> None:
        for st in chunk:
            _reportlab_statement(out / f"{tag}_{st.code}.pdf", st, context)

    figures: dict[str, Any] = {"count": len(statements)}
    for name, fn in (("weasyprint", weasyprint), ("reportlab", reportlab), ("own", own)):
        try:
            fn(statements[:1], f"{name}-warm")
        except ImportError as exc:  # ReportLab comes with the bench extra only
            figures[name] = str(exc)
            continue
        with timed() as t:
            fn(statements, name)
        size = sum(p.stat().st_size for p in out.glob(f"{name}_*.pdf")) / max(1, len(statements))
        figures[name] = (t.seconds, size)
    return figures


def _reportlab_statement(path: Path, st: Any, context: dict[str, Any]) -> None:
    """The job's statement layout drawn on a ReportLab canvas instead (the fonts embedded by ReportLab)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas

    from acas_batch.reports import letters, pdf

    if "AcasSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("AcasSans", str(pdf.FONTS / "AcasSans-Regular.ttf")))
        pdfmetrics.registerFont(TTFont("AcasSans-Bold", str(pdf.FONTS / "AcasSans-Bold.ttf")))
    drawn: list[list[tuple[str, tuple[Any, ...], dict[str, Any]]]] = []

    class Recorded(pdf.Page):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
            drawn.append(self.calls)

        def text(self, *args: Any, **kwargs: Any) -> float:
            self.calls.append(("text", args, kwargs))
            return super().text(*args, **kwargs)

        def rule(self, *args: Any, **kwargs: Any) -> None:
            self.calls.append(("rule", args, kwargs))

    real = letters.Page
    letters.Page = Recorded  # type: ignore[misc]
    try:
        letters.statement_pages(st, **context)
    finally:
        letters.Page = real  # type: ignore[misc]
    canvas = Canvas(str(path), pagesize=(pdf.PAGE_WIDTH, pdf.PAGE_HEIGHT), invariant=1)
    height = pdf.PAGE_HEIGHT
    for calls in drawn:
        for op, args, kw in calls:
            if op == "text":
                x, y, s = args
                size, font = kw.get("size", 9), "AcasSans-Bold" if kw.get("bold") else "AcasSans"
                canvas.setFont(font, size)
                canvas.setFillGray(kw.get("gray", 0.07))
                draw = {"right": canvas.drawRightString, "center": canvas.drawCentredString}.get(
                    kw.get("align", "left"), canvas.drawString
                )
                draw(x, height - y, s)
            else:
                x0, y, x1 = args
                canvas.setLineWidth(kw.get("width", 0.75))
                canvas.setStrokeGray(kw.get("gray", 0.2))
                canvas.setDash(kw["dash"], kw["dash"]) if kw.get("dash") else canvas.setDash()
                canvas.line(x0, height - y, x1, height - y)
        canvas.showPage()
    canvas.save()


def _row(out: list[tuple[str, str]], figure: str, value: str) -> None:
    """Keep a figure, and show it at once on stderr (the bureau's size takes long)."""
    out.append((figure, value))
    print(f"# {figure}: {value}", file=sys.stderr, flush=True)


def run() -> list[tuple[str, str]]:
    n = int(os.environ.get("ACAS_BENCH_STATEMENTS", "2000"))
    kinds = [k.strip() for k in os.environ.get("ACAS_BENCH_STATEMENTS_DATABASES", "sqlite,postgresql").split(",")]
    renderers = int(os.environ.get("ACAS_BENCH_STATEMENTS_RENDERERS", "100"))
    small = max(1, n // 5)
    out: list[tuple[str, str]] = []
    for kind in (k for k in kinds if k):
        folder = Path(tempfile.mkdtemp(prefix="acas-bench-statements-"))
        try:
            with database(kind, folder) as url:
                company(url)
                before = 0
                for size in (small, n):
                    add_customers(url, before, size - before)
                    before = size
                    load = _load()
                    r = in_child(_child_job, url, str(folder / f"run-{size}"))
                    _row(
                        out,
                        f"{kind}: {r['statements']:,} statements with PDFs, 2 processes (load {load})",
                        f"{r['seconds']:.1f} s = {r['statements'] / r['seconds']:.0f} statements/s;"
                        f" peak RSS job {r['job_mb']:.0f} MB, worker {r['worker_mb']:.0f} MB;"
                        f" combined file {r['combined_mb']:.1f} MB",
                    )
                    shutil.rmtree(folder / f"run-{size}", ignore_errors=True)
                if renderers and kind == kinds[0]:
                    (folder / "renderers").mkdir()
                    load = _load()
                    f = in_child(_child_renderers, url, str(folder / "renderers"), renderers)
                    for name in ("weasyprint", "reportlab", "own"):
                        if isinstance(f[name], str):
                            _row(out, f"renderer {name}", f"not measured: {f[name]}")
                            continue
                        seconds, size = f[name]
                        _row(
                            out,
                            f"renderer {name}: {f['count']} statements, 1 process (load {load})",
                            f"{seconds:.2f} s = {f['count'] / seconds:.0f} statements/s; {size / 1000:.1f} kB a PDF",
                        )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return out


if __name__ == "__main__":
    for figure, value in run():
        print(f"{figure}: {value}")

"""SL_STATEMENT_GENERATION's PDFs: laid out in worker processes, the same to the byte whatever
the parallelism, printing the figures of an independent computation, resumed after a crash, and
made from statement rows read back from the database a page at a time."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.analysis.ageing import DEFAULT_BOUNDS
from acas_batch.analysis.money import format_pounds
from acas_batch.batch.registry import REGISTRY
from acas_batch.jobs.sl import statement_generation as sl_statements
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models import (
    BatchExecution,
    Customer,
    DocumentKind,
    ExecutionState,
    Receipt,
    SalesInvoice,
    StatementLine,
)
from tests.sl_support import at, settings_for
from tests.support.context import JobRun, run_job

END = date(2026, 11, 23)


@pytest.fixture
def demo(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small demo company, its statements laid out four to a chunk."""
    generate(engine, size=DemoSize(customers=12, suppliers=2, items=6, months=4), end=END, seed=7)
    monkeypatch.setattr(sl_statements, "PDF_SET_CHUNK", 4)


def _texts(run: JobRun) -> dict[str, list[str]]:
    folder = run.context.output("statements.csv").parent
    return {
        p.name: [page.extract_text() for page in PdfReader(p).pages] for p in sorted(folder.glob("statement_*.pdf"))
    }


def _bytes(run: JobRun) -> dict[str, bytes]:
    folder = run.context.output("statements.csv").parent
    return {p.name: p.read_bytes() for p in sorted(folder.glob("statement*.pdf"))}


def _supersede(engine: Engine, run: JobRun) -> None:
    with Session(engine) as s:  # as an operator's forced rerun does
        done = update(BatchExecution).where(BatchExecution.id == run.execution_id)
        s.execute(done.values(superseded_by_id=run.execution_id))
        s.commit()


def test_worker_processes_write_the_same_statements_as_one_process_to_the_byte(
    engine: Engine, db_url: str, tmp_path: Path, demo: None
) -> None:
    settings = settings_for(db_url, tmp_path)
    one = run_job(engine, settings, "SL_STATEMENT_GENERATION", now=at(END), params={"pdf_workers": 1})
    assert one.state is ExecutionState.SUCCEEDED, one.error
    _supersede(engine, one)
    two = run_job(engine, settings, "SL_STATEMENT_GENERATION", now=at(END), params={"pdf_workers": 2})
    assert two.state is ExecutionState.SUCCEEDED, two.error
    serial, parallel = _texts(one), _texts(two)
    assert len(serial) > 4 and serial == parallel  # more than one chunk, page for page the same text
    assert _bytes(one) == _bytes(two)  # every customer's file and the combined file, byte for byte
    assert not list(two.context.output("statements.csv").parent.glob(".*"))  # no piece left behind
    assert all("Amount due" in pages[-1] for pages in parallel.values())
    assert two.context.last_checkpoint is not None
    assert two.context.last_checkpoint["pdf_chunks_done"] == list(range((len(serial) + 3) // 4))
    combined = PdfReader(two.context.output("statements_all.pdf"))
    assert len(combined.pages) == sum(len(pages) for pages in parallel.values())


def test_the_printed_statement_shows_the_figures_of_an_independent_computation(
    engine: Engine, db_url: str, tmp_path: Path, demo: None
) -> None:
    # Given the demo company's statements for October, made on 23/11 (PREVIOUS)
    start, end = date(2026, 10, 1), date(2026, 10, 31)
    run = run_job(engine, settings_for(db_url, tmp_path), "SL_STATEMENT_GENERATION", now=at(END),
                  params={"period": "PREVIOUS"})  # fmt: skip
    assert run.state is ExecutionState.SUCCEEDED, run.error
    # When one customer's statement is computed here from the documents and receipts themselves
    with Session(engine) as s:
        moves = [
            (d.customer_id, d.invoice_date, "invoice" if d.kind is DocumentKind.INVOICE else "credit note",
             d.id, d.number, d.gross_pence if d.kind is DocumentKind.INVOICE else -d.gross_pence)
            for d in s.scalars(select(SalesInvoice))
        ]  # fmt: skip
        moves += [(r.customer_id, r.receipt_date, "receipt", r.id, r.reference, -r.amount_pence)
                  for r in s.scalars(select(Receipt))]  # fmt: skip
        open_items = [
            (d.customer_id, d.due_date, d.outstanding_pence if d.kind is DocumentKind.INVOICE else -d.outstanding_pence)
            for d in s.scalars(select(SalesInvoice).where(SalesInvoice.outstanding_pence > 0))
        ]
        open_items += [(r.customer_id, r.receipt_date, -r.unallocated_pence)
                       for r in s.scalars(select(Receipt).where(Receipt.unallocated_pence > 0))]  # fmt: skip
        codes = {int(i): str(c) for i, c in s.execute(select(Customer.id, Customer.code))}
    busiest = max(codes, key=lambda c: sum(1 for m in moves if m[0] == c and start <= m[1] <= end))
    mine = sorted((m for m in moves if m[0] == busiest and m[1] <= end), key=lambda m: (m[1], m[2], m[3]))
    balance = sum(m[5] for m in mine if m[1] < start)
    expected = [f"{start:%d/%m/%Y} Balance brought forward {format_pounds(balance)}"]
    for _, on, kind, _, ref, amount in (m for m in mine if m[1] >= start):
        balance += amount
        expected.append(f"{on:%d/%m/%Y} {kind} {ref} {format_pounds(abs(amount))} {format_pounds(balance)}")
    expected.append(f"{end:%d/%m/%Y} Balance now due {format_pounds(balance)}")
    buckets = [0] * (len(DEFAULT_BOUNDS) + 1)
    for cid, on, amount in open_items:
        if cid == busiest:
            days = (end - on).days
            buckets[sum(1 for b in DEFAULT_BOUNDS if days > b)] += amount
    expected.append(" ".join(format_pounds(v) for v in [*buckets, sum(buckets)]))
    expected.append(f"Amount due: {format_pounds(balance)}")
    # Then its PDF prints those lines, in that order, and nothing else between them
    text = "\n".join(
        page.extract_text() for page in PdfReader(run.context.output(f"statement_{codes[busiest]}.pdf")).pages
    )
    printed = [line for line in text.splitlines() if any(line.startswith(e.split(" ")[0]) for e in expected)]
    assert len(expected) > 4
    assert [line for line in printed if not line.startswith("Amount due")] + [
        line.split(" Amount paid")[0] for line in printed if line.startswith("Amount due")
    ] == expected


def test_a_resumed_run_does_not_lay_out_the_chunks_already_written(
    engine: Engine, db_url: str, tmp_path: Path, demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a run that crashes while laying out its second chunk of statements
    laid_out: list[list[str]] = []
    real = sl_statements.render_statements

    def render(statements: Any, paths: list[str], context: dict[str, Any], part: str | None = None) -> None:
        laid_out.append([Path(p).name for p in paths])
        if len(laid_out) == 2:
            raise OSError("disk full")
        real(statements, paths, context, part)

    monkeypatch.setattr(sl_statements, "render_statements", render)
    settings = settings_for(db_url, tmp_path)
    first = run_job(engine, settings, "SL_STATEMENT_GENERATION", now=at(END), params={"pdf_workers": 1})
    assert first.state is ExecutionState.FAILED and isinstance(first.error, OSError)
    assert first.context.last_checkpoint == {"pdf_chunks_done": [0]}
    written = {name: first.context.output(name).stat().st_mtime_ns for name in laid_out[0]}
    # When the execution is resumed from its checkpoint
    result = REGISTRY.get("SL_STATEMENT_GENERATION").func(first.context)
    first.context.session.commit()
    # Then the first chunk is not laid out again, every other one is, and every statement is there
    assert laid_out[0] not in laid_out[1:] and laid_out[2] == laid_out[1]
    assert {name: first.context.output(name).stat().st_mtime_ns for name in laid_out[0]} == written
    names = {name for chunk in laid_out for name in chunk}
    assert set(_texts(first)) == names and result.counts["statements"] == len(names)


def test_every_statement_is_recorded_first_and_each_page_read_back_when_it_is_reached(
    engine: Engine, db_url: str, tmp_path: Path, demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a run laying out four statements at a time and writing its CSV five at a time, in
    # which the last customer's recorded name is changed while the first chunk is laid out
    monkeypatch.setattr(sl_statements, "CHUNK", 5)
    recorded: list[str] = []
    real = sl_statements.render_statements

    def render(statements: Any, paths: list[str], context: dict[str, Any], part: str | None = None) -> None:
        if not recorded:
            with Session(engine) as s:
                recorded.extend(s.scalars(select(StatementLine.customer_code).order_by(StatementLine.customer_code)))
                last = update(StatementLine).where(StatementLine.customer_code == recorded[-1])
                s.execute(last.values(customer_name="Renamed Meanwhile Ltd"))
                s.commit()
        real(statements, paths, context, part)

    monkeypatch.setattr(sl_statements, "render_statements", render)
    run = run_job(engine, settings_for(db_url, tmp_path), "SL_STATEMENT_GENERATION", now=at(END),
                  params={"pdf_workers": 1})  # fmt: skip
    assert run.state is ExecutionState.SUCCEEDED, run.error
    # Then every statement's row was in the database before the first PDF was laid out
    assert run.result is not None and len(recorded) == run.result.counts["statements"] > 8
    # and the last statement was made from its row as it stood when its page was read, not as
    # it was computed at the start: its PDF, its page of the combined file and its CSV row
    texts = _texts(run)
    assert "Renamed Meanwhile Ltd" in texts[f"statement_{recorded[-1]}.pdf"][0]
    assert not any("Renamed Meanwhile Ltd" in t for name, pages in texts.items() for t in pages
                   if name != f"statement_{recorded[-1]}.pdf")  # fmt: skip
    combined = PdfReader(run.context.output("statements_all.pdf"))
    assert "Renamed Meanwhile Ltd" in combined.pages[-1].extract_text()
    rows = run.context.output("statements.csv").read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == recorded  # every statement, in customer code order
    assert rows[-1].split(",")[1] == "Renamed Meanwhile Ltd"

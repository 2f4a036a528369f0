"""SL_STATEMENT_GENERATION's PDFs: laid out in worker processes, and resumed after a crash."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from acas_batch.batch.registry import REGISTRY
from acas_batch.jobs.sl import statement_generation as sl_statements
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models import BatchExecution, ExecutionState
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


def _supersede(engine: Engine, run: JobRun) -> None:
    with Session(engine) as s:  # as an operator's forced rerun does
        done = update(BatchExecution).where(BatchExecution.id == run.execution_id)
        s.execute(done.values(superseded_by_id=run.execution_id))
        s.commit()


def test_worker_processes_write_the_same_statements_as_one_process(
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
    assert all("Amount due" in pages[-1] for pages in parallel.values())
    assert two.context.last_checkpoint is not None
    assert two.context.last_checkpoint["pdf_chunks_done"] == list(range((len(serial) + 3) // 4))
    combined = PdfReader(two.context.output("statements_all.pdf"))
    assert len(combined.pages) == sum(len(pages) for pages in parallel.values())


def test_a_resumed_run_does_not_lay_out_the_chunks_already_written(
    engine: Engine, db_url: str, tmp_path: Path, demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a run that crashes while laying out its second chunk of statements
    laid_out: list[list[str]] = []
    real = sl_statements.render_statements

    def render(statements: Any, paths: list[str], context: dict[str, Any]) -> None:
        laid_out.append([Path(p).name for p in paths])
        if len(laid_out) == 2:
            raise OSError("disk full")
        real(statements, paths, context)

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

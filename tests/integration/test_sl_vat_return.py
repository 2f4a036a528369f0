"""SL_VAT_RETURN on both databases: a hand-worked quarter, a demo company, the real engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.errors import Conflict
from acas_batch.jobs.pl import vat_return as pl_vat_return
from acas_batch.jobs.sl import vat_return as sl_vat_return
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.ledger.money import pro_rata
from acas_batch.ledger.sl import SalesLine, post_sales_invoice
from acas_batch.models import (
    DocumentKind,
    ExecutionState,
    Receipt,
    SalesAllocation,
    SalesInvoice,
    SalesInvoiceLine,
    VatCode,
    VatReturn,
    VatReturnRun,
    VatReturnStatus,
)
from acas_batch.services import JobSchedulerService
from tests.books import EX, OS, Books, R, S, Z
from tests.engine_helpers import engine_settings
from tests.integration.test_jobs_pl_payments import _supersede
from tests.sl_support import assert_ledger_sound, at, credit_note, open_books, receipt, settings_for
from tests.support.context import run_job
from tests.support.users import user

QUARTER_END = date(2026, 9, 30)  # the VAT quarter 2026-Q3: July to September


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    yield from open_books(engine)


def _invoice(b: Books, customer: int, on: date, *lines: tuple[int, int]) -> int:
    """An invoice of (net pence, VAT code) lines."""
    return post_sales_invoice(
        b.session,
        customer_id=customer,
        number=b.next("INV"),
        invoice_date=on,
        lines=[SalesLine(1, net, code, b.sales) for net, code in lines],
    )


@pytest.fixture
def quarter(books: Books) -> dict[str, int]:
    """2026-Q3 (period key 26C3), VAT per line rounded half-up:

    10/07 invoice: £100.00 standard (VAT £20.00), £50.00 zero rated         box 6 £150.00
    05/08 invoice: £33.33 standard (VAT £6.666 → £6.67), £10.00 reduced (50p),
                   £20.00 exempt, £5.00 outside the scope (in no box)        box 6 £63.33
    01/09 credit note: £10.00 standard (VAT £2.00)                           box 6 −£10.00
    Outside the quarter: 30/06 invoice £70.00 standard, 01/10 invoice £40.00 standard.
    Receipts in the quarter (cash scheme): 15/07 pays the 30/06 invoice in full (£84.00),
    20/09 pays half of the 10/07 invoice (£85.00 of £170.00).
    """
    b = books
    c = b.customer()
    june = _invoice(b, c, date(2026, 6, 30), (7_000, S))
    july = _invoice(b, c, date(2026, 7, 10), (10_000, S), (5_000, Z))
    _invoice(b, c, date(2026, 8, 5), (3_333, S), (1_000, R), (2_000, EX), (500, OS))
    credit_note(b, c, 1_000, date(2026, 9, 1))
    _invoice(b, c, date(2026, 10, 1), (4_000, S))
    receipt(b, c, 8_400, date(2026, 7, 15), (june, 8_400))
    receipt(b, c, 8_500, date(2026, 9, 20), (july, 8_500))
    b.session.commit()
    return {"customer": c, "june": june, "july": july}


def _return(engine: Engine, end: date = QUARTER_END) -> VatReturn:
    with Session(engine) as s:
        return s.scalars(select(VatReturn).where(VatReturn.end_date == end)).one()


def test_accrual_scheme_counts_documents_by_tax_point(
    engine: Engine, db_url: str, tmp_path: Path, quarter: dict[str, int]
) -> None:
    run = run_job(engine, settings_for(db_url, tmp_path), "SL_VAT_RETURN", now=at(QUARTER_END))
    assert run.state is ExecutionState.SUCCEEDED, run.error
    r = _return(engine)
    assert (r.start_date, r.end_date, r.status) == (date(2026, 7, 1), QUARTER_END, VatReturnStatus.DRAFT)
    assert r.box1_pence == 2_000 + 667 + 50 - 200
    assert (r.box2_pence, r.box3_pence, r.box5_pence) == (0, 2_517, 2_517)
    assert r.box6_pence == 20_300  # £203.33 with the pence truncated: whole pounds
    assert r.box8_pence == 0
    mtd = json.loads(run.context.output("vat_return_26C3.json").read_text())
    assert mtd["periodKey"] == "26C3"
    assert (mtd["vatDueSales"], mtd["totalVatDue"], mtd["netVatDue"]) == (25.17, 25.17, 25.17)
    assert (mtd["totalValueSalesExVAT"], mtd["totalValuePurchasesExVAT"]) == (203, 0)
    assert run.context.output("vat_return_26C3.pdf").read_bytes().startswith(b"%PDF")
    assert_ledger_sound(engine)


def test_cash_scheme_counts_what_was_received_in_the_quarter(
    engine: Engine, db_url: str, tmp_path: Path, quarter: dict[str, int]
) -> None:
    params = {"quarter": "2026-Q3", "scheme": "cash", "output_format": "csv"}
    run = run_job(engine, settings_for(db_url, tmp_path), "SL_VAT_RETURN", now=at(date(2026, 10, 5)), params=params)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    r = _return(engine)
    # the June invoice in full (VAT £14.00, net £70.00); half the July one (VAT £10.00, net £75.00)
    assert r.box1_pence == 1_400 + 1_000
    assert r.box6_pence == 14_500
    with Session(engine) as s:
        assert s.scalars(select(VatReturnRun.documents)).one() == 2


def test_a_completed_return_is_never_rewritten_and_an_unfinished_quarter_is_refused(
    engine: Engine, db_url: str, tmp_path: Path, quarter: dict[str, int]
) -> None:
    settings = settings_for(db_url, tmp_path)
    early = run_job(engine, settings, "SL_VAT_RETURN", now=at(date(2026, 9, 15)))
    assert early.state is ExecutionState.FAILED
    assert str(early.error) == "VAT quarter 2026-Q3 ends 30/09/2026; it is not over on 15/09/2026"
    run_job(engine, settings, "SL_VAT_RETURN", now=at(QUARTER_END), params={"output_format": "csv"})
    with Session(engine) as s:  # PL_VAT_RETURN completes the same row
        s.execute(update(VatReturn).values(status=VatReturnStatus.COMPLETE, box4_pence=900, box5_pence=1_617))
        s.commit()
    again = run_job(engine, settings, "SL_VAT_RETURN", now=at(QUARTER_END), params={"quarter": "2026-Q3"})
    assert isinstance(again.error, Conflict)
    assert str(again.error) == "VAT return 26C3 (2026-Q3) is already complete; its output side is not written again"
    r = _return(engine)
    assert (r.box1_pence, r.box4_pence, r.box5_pence) == (2_517, 900, 1_617)


def test_a_bad_quarter_is_refused_naming_the_field() -> None:
    from acas_batch.batch.registry import REGISTRY
    from acas_batch.errors import ValidationError
    from acas_batch.jobs import load_standard_jobs

    load_standard_jobs()
    with pytest.raises(ValidationError, match="quarter: "):
        REGISTRY.get("SL_VAT_RETURN").validate_params({"quarter": "2026-Q5"})
    with pytest.raises(ValidationError, match="scheme: "):
        REGISTRY.get("SL_VAT_RETURN").validate_params({"scheme": "flat_rate"})


def test_on_a_demo_company_both_schemes_match_an_independent_computation(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # Given a demo company whose books end before its July-September return was made
    end = date(2026, 10, 2)
    generate(engine, size=DemoSize(customers=15, suppliers=4, items=10, months=6), end=end, seed=9)
    start, stop = date(2026, 7, 1), date(2026, 9, 30)
    with Session(engine) as s:
        codes = {c.id: c for c in s.scalars(select(VatCode))}
        docs = {d.id: d for d in s.scalars(select(SalesInvoice))}
        vat: dict[int, int] = dict.fromkeys(docs, 0)
        net6: dict[int, int] = dict.fromkeys(docs, 0)
        for line in s.scalars(select(SalesInvoiceLine)):
            vat[line.invoice_id] += line.vat_pence
            net6[line.invoice_id] += line.net_pence if codes[line.vat_code_id].in_net_boxes else 0
        receipts = {r.id: r.receipt_date for r in s.scalars(select(Receipt))}
        paid = [
            (a.invoice_id, a.amount_pence)
            for a in s.scalars(select(SalesAllocation))
            if a.receipt_id is not None and start <= receipts[a.receipt_id] <= stop
        ]
    in_q = [d for d in docs.values() if start <= d.invoice_date <= stop]
    sign = {d.id: 1 if d.kind is DocumentKind.INVOICE else -1 for d in docs.values()}
    accrual_box1 = sum(sign[d.id] * vat[d.id] for d in in_q)
    accrual_box6 = sum(sign[d.id] * net6[d.id] for d in in_q)
    cash_box1 = sum(pro_rata(vat[i], amount, docs[i].gross_pence) for i, amount in paid)
    cash_box6 = sum(pro_rata(net6[i], amount, docs[i].gross_pence) for i, amount in paid)
    assert len(in_q) > 20 and len(paid) > 20

    settings = settings_for(db_url, tmp_path)
    run = run_job(engine, settings, "SL_VAT_RETURN", now=at(date(2026, 10, 2)), params={"quarter": "PREVIOUS"})
    assert run.state is ExecutionState.SUCCEEDED, run.error
    r = _return(engine)
    assert (r.box1_pence, r.box6_pence) == (accrual_box1, accrual_box6 // 100 * 100)
    _supersede(engine, run.execution_id)  # the same quarter named: the same run key, so a forced rerun
    params = {"quarter": "2026-Q3", "scheme": "cash", "output_format": "csv"}
    cash = run_job(engine, settings, "SL_VAT_RETURN", now=at(end), params=params)
    assert cash.state is ExecutionState.SUCCEEDED, cash.error
    r = _return(engine)
    assert (r.box1_pence, r.box6_pence) == (cash_box1, cash_box6 // 100 * 100)
    assert_ledger_sound(engine)


def test_the_engine_runs_it_end_to_end(engine: Engine, db_url: str, tmp_path: Path, quarter: dict[str, int]) -> None:
    svc = JobSchedulerService(
        engine, settings=engine_settings(db_url, tmp_path, job_modules="acas_batch.jobs.sl"), actor=user(engine, "ann")
    )
    created = svc.create_job("SL_VAT_RETURN", "SL", handler="SL_VAT_RETURN")
    assert created[0], created
    ok, execution_id = svc.execute_job_now("SL_VAT_RETURN", {"quarter": "2026-Q3", "business_date": "2026-09-30"})
    assert ok, execution_id
    ok, detail = svc.wait_for(execution_id, timeout=60)
    assert ok and detail["state"] == "succeeded", detail
    assert detail["result"]["data"]["mtd"]["vatDueSales"] == 25.17
    assert _return(engine).box1_pence == 2_517


def test_each_sides_mtd_json_is_written_only_after_its_figures_are_committed(
    engine: Engine, db_url: str, tmp_path: Path, quarter: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a look, from another connection, at the return committed at the moment a JSON file is
    # written (a commit lost after that moment would leave a file no rerun agrees with)
    seen: list[tuple[str, str | None, int | None, float]] = []

    def watching(module: Any) -> None:
        write_text = module.write_text

        def watched(path: Path, text: str, **kwargs: Any) -> Path:
            if path.suffix == ".json":
                with Session(engine) as s:
                    committed = s.scalars(select(VatReturn).where(VatReturn.end_date == QUARTER_END)).first()
                    status = committed.status.value if committed is not None else None
                    box5 = committed.box5_pence if committed is not None else None
                seen.append((path.name, status, box5, json.loads(text)["netVatDue"]))
            return write_text(path, text, **kwargs)

        monkeypatch.setattr(module, "write_text", watched)

    watching(sl_vat_return)
    watching(pl_vat_return)
    # When the output side, then the input side, are run
    settings = settings_for(db_url, tmp_path)
    for job in ("SL_VAT_RETURN", "PL_VAT_RETURN"):
        run = run_job(engine, settings, job, now=at(QUARTER_END))
        assert run.state is ExecutionState.SUCCEEDED, run.error
    # Then each JSON file holds exactly what was committed before it was written
    assert seen == [("vat_return_26C3.json", "draft", 2_517, 25.17), ("vat_return_mtd.json", "complete", 2_517, 25.17)]

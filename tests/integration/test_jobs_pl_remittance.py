"""PL_REMITTANCE_ADVICE after a payment run: one advice per payment, sent once."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, func, select, update

from acas_batch.batch.definitions import create_job
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import ApprovalRequired, NotFound
from acas_batch.jobs import load_standard_jobs
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models import (
    BatchExecution,
    ExecutionState,
    Module,
    PurchaseInvoice,
    Remittance,
    Supplier,
    SupplierPayment,
)
from acas_batch.services import JobSchedulerService
from acas_batch.services.approvals import approve
from tests.engine_helpers import wait_until
from tests.integration.test_jobs_pl_payments import DAY, NOW, PAY, _payables, _settings, _supersede
from tests.support.context import run_job
from tests.support.users import user


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_remittance_advice_per_payment_with_each_invoice_and_discount(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    ids = _payables(engine)
    with transaction(engine, write=True) as s:
        s.execute(update(Supplier).where(Supplier.id == ids["a"]).values(remittance_email="ap@a.example"))
    settings = _settings(db_url, tmp_path)
    paid = run_job(engine, settings, "PL_PAYMENT_RUN", now=NOW, business_date=DAY, params={"payment_date": str(PAY)})
    assert paid.state is ExecutionState.SUCCEEDED, paid.error
    run = run_job(engine, settings, "PL_REMITTANCE_ADVICE", now=NOW, business_date=DAY)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert run.result is not None and run.result.counts["remittances"] == 3
    assert run.result.counts["not_emailed_no_address"] == 2
    folder = Path(run.result.files[0]).parent
    rows = _csv(folder / "remittances.csv")
    assert [(r["supplier"], r["cleared_pence"], r["discount_pence"], r["paid_pence"], r["sent_to"]) for r in rows] == [
        ("S00001", "6000", "0", "6000", "ap@a.example"),
        ("S00001", "12000", "300", "11700", "ap@a.example"),
        ("S00002", "20400", "0", "20400", "post"),
        ("S00003", "1200", "0", "1200", "post"),
    ]
    pdfs = sorted(p.name for p in folder.glob("*.pdf"))
    assert pdfs == ["remittance_S00001.pdf", "remittance_S00002.pdf", "remittance_S00003.pdf"]
    assert all((folder / name).read_bytes().startswith(b"%PDF") for name in pdfs)
    # S00001's advice lists both invoices it settles, the discount taken and the total paid
    printed = PdfReader(folder / "remittance_S00001.pdf").pages[0].extract_text()
    assert "60.00 60.00" in printed and "120.00 3.00 117.00" in printed
    assert "Total 180.00 3.00 177.00" in printed and "Page 1 of 1" in printed
    with transaction(engine) as s:
        advised = {r.payment_id: r for r in s.scalars(select(Remittance))}
        payments = set(s.scalars(select(SupplierPayment.id)))
    assert set(advised) == payments
    assert all(r.sent_at is not None and r.document and r.document.endswith(".pdf") for r in advised.values())
    # A rerun advises nobody twice.
    _supersede(engine, run.execution_id)
    again = run_job(engine, settings, "PL_REMITTANCE_ADVICE", now=NOW, business_date=DAY)
    assert again.result is not None and again.result.counts["remittances"] == 0
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Remittance)) == 3


def test_remittance_advice_refuses_an_unknown_payment_run(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _payables(engine)
    settings = _settings(db_url, tmp_path)
    run = run_job(engine, settings, "PL_REMITTANCE_ADVICE", now=NOW, business_date=DAY)
    assert run.state is ExecutionState.FAILED and isinstance(run.error, NotFound)
    assert "payment_run: no payment run PL_PAYMENT_RUN:2026-06-30" in str(run.error)
    with pytest.raises(ValueError, match="payment_run"):
        run_job(engine, settings, "PL_REMITTANCE_ADVICE", now=NOW, params={"payment_run": "2026-06-30"})


def test_remittances_on_a_demo_company_account_for_every_payment(engine: Engine, db_url: str, tmp_path: Path) -> None:
    end = date(2026, 11, 23)
    generate(engine, size=DemoSize(customers=6, suppliers=8, items=12, months=6), end=end, seed=3)
    settings = _settings(db_url, tmp_path)
    now = datetime(2026, 11, 23, 14, tzinfo=UTC)
    run_job(engine, settings, "PL_PAYMENT_RUN", now=now, business_date=end, params={"lookahead_days": 30})
    run = run_job(engine, settings, "PL_REMITTANCE_ADVICE", now=now, business_date=end, params={"output_format": "csv"})
    assert run.state is ExecutionState.SUCCEEDED and run.result is not None, run.error
    rows = _csv(Path(run.result.files[0]).parent / "remittances.csv")
    paid_by_payment: dict[int, int] = {}
    for r in rows:
        paid_by_payment[int(r["payment_id"])] = paid_by_payment.get(int(r["payment_id"]), 0) + int(r["paid_pence"])
    with transaction(engine) as s:
        payments = dict(
            s.execute(
                select(SupplierPayment.id, SupplierPayment.amount_pence).where(
                    SupplierPayment.run_key == "PL_PAYMENT_RUN:2026-11-23"
                )
            ).all()
        )
        advised = set(s.scalars(select(Remittance.payment_id).where(Remittance.created_at == now)))
    assert payments and paid_by_payment == payments
    assert advised == set(payments)


def test_remittance_advice_is_triggered_by_the_payment_run_in_the_engine(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    _payables(engine)
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path,
        job_modules="acas_batch.jobs.pl.payment_run,acas_batch.jobs.pl.remittance_advice",
        lease_seconds=3,
        poll_seconds=0.05,
    )
    load_standard_jobs()
    with transaction(engine, write=True) as s:
        create_job(s, "PL_PAYMENT_RUN", module=Module.PL, now=NOW, max_attempts=1)
        create_job(s, "PL_REMITTANCE_ADVICE", module=Module.PL, now=NOW, default_params={"output_format": "csv"})
    svc = JobSchedulerService(engine, settings=settings, actor=user(engine, "ann"))
    assert svc.add_dependency("PL_REMITTANCE_ADVICE", "PL_PAYMENT_RUN", kind="trigger")[0]
    ok, execution_id = svc.execute_job_now("PL_PAYMENT_RUN", {"payment_date": str(PAY)}, business_date=DAY)
    assert ok and isinstance(execution_id, int), execution_id
    ok, started = svc.start_scheduler(workers=1)
    assert ok, started
    try:

        def advised() -> bool:
            with transaction(engine) as s:
                return s.scalar(select(func.count()).select_from(Remittance)) == 3

        wait_until(advised, timeout=120)
    finally:
        svc.stop_scheduler()
    with transaction(engine) as s:
        states = {e.run_key: e.state for e in s.scalars(select(BatchExecution))}
    assert states == {
        "PL_PAYMENT_RUN:2026-06-30": ExecutionState.SUCCEEDED,
        f"PL_REMITTANCE_ADVICE:2026-06-30/execution-{execution_id}": ExecutionState.SUCCEEDED,
    }


def test_a_forced_rerun_of_the_payment_run_gets_its_own_remittance_advices(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # Given a payment run of 30/06 that paid three suppliers and was advised
    ids = _payables(engine)
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path,
        job_modules="acas_batch.jobs.pl.payment_run,acas_batch.jobs.pl.remittance_advice",
        lease_seconds=3,
        poll_seconds=0.05,
    )
    load_standard_jobs()
    with transaction(engine, write=True) as s:
        create_job(s, "PL_PAYMENT_RUN", module=Module.PL, now=NOW, max_attempts=1)
        create_job(s, "PL_REMITTANCE_ADVICE", module=Module.PL, now=NOW, default_params={"output_format": "csv"})
    svc = JobSchedulerService(engine, settings=settings, actor=user(engine, "ann"))
    assert svc.add_dependency("PL_REMITTANCE_ADVICE", "PL_PAYMENT_RUN", kind="trigger")[0]
    ok, first = svc.execute_job_now("PL_PAYMENT_RUN", {"payment_date": str(PAY)}, business_date=DAY)
    assert ok and isinstance(first, int), first
    ok, started = svc.start_scheduler(workers=1)
    assert ok, started
    try:

        def advised(n: int) -> bool:
            with transaction(engine) as s:
                return s.scalar(select(func.count()).select_from(Remittance)) == n

        wait_until(lambda: advised(3), timeout=120)
        # When supplier E's invoice comes off hold and the payment run is forced again for the same day
        with transaction(engine, write=True) as s:
            s.execute(update(PurchaseInvoice).where(PurchaseInvoice.id == ids["E1"]).values(on_hold=False))
        ok, rerun = svc.rerun_execution(first, "E's invoice released after the run", force=True)
        # ... which needs a second user's approval (four-eyes on the payment run), given by bob
        assert not ok and isinstance(svc.last_error, ApprovalRequired), rerun
        approved = approve(engine, settings, user(engine, "bob", "approver"), svc.last_error.approval_id, now=NOW)
        assert approved.state == "done", approved
        # Then the rerun's payment to E is advised too
        wait_until(lambda: advised(4), timeout=120)
    finally:
        svc.stop_scheduler()
    with transaction(engine) as s:
        advices = {e.run_key: e.state for e in s.scalars(select(BatchExecution)) if "REMITTANCE" in e.run_key}
        e_paid = s.scalars(select(SupplierPayment.id).where(SupplierPayment.supplier_id == ids["e"])).one()
        assert s.scalar(select(Remittance.payment_id).where(Remittance.payment_id == e_paid)) == e_paid
    assert sorted(advices.values()) == [ExecutionState.SUCCEEDED, ExecutionState.SUCCEEDED]

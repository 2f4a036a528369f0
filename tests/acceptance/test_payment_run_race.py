"""Two payment runs racing for the same due invoices, each in its own OS process, pay each invoice once.

The engine never runs two payment runs at once (``ledger:PL`` is an exclusive resource and a
run key that succeeded is not run again), so the first test starts two real workers and
hands them two runs whose payment dates cover the same invoices. The second goes below the
engine: two processes execute the payment code itself at the same moment for two business
dates (two run keys) paying on the same day, and meet after each has paid its first supplier,
so that each then goes on with a plan that includes suppliers the other has just paid. Only
the ledger (the guarded decrement of what is outstanding, and its CHECK) stands between them
and a double payment.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from acas_batch.batch.definitions import create_job
from acas_batch.batch.operations import enqueue
from acas_batch.db import make_engine, transaction
from acas_batch.jobs import load_standard_jobs
from acas_batch.ledger.pl import PurchaseLine, post_purchase_invoice
from acas_batch.models import (
    Account,
    ControlKind,
    DocumentKind,
    JournalLine,
    Module,
    PaymentRun,
    PurchaseAllocation,
    PurchaseInvoice,
    SupplierPayment,
)
from acas_batch.models.enums import ExecutionState
from tests.acceptance.processes import engine_env, processes
from tests.books import Books, S
from tests.engine_helpers import executions, wait_until

PAY = date(2026, 7, 2)
DAYS = (date(2026, 6, 29), date(2026, 6, 30))  # two business dates, two run keys, one payment date
NOW = datetime(2026, 6, 29, 14, tzinfo=UTC)
SUPPLIERS = 24


def _doc(b: Books, supplier: int, net: int, on: date, due: date, kind: DocumentKind = DocumentKind.INVOICE) -> int:
    line = PurchaseLine(1, net, S, account_id=b.acc("6400"))
    return post_purchase_invoice(
        b.session, supplier_id=supplier, number=b.next("PI"), invoice_date=on, due_date=due, lines=[line], kind=kind
    )


def _payables(engine: Engine) -> dict[int, int]:
    """Suppliers each with two invoices due by the payment date (the second inside the settlement
    discount days of every fourth supplier), every third with a credit note, some paid by cheque,
    and one invoice each due later (not to be paid). Returns the due invoices and their gross."""
    due: dict[int, int] = {}
    with transaction(engine, write=True) as s:
        b = Books.open(s)
        for n in range(SUPPLIERS):
            supplier = b.supplier("2.0", 10) if n % 4 == 0 else b.supplier(bank=n % 5 != 0)
            old = 10_000 + 100 * n
            due[_doc(b, supplier, old, date(2026, 5, 1 + n), date(2026, 6, 20))] = old * 6 // 5
            recent = 4_000 + 10 * n
            due[_doc(b, supplier, recent, date(2026, 6, 24), date(2026, 6, 30))] = recent * 6 // 5
            _doc(b, supplier, 5_000, date(2026, 6, 25), date(2026, 7, 30))  # due after the payment date
            if n % 3 == 0:
                _doc(b, supplier, 1_000, date(2026, 6, 2), date(2026, 6, 2), DocumentKind.CREDIT_NOTE)
    return due


def _assert_each_invoice_paid_once(engine: Engine, due: dict[int, int]) -> None:
    with transaction(engine) as s:
        left = dict(s.execute(select(PurchaseInvoice.id, PurchaseInvoice.outstanding_pence)).all())
        allocations = s.execute(
            select(
                PurchaseAllocation.invoice_id,
                PurchaseAllocation.payment_id,
                PurchaseAllocation.credit_note_id,
                PurchaseAllocation.amount_pence,
            )
        ).all()
        payments = s.execute(
            select(
                SupplierPayment.id, SupplierPayment.amount_pence, SupplierPayment.journal_id, SupplierPayment.run_key
            )
        ).all()
        bank = s.scalar(select(Account.id).where(Account.control == ControlKind.BANK))
        bank_credits = dict(
            s.execute(
                select(JournalLine.journal_id, func.sum(JournalLine.credit_pence))
                .where(JournalLine.account_id == bank)
                .group_by(JournalLine.journal_id)
            ).all()
        )
        runs = s.execute(select(PaymentRun.run_key, PaymentRun.paid_pence, PaymentRun.completed)).all()
    # Each due invoice is cleared, by exactly what it owed, with one payment allocation; nothing else is paid.
    assert all(left[i] == 0 for i in due)
    cleared: Counter[int] = Counter()
    paid_by: Counter[int] = Counter()
    for invoice, payment, _note, amount in allocations:
        cleared[invoice] += amount
        paid_by[invoice] += payment is not None
    assert dict(cleared) == due
    assert set(paid_by.values()) == {1} and set(paid_by) == set(due)
    # ... no allocation row is written twice
    keys = Counter((i, p, c) for i, p, c, _ in allocations)
    assert max(keys.values()) == 1
    # ... and the bank's side of each payment journal is the payment, so the bank journal totals the payments.
    assert all(bank_credits[journal] == amount for _, amount, journal, _ in payments)
    assert sum(bank_credits.values()) == sum(p.amount_pence for p in payments)
    per_run: Counter[str] = Counter()
    for _, amount, _, key in payments:
        per_run[key] += amount
    assert {key: paid for key, paid, _ in runs} == {key: per_run[key] for key, _, _ in runs}
    assert all(done for _, _, done in runs)
    with transaction(engine) as s:
        Books(s).assert_sound()


# ---- two workers of the real engine ------------------------------------------------------------


def test_two_workers_given_two_payment_runs_for_the_same_invoices_pay_each_invoice_once(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    due = _payables(engine)
    load_standard_jobs()
    with transaction(engine, write=True) as s:
        create_job(s, "PL_PAYMENT_RUN", module=Module.PL, now=NOW, max_attempts=1)
    # Given two payment runs queued at once, for two business dates paying on the same day
    with transaction(engine, write=True) as s:
        ids = [
            enqueue(s, "PL_PAYMENT_RUN", {"payment_date": PAY.isoformat()}, now=NOW, business_date=day).id
            for day in DAYS
        ]
    env = engine_env(db_url, tmp_path, ACAS_JOB_MODULES="acas_batch.jobs", ACAS_LEASE_SECONDS="30")
    # When two workers, each its own process, take them
    with processes(env, tmp_path) as procs:
        procs.start("scheduler", "start", "--workers", "0")
        procs.start("worker", "start", "--slots", "1")
        procs.start("worker", "start", "--slots", "1")
        wait_until(lambda: all(e.state.is_terminal for e in executions(engine) if e.id in ids), timeout=180)
    rows = {e.id: e for e in executions(engine) if e.id in ids}
    # Then both succeed, one pays everything that is due, the other finds nothing left to pay
    assert [rows[i].state for i in ids] == [ExecutionState.SUCCEEDED] * 2, [rows[i].error_message for i in ids]
    paid = sorted(int((rows[i].result or {})["counts"]["payments"]) for i in ids)
    assert paid == [0, SUPPLIERS]
    _assert_each_invoice_paid_once(engine, due)


# ---- two processes running the payment code itself, at the same moment -------------------------


def _pay_in_child(db_url: str, data_dir: str, day: date, barrier: Any, results: Any) -> None:
    """One payment run, as a worker's job process runs it; meets the other after its first payment."""
    from acas_batch.config import load_settings
    from acas_batch.jobs.pl import payment_run as pl_payments
    from tests.support.context import run_job

    def meet(paid: int) -> None:
        if paid == 1:
            with contextlib.suppress(threading.BrokenBarrierError):  # the other had nothing to pay
                barrier.wait(timeout=120)

    pl_payments.AFTER_CHUNK.append(meet)
    engine = make_engine(db_url)
    settings = load_settings(environ={}, database_url=db_url, data_dir=Path(data_dir))
    params = {"payment_date": PAY.isoformat(), "chunk_suppliers": 1}
    run = run_job(engine, settings, "PL_PAYMENT_RUN", now=NOW, business_date=day, params=params)
    result = run.result.model_dump(mode="json") if run.result else None
    results.put((day.isoformat(), run.state.value, result, repr(run.error) if run.error else None))
    engine.dispose()


def test_two_processes_paying_the_same_invoices_at_once_pay_each_invoice_exactly_once(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    due = _payables(engine)
    load_standard_jobs()
    with transaction(engine, write=True) as s:  # the job's row, which both runs share
        create_job(s, "PL_PAYMENT_RUN", module=Module.PL, now=NOW, max_attempts=1)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    # Given two payment runs (two run keys) started together in two processes
    procs = [ctx.Process(target=_pay_in_child, args=(db_url, str(tmp_path), day, barrier, results)) for day in DAYS]
    for p in procs:
        p.start()
    try:
        outcomes = [results.get(timeout=300) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
    # When each has paid one supplier and goes on with a plan made before the other's payments
    by_day = {day: (state, result, error) for day, state, result, error in outcomes}
    assert {state for state, _, _ in by_day.values()} <= {"succeeded", "warning"}, by_day
    counts = [result["counts"] for _, result, _ in by_day.values()]
    # Then each found some suppliers already paid by the other, which it did not pay again ...
    assert all(c["payments"] >= 1 for c in counts)
    assert sum(c["payments"] for c in counts) == SUPPLIERS
    assert sum(c["conflicts"] for c in counts) >= 1
    # ... and every due invoice was paid exactly once.
    _assert_each_invoice_paid_once(engine, due)
    with transaction(engine) as s:
        assert s.scalar(select(func.count(func.distinct(SupplierPayment.supplier_id)))) == SUPPLIERS
        assert s.scalar(select(func.count()).select_from(SupplierPayment)) == SUPPLIERS

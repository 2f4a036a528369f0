"""Two commission runs with ``post_accrual`` started at the same moment in two processes accrue the period once."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update

from acas_batch.batch.definitions import create_job
from acas_batch.db import make_engine, transaction
from acas_batch.jobs import load_standard_jobs
from acas_batch.models import CommissionAccrual, Customer, Journal, Module, Salesperson
from tests.books import Books
from tests.sl_support import receipt

MONTH_END = date(2026, 8, 31)
NOW = datetime(2026, 8, 31, 8, tzinfo=UTC)


def _run_in_child(db_url: str, data_dir: str, basis: str, barrier: Any, results: Any) -> None:
    from acas_batch.config import load_settings
    from tests.support.context import run_job

    engine = make_engine(db_url)
    settings = load_settings(environ={}, database_url=db_url, data_dir=Path(data_dir))
    barrier.wait(timeout=120)
    run = run_job(engine, settings, "SL_COMMISSION_CALCULATION", now=NOW, params={"post_accrual": True, "basis": basis})
    result = run.result.model_dump(mode="json") if run.result else None
    results.put((basis, run.state.value, result, repr(run.error) if run.error else None))
    engine.dispose()


def test_two_runs_at_once_accrue_the_period_once(engine: Engine, db_url: str, tmp_path: Path) -> None:
    # Given August sales of £1,000 net, paid in August, for a salesperson on 5%: £50.00 on either basis
    with transaction(engine, write=True) as s:
        b = Books.open(s)
        rep = Salesperson(code="SP1", name="Rep", commission_rate=Decimal("0.0500"))
        s.add(rep)
        s.flush()
        customer = b.customer()
        s.execute(update(Customer).where(Customer.id == customer).values(salesperson_id=rep.id))
        invoice = b.invoice(customer, 100_000, on=date(2026, 8, 10))
        receipt(b, customer, 120_000, date(2026, 8, 20), (invoice, 120_000))
    load_standard_jobs()
    with transaction(engine, write=True) as s:
        create_job(s, "SL_COMMISSION_CALCULATION", module=Module.SL, now=NOW)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    # When two runs (two run keys: one per basis) start together, each in its own process
    procs = [
        ctx.Process(target=_run_in_child, args=(db_url, str(tmp_path), basis, barrier, results))
        for basis in ("invoiced", "paid")
    ]
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
    # Then both finish, and exactly one of them posted the accrual
    by_basis = {basis: (state, result, error) for basis, state, result, error in outcomes}
    assert {state for state, _, _ in by_basis.values()} == {"succeeded"}, by_basis
    posted = [result["data"]["accrual_posted_now"] for _, result, _ in by_basis.values()]
    assert sorted(posted) == [False, True]
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(CommissionAccrual)) == 1
        journals = s.execute(select(Journal.total_pence).where(Journal.reference == "COMM 2026-08")).all()
    assert [j.total_pence for j in journals] == [5_000]
    with transaction(engine) as s:
        Books(s).assert_sound()

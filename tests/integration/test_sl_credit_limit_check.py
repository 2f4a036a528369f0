"""SL_CREDIT_LIMIT_CHECK on both databases: a hand-worked ledger, a demo company, the real engine."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.ledger.posting import post_pending
from acas_batch.models import (
    BatchLog,
    CreditAction,
    CreditChange,
    Customer,
    DocumentKind,
    ExecutionState,
    Receipt,
    SalesInvoice,
)
from acas_batch.services import JobSchedulerService
from tests.books import Books
from tests.engine_helpers import engine_settings
from tests.sl_support import assert_ledger_sound, at, open_books, settings_for
from tests.support.context import run_job
from tests.support.users import user

DAY = date(2026, 9, 30)


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    yield from open_books(engine)


@pytest.fixture
def ledger(books: Books) -> dict[str, int]:
    """At 30/09/2026, stop after 60 days:

    A (limit £1,000): £120.00 due 01/05, posted, 152 days overdue            → stop (overdue)
    B (limit £150):   £240.00 invoiced 10/09, not yet posted, not due        → stop (over limit)
    C (on stop, limit £10,000): £36.00 due 01/10                              → released
    E (limit £10,000): £60.00 due 22/06, 100 days overdue but disputed        → unchanged
    """
    b = books
    a, bb, c, e = b.customer(limit=100_000), b.customer(limit=15_000), b.customer(), b.customer()
    inv_a = b.invoice(a, 10_000, on=date(2026, 4, 1))
    post_pending(b.session, b.session.get_one(SalesInvoice, inv_a).journal_id, posted_on=date(2026, 4, 1))
    b.invoice(bb, 20_000, on=date(2026, 9, 10))
    b.invoice(c, 3_000, on=date(2026, 9, 1))
    inv_e = b.invoice(e, 5_000, on=date(2026, 5, 23))
    b.session.execute(update(SalesInvoice).where(SalesInvoice.id == inv_e).values(disputed=True))
    b.session.execute(update(Customer).where(Customer.id == c).values(on_stop=True))
    b.session.commit()
    return {"A": a, "B": bb, "C": c, "E": e}


def _stops(engine: Engine) -> dict[int, bool]:
    with Session(engine) as s:
        return {int(i): bool(stop) for i, stop in s.execute(select(Customer.id, Customer.on_stop))}


def _changes(engine: Engine) -> dict[int, CreditChange]:
    with Session(engine) as s:
        return {c.customer_id: c for c in s.scalars(select(CreditChange))}


def test_over_limit_and_long_overdue_go_on_stop_and_those_back_in_line_are_released(
    engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]
) -> None:
    run = run_job(engine, settings_for(db_url, tmp_path), "SL_CREDIT_LIMIT_CHECK", now=at(DAY))
    assert run.state is ExecutionState.SUCCEEDED, run.error
    a, b, c, e = (ledger[k] for k in "ABCE")
    assert _stops(engine) == {a: True, b: True, c: False, e: False}
    changes = _changes(engine)
    assert set(changes) == {a, b, c}
    assert (changes[a].action, changes[a].oldest_overdue_days, changes[a].balance_pence) == (
        CreditAction.STOP,
        152,
        12_000,
    )
    assert changes[a].reason.startswith("overdue past 60 days:")
    assert (changes[b].balance_pence, changes[b].unposted_pence, changes[b].exposure_pence) == (0, 24_000, 24_000)
    assert changes[b].reason.startswith("over the credit limit:")
    assert changes[c].action is CreditAction.RELEASE and changes[c].changed_by == "SL_CREDIT_LIMIT_CHECK"
    assert run.result is not None and run.result.counts == {"customers": 4, "stopped": 2, "released": 1}
    rows = list(csv.reader(run.context.output("credit_check.csv").read_text().splitlines()))
    assert rows[0][2:6] == ["balance_pence", "unposted_pence", "exposure_pence", "credit_limit_pence"]
    assert [r[0] for r in rows[1:]] == ["C00001", "C00002", "C00003", "C00004"]
    assert rows[2][2:] == ["0", "24000", "24000", "15000", "0", "", "stop"]
    with Session(engine) as s:
        messages = list(s.scalars(select(BatchLog.message).where(BatchLog.execution_id == run.execution_id)))
    assert "2 customer(s) put on stop (over limit or overdue past 60 days)" in messages
    assert_ledger_sound(engine)


def test_a_second_run_changes_nothing_and_without_auto_release_nobody_is_released(
    engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]
) -> None:
    settings = settings_for(db_url, tmp_path)
    run = run_job(engine, settings, "SL_CREDIT_LIMIT_CHECK", now=at(DAY), params={"auto_release": False})
    assert run.result is not None and run.result.counts["released"] == 0
    assert _stops(engine)[ledger["C"]] is True
    again = run_job(
        engine, settings, "SL_CREDIT_LIMIT_CHECK", now=at(date(2026, 10, 1)), params={"auto_release": False}
    )
    assert again.result is not None and (again.result.counts["stopped"], again.result.counts["released"]) == (0, 0)
    assert len(_changes(engine)) == 2


def test_bad_parameters_are_refused_naming_the_field() -> None:
    from acas_batch.batch.registry import REGISTRY
    from acas_batch.errors import ValidationError
    from acas_batch.jobs import load_standard_jobs

    load_standard_jobs()
    with pytest.raises(ValidationError, match="stop_after_days: "):
        REGISTRY.get("SL_CREDIT_LIMIT_CHECK").validate_params({"stop_after_days": -1})


def test_on_a_demo_company_the_stops_match_an_independent_computation(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    end = date(2026, 11, 23)
    generate(engine, size=DemoSize(customers=15, suppliers=4, items=10, months=6), end=end, seed=3)
    with Session(engine) as s:
        # Tighten the limits so that some customers are over them
        s.execute(update(Customer).where(Customer.id % 3 == 0).values(credit_limit_pence=100))
        s.commit()
        before = {c.id: (c.on_stop, c.credit_limit_pence) for c in s.scalars(select(Customer))}
        owed = dict.fromkeys(before, 0)
        overdue = dict.fromkeys(before, 0)
        for doc in s.scalars(select(SalesInvoice).where(SalesInvoice.outstanding_pence > 0)):
            owed[doc.customer_id] += doc.outstanding_pence * (1 if doc.kind is DocumentKind.INVOICE else -1)
            if doc.kind is DocumentKind.INVOICE and not doc.disputed:
                overdue[doc.customer_id] = max(overdue[doc.customer_id], (end - doc.due_date).days)
        for r in s.scalars(select(Receipt)):
            owed[r.customer_id] -= r.unallocated_pence
    # On stop exactly when over the limit or overdue past 60 days (auto_release takes back the rest)
    expected = {cid: owed[cid] > limit or overdue[cid] > 60 for cid, (_, limit) in before.items()}
    run = run_job(engine, settings_for(db_url, tmp_path), "SL_CREDIT_LIMIT_CHECK", now=at(end))
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert _stops(engine) == expected
    assert any(expected.values()) and not all(expected.values())
    assert {c.customer_id: c.exposure_pence for c in _changes(engine).values()} == {
        cid: owed[cid] for cid in before if expected[cid] != before[cid][0]
    }
    assert_ledger_sound(engine)


def test_the_engine_runs_it_end_to_end(engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]) -> None:
    svc = JobSchedulerService(
        engine, settings=engine_settings(db_url, tmp_path, job_modules="acas_batch.jobs.sl"), actor=user(engine, "ann")
    )
    created = svc.create_job("SL_CREDIT_LIMIT_CHECK", "SL", handler="SL_CREDIT_LIMIT_CHECK")
    assert created[0], created
    ok, execution_id = svc.execute_job_now("SL_CREDIT_LIMIT_CHECK", {"business_date": "2026-09-30"})
    assert ok, execution_id
    ok, detail = svc.wait_for(execution_id, timeout=60)
    assert ok and detail["state"] == "succeeded", detail
    assert detail["result"]["counts"] == {"customers": 4, "stopped": 2, "released": 1}
    assert sum(_stops(engine).values()) == 2

"""Purchase ledger jobs on hand-written ledgers and on a demo company, on both databases."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.batch.definitions import create_job
from acas_batch.config import Settings, load_settings
from acas_batch.db import transaction
from acas_batch.jobs import load_standard_jobs
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.ledger.pl import (
    Delivery,
    OrderLine,
    PaymentAllocation,
    PurchaseLine,
    create_purchase_order,
    post_purchase_invoice,
    post_supplier_payment,
    receive_goods,
)
from acas_batch.models import (
    AgedCreditorLine,
    BatchExecution,
    BatchLog,
    DocumentKind,
    ExecutionState,
    MatchResultLine,
    MatchStatus,
    Module,
    PurchaseInvoice,
    PurchaseInvoiceLine,
    PurchaseOrderLine,
    SupplierPayment,
)
from acas_batch.services import JobSchedulerService
from tests.books import Books, S
from tests.support.context import run_job
from tests.support.users import user

DAY = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 20, 0, tzinfo=UTC)


def _settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(environ={}, database_url=db_url, data_dir=tmp_path)


def _expense(b: Books, supplier: int, net: int, on: date, kind: DocumentKind = DocumentKind.INVOICE) -> int:
    line = PurchaseLine(1, net, S, account_id=b.acc("6400"))
    return post_purchase_invoice(
        b.session, supplier_id=supplier, number=b.next("PI"), invoice_date=on, lines=[line], kind=kind
    )


def _supersede(engine: Engine, execution_id: int) -> None:
    """What a forced rerun does to the run it replaces (the harness itself never forces)."""
    with transaction(engine, write=True) as s:
        s.execute(update(BatchExecution).where(BatchExecution.id == execution_id).values(superseded_by_id=execution_id))


def _log_messages(engine: Engine, execution_id: int) -> list[str]:
    with transaction(engine) as s:
        return list(s.scalars(select(BatchLog.message).where(BatchLog.execution_id == execution_id)))


# ---- PL_AGED_CREDITORS ------------------------------------------------------------------


def _creditors_ledger(engine: Engine) -> tuple[int, int]:
    with transaction(engine, write=True) as s:
        b = Books.open(s)
        a, c = b.supplier(), b.supplier()
        _expense(b, a, 10_000, date(2026, 4, 1))  # 12,000 due 1 May: 60 days overdue
        _expense(b, a, 5_000, date(2026, 6, 20))  # 6,000 due 20 July: not yet due
        big = _expense(b, c, 10_000, date(2026, 5, 15))  # 12,000 due 14 June: 16 days
        _expense(b, c, 1_000, date(2026, 6, 1), DocumentKind.CREDIT_NOTE)  # -1,200, 29 days old
        post_supplier_payment(
            s, supplier_id=c, payment_date=date(2026, 6, 10), allocations=[PaymentAllocation(big, 2_000)]
        )
        post_supplier_payment(s, supplier_id=c, payment_date=date(2026, 6, 25), allocations=[], on_account_pence=500)
        return a, c


def test_aged_creditors_buckets_a_hand_written_ledger_and_ties_to_control(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    a, c = _creditors_ledger(engine)
    run = run_job(engine, _settings(db_url, tmp_path), "PL_AGED_CREDITORS", now=NOW, business_date=DAY)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert run.result is not None
    # A: 6,000 current, 12,000 in 31-60; C: 10,000 - 1,200 - 500 in 1-30.
    with transaction(engine) as s:
        lines = {
            (r.supplier_id, r.bucket_label): (r.amount_pence, r.items)
            for r in s.scalars(select(AgedCreditorLine).where(AgedCreditorLine.execution_id == run.execution_id))
        }
        assert lines == {(a, "current"): (6_000, 1), (a, "31-60"): (12_000, 1), (c, "1-30"): (8_300, 3)}
        Books(s).assert_sound()
    assert run.result.totals["total_pence"] == 26_300
    assert run.result.totals["control_pence"] == 26_300
    assert run.result.totals["difference_pence"] == 0
    folder = Path(run.result.files[0]).parent
    with (folder / "aged_creditors.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["supplier", "name", "current_pence", "1-30_pence", "31-60_pence", "61-90_pence",
                       "91-120_pence", "121+_pence", "total_pence"]  # fmt: skip
    assert rows[-1] == ["Total", "", "6000", "8300", "12000", "0", "0", "0", "26300"]
    assert (folder / "aged_creditors.pdf").read_bytes().startswith(b"%PDF")
    assert any("2 suppliers, 5 open items, total 26300 pence" in m for m in _log_messages(engine, run.execution_id))


def test_aged_creditors_rerun_replaces_its_snapshot_and_ages_by_invoice_date(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    a, _ = _creditors_ledger(engine)
    settings = _settings(db_url, tmp_path)
    first = run_job(engine, settings, "PL_AGED_CREDITORS", now=NOW, business_date=DAY)
    _supersede(engine, first.execution_id)
    params = {"age_by": "invoice_date", "buckets": [29, 59, 89], "output_format": "csv"}
    second = run_job(engine, settings, "PL_AGED_CREDITORS", now=NOW, business_date=DAY, params=params)
    assert first.state is second.state is ExecutionState.SUCCEEDED
    with transaction(engine) as s:
        rows = list(s.scalars(select(AgedCreditorLine)))
    assert {r.execution_id for r in rows} == {second.execution_id}
    # By invoice date: A's April invoice is 90 days old, its June one 10.
    assert {(r.bucket_label, r.amount_pence) for r in rows if r.supplier_id == a} == {("90+", 12_000), ("0-29", 6_000)}
    assert second.result is not None and [Path(f).name for f in second.result.files] == ["aged_creditors.csv"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"buckets": [30, 10]}, "buckets"), ({"age_by": "posting"}, "age_by"), ({"output_format": "xls"}, "output")],
)
def test_aged_creditors_refuses_bad_parameters_naming_the_field(
    engine: Engine, db_url: str, tmp_path: Path, params: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        run_job(engine, _settings(db_url, tmp_path), "PL_AGED_CREDITORS", now=NOW, params=params)


# ---- PL_THREE_WAY_MATCHING --------------------------------------------------------------


def _matching_ledger(engine: Engine) -> dict[str, int]:
    """Five order lines, received and invoiced so that each status appears once."""
    with transaction(engine, write=True) as s:
        b = Books.open(s)
        sup, item = b.supplier(), b.item()
        order = create_purchase_order(
            s,
            supplier_id=sup,
            warehouse_id=b.main,
            number="PO1",
            order_date=date(2026, 5, 1),
            lines=[OrderLine(item, q, p) for q, p in [(10, 1000), (10, 1000), (5, 2000), (4, 500), (10, 1000)]],
        )
        ol = list(
            s.scalars(
                select(PurchaseOrderLine.id)
                .where(PurchaseOrderLine.order_id == order)
                .order_by(PurchaseOrderLine.line_no)
            )
        )
        receive_goods(
            s,
            order_id=order,
            number="GRN1",
            received_on=date(2026, 5, 10),
            deliveries=[Delivery(ol[0], 10), Delivery(ol[1], 8), Delivery(ol[2], 5), Delivery(ol[4], 10)],
        )

        def inv(name: str, line: int, qty: int, price: int) -> int:
            return post_purchase_invoice(
                s,
                supplier_id=sup,
                number=name,
                invoice_date=date(2026, 5, 20),
                lines=[PurchaseLine(qty, price, S, order_line_id=ol[line])],
            )

        ids = {
            "matched": inv("X", 0, 10, 1000),
            "quantity": inv("Y", 1, 10, 1000),  # 10 invoiced, 8 received
            "within": inv("Z", 2, 5, 2030),  # +30p/unit = 1.5%, 150p in all: within tolerance
            "no_receipt": inv("V", 3, 4, 500),
            "price": inv("W", 4, 10, 1050),  # +50p/unit = 5%
            "expense": _expense(b, sup, 700, date(2026, 5, 20)),
        }
        ids["order_line_y"] = ol[1]
        ids["order"] = order
        return ids


def test_three_way_matching_gives_each_line_its_status_and_approves_or_holds(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    ids = _matching_ledger(engine)
    run = run_job(engine, _settings(db_url, tmp_path), "PL_THREE_WAY_MATCHING", now=NOW, business_date=DAY)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with transaction(engine) as s:
        inv = {i.id: i for i in s.scalars(select(PurchaseInvoice))}
        lines = {ln.invoice_id: ln for ln in s.scalars(select(PurchaseInvoiceLine))}
        results = {r.invoice_id: r for r in s.scalars(select(MatchResultLine))}
        Books(s).assert_sound()
    expected = {
        "matched": (MatchStatus.MATCHED, 0, 0),
        "quantity": (MatchStatus.QUANTITY_VARIANCE, 2, 0),
        "within": (MatchStatus.MATCHED, 0, 30),
        "no_receipt": (MatchStatus.NO_RECEIPT, 4, 0),
        "price": (MatchStatus.PRICE_VARIANCE, 0, 50),
        "expense": (MatchStatus.NOT_REQUIRED, None, None),
    }
    for name, (status, qv, pv) in expected.items():
        ln = lines[ids[name]]
        assert (ln.match_status, ln.quantity_variance, ln.price_variance_pence) == (status, qv, pv), name
    assert {k for k in ids if k in expected and inv[ids[k]].approved} == {"matched", "within", "expense"}
    assert inv[ids["quantity"]].hold_reason == "line 1: quantity variance +2 units"
    assert inv[ids["price"]].hold_reason == "line 1: price variance +50p/unit (+500p)"
    assert inv[ids["no_receipt"]].hold_reason == "line 1: no receipt"
    assert all(inv[ids[k]].on_hold for k in ("quantity", "price", "no_receipt"))
    assert results[ids["price"]].variance_amount_pence == 500
    assert ids["expense"] not in results  # approved on posting: nothing to match
    assert run.result is not None and run.result.counts["approved"] == 2 and run.result.counts["held"] == 3
    assert any("3 invoices held" in m for m in _log_messages(engine, run.execution_id))


def test_three_way_matching_rematches_held_lines_when_goods_arrive(engine: Engine, db_url: str, tmp_path: Path) -> None:
    ids = _matching_ledger(engine)
    settings = _settings(db_url, tmp_path)
    first = run_job(engine, settings, "PL_THREE_WAY_MATCHING", now=NOW, business_date=DAY)
    _supersede(engine, first.execution_id)
    with transaction(engine, write=True) as s:
        receive_goods(
            s, order_id=ids["order"], number="GRN2", received_on=DAY, deliveries=[Delivery(ids["order_line_y"], 2)]
        )
    # The same business date again (a rerun), with a wider price tolerance for the 5% line.
    params = {"price_tolerance_pct": 5, "amount_tolerance": 500}
    run = run_job(engine, settings, "PL_THREE_WAY_MATCHING", now=NOW, business_date=DAY, params=params)
    with transaction(engine) as s:
        inv = {i.id: i for i in s.scalars(select(PurchaseInvoice))}
        snapshot = list(s.scalars(select(MatchResultLine)))
        Books(s).assert_sound()
    assert inv[ids["quantity"]].approved and not inv[ids["quantity"]].on_hold
    assert inv[ids["quantity"]].hold_reason is None
    assert inv[ids["price"]].approved
    assert not inv[ids["no_receipt"]].approved
    # The rerun replaced the first run's snapshot: only the three lines still unmatched then.
    assert {r.execution_id for r in snapshot} == {run.execution_id}
    assert sorted(r.invoice_id for r in snapshot) == sorted([ids["quantity"], ids["price"], ids["no_receipt"]])


# ---- on a demo company, against independent computations --------------------------------

DEMO_END = date(2026, 11, 23)


def test_pl_jobs_on_a_demo_company_agree_with_independent_computations(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    generate(engine, size=DemoSize(customers=6, suppliers=6, items=12, months=6), end=DEMO_END, seed=7)
    settings = _settings(db_url, tmp_path)
    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    matching = run_job(engine, settings, "PL_THREE_WAY_MATCHING", now=now, business_date=DEMO_END)
    aged = run_job(engine, settings, "PL_AGED_CREDITORS", now=now, business_date=DEMO_END)
    assert matching.state is ExecutionState.SUCCEEDED, matching.error
    assert aged.state is ExecutionState.SUCCEEDED, aged.error
    with transaction(engine) as s:
        _check_aged_independently(s, aged.execution_id)
        _check_approvals_independently(s)
        Books(s).assert_sound()


def _bucket(days: int) -> str:
    for limit, label in ((0, "current"), (30, "1-30"), (60, "31-60"), (90, "61-90"), (120, "91-120")):
        if days <= limit:
            return label
    return "121+"


def _check_aged_independently(s: Session, execution_id: int) -> None:
    expected: dict[tuple[int, str], int] = defaultdict(int)
    for inv in s.scalars(select(PurchaseInvoice).where(PurchaseInvoice.outstanding_pence > 0)):
        if inv.kind is DocumentKind.INVOICE:
            expected[inv.supplier_id, _bucket((DEMO_END - inv.due_date).days)] += inv.outstanding_pence
        else:
            expected[inv.supplier_id, _bucket((DEMO_END - inv.invoice_date).days)] -= inv.outstanding_pence
    for pay in s.scalars(select(SupplierPayment).where(SupplierPayment.unallocated_pence > 0)):
        expected[pay.supplier_id, _bucket((DEMO_END - pay.payment_date).days)] -= pay.unallocated_pence
    got = {
        (r.supplier_id, r.bucket_label): r.amount_pence
        for r in s.scalars(select(AgedCreditorLine).where(AgedCreditorLine.execution_id == execution_id))
    }
    assert got == {k: v for k, v in expected.items() if v}
    assert sum(got.values()) > 0


def _check_approvals_independently(s: Session) -> None:
    """Every open approved invoice has only settled lines; every held one has a reason and an unsettled line."""
    settled = {MatchStatus.MATCHED, MatchStatus.NOT_REQUIRED}
    statuses: dict[int, set[MatchStatus]] = defaultdict(set)
    for invoice_id, status in s.execute(select(PurchaseInvoiceLine.invoice_id, PurchaseInvoiceLine.match_status)):
        statuses[invoice_id].add(status)
    open_invoices = list(
        s.scalars(
            select(PurchaseInvoice).where(
                PurchaseInvoice.kind == DocumentKind.INVOICE, PurchaseInvoice.outstanding_pence > 0
            )
        )
    )
    assert open_invoices
    for inv in open_invoices:
        assert MatchStatus.UNMATCHED not in statuses[inv.id], inv.number
        if inv.approved:
            assert statuses[inv.id] <= settled, inv.number
        else:
            assert inv.on_hold and inv.hold_reason, inv.number
            assert statuses[inv.id] - settled, inv.number


# ---- through the real engine ------------------------------------------------------------


def test_aged_creditors_runs_through_the_engine(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _creditors_ledger(engine)
    settings = Settings(
        database_url=db_url, data_dir=tmp_path, job_modules="acas_batch.jobs.pl", lease_seconds=3, poll_seconds=0.05
    )
    load_standard_jobs()
    with transaction(engine, write=True) as s:
        create_job(s, "PL_AGED_CREDITORS", module=Module.PL, now=NOW)
    svc = JobSchedulerService(engine, settings=settings, actor=user(engine, "ann"))
    ok, execution_id = svc.execute_job_now("PL_AGED_CREDITORS", {"output_format": "csv"}, business_date=DAY)
    assert ok and isinstance(execution_id, int), execution_id
    ok, detail = svc.wait_for(execution_id, timeout=120)
    assert ok and detail["state"] == "succeeded", (detail.get("error_type"), detail.get("error_message"))
    with transaction(engine) as s:
        total = sum(s.scalars(select(AgedCreditorLine.amount_pence)))
    assert total == 26_300
    assert (Path(detail["output_dir"]) / "aged_creditors.csv").exists()

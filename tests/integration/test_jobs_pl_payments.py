"""PL_PAYMENT_RUN: what is paid, the bank files, and that nothing is ever paid twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from acas_batch.analysis.bacs import parse_data_records
from acas_batch.batch.definitions import create_job
from acas_batch.config import Settings, load_settings
from acas_batch.db import transaction
from acas_batch.jobs import load_standard_jobs
from acas_batch.jobs.pl import payment_run as pl_payments
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.ledger.pl import PaymentAllocation, PurchaseLine, post_purchase_invoice, post_supplier_payment
from acas_batch.models import (
    BatchExecution,
    DocumentKind,
    ExecutionState,
    JournalLine,
    Module,
    PaymentMethod,
    PaymentRun,
    PurchaseAllocation,
    PurchaseInvoice,
    Supplier,
    SupplierPayment,
)
from acas_batch.services import JobSchedulerService
from tests.books import Books, S
from tests.support.context import run_job
from tests.support.users import user

DAY = date(2026, 6, 30)
PAY = date(2026, 7, 2)
NOW = datetime(2026, 6, 30, 14, 0, tzinfo=UTC)


def _settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(environ={}, database_url=db_url, data_dir=tmp_path)


def _supersede(engine: Engine, execution_id: int) -> None:
    """What a forced rerun does to the run it replaces (the harness itself never forces)."""
    with transaction(engine, write=True) as s:
        s.execute(update(BatchExecution).where(BatchExecution.id == execution_id).values(superseded_by_id=execution_id))


def _doc(b: Books, supplier: int, net: int, on: date, due: date, kind: DocumentKind = DocumentKind.INVOICE) -> int:
    line = PurchaseLine(1, net, S, account_id=b.acc("6400"))
    return post_purchase_invoice(
        b.session, supplier_id=supplier, number=b.next("PI"), invoice_date=on, due_date=due, lines=[line], kind=kind
    )


def _payables(engine: Engine) -> dict[str, int]:
    """A (2.5% within 10 days), B (credit note), C (cheque), D (net debit), E (held / not yet due)."""
    with transaction(engine, write=True) as s:
        b = Books.open(s)
        a, bb, c, d, e = b.supplier("2.5", 10), b.supplier(), b.supplier(bank=False), b.supplier(), b.supplier()
        ids = {
            "A1": _doc(b, a, 10_000, date(2026, 6, 25), date(2026, 7, 1)),  # 12,000, discount 300
            "A2": _doc(b, a, 5_000, date(2026, 5, 1), date(2026, 5, 31)),  # 6,000, too late for discount
            "B1": _doc(b, bb, 20_000, date(2026, 5, 16), date(2026, 6, 15)),  # 24,000
            "BCN": _doc(b, bb, 3_000, date(2026, 6, 1), date(2026, 6, 1), DocumentKind.CREDIT_NOTE),  # 3,600
            "C1": _doc(b, c, 1_000, date(2026, 5, 31), date(2026, 6, 30)),  # 1,200 by cheque
            "D1": _doc(b, d, 1_000, date(2026, 5, 1), date(2026, 6, 1)),  # 1,200
            "DCN": _doc(b, d, 2_000, date(2026, 5, 2), date(2026, 5, 2), DocumentKind.CREDIT_NOTE),  # 2,400
            "E1": _doc(b, e, 1_000, date(2026, 5, 1), date(2026, 6, 1)),  # on hold
            "E2": _doc(b, e, 1_000, date(2026, 6, 10), date(2026, 7, 10)),  # due after the payment date
        }
        s.execute(update(PurchaseInvoice).where(PurchaseInvoice.id == ids["E1"]).values(on_hold=True))
        ids |= {"a": a, "b": bb, "c": c, "d": d, "e": e}
        return ids


def _outstanding(engine: Engine) -> dict[int, int]:
    with transaction(engine) as s:
        return dict(s.execute(select(PurchaseInvoice.id, PurchaseInvoice.outstanding_pence)).all())


def _bank_credits(engine: Engine, run_key: str) -> int:
    with transaction(engine) as s:
        journals = select(SupplierPayment.journal_id).where(SupplierPayment.run_key == run_key)
        bank = s.scalar(select(func.sum(JournalLine.credit_pence)).where(JournalLine.journal_id.in_(journals)))
        discount = s.scalar(select(func.sum(SupplierPayment.discount_pence)).where(SupplierPayment.run_key == run_key))
        return int(bank or 0) - int(discount or 0)  # the journal's credits are bank + discount received


def _assert_sound(engine: Engine) -> None:
    with transaction(engine) as s:
        Books(s).assert_sound()


def test_payment_run_pays_what_is_due_with_discount_and_credit_notes(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    ids = _payables(engine)
    params = {"payment_date": PAY.isoformat(), "service_user_number": "123456"}
    run = run_job(engine, _settings(db_url, tmp_path), "PL_PAYMENT_RUN", now=NOW, business_date=DAY, params=params)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with transaction(engine) as s:
        payments = {p.supplier_id: p for p in s.scalars(select(SupplierPayment))}
        allocations = list(s.scalars(select(PurchaseAllocation)))
        paid_run = s.scalars(select(PaymentRun)).one()
    assert {sid: (p.amount_pence, p.discount_pence, p.method) for sid, p in payments.items()} == {
        ids["a"]: (17_700, 300, PaymentMethod.BACS),
        ids["b"]: (20_400, 0, PaymentMethod.BACS),
        ids["c"]: (1_200, 0, PaymentMethod.CHEQUE),
    }
    assert {(a.invoice_id, a.amount_pence, a.discount_pence, a.credit_note_id) for a in allocations} == {
        (ids["A1"], 12_000, 300, None),
        (ids["A2"], 6_000, 0, None),
        (ids["B1"], 3_600, 0, ids["BCN"]),
        (ids["B1"], 20_400, 0, None),
        (ids["C1"], 1_200, 0, None),
    }
    left = _outstanding(engine)
    assert [k for k in ("A1", "A2", "B1", "BCN", "C1") if left[ids[k]]] == []
    assert (left[ids["D1"]], left[ids["E1"]], left[ids["E2"]]) == (1_200, 1_200, 1_200)
    assert (paid_run.payments, paid_run.paid_pence, paid_run.discount_pence, paid_run.completed) == (
        3,
        39_300,
        300,
        True,
    )
    assert paid_run.processing_date == DAY  # two working days before Thursday 2 July
    assert _bank_credits(engine, "PL_PAYMENT_RUN:2026-06-30") == 39_300
    assert run.result is not None and run.result.counts["skipped_debit"] == 1
    folder = Path(run.result.files[0]).parent
    text = (folder / "bacs_standard18.txt").read_text()
    records = parse_data_records(text)
    assert [(r.code, r.amount_pence) for r in records] == [("99", 17_700), ("99", 20_400), ("17", 38_100)]
    assert "UHL1 26181" in text  # 30 June 2026 is day 181
    assert (folder / "cheques.csv").read_text().splitlines()[1].endswith(",1200,PAYRUN 20260702 " + str(ids["c"]))
    assert len((folder / "payments.csv").read_text().splitlines()) == 1 + 4
    _assert_sound(engine)


def test_default_payment_date_and_bacs_processing_date_follow_the_business_calendar(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    _payables(engine)
    # Thursday 27 August 2026; Monday 31 August is the summer bank holiday.
    thursday = date(2026, 8, 27)
    run = run_job(
        engine,
        _settings(db_url, tmp_path),
        "PL_PAYMENT_RUN",
        now=datetime(2026, 8, 27, 14, tzinfo=UTC),
        business_date=thursday,
        params={"bank_format": "csv"},
    )
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert run.result is not None
    assert run.result.data["payment_date"] == "2026-09-01"
    assert run.result.data["processing_date"] == "2026-08-27"
    # By 1 September A's discount window has closed and E's July invoice has fallen due.
    csv_lines = (Path(run.result.files[0]).parent / "bank_payments.csv").read_text().splitlines()
    assert csv_lines == [
        "200000,SUPPLIER,55779911,180.00,PAYRUN 20260901 1,99",
        "200000,SUPPLIER,55779911,204.00,PAYRUN 20260901 2,99",
        "200000,SUPPLIER,55779911,12.00,PAYRUN 20260901 5,99",
    ]


@pytest.fixture
def crash_after_two() -> Iterator[None]:
    def crash(paid: int) -> None:
        if paid == 2:
            raise RuntimeError("worker killed after two suppliers")

    pl_payments.AFTER_CHUNK.append(crash)
    yield
    pl_payments.AFTER_CHUNK.clear()


def test_a_payment_run_crashed_mid_run_and_rerun_pays_each_invoice_exactly_once(
    engine: Engine, db_url: str, tmp_path: Path, crash_after_two: None
) -> None:
    ids = _payables(engine)
    settings = _settings(db_url, tmp_path)
    params = {"payment_date": PAY.isoformat(), "chunk_suppliers": 1}
    crashed = run_job(engine, settings, "PL_PAYMENT_RUN", now=NOW, business_date=DAY, params=params)
    assert crashed.state is ExecutionState.FAILED and "killed" in str(crashed.error)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(SupplierPayment)) == 2  # two chunks were committed
    pl_payments.AFTER_CHUNK.clear()
    resumed = run_job(engine, settings, "PL_PAYMENT_RUN", now=NOW, business_date=DAY, params=params)
    assert resumed.state is ExecutionState.SUCCEEDED, resumed.error
    _supersede(engine, resumed.execution_id)
    again = run_job(engine, settings, "PL_PAYMENT_RUN", now=NOW, business_date=DAY, params=params)
    assert again.state is ExecutionState.SUCCEEDED and again.result is not None
    assert again.result.counts["payments"] == 3 and again.result.totals["paid_pence"] == 39_300
    # A later run (another business date) finds nothing of these left to pay.
    later = run_job(
        engine, settings, "PL_PAYMENT_RUN", now=NOW, business_date=date(2026, 7, 1), params={"chunk_suppliers": 1}
    )
    assert later.result is not None and later.result.counts["payments"] == 0
    with transaction(engine) as s:
        cleared: dict[int, int] = defaultdict(int)
        for a in s.scalars(select(PurchaseAllocation).where(PurchaseAllocation.payment_id.is_not(None))):
            cleared[a.invoice_id] += 1
        total = s.scalar(select(func.sum(SupplierPayment.amount_pence)))
    assert dict(cleared) == {ids["A1"]: 1, ids["A2"]: 1, ids["B1"]: 1, ids["C1"]: 1}
    assert total == 39_300 == _bank_credits(engine, "PL_PAYMENT_RUN:2026-06-30")
    bacs = parse_data_records((Path(again.result.files[0]).parent / "bacs_standard18.txt").read_text())
    assert sorted(r.amount_pence for r in bacs if r.code == "99") == [17_700, 20_400]
    _assert_sound(engine)


def test_max_total_pays_oldest_due_first(engine: Engine, db_url: str, tmp_path: Path) -> None:
    ids = _payables(engine)
    params = {"payment_date": PAY.isoformat(), "max_total": 18_000}
    run = run_job(engine, _settings(db_url, tmp_path), "PL_PAYMENT_RUN", now=NOW, business_date=DAY, params=params)
    assert run.result is not None
    with transaction(engine) as s:
        paid = dict(s.execute(select(SupplierPayment.supplier_id, SupplierPayment.amount_pence)).all())
    assert paid == {ids["a"]: 17_700}  # A's invoice of 31 May is the oldest due; B and C no longer fit
    assert run.result.counts["skipped_budget"] == 2
    _assert_sound(engine)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bank_format": "swift"}, "bank_format"),
        ({"service_user_number": "12ab56"}, "service_user_number"),
        ({"max_total": 0}, "max_total"),
        ({"lookahead": 3}, "lookahead"),
    ],
)
def test_payment_run_refuses_bad_parameters(
    engine: Engine, db_url: str, tmp_path: Path, params: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        run_job(engine, _settings(db_url, tmp_path), "PL_PAYMENT_RUN", now=NOW, params=params)


def test_payment_run_on_a_demo_company_pays_exactly_the_due_approved_invoices(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    end = date(2026, 11, 23)
    generate(engine, size=DemoSize(customers=6, suppliers=8, items=12, months=6), end=end, seed=3)
    pay = date(2026, 11, 30)
    with transaction(engine) as s:  # independently: open, approved, not held, due by the payment date
        held_suppliers = set(s.scalars(select(Supplier.id).where(Supplier.on_hold.is_(True))))
        due = {
            i.id: (i.supplier_id, i.outstanding_pence)
            for i in s.scalars(select(PurchaseInvoice).where(PurchaseInvoice.outstanding_pence > 0))
            if i.kind is DocumentKind.INVOICE
            and i.approved
            and not i.on_hold
            and i.due_date <= pay
            and i.supplier_id not in held_suppliers
        }
        notes: dict[int, int] = defaultdict(int)
        for n in s.scalars(select(PurchaseInvoice).where(PurchaseInvoice.kind == DocumentKind.CREDIT_NOTE)):
            notes[n.supplier_id] += n.outstanding_pence
    owed: dict[int, int] = defaultdict(int)
    for sid, amount in due.values():
        owed[sid] += amount
    payable = {sid for sid, amount in owed.items() if amount - notes[sid] > 0}
    assert payable
    run = run_job(
        engine,
        _settings(db_url, tmp_path),
        "PL_PAYMENT_RUN",
        now=datetime(2026, 11, 23, 14, tzinfo=UTC),
        business_date=end,
        params={"payment_date": pay.isoformat()},
    )
    assert run.state is ExecutionState.SUCCEEDED, run.error
    key = "PL_PAYMENT_RUN:2026-11-23"
    with transaction(engine) as s:
        payments = {p.id: p for p in s.scalars(select(SupplierPayment).where(SupplierPayment.run_key == key))}
        allocated = list(s.scalars(select(PurchaseAllocation).where(PurchaseAllocation.payment_id.in_(list(payments)))))
        left = dict(s.execute(select(PurchaseInvoice.id, PurchaseInvoice.outstanding_pence)).all())
    assert {p.supplier_id for p in payments.values()} == payable
    assert all(left[i] == 0 for i, (sid, _) in due.items() if sid in payable)
    assert {a.invoice_id for a in allocated} <= set(due)
    for p in payments.values():
        mine = [a for a in allocated if a.payment_id == p.id]
        assert p.amount_pence == sum(a.amount_pence - a.discount_pence for a in mine)
        assert p.discount_pence == sum(a.discount_pence for a in mine)
    assert _bank_credits(engine, key) == sum(p.amount_pence for p in payments.values())
    _assert_sound(engine)


def test_payment_run_through_the_engine(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _payables(engine)
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path,
        job_modules="acas_batch.jobs.pl.payment_run",
        lease_seconds=3,
        poll_seconds=0.05,
    )
    load_standard_jobs()
    with transaction(engine, write=True) as s:
        create_job(s, "PL_PAYMENT_RUN", module=Module.PL, now=NOW, max_attempts=1)
    svc = JobSchedulerService(engine, settings=settings, actor=user(engine, "ann"))
    ok, execution_id = svc.execute_job_now("PL_PAYMENT_RUN", {"payment_date": PAY.isoformat()}, business_date=DAY)
    assert ok and isinstance(execution_id, int), execution_id
    ok, detail = svc.wait_for(execution_id, timeout=120)
    assert ok and detail["state"] == "succeeded", (detail.get("error_type"), detail.get("error_message"))
    assert _bank_credits(engine, "PL_PAYMENT_RUN:2026-06-30") == 39_300
    assert (Path(detail["output_dir"]) / "bacs_standard18.txt").exists()


def test_an_invoice_paid_elsewhere_after_the_run_read_it_is_not_paid_again_and_the_rest_is(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    ids = _payables(engine)
    with transaction(engine, write=True) as s:
        c2 = _doc(Books(s), ids["c"], 500, date(2026, 6, 1), date(2026, 6, 20))  # 600, due before C1
    paid_elsewhere: list[int] = []

    def pay_c1_elsewhere(paid: int) -> None:
        if paid == 1:  # A's chunk is committed; C's documents were read before this payment
            with transaction(engine, write=True) as s:
                paid_elsewhere.append(
                    post_supplier_payment(
                        s, supplier_id=ids["c"], payment_date=PAY, allocations=[PaymentAllocation(ids["C1"], 1_200)]
                    )
                )

    # Given a run paying one supplier a chunk, and C's invoice C1 paid by someone else once A is paid
    pl_payments.AFTER_CHUNK.append(pay_c1_elsewhere)
    try:
        params = {"payment_date": PAY.isoformat(), "chunk_suppliers": 1}
        run = run_job(engine, _settings(db_url, tmp_path), "PL_PAYMENT_RUN", now=NOW, business_date=DAY, params=params)
    finally:
        pl_payments.AFTER_CHUNK.clear()
    # Then C's chunk is refused by the guarded UPDATE, planned again and pays C2 alone; C1 is paid once
    assert run.state is ExecutionState.WARNING, run.error
    assert run.result is not None and run.result.counts["conflicts"] == 1
    assert run.result.counts["payments"] == 3 and run.result.totals["paid_pence"] == 17_700 + 20_400 + 600
    with transaction(engine) as s:
        run_payments = dict(
            s.execute(
                select(SupplierPayment.supplier_id, SupplierPayment.amount_pence).where(
                    SupplierPayment.run_key == "PL_PAYMENT_RUN:2026-06-30"
                )
            ).all()
        )
        paid_c1 = s.scalars(
            select(PurchaseAllocation.payment_id).where(PurchaseAllocation.invoice_id == ids["C1"])
        ).all()
        left = dict(s.execute(select(PurchaseInvoice.id, PurchaseInvoice.outstanding_pence)).all())
    assert run_payments == {ids["a"]: 17_700, ids["b"]: 20_400, ids["c"]: 600}
    assert paid_c1 == paid_elsewhere
    assert left[ids["C1"]] == 0 and left[c2] == 0
    assert _bank_credits(engine, "PL_PAYMENT_RUN:2026-06-30") == 38_700
    _assert_sound(engine)


def test_a_payment_date_whose_bacs_submission_day_has_passed_is_refused_before_paying(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # Given invoices due, and a run on Thursday 27 August asking to pay on Friday 28 August
    _payables(engine)
    thursday = date(2026, 8, 27)
    run = run_job(
        engine,
        _settings(db_url, tmp_path),
        "PL_PAYMENT_RUN",
        now=datetime(2026, 8, 27, 14, tzinfo=UTC),
        business_date=thursday,
        params={"payment_date": "2026-08-28"},
    )
    # Then the run fails saying why and which date would do (Bacs needs two working days; Monday is a holiday)
    assert run.state is ExecutionState.FAILED
    assert "Bacs submission on 2026-08-26, before the business date 2026-08-27" in str(run.error)
    assert "earliest payment date is 2026-09-01" in str(run.error)
    # and nothing was paid or written
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(SupplierPayment)) == 0
        assert s.scalar(select(func.count()).select_from(PaymentRun)) == 0
    assert not (run.context.output("bacs_standard18.txt")).exists()


def test_the_bank_file_is_written_only_after_every_payment_in_it_is_committed(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given payables to pay by Bacs, and a look, from another connection, at what is committed
    # at the moment the bank file is written (a commit lost after that moment would let a rerun pay again)
    _payables(engine)
    seen: list[tuple[list[int], list[int]]] = []
    write_text = pl_payments.write_text

    def watched(path: Path, text: str, **kwargs: str) -> Path:
        with transaction(engine) as s:
            committed = s.scalars(
                select(SupplierPayment.amount_pence).where(
                    SupplierPayment.run_key == "PL_PAYMENT_RUN:2026-06-30", SupplierPayment.method == PaymentMethod.BACS
                )
            ).all()
        in_file = [r.amount_pence for r in parse_data_records(text) if r.code == "99"]
        seen.append((sorted(committed), sorted(in_file)))
        return write_text(path, text, **kwargs)

    monkeypatch.setattr(pl_payments, "write_text", watched)
    # When the run pays them
    params = {"payment_date": PAY.isoformat(), "chunk_suppliers": 2}
    run = run_job(engine, _settings(db_url, tmp_path), "PL_PAYMENT_RUN", now=NOW, business_date=DAY, params=params)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    # Then the file holds exactly the payments already committed (so a rerun rewrites it from them)
    assert seen == [([17_700, 20_400], [17_700, 20_400])]

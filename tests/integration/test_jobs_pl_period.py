"""PL_ACCRUALS_CALCULATION and PL_VAT_RETURN on hand-written ledgers and on a demo company."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update

from acas_batch.batch.definitions import create_job
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import ReturnSubmitted, ValidationError
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
    AccrualLine,
    BatchLog,
    Company,
    DocumentKind,
    ExecutionState,
    GoodsReceivedLine,
    GoodsReceivedNote,
    Module,
    PurchaseInvoice,
    PurchaseInvoiceLine,
    PurchaseOrderLine,
    VatReturn,
    VatReturnRun,
    VatReturnStatus,
    VatScheme,
)
from acas_batch.services import JobSchedulerService
from tests.books import OS, Books, S, Z
from tests.integration.test_jobs_pl_payments import _settings, _supersede
from tests.support.context import run_job
from tests.support.users import user

NOW = datetime(2026, 7, 10, 18, 0, tzinfo=UTC)
JULY_10 = date(2026, 7, 10)
OCT_10 = date(2026, 10, 10)
OCT_10_EVENING = datetime(2026, 10, 10, 18, 0, tzinfo=UTC)


# ---- PL_ACCRUALS_CALCULATION ------------------------------------------------------------


def _received_not_invoiced(engine: Engine) -> dict[str, int]:
    with transaction(engine, write=True) as s:
        b = Books.open(s)
        sup, item = b.supplier(), b.item()
        order = create_purchase_order(
            s,
            supplier_id=sup,
            warehouse_id=b.main,
            number="PO1",
            order_date=date(2026, 6, 1),
            lines=[OrderLine(item, 10, 1000), OrderLine(item, 5, 2000)],
        )
        l1, l2 = s.scalars(select(PurchaseOrderLine.id).order_by(PurchaseOrderLine.line_no)).all()
        receive_goods(s, order_id=order, number="GRN1", received_on=date(2026, 6, 10), deliveries=[Delivery(l1, 10)])
        receive_goods(s, order_id=order, number="GRN2", received_on=date(2026, 7, 5), deliveries=[Delivery(l2, 5)])
        for n, (qty, on) in enumerate([(4, date(2026, 6, 20)), (6, date(2026, 7, 2))]):
            post_purchase_invoice(
                s,
                supplier_id=sup,
                number=f"INV{n}",
                invoice_date=on,
                lines=[PurchaseLine(qty, 1000, S, order_line_id=l1)],
            )
        return {"l1": l1, "l2": l2, "supplier": sup}


def test_accruals_list_goods_received_not_invoiced_at_each_period_end(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    ids = _received_not_invoiced(engine)
    settings = _settings(db_url, tmp_path)
    june = run_job(
        engine, settings, "PL_ACCRUALS_CALCULATION", now=NOW, business_date=JULY_10, params={"period": "2026-06"}
    )
    july = run_job(engine, settings, "PL_ACCRUALS_CALCULATION", now=NOW, business_date=JULY_10)
    assert june.state is july.state is ExecutionState.SUCCEEDED, (june.error, july.error)
    with transaction(engine) as s:
        listed = {
            (r.run_key, r.order_line_id): (r.quantity_received, r.quantity_invoiced, r.value_pence)
            for r in s.scalars(select(AccrualLine))
        }
        Books(s).assert_sound()
    # 30 June: 10 received, 4 invoiced on line 1 (line 2 arrived in July). 31 July: line 2 only.
    assert listed == {
        ("PL_ACCRUALS_CALCULATION:2026-06", ids["l1"]): (10, 4, 6_000),
        ("PL_ACCRUALS_CALCULATION:2026-07", ids["l2"]): (5, 0, 10_000),
    }
    assert june.result is not None and june.result.totals["grni_account_pence"] == 6_000
    assert july.result is not None and july.result.totals["difference_pence"] == 0
    folder = Path(june.result.files[0]).parent
    assert (folder / "accruals.csv").read_text().splitlines()[-1] == "Total,,,,,,6000"
    assert (folder / "accruals.pdf").read_bytes().startswith(b"%PDF")
    # A rerun of June replaces June's listing.
    _supersede(engine, june.execution_id)
    again = run_job(
        engine, settings, "PL_ACCRUALS_CALCULATION", now=NOW, business_date=JULY_10, params={"period": "PREVIOUS"}
    )
    with transaction(engine) as s:
        june_rows = list(s.scalars(select(AccrualLine).where(AccrualLine.run_key.endswith("2026-06"))))
    assert [(r.execution_id, r.value_pence) for r in june_rows] == [(again.execution_id, 6_000)]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"period": "June"}, "period"), ({"post_journal": True}, "post_journal"), ({"output_format": "x"}, "output")],
)
def test_accruals_refuse_bad_parameters(
    engine: Engine, db_url: str, tmp_path: Path, params: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        run_job(engine, _settings(db_url, tmp_path), "PL_ACCRUALS_CALCULATION", now=NOW, params=params)


# ---- PL_VAT_RETURN ----------------------------------------------------------------------


def _purchases_in_q2(engine: Engine) -> None:
    with transaction(engine, write=True) as s:
        b = Books.open(s)
        sup = b.supplier()

        def doc(net: int, vat: int, on: date, kind: DocumentKind = DocumentKind.INVOICE) -> None:
            line = PurchaseLine(1, net, vat, account_id=b.acc("6400"))
            post_purchase_invoice(s, supplier_id=sup, number=b.next("PI"), invoice_date=on, lines=[line], kind=kind)

        doc(10_000, S, date(2026, 5, 1))  # VAT 2,000
        doc(1_000, S, date(2026, 6, 1), DocumentKind.CREDIT_NOTE)  # VAT -200
        doc(5_050, Z, date(2026, 6, 30))  # zero rated: box 7 only
        doc(1_000, OS, date(2026, 6, 15))  # outside the scope: no box
        doc(9_999, S, date(2026, 7, 1))  # next quarter


def test_vat_return_without_an_output_side_creates_the_return_and_says_so(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    _purchases_in_q2(engine)
    run = run_job(
        engine,
        _settings(db_url, tmp_path),
        "PL_VAT_RETURN",
        now=NOW,
        business_date=JULY_10,
        params={"quarter": "PREVIOUS"},
    )
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with transaction(engine) as s:
        row = s.scalars(select(VatReturn)).one()
        warnings = list(s.scalars(select(BatchLog.message).where(BatchLog.event == "vat_output_missing")))
        Books(s).assert_sound()
    assert (row.period_key, row.start_date, row.end_date) == ("26C2", date(2026, 4, 1), date(2026, 6, 30))
    assert (row.box1_pence, row.box3_pence, row.box4_pence, row.box5_pence) == (0, 0, 1_800, 1_800)
    assert (row.box7_pence, row.box9_pence, row.status) == (14_000, 0, VatReturnStatus.COMPLETE)
    assert warnings == ["no output side for 26C2 (SL_VAT_RETURN has not run): boxes 1, 2, 6 and 8 are zero"]
    assert run.result is not None
    mtd = json.loads((Path(run.result.files[0]).parent / "vat_return_mtd.json").read_text())
    assert (mtd["periodKey"], mtd["vatReclaimedCurrPeriod"], mtd["totalValuePurchasesExVAT"]) == ("26C2", 18.0, 140)


def test_vat_return_completes_the_output_side_and_refuses_a_submitted_return(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    _purchases_in_q2(engine)
    with transaction(engine, write=True) as s:  # what SL_VAT_RETURN leaves: the output side, draft
        s.add(
            VatReturn(
                period_key="26C2",
                start_date=date(2026, 4, 1),
                end_date=date(2026, 6, 30),
                status=VatReturnStatus.DRAFT,
                box1_pence=5_000,
                box2_pence=0,
                box6_pence=30_000,
                box8_pence=0,
                created_at=NOW,
            )
        )
    settings = _settings(db_url, tmp_path)
    params = {"quarter": "2026-Q2"}
    first = run_job(engine, settings, "PL_VAT_RETURN", now=NOW, business_date=JULY_10, params=params)
    assert first.state is ExecutionState.SUCCEEDED, first.error
    _supersede(engine, first.execution_id)
    second = run_job(engine, settings, "PL_VAT_RETURN", now=NOW, business_date=JULY_10, params=params)
    assert second.state is ExecutionState.SUCCEEDED, second.error
    with transaction(engine, write=True) as s:
        row = s.scalars(select(VatReturn)).one()
        assert [getattr(row, f"box{n}_pence") for n in range(1, 10)] == [
            5_000,
            0,
            5_000,
            1_800,
            3_200,
            30_000,
            14_000,
            0,
            0,
        ]
        assert row.status is VatReturnStatus.COMPLETE
        row.status = VatReturnStatus.SUBMITTED
    _supersede(engine, second.execution_id)
    refused = run_job(engine, settings, "PL_VAT_RETURN", now=NOW, business_date=JULY_10, params=params)
    assert refused.state is ExecutionState.FAILED and isinstance(refused.error, ReturnSubmitted)
    assert "26C2 was submitted" in str(refused.error)


def _paid_in_q3(engine: Engine) -> None:
    """Purchases and the payments that settle them, for the cash scheme (VAT per line half-up):

    A 10/06 £100.00 standard (VAT £20.00, gross £120.00), paid in full 15/07      → £20.00, £100.00
    B 01/08 £33.33 standard (VAT £6.67, gross £40.00), cleared 20/09 with £1.00
      settlement discount: £39.00 paid, 39/40 of it                               → £6.50, £32.50
    C 01/09 £50.00 zero rated, half paid 30/09                                    → £0.00, £25.00
    D 05/09 £80.00 standard, unpaid                                               → nothing
    E 01/08 £10.00 standard, paid 02/10 (next quarter)                            → nothing
    Cash: box 4 £26.50, box 7 £157.50 → £157. Accrual (B, C, D, E by invoice date):
    box 4 £6.67 + £16.00 + £2.00 = £24.67, box 7 £173.33 → £173.
    """
    with transaction(engine, write=True) as s:
        b = Books.open(s)
        sup = b.supplier()

        def doc(net: int, vat: int, on: date) -> int:
            line = PurchaseLine(1, net, vat, account_id=b.acc("6400"))
            return post_purchase_invoice(s, supplier_id=sup, number=b.next("PI"), invoice_date=on, lines=[line])

        def pay(on: date, invoice: int, amount: int, discount: int = 0) -> None:
            post_supplier_payment(s, supplier_id=sup, payment_date=on,
                                  allocations=[PaymentAllocation(invoice, amount, discount)])  # fmt: skip

        a, bb = doc(10_000, S, date(2026, 6, 10)), doc(3_333, S, date(2026, 8, 1))
        c, _d, e = doc(5_000, Z, date(2026, 9, 1)), doc(8_000, S, date(2026, 9, 5)), doc(1_000, S, date(2026, 8, 1))
        pay(date(2026, 7, 15), a, 12_000)
        pay(date(2026, 9, 20), bb, 4_000, 100)
        pay(date(2026, 9, 30), c, 2_500)
        pay(date(2026, 10, 2), e, 1_200)


@pytest.mark.parametrize("how", ["named", "company"])
def test_cash_scheme_reclaims_what_was_paid_in_the_quarter(
    engine: Engine, db_url: str, tmp_path: Path, how: str
) -> None:
    _paid_in_q3(engine)
    params: dict[str, object] = {"quarter": "2026-Q3", "output_format": "csv"}
    if how == "named":
        params["scheme"] = "cash"
    else:
        with transaction(engine, write=True) as s:
            s.scalars(select(Company)).one().vat_scheme = VatScheme.CASH
    settings = _settings(db_url, tmp_path)
    run = run_job(engine, settings, "PL_VAT_RETURN", now=OCT_10_EVENING, business_date=OCT_10, params=params)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert run.result is not None and run.result.data["scheme"] == "cash"
    with transaction(engine) as s:
        row = s.scalars(select(VatReturn)).one()
        Books(s).assert_sound()
    assert (row.period_key, row.box4_pence, row.box7_pence, row.box9_pence) == ("26C3", 2_650, 15_700, 0)


def test_accrual_and_cash_differ_and_a_return_keeps_one_scheme(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _paid_in_q3(engine)
    settings = _settings(db_url, tmp_path)
    output = run_job(engine, settings, "SL_VAT_RETURN", now=OCT_10_EVENING, business_date=OCT_10,
                     params={"quarter": "2026-Q3", "scheme": "cash", "output_format": "csv"})  # fmt: skip
    assert output.state is ExecutionState.SUCCEEDED, output.error
    refused = run_job(engine, settings, "PL_VAT_RETURN", now=OCT_10_EVENING, business_date=OCT_10,
                      params={"quarter": "2026-Q3", "scheme": "accrual"})  # fmt: skip
    assert refused.state is ExecutionState.FAILED and isinstance(refused.error, ValidationError)
    assert "output side on the cash scheme" in str(refused.error)
    # the company's default scheme (accrual) gives the invoice-date figures once nothing ties the return
    with transaction(engine, write=True) as s:
        s.execute(delete(VatReturnRun))
    params = {"quarter": "2026-Q3"}
    accrual = run_job(engine, settings, "PL_VAT_RETURN", now=OCT_10_EVENING, business_date=OCT_10, params=params)
    assert accrual.state is ExecutionState.SUCCEEDED, accrual.error
    with transaction(engine) as s:
        row = s.scalars(select(VatReturn)).one()
    assert (row.box4_pence, row.box7_pence) == (2_467, 17_300)


@pytest.mark.parametrize(
    ("params", "field"), [({"quarter": "2026-Q5"}, "quarter"), ({"scheme": "flat_rate"}, "scheme")]
)
def test_vat_return_refuses_bad_parameters(
    engine: Engine, db_url: str, tmp_path: Path, params: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        run_job(engine, _settings(db_url, tmp_path), "PL_VAT_RETURN", now=NOW, params=params)


# ---- a demo company ---------------------------------------------------------------------


def test_period_jobs_on_a_demo_company_agree_with_independent_computations(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    end = date(2026, 11, 23)
    generate(engine, size=DemoSize(customers=6, suppliers=6, items=12, months=6), end=end, seed=5)
    with transaction(engine, write=True) as s:  # the demo submitted Q3 (July-September): take it back to draft
        demo_q3 = s.scalars(select(VatReturn).where(VatReturn.period_key == "26C3")).one()
        expected_box4, expected_box7 = demo_q3.box4_pence, demo_q3.box7_pence
        demo_output, demo_paid = demo_q3.box1_pence, (demo_q3.paid_on, demo_q3.payment_journal_id)
        assert demo_paid[0] == date(2026, 11, 9)  # paid by the end date, so settled
        s.execute(delete(VatReturn).where(VatReturn.id == demo_q3.id))
    settings = _settings(db_url, tmp_path)
    now = datetime(2026, 11, 23, 18, tzinfo=UTC)
    accruals = run_job(
        engine, settings, "PL_ACCRUALS_CALCULATION", now=now, business_date=end, params={"period": "2026-10"}
    )
    vat = run_job(engine, settings, "PL_VAT_RETURN", now=now, business_date=end, params={"quarter": "PREVIOUS"})
    assert accruals.state is ExecutionState.SUCCEEDED, (accruals.error, accruals.context.warning)
    assert vat.state is ExecutionState.SUCCEEDED, vat.error
    with transaction(engine) as s:
        # GRNI at 31 October, in plain Python over the receipt and invoice lines.
        net: dict[int, int] = defaultdict(int)
        prices = dict(s.execute(select(PurchaseOrderLine.id, PurchaseOrderLine.unit_price_pence)).all())
        for ol, qty, on in s.execute(
            select(GoodsReceivedLine.order_line_id, GoodsReceivedLine.quantity, GoodsReceivedNote.received_on).join(
                GoodsReceivedNote
            )
        ):
            if on <= date(2026, 10, 31):
                net[ol] += qty
        for ol, qty, on in s.execute(
            select(PurchaseInvoiceLine.order_line_id, PurchaseInvoiceLine.quantity, PurchaseInvoice.invoice_date).join(
                PurchaseInvoice
            )
        ):
            if ol is not None and on <= date(2026, 10, 31):
                net[ol] -= qty
        expected = {ol: q * prices[ol] for ol, q in net.items() if q}
        listed = dict(s.execute(select(AccrualLine.order_line_id, AccrualLine.value_pence)).all())
        assert listed == expected and sum(expected.values()) > 0
        # Box 4 and box 7 as the demo generator itself tracked them while it wrote the invoices.
        row = s.scalars(select(VatReturn).where(VatReturn.period_key == "26C3")).one()
        assert (row.box4_pence, row.box7_pence) == (expected_box4, expected_box7)
    with transaction(engine, write=True) as s:
        # Put back what the demo had and the job does not write (the output side, the settlement of
        # 9 November): the VAT control account holds that payment, so the VAT line needs it too.
        s.execute(
            update(VatReturn)
            .where(VatReturn.period_key == "26C3")
            .values(box1_pence=demo_output, box3_pence=demo_output, status=VatReturnStatus.SUBMITTED,
                    paid_on=demo_paid[0], payment_journal_id=demo_paid[1])
        )  # fmt: skip
    with transaction(engine) as s:
        Books(s).assert_sound()
    assert accruals.result is not None and accruals.result.totals["difference_pence"] == 0


def test_vat_return_through_the_engine(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _purchases_in_q2(engine)
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path,
        job_modules="acas_batch.jobs.pl.vat_return",
        lease_seconds=3,
        poll_seconds=0.05,
    )
    load_standard_jobs()
    with transaction(engine, write=True) as s:
        create_job(s, "PL_VAT_RETURN", module=Module.PL, now=NOW)
    svc = JobSchedulerService(engine, settings=settings, actor=user(engine, "ann"))
    ok, execution_id = svc.execute_job_now("PL_VAT_RETURN", {"quarter": "2026-Q2"}, business_date=JULY_10)
    assert ok and isinstance(execution_id, int), execution_id
    ok, detail = svc.wait_for(execution_id, timeout=120)
    assert ok and detail["state"] == "succeeded", (detail.get("error_type"), detail.get("error_message"))
    with transaction(engine) as s:
        row = s.scalars(select(VatReturn)).one()
    assert (row.box4_pence, row.box5_pence, row.status) == (1_800, 1_800, VatReturnStatus.COMPLETE)

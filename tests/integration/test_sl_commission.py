"""SL_COMMISSION_CALCULATION on both databases: a hand-worked August, the accrual, a demo company."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.ledger import balances
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.ledger.sl import allocate_credit_note, allocate_receipt
from acas_batch.models import (
    Account,
    BatchExecution,
    BatchLog,
    CommissionAccrual,
    CommissionBasis,
    CommissionDocument,
    CommissionLine,
    CommissionTier,
    Customer,
    DocumentKind,
    ExecutionState,
    Journal,
    JournalLine,
    JournalStatus,
    SalesAllocation,
    SalesInvoice,
    Salesperson,
)
from tests.books import Books
from tests.sl_support import assert_ledger_sound, at, credit_note, open_books, receipt, settings_for
from tests.support.context import run_job

MONTH_END = date(2026, 8, 31)
JOB = "SL_COMMISSION_CALCULATION"
TIER = 100_000  # the demo test's tier: 6% on net sales above £1,000 in the month


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    yield from open_books(engine)


def _salesperson(b: Books, code: str, rate: str, *tiers: tuple[int, str]) -> int:
    sp = Salesperson(code=code, name=f"Rep {code}", commission_rate=Decimal(rate))
    b.session.add(sp)
    b.session.flush()
    for start, tier_rate in tiers:
        b.session.add(CommissionTier(salesperson_id=sp.id, from_pence=start, rate=Decimal(tier_rate)))
    return sp.id


def _customer_of(b: Books, salesperson: int | None) -> int:
    cid = b.customer()
    b.session.execute(update(Customer).where(Customer.id == cid).values(salesperson_id=salesperson))
    return cid


@pytest.fixture
def ledger(books: Books) -> dict[str, int]:
    """August 2026 (net amounts; VAT 20% on everything):

    SP1 (5%): customer A: J1 £100.00 invoiced 10/07, £60.01 of its £120.00 received 05/08, the rest
      05/09; A1 £500.00 invoiced 03/08, £240.00 received 20/08, credit note £50.00 (£60.00) dated
      and set against A1 on 25/08; S1 £10.00 invoiced 02/09. Customer B: B1 £200.00 invoiced 12/08,
      paid in full 28/08.
    SP2 (2.5%, 4% above £1,000): customer C: C1 £1,500.00 invoiced 15/08, half paid 30/08.
    SP3 (3%): customer D: D1 £80.00 invoiced 05/07 and paid 20/07; credit note £20.00 dated 10/08,
      not allocated (a refund).
    Customer E has no salesperson: E1 £70.00 invoiced 05/08.
    """
    b = books
    sp1 = _salesperson(b, "SP1", "0.0500")
    sp2 = _salesperson(b, "SP2", "0.0250", (100_000, "0.0400"))
    sp3 = _salesperson(b, "SP3", "0.0300")
    a, bb, c, d, e = (_customer_of(b, sp) for sp in (sp1, sp1, sp2, sp3, None))
    j1 = b.invoice(a, 10_000, on=date(2026, 7, 10))
    rid = receipt(b, a, 12_000, date(2026, 8, 5), (j1, 6_001))
    a1 = b.invoice(a, 50_000, on=date(2026, 8, 3))
    receipt(b, a, 24_000, date(2026, 8, 20), (a1, 24_000))
    cna = credit_note(b, a, 5_000, date(2026, 8, 25))
    allocate_credit_note(b.session, credit_note_id=cna, invoice_id=a1, amount_pence=6_000, on=date(2026, 8, 25))
    allocate_receipt(b.session, receipt_id=rid, invoice_id=j1, amount_pence=5_999, on=date(2026, 9, 5))
    b.invoice(a, 1_000, on=date(2026, 9, 2))
    b1 = b.invoice(bb, 20_000, on=date(2026, 8, 12))
    receipt(b, bb, 24_000, date(2026, 8, 28), (b1, 24_000))
    c1 = b.invoice(c, 150_000, on=date(2026, 8, 15))
    receipt(b, c, 90_000, date(2026, 8, 30), (c1, 90_000))
    d1 = b.invoice(d, 8_000, on=date(2026, 7, 5))
    receipt(b, d, 9_600, date(2026, 7, 20), (d1, 9_600))
    credit_note(b, d, 2_000, date(2026, 8, 10))
    b.invoice(e, 7_000, on=date(2026, 8, 5))
    b.session.commit()
    return {"SP1": sp1, "SP2": sp2, "SP3": sp3, "J1": j1, "A1": a1, "CNA": cna, "B1": b1, "C1": c1}


def _supersede(engine: Engine, execution_id: int) -> None:
    """What a forced rerun does to the run it replaces (the harness itself never forces)."""
    with Session(engine) as s, s.begin():
        s.execute(update(BatchExecution).where(BatchExecution.id == execution_id).values(superseded_by_id=execution_id))


def _lines(engine: Engine, execution_id: int) -> dict[int, tuple[int, int, int, int, int]]:
    with Session(engine) as s:
        return {
            r.salesperson_id: (r.documents, r.sales_pence, r.credits_pence, r.net_sales_pence, r.commission_pence)
            for r in s.scalars(select(CommissionLine).where(CommissionLine.execution_id == execution_id))
        }


def _journals(engine: Engine) -> list[tuple[int, date, JournalStatus, list[tuple[str, int, int]]]]:
    with Session(engine) as s:
        out = []
        for j in s.scalars(select(Journal).where(Journal.reference.like("COMM %")).order_by(Journal.id)):
            lines = s.execute(
                select(Account.code, JournalLine.debit_pence, JournalLine.credit_pence)
                .join(Account, Account.id == JournalLine.account_id)
                .where(JournalLine.journal_id == j.id)
                .order_by(JournalLine.line_no)
            ).all()
            out.append((j.id, j.journal_date, j.status, [tuple(r) for r in lines]))
        return out  # type: ignore[return-value]


def test_invoiced_basis_counts_documents_dated_in_the_period_with_tiers_and_a_clawback(
    engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]
) -> None:
    run = run_job(engine, settings_for(db_url, tmp_path), JOB, now=at(MONTH_END))
    assert run.state is ExecutionState.SUCCEEDED, run.error
    # SP1: 500 + 200 - 50 = £650 at 5% = £32.50.  SP2: £1,000 at 2.5% + £500 at 4% = £45.00.
    # SP3: the £20 credit note alone: -£0.60.  E's invoice has no salesperson.
    assert _lines(engine, run.execution_id) == {
        ledger["SP1"]: (3, 70_000, 5_000, 65_000, 3_250),
        ledger["SP2"]: (1, 150_000, 0, 150_000, 4_500),
        ledger["SP3"]: (1, 0, 2_000, -2_000, -60),
    }
    assert run.result is not None
    assert run.result.totals["commission_pence"] == 7_690
    assert run.result.counts == {"salespeople": 3, "documents": 5, "unassigned_documents": 1}
    rows = list(csv.reader(run.context.output("commission.csv").read_text().splitlines()))
    assert rows[1] == ["SP1", "Rep SP1", "3", "70000", "5000", "65000", "0.0500", "", "0.0500", "3250"]
    assert rows[2][7:] == ["Y", "0.0300", "4500"]
    assert rows[-1] == ["TOTAL", "", "5", "220000", "7000", "213000", "", "", "", "7690"]
    docs = list(csv.reader(run.context.output("commission_documents.csv").read_text().splitlines()))
    assert [(r[0], r[1], r[6]) for r in docs[1:]] == [
        ("SP1", "INV00002", "50000"),
        ("SP1", "INV00004", "20000"),
        ("SP1", "CRN00001", "-5000"),
        ("SP2", "INV00005", "150000"),
        ("SP3", "CRN00002", "-2000"),
    ]
    assert run.context.output("commission.pdf").read_bytes().startswith(b"%PDF")
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Journal).where(Journal.reference.like("COMM %"))) == 0
    with Session(engine) as s:
        logged = {e for (e,) in s.execute(select(BatchLog.event).where(BatchLog.execution_id == run.execution_id))}
    assert {"commission_calculated", "commission_unassigned"} <= logged
    assert_ledger_sound(engine)


def test_paid_basis_counts_what_was_settled_in_the_period(
    engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]
) -> None:
    run = run_job(engine, settings_for(db_url, tmp_path), JOB, now=at(MONTH_END), params={"basis": "paid"})
    assert run.state is ExecutionState.SUCCEEDED, run.error
    # SP1: J1 £60.01 of £120.00 settled -> 100 x 6001/12000 = 50.0083 -> £50.01;
    #      A1 £240 received + £60 credit note = £300 of £600 -> £250; B1 paid in full -> £200;
    #      the credit note dated 25/08 -> -£50.  Net £450.01 at 5% = £22.5005 -> £22.50.
    # SP2: C1 half paid -> £750 at 2.5% = £18.75 (below the £1,000 tier).  SP3: -£20 at 3% = -£0.60.
    assert _lines(engine, run.execution_id) == {
        ledger["SP1"]: (4, 50_001, 5_000, 45_001, 2_250),
        ledger["SP2"]: (1, 75_000, 0, 75_000, 1_875),
        ledger["SP3"]: (1, 0, 2_000, -2_000, -60),
    }
    with Session(engine) as s:
        settled = dict(
            s.execute(
                select(CommissionDocument.invoice_id, CommissionDocument.settled_pence).where(
                    CommissionDocument.execution_id == run.execution_id
                )
            ).all()
        )
    assert settled[ledger["J1"]] == 6_001 and settled[ledger["A1"]] == 30_000 and settled[ledger["CNA"]] == 0
    # September settles the rest of J1: 100 - 50.01 = £49.99, so J1 counts exactly its £100 over its life.
    sept = run_job(engine, settings_for(db_url, tmp_path), JOB, now=at(date(2026, 9, 30)), params={"basis": "paid"})
    with Session(engine) as s:
        j1 = s.scalar(
            select(CommissionDocument.net_pence).where(
                CommissionDocument.execution_id == sept.execution_id,
                CommissionDocument.invoice_id == ledger["J1"],
            )
        )
    assert j1 == 4_999
    assert_ledger_sound(engine)


def test_the_accrual_is_posted_once_per_period_however_often_the_job_runs(
    engine: Engine, db_url: str, tmp_path: Path, ledger: dict[str, int]
) -> None:
    settings = settings_for(db_url, tmp_path)
    first = run_job(engine, settings, JOB, now=at(MONTH_END), params={"post_accrual": True})
    assert first.state is ExecutionState.SUCCEEDED, first.error
    [(journal_id, on, status, lines)] = _journals(engine)
    assert (on, status) == (MONTH_END, JournalStatus.PENDING)
    assert lines == [("6500", 7_690, 0), ("2300", 0, 7_690)]
    assert first.result is not None and first.result.data["accrual_journal_id"] == journal_id
    assert first.result.totals["accrued_pence"] == 7_690
    # When the job runs again for August, on either basis, nothing more is posted.
    _supersede(engine, first.execution_id)
    again = run_job(engine, settings, JOB, now=at(MONTH_END), params={"post_accrual": True})
    assert again.state is ExecutionState.SUCCEEDED and again.result is not None
    assert again.result.totals["accrued_pence"] == 0 and again.result.data["accrual_posted_now"] is False
    paid = run_job(engine, settings, JOB, now=at(MONTH_END), params={"post_accrual": True, "basis": "paid"})
    assert paid.state is ExecutionState.WARNING and "40.65" in (paid.context.warning or "")
    assert [j[0] for j in _journals(engine)] == [journal_id]
    # The rerun replaced the invoiced snapshot: one set of lines per run key.
    with Session(engine) as s:
        keys = s.execute(select(CommissionLine.run_key, func.count()).group_by(CommissionLine.run_key)).all()
        assert sorted(keys) == [
            ("SL_COMMISSION_CALCULATION:2026-08:invoiced", 3),
            ("SL_COMMISSION_CALCULATION:2026-08:paid", 3),
        ]
        assert s.scalar(select(func.count()).select_from(CommissionDocument)) == 5 + 6
    # The schema refuses a second accrual for the period, whatever the code does.
    with Session(engine) as s:
        row = s.scalars(select(CommissionAccrual)).one()
        assert (row.amount_pence, row.basis, row.journal_id) == (7_690, CommissionBasis.INVOICED, journal_id)
        s.add(
            CommissionAccrual(
                period_start=row.period_start,
                period_end=row.period_end,
                basis=CommissionBasis.PAID,
                journal_id=journal_id,
                amount_pence=1,
                created_at=row.created_at,
            )
        )
        with pytest.raises(IntegrityError):
            s.flush()
    # The daily close posts the accrual like any journal; the posted trial balance still balances.
    close = run_job(engine, settings, "GL_DAILY_CLOSE", now=at(MONTH_END), business_date=MONTH_END)
    assert close.state is ExecutionState.SUCCEEDED, (close.error, close.context.warning)
    assert _journals(engine)[0][2] is JournalStatus.POSTED
    with Session(engine) as s:
        tb = {r.code: r for r in balances.trial_balance(s, posted_only=True)}
        assert sum(r.debit_pence for r in tb.values()) == sum(r.credit_pence for r in tb.values())
        assert (tb["6500"].balance_pence, tb["2300"].balance_pence) == (7_690, -7_690)
    assert_ledger_sound(engine)


def test_a_period_with_no_commission_posts_no_journal(engine: Engine, db_url: str, tmp_path: Path) -> None:
    with Session(engine) as s:
        Books.open(s)
        s.commit()
    run = run_job(engine, settings_for(db_url, tmp_path), JOB, now=at(MONTH_END), params={"post_accrual": True})
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert run.result is not None and run.result.totals["commission_pence"] == 0
    assert _journals(engine) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [({"basis": "cash"}, "basis"), ({"period": "2026-13"}, "period"), ({"post_accural": True}, "post_accural")],
)
def test_bad_parameters_are_refused_naming_the_field(
    engine: Engine, db_url: str, tmp_path: Path, params: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        run_job(engine, settings_for(db_url, tmp_path), JOB, now=at(MONTH_END), params=params)


# ---- the demo company against an independent computation ---------------------------------


def _half_up(x: Fraction) -> int:
    """Nearest integer, halves away from zero (the ledger's rounding), on an exact fraction."""
    whole, twice_rest = divmod(abs(x) * 2, 2)
    return (1 if x >= 0 else -1) * int(whole + (1 if twice_rest >= 1 else 0))


def _expected(engine: Engine, start: date, end: date, basis: str) -> dict[int, tuple[int, int]]:
    """Per salesperson (net sales, commission), from plain rows, with fractions."""
    with Session(engine) as s:
        owner = {c.id: c.salesperson_id for c in s.scalars(select(Customer))}
        docs = {d.id: d for d in s.scalars(select(SalesInvoice))}
        allocations = list(s.scalars(select(SalesAllocation)))
        people = {p.id: p for p in s.scalars(select(Salesperson))}
        tiers: dict[int, list[CommissionTier]] = defaultdict(list)
        for t in s.scalars(select(CommissionTier).order_by(CommissionTier.from_pence)):
            tiers[t.salesperson_id].append(t)
    net: dict[int, int] = defaultdict(int)
    for d in docs.values():
        sp = owner[d.customer_id]
        if sp is None:
            continue
        dated = start <= d.invoice_date <= end
        if d.kind is DocumentKind.CREDIT_NOTE and dated:
            net[sp] -= d.net_pence
        elif basis == "invoiced" and dated:
            net[sp] += d.net_pence
    if basis == "paid":
        before: dict[int, int] = defaultdict(int)
        upto: dict[int, int] = defaultdict(int)
        touched = set()
        for a in allocations:
            if a.allocated_on < start:
                before[a.invoice_id] += a.amount_pence
            if a.allocated_on <= end:
                upto[a.invoice_id] += a.amount_pence
            if start <= a.allocated_on <= end:
                touched.add(a.invoice_id)
        for i in touched:
            d = docs[i]
            sp = owner[d.customer_id]
            if sp is not None:
                share = _half_up(Fraction(d.net_pence * upto[i], d.gross_pence))
                share -= _half_up(Fraction(d.net_pence * before[i], d.gross_pence))
                net[sp] += share
    out = {}
    for sp, amount in net.items():
        person = people[sp]
        # marginal tiers as "base rate on everything, plus each tier's step up on what is above it"
        rates = [Fraction(person.commission_rate)] + [Fraction(t.rate) for t in tiers[sp]]
        exact = Fraction(amount) * rates[0]
        if amount > 0:
            for t, lower, higher in zip(tiers[sp], rates, rates[1:], strict=False):
                exact += (higher - lower) * max(0, amount - t.from_pence)
        out[sp] = (amount, _half_up(exact))
    return out


@pytest.mark.parametrize("basis", ["invoiced", "paid"])
def test_demo_company_matches_an_independent_computation(
    engine: Engine, db_url: str, tmp_path: Path, basis: str
) -> None:
    # The demo hands over with every earlier period closed: November's own commission, at its end
    end = date(2026, 11, 30)
    generate(engine, size=DemoSize(customers=30, suppliers=4, items=10, months=4), end=end, seed=5)
    with Session(engine) as s:
        first = s.scalars(select(Salesperson.id).order_by(Salesperson.id)).first()
        assert first is not None
        s.add(CommissionTier(salesperson_id=first, from_pence=TIER, rate=Decimal("0.0600")))
        s.commit()
    run = run_job(
        engine,
        settings_for(db_url, tmp_path),
        JOB,
        now=at(end),
        params={"period": "CURRENT", "basis": basis, "output_format": "csv", "post_accrual": True},
    )
    assert run.state is ExecutionState.SUCCEEDED, run.error
    expected = _expected(engine, date(2026, 11, 1), date(2026, 11, 30), basis)
    got = {sp: (row[3], row[4]) for sp, row in _lines(engine, run.execution_id).items() if row[0]}
    assert got == expected and len(got) >= 2
    assert any(n > TIER for n, _ in expected.values())  # the tier is reached
    total = sum(c for _, c in expected.values())
    assert _journals(engine)[0][3] == [("6500", total, 0), ("2300", 0, total)]
    assert_ledger_sound(engine)

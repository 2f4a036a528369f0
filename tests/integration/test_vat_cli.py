"""``acas-batch vat returns`` and ``vat settle``: the returns and recording their settlement, on both databases."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.db import make_engine
from acas_batch.errors import UnknownDocument, VatSettlementRefused
from acas_batch.ledger import balances
from acas_batch.ledger.balances import Reconciliation
from acas_batch.ledger.vat import mark_vat_return_paid
from acas_batch.models import (
    Account,
    AccountType,
    Audit,
    BankAccount,
    ControlKind,
    Journal,
    JournalLine,
    JournalStatus,
    VatReturn,
    VatReturnStatus,
)
from tests.books import Books
from tests.integration.test_cli import acas
from tests.integration.test_gl_close_jobs import gl
from tests.integration.test_gl_vat_control import PAID, _return, purchase, submitted_return, vat_line
from tests.sl_support import credit_note, open_books
from tests.support.users import token_env

DATA_ERROR = 65  # EX_DATAERR: every refusal here is a ledger or validation error


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    yield from open_books(engine)


def vat(s: Session, db_url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``acas-batch vat ...`` on the test database; the test's session holds no transaction meanwhile."""
    s.rollback()
    return acas("vat", *args, "--database-url", db_url, env={"COLUMNS": "160"} | (env or {}))


def snapshot(s: Session) -> tuple[Any, ...]:
    """Everything a settlement writes: journals, their lines, audit lines, each return's settlement."""
    s.rollback()
    count = lambda model: s.scalar(select(func.count()).select_from(model))  # noqa: E731
    settled = s.execute(
        select(VatReturn.period_key, VatReturn.paid_on, VatReturn.payment_journal_id).order_by(VatReturn.period_key)
    ).all()
    return count(Journal), count(JournalLine), count(Audit), [tuple(r) for r in settled]


def refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == DATA_ERROR, (result.returncode, result.stdout, result.stderr)
    assert message in result.stderr, result.stderr
    assert result.stdout == ""


def savings_account(b: Books) -> None:
    """A second bank account, SAVE, on ledger account 1210."""
    account = Account(code="1210", name="Bank deposit account", type=AccountType.ASSET, control=ControlKind.BANK)
    b.session.add(account)
    b.session.flush()
    b.session.add(
        BankAccount(code="SAVE", name="Deposit", account_id=account.id, sort_code="401276", account_number="79999999")
    )


def test_list_and_settle_a_return_from_the_command_line(
    db_url: str, engine: Engine, settings: Settings, books: Books
) -> None:
    # Given April to June: a sale of 1,000.00 (VAT 200.00), rent bought for 400.00 (VAT 80.00)
    # and a credit note of 100.00 (VAT 20.00); July's sale of 500.00 (VAT 100.00), not yet returned
    b, s = books, books.session
    savings_account(b)
    customer, supplier = b.customer(), b.supplier()
    b.invoice(customer, 100_000, on=date(2026, 4, 10))
    purchase(b, supplier, 40_000, date(2026, 4, 20))
    credit_note(b, customer, 10_000, date(2026, 5, 5))
    s.commit()
    # ... whose return, submitted, declares 180.00 due and 80.00 reclaimed: 100.00 to pay
    q2 = submitted_return(engine, settings, b)
    b.invoice(customer, 50_000, on=date(2026, 7, 15))
    # ... and a complete (not submitted) return for July to September reclaiming 70.00
    _return(s, "26C3", date(2026, 7, 1), date(2026, 9, 30), 5_000, 12_000, VatReturnStatus.COMPLETE)
    s.commit()
    key = q2.period_key
    # The GL owes HMRC output 300.00 - 20.00 less input 80.00; so do the documents
    assert vat_line(s) == Reconciliation("vat", 20_000, 20_000)

    # When the operator lists the returns
    listed = vat(s, db_url, "returns", "--json")
    table = vat(s, db_url, "returns")

    # Then both show each quarter's boxes in pounds and the net with its sign
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["returns"] == [
        {
            "period_key": key, "start_date": "2026-04-01", "end_date": "2026-06-30", "status": "submitted",
            "box3": "180.00", "box4": "80.00", "box5": "100.00", "net": "100.00", "direction": "to pay",
            "box3_pence": 18_000, "box4_pence": 8_000, "box5_pence": 10_000, "net_pence": 10_000,
            "paid_on": None, "payment_journal_id": None,
        },
        {
            "period_key": "26C3", "start_date": "2026-07-01", "end_date": "2026-09-30", "status": "complete",
            "box3": "50.00", "box4": "120.00", "box5": "70.00", "net": "-70.00", "direction": "to reclaim",
            "box3_pence": 5_000, "box4_pence": 12_000, "box5_pence": 7_000, "net_pence": -7_000,
            "paid_on": None, "payment_journal_id": None,
        },
    ]  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert f"{key} " in table.stdout and " 180.00 " in table.stdout and " 80.00 " in table.stdout
    assert " 100.00 to pay " in table.stdout and " -70.00 to reclaim " in table.stdout

    # When it is settled too early, twice over the wrong thing, or with a bad name, nothing is written
    users = make_engine(db_url)
    who = token_env(users, "fd", "accountant")
    users.dispose()
    before = snapshot(s)
    refused(vat(s, db_url, "settle", key, "--on", "2026-06-30"), f"{key} covers up to 2026-06-30")
    refused(vat(s, db_url, "settle", "26X9", "--on", "2026-08-07"), "no VAT return with period key '26X9'")
    refused(vat(s, db_url, "settle", key, "--on", "2026-08-07", "--bank", "NOPE"), "no bank account with code 'NOPE'")
    refused(vat(s, db_url, "settle", "26C3", "--on", "2026-11-07"), "26C3 is complete, not submitted")
    refused(vat(s, db_url, "settle", key, "--on", "2026-13-01"), "--on: '2026-13-01' is not a date")
    assert snapshot(s) == before

    # When it is paid on 7 August from the deposit account
    paid = vat(s, db_url, "settle", key, "--on", "2026-08-07", "--bank", "SAVE", "--json", env=who)

    # Then one journal moved 180.00 out of VAT output, 80.00 out of VAT input and 100.00 out of the bank
    assert paid.returncode == 0, paid.stderr
    done = json.loads(paid.stdout)
    journal_id = done["journal_id"]
    assert done == {
        "period_key": key, "paid_on": "2026-08-07", "net": "100.00", "net_pence": 10_000, "direction": "to pay",
        "journal_id": journal_id, "posted": True, "bank_code": "SAVE", "bank_account_code": "1210",
    }  # fmt: skip
    s.rollback()
    assert b.journal_lines(journal_id) == [
        (b.acc("2200"), 18_000, 0),
        (b.acc("2201"), 0, 8_000),
        (b.acc("1210"), 0, 10_000),
    ]
    journal = s.get_one(Journal, journal_id)
    assert (journal.journal_date, journal.reference, journal.status) == (PAID, f"HMRC VAT {key}", JournalStatus.PENDING)
    # ... the GL now owes July's 100.00 only, and so do the documents (300.00 - 20.00 - 80.00 less 100.00 settled)
    assert vat_line(s) == Reconciliation("vat", 10_000, 10_000)
    assert balances.account_balance(s, b.acc("1210")) == -10_000
    # ... the return records it, and the audit trail says who did it
    q2 = s.get_one(VatReturn, q2.id)
    assert (q2.paid_on, q2.payment_journal_id) == (PAID, journal_id)
    entry = s.scalars(select(Audit).where(Audit.action == "vat.settle")).one()
    assert (entry.actor, entry.target_type, entry.target_id) == ("fd", "vat_return", str(q2.id))
    assert entry.details == done
    after = snapshot(s)
    assert (after[0], after[1], after[2]) == (before[0] + 1, before[1] + 3, before[2] + 1)

    # And the listing shows it paid; settling it again is refused with nothing written
    shown = json.loads(vat(s, db_url, "returns", "--json").stdout)["returns"][0]
    assert (shown["paid_on"], shown["payment_journal_id"]) == ("2026-08-07", journal_id)
    refused(vat(s, db_url, "settle", key, "--on", "2026-08-08"), f"{key} was settled on 2026-08-07")
    assert snapshot(s) == after


def test_a_repayment_into_the_first_bank_account_in_words(db_url: str, books: Books) -> None:
    s = books.session
    # Given a submitted return reclaiming more (300.00) than it owes (120.00)
    _return(s, "26C2", date(2026, 4, 1), date(2026, 6, 30), 12_000, 30_000, VatReturnStatus.SUBMITTED)
    s.commit()
    # When it is settled with no bank named
    result = vat(s, db_url, "settle", "26C2", "--on", "20260807")
    # Then HMRC's 180.00 came into the first bank account
    assert result.returncode == 0, result.stderr
    journal_id = s.scalars(select(VatReturn.payment_journal_id)).one()
    assert result.stdout.strip() == (
        f"VAT return 26C2 settled on 2026-08-07: 180.00 repaid by HMRC into BANK1 (1200); "
        f"journal {journal_id} posted (pending until GL_DAILY_CLOSE)"
    )
    assert balances.account_balance(s, books.acc("1200")) == 18_000


def test_a_payment_posted_by_hand_is_marked_as_the_settlement(db_url: str, books: Books) -> None:
    b, s = books, books.session
    # Given two submitted returns of 120.00 due and 30.00 reclaimed (90.00 to pay), unsettled
    q1 = _return(s, "26C1", date(2026, 1, 1), date(2026, 3, 31), 12_000, 3_000, VatReturnStatus.SUBMITTED)
    q2 = _return(s, "26C2", date(2026, 4, 1), date(2026, 6, 30), 12_000, 3_000, VatReturnStatus.SUBMITTED)
    # ... and three journals posted by hand: the payment of 7 August, one that took 31.00 of input VAT,
    # one dated the day before
    right = gl(b, PAID, "HMRC VAT 2026-06", ("2200", 12_000), ("2201", -3_000), ("1200", -9_000))
    other_amount = gl(b, PAID, "HMRC VAT 2026-06", ("2200", 12_000), ("2201", -3_100), ("1200", -8_900))
    other_day = gl(b, date(2026, 8, 6), "HMRC VAT 2026-06", ("2200", 12_000), ("2201", -3_000), ("1200", -9_000))
    s.commit()
    # Unmarked, the payments show on the VAT line: the VAT accounts hold 90.00 + 89.00 + 90.00 debit,
    # the documents nothing
    assert vat_line(s) == Reconciliation("vat", -26_900, 0)
    before = snapshot(s)

    # When the wrong journals are offered, or a bank with a journal, or no journal at all
    refused(
        vat(s, db_url, "settle", "26C2", "--on", "2026-08-07", "--journal", str(other_amount)),
        f"journal {other_amount} moves 12000 pence out of VAT output and 3100 pence out of VAT input; "
        "VAT return 26C2 declares box 3 12000 and box 4 3000",
    )
    refused(
        vat(s, db_url, "settle", "26C2", "--on", "2026-08-07", "--journal", str(other_day)),
        f"journal {other_day} is dated 2026-08-06, not 2026-08-07",
    )
    refused(
        vat(s, db_url, "settle", "26C2", "--on", "2026-08-07", "--journal", "999999"), "journal 999999 does not exist"
    )
    refused(
        vat(s, db_url, "settle", "26C2", "--on", "2026-08-07", "--journal", str(right), "--bank", "BANK1"),
        "not both",
    )
    # Then nothing was written
    assert snapshot(s) == before

    # When the right one is offered
    marked = vat(s, db_url, "settle", "26C2", "--on", "2026-08-07", "--journal", str(right))

    # Then the return is settled by it and no journal is posted
    assert marked.returncode == 0, marked.stderr
    assert marked.stdout.strip() == (
        f"VAT return 26C2 settled on 2026-08-07: 90.00 paid to HMRC from BANK1 (1200); by existing journal {right}"
    )
    after = snapshot(s)
    assert (after[0], after[1], after[2]) == (before[0], before[1], before[2] + 1)
    assert (s.get_one(VatReturn, q2.id).paid_on, s.get_one(VatReturn, q2.id).payment_journal_id) == (PAID, right)
    # ... and the VAT line counts it: the documents now say HMRC was paid 90.00 more than they owed
    assert vat_line(s) == Reconciliation("vat", -26_900, -9_000)
    entry = s.scalars(select(Audit).where(Audit.action == "vat.settle")).one()
    assert entry.details is not None and (entry.details["posted"], entry.details["journal_id"]) == (False, right)

    # And the same journal cannot pay the other quarter's return, nor the same return again
    refused(
        vat(s, db_url, "settle", "26C1", "--on", "2026-08-07", "--journal", str(right)),
        f"journal {right} already pays VAT return 26C2",
    )
    refused(
        vat(s, db_url, "settle", "26C2", "--on", "2026-08-07", "--journal", str(right)),
        "26C2 was settled on 2026-08-07",
    )
    assert snapshot(s) == after
    assert s.get_one(VatReturn, q1.id).paid_on is None


def test_marking_refuses_a_nil_return_a_reversed_journal_and_what_settling_refuses(books: Books) -> None:
    b, s = books, books.session
    nil = _return(s, "26C1", date(2026, 1, 1), date(2026, 3, 31), 0, 0, VatReturnStatus.SUBMITTED)
    draft = _return(s, "26C2", date(2026, 4, 1), date(2026, 6, 30), 12_000, 3_000, VatReturnStatus.COMPLETE)
    due = _return(s, "26C3", date(2026, 7, 1), date(2026, 9, 30), 12_000, 3_000, VatReturnStatus.SUBMITTED)
    journal = gl(b, date(2026, 11, 7), "HMRC VAT 2026-09", ("2200", 12_000), ("2201", -3_000), ("1200", -9_000))
    s.commit()
    cases: list[tuple[int, date, type[Exception], str]] = [
        (nil.id, date(2026, 11, 7), VatSettlementRefused, "26C1 is a nil return"),
        (draft.id, date(2026, 11, 7), VatSettlementRefused, "26C2 is complete, not submitted"),
        (due.id, date(2026, 9, 30), VatSettlementRefused, "covers up to 2026-09-30"),
        (987_654, date(2026, 11, 7), UnknownDocument, "VAT return 987654 does not exist"),
    ]
    for return_id, on, error, message in cases:
        with pytest.raises(error, match=message):
            mark_vat_return_paid(s, return_id, on=on, journal_id=journal)
    s.get_one(Journal, journal).status = JournalStatus.REVERSED
    s.get_one(Journal, journal).posted_on = date(2026, 11, 8)
    with pytest.raises(VatSettlementRefused, match=f"journal {journal} was reversed"):
        mark_vat_return_paid(s, due.id, on=date(2026, 11, 7), journal_id=journal)
    assert s.scalars(select(VatReturn.paid_on).where(VatReturn.paid_on.is_not(None))).all() == []

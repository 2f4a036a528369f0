"""The VAT returns as an operator sees them, and recording their settlement with HMRC.

The posting rules are :mod:`acas_batch.ledger.vat`; this module names returns by HMRC's
period key and bank accounts by their code. The services write each settlement to the audit
trail in the same transaction (action ``vat.settle``), so a refused one leaves neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.errors import UnknownDocument, ValidationError
from acas_batch.ledger.money import format_pence
from acas_batch.ledger.vat import mark_vat_return_paid, settle_vat_return
from acas_batch.models import Account, BankAccount, ControlKind, JournalLine, VatReturn


def direction(net_pence: int) -> str:
    """What a return's net VAT (box 3 - box 4) means: ``to pay`` HMRC, ``to reclaim`` from it, or ``nil``."""
    if net_pence > 0:
        return "to pay"
    if net_pence < 0:
        return "to reclaim"
    return "nil"


@dataclass(frozen=True)
class VatReturnView:
    """One VAT return: its quarter, state, the boxes that decide the payment, and its settlement."""

    period_key: str
    start_date: date
    end_date: date
    status: str
    box3_pence: int
    box4_pence: int
    box5_pence: int
    paid_on: date | None
    payment_journal_id: int | None

    @property
    def net_pence(self) -> int:
        """Box 5 with its sign: positive to pay HMRC, negative to reclaim."""
        return self.box3_pence - self.box4_pence

    def as_dict(self) -> dict[str, Any]:
        return {
            "period_key": self.period_key,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "status": self.status,
            "box3": format_pence(self.box3_pence),
            "box4": format_pence(self.box4_pence),
            "box5": format_pence(self.box5_pence),
            "net": format_pence(self.net_pence),
            "direction": direction(self.net_pence),
            "box3_pence": self.box3_pence,
            "box4_pence": self.box4_pence,
            "box5_pence": self.box5_pence,
            "net_pence": self.net_pence,
            "paid_on": None if self.paid_on is None else self.paid_on.isoformat(),
            "payment_journal_id": self.payment_journal_id,
        }


def _view(row: VatReturn) -> VatReturnView:
    return VatReturnView(
        row.period_key,
        row.start_date,
        row.end_date,
        row.status.value,
        row.box3_pence,
        row.box4_pence,
        row.box5_pence,
        row.paid_on,
        row.payment_journal_id,
    )


def vat_returns(session: Session) -> list[VatReturnView]:
    """Every VAT return, oldest quarter first."""
    return [_view(r) for r in session.scalars(select(VatReturn).order_by(VatReturn.start_date))]


@dataclass(frozen=True)
class Settlement:
    """What recording a settlement did: the journal that moved the net VAT, and through which bank."""

    period_key: str
    paid_on: date
    net_pence: int
    journal_id: int | None
    posted: bool  # True: a new journal was posted; False: an existing journal was marked as the payment
    bank_code: str | None  # the bank account's code, when the bank's ledger account has one
    bank_account_code: str | None  # the bank's ledger account
    return_id: int  # the return's record

    def as_dict(self) -> dict[str, Any]:
        return {
            "period_key": self.period_key,
            "paid_on": self.paid_on.isoformat(),
            "net": format_pence(self.net_pence),
            "net_pence": self.net_pence,
            "direction": direction(self.net_pence),
            "journal_id": self.journal_id,
            "posted": self.posted,
            "bank_code": self.bank_code,
            "bank_account_code": self.bank_account_code,
        }


def _return_by_key(session: Session, period_key: str) -> VatReturn:
    row = session.scalars(select(VatReturn).where(VatReturn.period_key == period_key)).first()
    if row is None:
        raise UnknownDocument(f"there is no VAT return with period key {period_key!r}")
    return row


def _bank_of(session: Session, journal_id: int | None) -> tuple[str | None, str | None]:
    """The bank account code and ledger account code the settling journal moved (none for a nil return)."""
    if journal_id is None:
        return None, None
    found = session.execute(
        select(BankAccount.code, Account.code)
        .select_from(JournalLine)
        .join(Account, Account.id == JournalLine.account_id)
        .outerjoin(BankAccount, BankAccount.account_id == Account.id)
        .where(JournalLine.journal_id == journal_id, Account.control == ControlKind.BANK)
        .order_by(JournalLine.line_no)
    ).first()
    return (None, None) if found is None else (found[0], found[1])


def record_vat_settlement(
    session: Session,
    period_key: str,
    *,
    on: date,
    bank_code: str | None = None,
    journal_id: int | None = None,
) -> Settlement:
    """Settle the return ``period_key`` on ``on``.

    Without ``journal_id`` the payment is posted (:func:`settle_vat_return`) through the bank
    account ``bank_code`` (default: the first bank account). With it, that existing journal is
    recorded as the payment (:func:`mark_vat_return_paid`) and nothing is posted.

    Raises:
        UnknownDocument: no return has the period key, no bank account the code, no journal the id.
        VatSettlementRefused: the ledger refuses the settlement (see the two functions).
        ValidationError: both a bank and a journal given.
    """
    if bank_code is not None and journal_id is not None:
        raise ValidationError("give a bank account to post the payment or a journal that paid it, not both")
    row = _return_by_key(session, period_key)
    bank: BankAccount | None = None
    if bank_code is not None:
        bank = session.scalars(select(BankAccount).where(BankAccount.code == bank_code)).first()
        if bank is None:
            raise UnknownDocument(f"there is no bank account with code {bank_code!r}")
    if journal_id is None:
        journal_id = settle_vat_return(session, row.id, on=on, bank_account_id=None if bank is None else bank.id)
        posted = journal_id is not None
    else:
        mark_vat_return_paid(session, row.id, on=on, journal_id=journal_id)
        posted = False
    bank_code_used, account_code = _bank_of(session, journal_id)
    return Settlement(
        row.period_key, on, row.box3_pence - row.box4_pence, journal_id, posted, bank_code_used, account_code, row.id
    )

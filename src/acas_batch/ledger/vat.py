"""Settling a VAT return with HMRC: the payment (or repayment) and the return's settled marker.

Settlement: DR VAT output (box 3), CR VAT input (box 4), CR bank (box 3 - box 4; a debit
when HMRC repays). Each VAT account is cleared of the quarter the return declares, and the
return row records the day and the journal in the same transaction, so the GL
reconciliation (:func:`acas_batch.ledger.balances.vat_owed_total`) sees both or neither.

A payment already in the books (posted by hand before migration 0016 recorded settlements)
is tied to its return by :func:`mark_vat_return_paid`, which posts nothing and checks the
journal moves exactly what :func:`settle_vat_return` would have moved out of the VAT accounts.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.db import rowcount
from acas_batch.errors import UnknownDocument, VatSettlementRefused
from acas_batch.ledger.posting import JournalDraft, atomic, control_account, cr, dr, post_journal
from acas_batch.models import (
    BankAccount,
    ControlKind,
    Journal,
    JournalLine,
    JournalSource,
    JournalStatus,
    VatReturn,
    VatReturnStatus,
)


def _payable(session: Session, vat_return_id: int, on: date) -> VatReturn:
    """The return, if it may be settled on ``on``: submitted, not settled yet, ``on`` after its quarter."""
    row = session.get(VatReturn, vat_return_id)
    if row is None:
        raise UnknownDocument(f"VAT return {vat_return_id} does not exist")
    if row.status is not VatReturnStatus.SUBMITTED:
        raise VatSettlementRefused(f"VAT return {row.period_key} is {row.status.value}, not submitted: it is not paid")
    if row.paid_on is not None:
        raise VatSettlementRefused(f"VAT return {row.period_key} was settled on {row.paid_on.isoformat()}")
    if on <= row.end_date:
        raise VatSettlementRefused(
            f"VAT return {row.period_key} covers up to {row.end_date.isoformat()}; it is not paid on {on.isoformat()}"
        )
    return row


def _mark(session: Session, row: VatReturn, on: date, journal_id: int | None) -> None:
    """Set the settled marker by an UPDATE only a still unsettled row matches (a racing caller loses)."""
    marked = session.execute(
        update(VatReturn)
        .where(VatReturn.id == row.id, VatReturn.paid_on.is_(None))
        .values(paid_on=on, payment_journal_id=journal_id)
        .execution_options(synchronize_session=False)
    )
    if rowcount(marked) != 1:
        raise VatSettlementRefused(f"VAT return {row.period_key} was settled meanwhile")
    session.expire(row)


@atomic
def settle_vat_return(
    session: Session, vat_return_id: int, *, on: date, bank_account_id: int | None = None
) -> int | None:
    """Pay a submitted return's net VAT to HMRC, or take its repayment, on ``on``.

    Returns the settling journal's id (pending, as every subledger posting), or None for a
    nil return (box 3 = box 4), which is marked settled with no journal. Refused, with
    nothing written, for a return not yet submitted, one already settled (also when two
    callers race: the marker is set by an UPDATE that only a still unsettled row matches),
    or a day not after the quarter's end.
    """
    row = _payable(session, vat_return_id, on)
    if bank_account_id is None:
        bank = control_account(session, ControlKind.BANK)
    else:
        found = session.get(BankAccount, bank_account_id)
        if found is None:
            raise UnknownDocument(f"bank account {bank_account_id} does not exist")
        bank = found.account_id
    net = row.box3_pence - row.box4_pence
    journal_id = None
    if row.box3_pence or row.box4_pence:
        reference = f"HMRC VAT {row.period_key}"
        draft = JournalDraft(
            on,
            JournalSource.GL,
            reference,
            (
                dr(control_account(session, ControlKind.VAT_OUTPUT), row.box3_pence, reference),
                cr(control_account(session, ControlKind.VAT_INPUT), row.box4_pence, reference),
                cr(bank, net, reference),
            ),
            "VAT paid to HMRC" if net >= 0 else "VAT repaid by HMRC",
        )
        journal_id = post_journal(session, draft)
    _mark(session, row, on, journal_id)
    return journal_id


@atomic
def mark_vat_return_paid(session: Session, vat_return_id: int, *, on: date, journal_id: int) -> None:
    """Record that journal ``journal_id``, already in the books, paid (or took the repayment of) a return.

    For payments posted by hand before settlements were recorded: nothing is posted. The
    journal must exist, not be reversed, be dated ``on``, move exactly box 3 out of VAT output
    (a net debit) and box 4 out of VAT input (a net credit), as the settling journal would and
    as migration 0016's backfill checks, and pay no other return. Refused, with nothing
    written, for those, for a nil return (settled without a journal) and for everything
    :func:`settle_vat_return` refuses.
    """
    row = _payable(session, vat_return_id, on)
    if not (row.box3_pence or row.box4_pence):
        raise VatSettlementRefused(f"VAT return {row.period_key} is a nil return: no journal pays it")
    journal = session.get(Journal, journal_id)
    if journal is None:
        raise UnknownDocument(f"journal {journal_id} does not exist")
    if journal.status is JournalStatus.REVERSED:
        raise VatSettlementRefused(f"journal {journal_id} was reversed: it paid nothing")
    if journal.journal_date != on:
        raise VatSettlementRefused(
            f"journal {journal_id} is dated {journal.journal_date.isoformat()}, not {on.isoformat()}"
        )
    output = control_account(session, ControlKind.VAT_OUTPUT)
    input_ = control_account(session, ControlKind.VAT_INPUT)
    moved = dict(
        session.execute(
            select(JournalLine.account_id, func.sum(JournalLine.debit_pence - JournalLine.credit_pence))
            .where(JournalLine.journal_id == journal_id, JournalLine.account_id.in_((output, input_)))
            .group_by(JournalLine.account_id)
        )
        .tuples()
        .all()
    )
    out_moved, in_moved = int(moved.get(output) or 0), -int(moved.get(input_) or 0)
    if (out_moved, in_moved) != (row.box3_pence, row.box4_pence):
        raise VatSettlementRefused(
            f"journal {journal_id} moves {out_moved} pence out of VAT output and {in_moved} pence out of VAT input; "
            f"VAT return {row.period_key} declares box 3 {row.box3_pence} and box 4 {row.box4_pence}"
        )
    paying = session.scalars(select(VatReturn.period_key).where(VatReturn.payment_journal_id == journal_id)).first()
    if paying is not None:
        raise VatSettlementRefused(f"journal {journal_id} already pays VAT return {paying}")
    try:
        with session.begin_nested():
            _mark(session, row, on, journal_id)
    except IntegrityError:
        # the unique payment_journal_id: another caller tied the journal to a return meanwhile
        raise VatSettlementRefused(f"journal {journal_id} already pays another VAT return") from None

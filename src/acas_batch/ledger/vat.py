"""Settling a VAT return with HMRC: the payment (or repayment) and the return's settled marker.

Settlement: DR VAT output (box 3), CR VAT input (box 4), CR bank (box 3 - box 4; a debit
when HMRC repays). Each VAT account is cleared of the quarter the return declares, and the
return row records the day and the journal in the same transaction, so the GL
reconciliation (:func:`acas_batch.ledger.balances.vat_owed_total`) sees both or neither.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlalchemy.orm import Session

from acas_batch.db import rowcount
from acas_batch.errors import UnknownDocument, VatSettlementRefused
from acas_batch.ledger.posting import JournalDraft, atomic, control_account, cr, dr, post_journal
from acas_batch.models import BankAccount, ControlKind, JournalSource, VatReturn, VatReturnStatus


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
    marked = session.execute(
        update(VatReturn)
        .where(VatReturn.id == vat_return_id, VatReturn.paid_on.is_(None))
        .values(paid_on=on, payment_journal_id=journal_id)
        .execution_options(synchronize_session=False)
    )
    if rowcount(marked) != 1:
        raise VatSettlementRefused(f"VAT return {row.period_key} was settled meanwhile")
    session.expire(row)
    return journal_id

"""Supplier payments in bulk: a whole chunk of a payment run posted set-based, or refused whole.

``pl.post_supplier_payment`` pays one supplier, one statement per invoice; a payment run pays
thousands. :func:`post_supplier_payments` pays a batch with a handful of statements: one
guarded UPDATE of every document's outstanding amount (refused, with nothing written, if any
document changed since it was planned), then the journals (through
:func:`~acas_batch.ledger.posting.post_journals`), their lines, the payments and the
allocations, each table written at once with ids drawn beforehand (``COPY`` on PostgreSQL,
one prepared ``executemany`` on SQLite). The journals are those of
``pl.post_supplier_payment``: DR creditors (invoices cleared), CR bank (money paid), CR
discount received.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from sqlalchemy import ColumnElement, Integer, any_, bindparam, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from acas_batch.db import insert_rows, reserve_ids
from acas_batch.errors import InvalidQuantity, OverAllocation, StaleDocuments, UnknownDocument
from acas_batch.ledger.pl import PaymentAllocation
from acas_batch.ledger.posting import JournalDraft, atomic, control_account, cr, dr, post_journals
from acas_batch.models import (
    BankAccount,
    ControlKind,
    DocumentKind,
    JournalSource,
    PaymentMethod,
    PurchaseAllocation,
    PurchaseInvoice,
    Supplier,
    SupplierPayment,
)


@dataclass(frozen=True)
class CreditAllocation:
    """Part of a credit note set against one invoice of the same supplier."""

    credit_note_id: int
    invoice_id: int
    amount_pence: int


@dataclass(frozen=True)
class PaymentDraft:
    """One supplier's payment of a batch: credit notes set against invoices first, then the payment's allocations."""

    supplier_id: int
    allocations: tuple[PaymentAllocation, ...]
    credits: tuple[CreditAllocation, ...] = ()
    reference: str = ""

    # Cached: a batch reads each total several times (checks, journal, payment row); the draft is frozen.
    @cached_property
    def cleared(self) -> int:
        return sum(a.amount_pence for a in self.allocations)

    @cached_property
    def discount(self) -> int:
        return sum(a.discount_pence for a in self.allocations)

    @cached_property
    def paid(self) -> int:
        return self.cleared - self.discount


# Takes ``amount`` off each document still holding exactly the ``expected`` open amount it was
# read with, in one statement; a document changed meanwhile (paid or allocated by another run)
# fails the WHERE and is missing from RETURNING. The status follows the new outstanding amount
# (the table's CHECK ties the two). ``{source}`` is the (doc_id, expected, amount) rows, bound
# whatever the chunk's size as three arrays unnested on PostgreSQL, and on SQLite (no arrays)
# as one JSON array of triples read by json_each.
_DECREMENT = """
{prefix}UPDATE pl_invoice_rec
SET outstanding_pence = pl_invoice_rec.outstanding_pence - v.amount,
    status = CASE
        WHEN pl_invoice_rec.outstanding_pence - v.amount = 0 THEN 'paid'
        WHEN pl_invoice_rec.outstanding_pence - v.amount = pl_invoice_rec.gross_pence THEN 'open'
        ELSE 'part_paid'
    END
FROM {source}
WHERE pl_invoice_rec.id = v.doc_id AND pl_invoice_rec.outstanding_pence = v.expected AND v.amount <= v.expected
RETURNING pl_invoice_rec.id
"""
_UNNEST = (
    "unnest(CAST(:ids AS INTEGER[]), CAST(:expected AS BIGINT[]), CAST(:amounts AS BIGINT[]))"
    " AS v(doc_id, expected, amount)"
)
_JSON_ROWS = (
    "WITH v(doc_id, expected, amount) AS (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(:rows))\n"
)


def _one_of(session: Session, column: InstrumentedAttribute[int], ids: Collection[int]) -> ColumnElement[bool]:
    """``column IN ids`` bound as one parameter (an array on PostgreSQL, a JSON array on SQLite),
    so a chunk of thousands of documents neither renders nor binds thousands of placeholders."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, sorted(ids), type_=ARRAY(Integer)))
    return column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(sorted(ids)))))


def _decrement_documents(session: Session, take: Mapping[int, tuple[int, int]]) -> set[int]:
    """Apply ``{document id: (expected outstanding, amount)}``; returns the ids that failed the guard."""
    items = sorted(take.items())
    if session.get_bind().dialect.name == "postgresql":
        ids = [doc_id for doc_id, _ in items]
        expected = [e for _, (e, _) in items]
        amounts = [a for _, (_, a) in items]
        statement = text(_DECREMENT.format(prefix="", source=_UNNEST))
        done = set(session.scalars(statement, {"ids": ids, "expected": expected, "amounts": amounts}))
    else:
        rows = json.dumps([[doc_id, e, a] for doc_id, (e, a) in items])
        done = set(session.scalars(text(_DECREMENT.format(prefix=_JSON_ROWS, source="v")), {"rows": rows}))
    return set(take) - done


@atomic
def post_supplier_payments(
    session: Session,
    drafts: Sequence[PaymentDraft],
    *,
    expected: Mapping[int, int],
    payment_date: date,
    bank_account_id: int,
    run_key: str | None = None,
) -> list[int]:
    """Pay a batch of suppliers at once, set-based; returns the payment ids in the drafts' order.

    ``expected`` gives, for every invoice and credit note the drafts touch, the outstanding
    amount it was planned with. The amounts, suppliers and documents (kind and owner) are
    checked in Python first; then one guarded UPDATE takes the amounts off only where a
    document still holds its expected amount. If any document was changed meanwhile (another
    run paid it) the whole batch is refused with :class:`~acas_batch.errors.StaleDocuments`
    naming them: the caller re-reads and plans again without them, so nothing is ever paid
    twice. Then :func:`post_journals` checks and writes every journal (one refused journal
    refuses the batch), and the payments and the allocations are written (the payments'
    ``UNIQUE (run_key, supplier_id)`` and the allocations' ``UNIQUE (payment_id, invoice_id)``
    still apply). Any refusal leaves nothing written: the batch runs in one savepoint.
    """
    if not drafts:
        return []
    bank = session.get(BankAccount, bank_account_id)
    if bank is None:
        raise UnknownDocument(f"bank account {bank_account_id} does not exist")
    take: dict[int, int] = {}
    for d in drafts:
        if d.paid <= 0:
            raise InvalidQuantity(f"payment of {d.paid} pence to supplier {d.supplier_id}: must be positive")
        for a in d.allocations:
            if a.amount_pence <= 0 or not 0 <= a.discount_pence <= a.amount_pence:
                raise InvalidQuantity(f"allocation of {a.amount_pence} pence (discount {a.discount_pence}) is invalid")
            take[a.invoice_id] = take.get(a.invoice_id, 0) + a.amount_pence
        for c in d.credits:
            if c.amount_pence <= 0:
                raise InvalidQuantity(f"allocation of {c.amount_pence} pence: amount must be positive")
            take[c.credit_note_id] = take.get(c.credit_note_id, 0) + c.amount_pence
            take[c.invoice_id] = take.get(c.invoice_id, 0) + c.amount_pence
    unplanned = sorted(set(take) - set(expected))
    if unplanned:
        raise InvalidQuantity(f"document(s) {', '.join(map(str, unplanned))}: no expected outstanding amount given")
    over = sorted(doc for doc, amount in take.items() if amount > expected[doc])
    if over:
        raise OverAllocation(f"document(s) {', '.join(map(str, over))}: allocations exceed the expected outstanding")
    suppliers = {
        row.id: row
        for row in session.connection().execute(
            select(Supplier.id, Supplier.code, Supplier.sort_code).where(
                _one_of(session, Supplier.id, {d.supplier_id for d in drafts})
            )
        )
    }
    missing = sorted({d.supplier_id for d in drafts} - set(suppliers))
    if missing:
        raise UnknownDocument(f"supplier(s) {', '.join(map(str, missing))} do not exist")
    # Read (and on PostgreSQL lock, in id order, so two runs never deadlock) every document touched.
    docs = {
        row.id: row
        for row in session.connection().execute(
            select(PurchaseInvoice.id, PurchaseInvoice.supplier_id, PurchaseInvoice.kind, PurchaseInvoice.number)
            .where(_one_of(session, PurchaseInvoice.id, take))
            .order_by(PurchaseInvoice.id)
            .with_for_update()
        )
    }
    for d in drafts:
        wanted = [(a.invoice_id, DocumentKind.INVOICE) for a in d.allocations]
        wanted += [(c.credit_note_id, DocumentKind.CREDIT_NOTE) for c in d.credits]
        wanted += [(c.invoice_id, DocumentKind.INVOICE) for c in d.credits]
        for doc_id, kind in wanted:
            doc = docs.get(doc_id)
            if doc is None or doc.kind != kind:
                raise UnknownDocument(f"purchase {kind.value.replace('_', ' ')} {doc_id} does not exist")
            if doc.supplier_id != d.supplier_id:
                raise OverAllocation(
                    f"{kind.value.replace('_', ' ')} {doc.number} belongs to supplier {doc.supplier_id},"
                    f" not {d.supplier_id}"
                )
    creditors = control_account(session, ControlKind.CREDITORS)
    discount_received = control_account(session, ControlKind.DISCOUNT_RECEIVED)
    refs = [d.reference or f"PAY {suppliers[d.supplier_id].code} {payment_date.isoformat()}" for d in drafts]
    journals = [
        JournalDraft(
            payment_date,
            JournalSource.PL,
            ref,
            (dr(creditors, d.cleared, ref), cr(bank.account_id, d.paid, ref), cr(discount_received, d.discount, ref)),
            f"Payment to {suppliers[d.supplier_id].code}",
        )
        for d, ref in zip(drafts, refs, strict=True)
    ]
    stale = _decrement_documents(session, {doc: (expected[doc], amount) for doc, amount in take.items()})
    if stale:
        numbers = ", ".join(docs[doc].number for doc in sorted(stale))
        raise StaleDocuments(f"purchase document(s) {numbers} changed since they were read", frozenset(stale))
    journal_ids = post_journals(session, journals)
    payment_ids = reserve_ids(session, SupplierPayment, len(drafts))
    insert_rows(
        session,
        SupplierPayment,
        [
            {
                "id": payment_id,
                "supplier_id": d.supplier_id,
                "payment_date": payment_date,
                "amount_pence": d.paid,
                "discount_pence": d.discount,
                "unallocated_pence": 0,
                "method": PaymentMethod.BACS if suppliers[d.supplier_id].sort_code else PaymentMethod.CHEQUE,
                "reference": ref[:32],
                "run_key": run_key,
                "bank_account_id": bank_account_id,
                "journal_id": journal_id,
            }
            for payment_id, d, ref, journal_id in zip(payment_ids, drafts, refs, journal_ids, strict=True)
        ],
    )
    insert_rows(
        session,
        PurchaseAllocation,
        (
            row
            for d, payment_id in zip(drafts, payment_ids, strict=True)
            for row in (
                *(
                    {
                        "invoice_id": c.invoice_id,
                        "payment_id": None,
                        "credit_note_id": c.credit_note_id,
                        "amount_pence": c.amount_pence,
                        "discount_pence": 0,
                        "allocated_on": payment_date,
                    }
                    for c in d.credits
                ),
                *(
                    {
                        "invoice_id": a.invoice_id,
                        "payment_id": payment_id,
                        "credit_note_id": None,
                        "amount_pence": a.amount_pence,
                        "discount_pence": a.discount_pence,
                        "allocated_on": payment_date,
                    }
                    for a in d.allocations
                ),
            )
        ),
    )
    return payment_ids

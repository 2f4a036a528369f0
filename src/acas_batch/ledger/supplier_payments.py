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
from typing import NamedTuple

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from acas_batch.db import insert_values, one_of, reserve_ids
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


class CreditAllocation(NamedTuple):
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


# Takes ``amount`` off each document of the batch that still belongs to the supplier and is of
# the kind the plan says, and still holds exactly the ``expected`` open amount it was read with,
# in one statement; a document changed meanwhile (paid or allocated by another run), unknown, of
# another kind or of another supplier fails the WHERE and is missing from RETURNING. The status
# follows the new outstanding amount (the table's CHECK ties the two). ``{source}`` is the
# (doc_id, supplier_id, kind, expected, amount) rows, bound whatever the batch's size as arrays
# unnested on PostgreSQL, and on SQLite (no arrays) as one JSON array read by json_each.
# On PostgreSQL the documents are first locked in id order (``locked``: one primary-key look-up
# per id of the sorted array, so two runs paying the same documents never deadlock), then the
# UPDATE finds exactly the row versions it locked by their ``ctid`` (a TID scan). Neither step
# depends on the planner's statistics: a freshly loaded or copied database without them would
# otherwise get a scan of the whole table per chunk. A row another run changed while this one
# waited for its lock is not visible to this statement's snapshot in its new version, or fails
# the recheck of the WHERE in its old one: either way it is missing from RETURNING (stale).
_DECREMENT = """
{prefix}UPDATE pl_invoice_rec
SET outstanding_pence = pl_invoice_rec.outstanding_pence - v.amount,
    status = CASE
        WHEN pl_invoice_rec.outstanding_pence - v.amount = 0 THEN 'paid'
        WHEN pl_invoice_rec.outstanding_pence - v.amount = pl_invoice_rec.gross_pence THEN 'open'
        ELSE 'part_paid'
    END
FROM {source}
WHERE pl_invoice_rec.id = v.doc_id AND pl_invoice_rec.supplier_id = v.supplier_id AND pl_invoice_rec.kind = v.kind
  AND pl_invoice_rec.outstanding_pence = v.expected AND v.amount <= v.expected{where}
RETURNING pl_invoice_rec.id
"""
_PG_LOCKED = (
    "WITH locked AS MATERIALIZED (\n"
    "  SELECT d.tid FROM unnest(CAST(:ids AS INTEGER[])) AS a(id)\n"
    "  CROSS JOIN LATERAL (SELECT ctid AS tid FROM pl_invoice_rec WHERE id = a.id FOR UPDATE) AS d\n"
    ")\n"
)
_PG_SOURCE = (
    "unnest(CAST(:ids AS INTEGER[]), CAST(:suppliers AS INTEGER[]), CAST(:kinds AS VARCHAR[]),"
    " CAST(:expected AS BIGINT[]), CAST(:amounts AS BIGINT[])) AS v(doc_id, supplier_id, kind, expected, amount)"
)
_PG_WHERE = "\n  AND pl_invoice_rec.ctid = ANY(ARRAY(SELECT tid FROM locked))"
_JSON_ROWS = (
    "WITH v(doc_id, supplier_id, kind, expected, amount) AS (\n"
    "  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(:rows)\n"
    ")\n"
)

#: (document id, supplier id, kind, expected outstanding, amount taken off)
_Take = tuple[int, int, DocumentKind, int, int]


def _decrement_documents(session: Session, take: Sequence[_Take]) -> set[int]:
    """Apply ``take`` (sorted by document id); returns the ids that failed the guard."""
    if session.get_bind().dialect.name == "postgresql":
        statement = text(_DECREMENT.format(prefix=_PG_LOCKED, source=_PG_SOURCE, where=_PG_WHERE))
        values = {
            "ids": [t[0] for t in take],
            "suppliers": [t[1] for t in take],
            "kinds": [t[2].value for t in take],
            "expected": [t[3] for t in take],
            "amounts": [t[4] for t in take],
        }
        done = set(session.scalars(statement, values))
    else:
        rows = json.dumps([[doc, supplier, kind.value, e, a] for doc, supplier, kind, e, a in take])
        done = set(session.scalars(text(_DECREMENT.format(prefix=_JSON_ROWS, source="v", where="")), {"rows": rows}))
    return {t[0] for t in take} - done


def _refusal(session: Session, drafts: Sequence[PaymentDraft], failed: Collection[int]) -> Exception:
    """Why documents failed the guarded UPDATE: a document that is unknown, of the wrong kind or of
    another supplier than its draft's is a mistake of the caller; any other was changed since it was read."""
    docs = {
        row.id: row
        for row in session.connection().execute(
            select(PurchaseInvoice.id, PurchaseInvoice.supplier_id, PurchaseInvoice.kind, PurchaseInvoice.number).where(
                one_of(session, PurchaseInvoice.id, failed)
            )
        )
    }
    for d in drafts:
        wanted = [(a.invoice_id, DocumentKind.INVOICE) for a in d.allocations]
        wanted += [(c.credit_note_id, DocumentKind.CREDIT_NOTE) for c in d.credits]
        wanted += [(c.invoice_id, DocumentKind.INVOICE) for c in d.credits]
        for doc_id, kind in wanted:
            if doc_id not in failed:
                continue
            doc = docs.get(doc_id)
            if doc is None or doc.kind != kind:
                return UnknownDocument(f"purchase {kind.value.replace('_', ' ')} {doc_id} does not exist")
            if doc.supplier_id != d.supplier_id:
                return OverAllocation(
                    f"{kind.value.replace('_', ' ')} {doc.number} belongs to supplier {doc.supplier_id},"
                    f" not {d.supplier_id}"
                )
    numbers = ", ".join(docs[doc].number for doc in sorted(failed))
    return StaleDocuments(f"purchase document(s) {numbers} changed since they were read", frozenset(failed))


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
    amount it was planned with. The amounts are checked in Python first; then one guarded
    UPDATE takes the amounts off only where a document still is what the drafts say (of that
    supplier, an invoice or a credit note) and still holds its expected amount. A document that
    fails it is read again to say why: unknown, of another kind or of another supplier refuses
    the batch as the caller's mistake; otherwise it was changed meanwhile (another run paid it)
    and the whole batch is refused with :class:`~acas_batch.errors.StaleDocuments` naming them:
    the caller re-reads and plans again without them, so nothing is ever paid twice. Then
    :func:`post_journals` checks and writes every journal (one refused journal refuses the
    batch), and the payments and the allocations are written (the payments' ``UNIQUE (run_key,
    supplier_id)`` and the allocations' ``UNIQUE (payment_id, invoice_id)`` still apply). Any
    refusal leaves nothing written: the batch runs in one savepoint.
    """
    if not drafts:
        return []
    bank = session.get(BankAccount, bank_account_id)
    if bank is None:
        raise UnknownDocument(f"bank account {bank_account_id} does not exist")
    take: dict[int, int] = {}
    owner: dict[int, tuple[int, DocumentKind]] = {}
    clash: set[int] = set()

    def touch(doc: int, supplier: int, kind: DocumentKind, amount: int) -> None:
        take[doc] = take.get(doc, 0) + amount
        if owner.setdefault(doc, (supplier, kind)) != (supplier, kind):
            clash.add(doc)  # one document in the drafts of two suppliers, or as both kinds

    for d in drafts:
        if d.paid <= 0:
            raise InvalidQuantity(f"payment of {d.paid} pence to supplier {d.supplier_id}: must be positive")
        for a in d.allocations:
            if a.amount_pence <= 0 or not 0 <= a.discount_pence <= a.amount_pence:
                raise InvalidQuantity(f"allocation of {a.amount_pence} pence (discount {a.discount_pence}) is invalid")
            touch(a.invoice_id, d.supplier_id, DocumentKind.INVOICE, a.amount_pence)
        for c in d.credits:
            if c.amount_pence <= 0:
                raise InvalidQuantity(f"allocation of {c.amount_pence} pence: amount must be positive")
            touch(c.credit_note_id, d.supplier_id, DocumentKind.CREDIT_NOTE, c.amount_pence)
            touch(c.invoice_id, d.supplier_id, DocumentKind.INVOICE, c.amount_pence)
    unplanned = sorted(set(take) - set(expected))
    if unplanned:
        raise InvalidQuantity(f"document(s) {', '.join(map(str, unplanned))}: no expected outstanding amount given")
    over = sorted(doc for doc, amount in take.items() if amount > expected[doc])
    if over:
        raise OverAllocation(f"document(s) {', '.join(map(str, over))}: allocations exceed the expected outstanding")
    if clash:
        raise _refusal(session, drafts, clash)
    suppliers = {
        row.id: row
        for row in session.connection().execute(
            select(Supplier.id, Supplier.code, Supplier.sort_code).where(
                one_of(session, Supplier.id, {d.supplier_id for d in drafts})
            )
        )
    }
    missing = sorted({d.supplier_id for d in drafts} - set(suppliers))
    if missing:
        raise UnknownDocument(f"supplier(s) {', '.join(map(str, missing))} do not exist")
    failed = _decrement_documents(
        session, [(doc, *owner[doc], expected[doc], amount) for doc, amount in sorted(take.items())]
    )
    if failed:
        raise _refusal(session, drafts, failed)
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
    journal_ids = post_journals(session, journals)
    payment_ids = reserve_ids(session, SupplierPayment, len(drafts))
    bacs, cheque = PaymentMethod.BACS.value, PaymentMethod.CHEQUE.value
    method = {sid: bacs if row.sort_code else cheque for sid, row in suppliers.items()}
    day = payment_date.isoformat()
    # Rows as tuples of plain values (ISO dates, enum values): no dicts, no per-value bind processing.
    insert_values(
        session,
        SupplierPayment,
        _PAYMENT_COLUMNS,
        (
            (payment_id, d.supplier_id, day, d.paid, d.discount, 0, method[d.supplier_id], ref[:32], run_key,
             bank_account_id, journal_id)
            for payment_id, d, ref, journal_id in zip(payment_ids, drafts, refs, journal_ids, strict=True)
        ),
        processed=True,
    )  # fmt: skip
    insert_values(
        session,
        PurchaseAllocation,
        _ALLOCATION_COLUMNS,
        (
            row
            for d, payment_id in zip(drafts, payment_ids, strict=True)
            for row in (
                *((c.invoice_id, None, c.credit_note_id, c.amount_pence, 0, day) for c in d.credits),
                *((a.invoice_id, payment_id, None, a.amount_pence, a.discount_pence, day) for a in d.allocations),
            )
        ),
        processed=True,
    )
    return payment_ids


_PAYMENT_COLUMNS = (
    "id", "supplier_id", "payment_date", "amount_pence", "discount_pence", "unallocated_pence", "method", "reference",
    "run_key", "bank_account_id", "journal_id",
)  # fmt: skip
_ALLOCATION_COLUMNS = ("invoice_id", "payment_id", "credit_note_id", "amount_pence", "discount_pence", "allocated_on")

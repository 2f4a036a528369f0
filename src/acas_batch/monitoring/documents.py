"""Documents for customers and suppliers, e-mailed once through the outbox shared with alerts.

A job that makes statements, reminders or remittance advices:

1. :func:`record` the documents in its own transaction: one ``batch_document_rec`` row per
   document under a key that names it for good (run key + party + document, unique), and,
   for those going by e-mail, one outbox row under the same key with the PDF attached by
   path and SHA-256;
2. commits (``ctx.checkpoint``), so a crash after this point loses nothing and queues nothing twice;
3. :func:`deliver` what it queued (the outbox's sender: claim, send, record), leaving what the
   mail server did not take to the monitor's next passes;
4. reports the :func:`tally`: e-mailed, waiting, failed, and not e-mailed with the reason.

A document key recorded before is not queued again: a rerun, a resumed run or a retry sends
nobody a second copy. The one exception makes nobody's copy twice: a document that was never
e-mailed (no address then) is queued when a later run finds an address.

The PDF stays in the run's output folder and is read when the message is sent, refused (the
outbox row ``failed``, never sent) if it is missing or its SHA-256 differs: a statement run
for 20,000 customers does not copy 20,000 PDFs into the database and its backups, and what a
customer receives is exactly the file the run recorded.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, Table, func, literal, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.db import insert_rows
from acas_batch.masking import mask_text
from acas_batch.models import MailedDocument, NotificationOutbox
from acas_batch.monitoring.monitor import deliverer_for
from acas_batch.monitoring.outbox import DELIVERED, FAILED, PENDING

#: Keys looked up or sent per statement (bounded IN lists).
CHUNK = 500


class Delivery(StrEnum):
    """How a document was to reach its customer or supplier."""

    EMAIL = "email"  # queued in the outbox under the document's key (its row says whether it was delivered)
    NO_ADDRESS = "no_address"  # not e-mailed: the customer or supplier has no e-mail address
    EMAIL_OFF = "email_off"  # not e-mailed: the run's parameters said not to
    NO_PDF = "no_pdf"  # not e-mailed: the run wrote no PDF to attach (CSV output only)


@dataclass(frozen=True)
class Document:
    """One document made for one customer or supplier."""

    kind: str  # statement, reminder, remittance
    key: str  # names the document for good: run key + party + document
    party: str  # customer, supplier
    party_id: int
    party_code: str
    email_to: str | None
    file: Path | None
    subject: str
    body: str


@dataclass
class Recorded:
    """What :func:`record` did with a run's documents."""

    keys: list[str] = field(default_factory=list)
    queued: int = 0  # handed to the outbox by this call
    earlier: int = 0  # e-mailed (or queued) by an earlier run: not queued again


def _chunks(items: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    """``items`` ``size`` at a time, read as they are needed (an iterator is not read whole)."""
    it = iter(items)
    while part := list(islice(it, size)):
        yield part


def _sha256(path: Path) -> tuple[str, int]:
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


def record(
    session: Session,
    documents: Sequence[Document],
    *,
    execution_id: int,
    run_key: str,
    email: bool,
    now: datetime,
) -> Recorded:
    """Record ``documents`` and queue those going by e-mail, in ``session``'s transaction (the
    caller commits). ``email`` False records them all as not e-mailed (``email_off``)."""
    done = Recorded(keys=[d.key for d in documents])
    for part in _chunks(documents):
        known = {
            row.document_key: row
            for row in session.execute(
                select(MailedDocument.id, MailedDocument.document_key, MailedDocument.delivery).where(
                    MailedDocument.document_key.in_([d.key for d in part])
                )
            )
        }
        new_docs: list[dict[str, Any]] = []
        outgoing: list[dict[str, Any]] = []
        for doc in part:
            earlier = known.get(doc.key)
            if earlier is not None and earlier.delivery == Delivery.EMAIL:
                done.earlier += 1
                continue
            if not email:
                how = Delivery.EMAIL_OFF
            elif doc.file is None:
                how = Delivery.NO_PDF
            elif not (doc.email_to or "").strip():
                how = Delivery.NO_ADDRESS
            else:
                how = Delivery.EMAIL
            if earlier is not None and how is not Delivery.EMAIL:
                continue  # recorded before, still not e-mailed: nothing new to say
            sha, size = _sha256(doc.file) if doc.file is not None else (None, None)
            values = {
                "document_key": doc.key,
                "kind": doc.kind,
                "execution_id": execution_id,
                "run_key": run_key,
                "party": doc.party,
                "party_id": doc.party_id,
                "party_code": doc.party_code,
                "file": str(doc.file) if doc.file is not None else None,
                "sha256": sha,
                "size_bytes": size,
                "email_to": (doc.email_to or "").strip() or None,
                "delivery": how.value,
                "created_at": now,
            }
            if earlier is None:
                new_docs.append(values)
            else:  # never e-mailed before, and now it can be
                session.execute(update(MailedDocument).where(MailedDocument.id == earlier.id).values(**values))
            if how is Delivery.EMAIL and doc.file is not None:
                outgoing.append(_outbox_row(doc, sha, execution_id, now))
        if new_docs:
            insert_rows(session, MailedDocument, new_docs)
        if outgoing:
            insert_rows(session, NotificationOutbox, outgoing)
            done.queued += len(outgoing)
    return done


def record_unmailed(
    session: Session,
    documents: Select[int, str, str, str | None],
    *,
    kind: str,
    party: str,
    how: Delivery,
    execution_id: int,
    run_key: str,
    now: datetime,
) -> Recorded:
    """:func:`record` for a run none of whose documents can go by e-mail (``how``: e-mail off,
    or no PDFs), in SQL: ``documents`` selects each one's party id, key, party code and address;
    those not recorded before are recorded in one ``INSERT ... SELECT``, and those an earlier
    run e-mailed are counted as such (:attr:`Recorded.earlier`). Only the count comes back to
    Python: ``keys`` stays empty."""
    assert how is not Delivery.EMAIL
    src = documents.subquery()
    party_id, key, code, email = src.c
    table = MailedDocument.__table__
    assert isinstance(table, Table)
    insert = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(table)
    # WHERE true: SQLite would read the ON CONFLICT after a SELECT with no WHERE as a join's ON
    values = select(
        key,
        literal(kind),
        literal(execution_id),
        literal(run_key),
        literal(party),
        party_id,
        code,
        func.nullif(func.trim(email), ""),
        literal(how.value),
        literal(now, table.c.created_at.type),
    ).where(true())
    columns = ["document_key", "kind", "execution_id", "run_key", "party", "party_id", "party_code", "email_to",
               "delivery", "created_at"]  # fmt: skip
    session.execute(insert.from_select(columns, values).on_conflict_do_nothing(index_elements=["document_key"]))
    earlier = session.scalar(
        select(func.count())
        .select_from(MailedDocument)
        .where(MailedDocument.document_key.in_(select(key)), MailedDocument.delivery == Delivery.EMAIL.value)
    )
    return Recorded(keys=[], earlier=int(earlier or 0))


def _outbox_row(doc: Document, sha: str | None, execution_id: int, now: datetime) -> dict[str, Any]:
    assert doc.file is not None and doc.email_to
    return {
        "idempotency_key": doc.key,
        "kind": doc.kind,
        "channel": "email",
        "recipients": [doc.email_to.strip()],
        "subject": mask_text(doc.subject)[:255],
        "body": mask_text(doc.body),
        "attachment_name": doc.file.name,
        "attachment_type": "application/pdf",
        "attachment_path": str(doc.file),
        "attachment_sha256": sha,
        "execution_id": execution_id,
        "state": PENDING,
        "attempts": 0,
        "max_attempts": 5,
        "next_attempt_at": now,
        "created_at": now,
    }


def deliver(
    engine: Engine, settings: Settings, keys: Iterable[str], *, clock: Callable[[], datetime], execution_id: int
) -> str | None:
    """Send the queued documents of ``keys`` now, as the monitor would; stop at the first
    sign that the mail server is away (the rest wait in the outbox for the monitor's passes).
    Returns the reason delivery stopped, if it did. Call it with nothing uncommitted."""
    sender = deliverer_for(settings, sender=f"job:{execution_id}:{socket.gethostname()}:{os.getpid()}")
    with sender.email.batch():  # one SMTP connection for the run's documents, not one per message
        for part in _chunks(keys, 100):
            report = sender.deliver_due(engine, now=clock(), limit=len(part), keys=part)
            if report.retrying:
                return report.error
    return None


@dataclass
class Tally:
    """Where a run's documents stand."""

    documents: int = 0
    emailed: int = 0  # the mail server accepted it
    queued: int = 0  # waiting in the outbox (mail server away, or not tried yet)
    failed: int = 0  # refused for good (an unknown address, a document that changed)
    no_address: int = 0
    email_off: int = 0
    no_pdf: int = 0
    earlier: int = 0  # e-mailed or queued by an earlier run of the same work: not sent again
    last_error: str | None = None

    def add(self, how: str, state: str | None, count: int, error: str | None) -> None:
        """``count`` documents recorded as ``how`` whose message is in the outbox state ``state``."""
        self.documents += count
        if how == Delivery.NO_ADDRESS:
            self.no_address += count
        elif how == Delivery.EMAIL_OFF:
            self.email_off += count
        elif how == Delivery.NO_PDF:
            self.no_pdf += count
        elif state == DELIVERED:
            self.emailed += count
        elif state == FAILED:
            self.failed += count
            self.last_error = error or self.last_error
        else:
            self.queued += count
            self.last_error = error or self.last_error

    def counts(self) -> dict[str, int]:
        """The run's counts: the e-mail ones always, the reasons for not e-mailing when they apply."""
        out = {"emailed": self.emailed, "email_queued": self.queued, "email_failed": self.failed}
        out["not_emailed_no_address"] = self.no_address
        if self.email_off:
            out["not_emailed_email_off"] = self.email_off
        if self.no_pdf:
            out["not_emailed_no_pdf"] = self.no_pdf
        if self.earlier:
            out["emailed_by_earlier_run"] = self.earlier
        return out

    def summary(self) -> str:
        """``3 e-mailed, 1 waiting in the outbox, 2 not e-mailed (no address)``; the documents an
        earlier run e-mailed are among the e-mailed and said to be so."""
        parts = [f"{self.emailed} e-mailed"]
        if self.earlier:
            parts.append(f"{self.earlier} already e-mailed or queued by an earlier run (not sent again)")
        if self.queued:
            parts.append(f"{self.queued} waiting in the outbox")
        if self.failed:
            parts.append(f"{self.failed} e-mail failed")
        if self.no_address:
            parts.append(f"{self.no_address} not e-mailed (no address)")
        if self.email_off:
            parts.append(f"{self.email_off} not e-mailed (e-mail off)")
        if self.no_pdf:
            parts.append(f"{self.no_pdf} not e-mailed (no PDF)")
        return ", ".join(parts)


def tally(session: Session, keys: Iterable[str]) -> Tally:
    """Where the documents of ``keys`` stand now, whichever run queued them."""
    out = Tally()
    for part in _chunks(keys):
        rows = session.execute(
            select(MailedDocument.delivery, NotificationOutbox.state, NotificationOutbox.last_error)
            .outerjoin(NotificationOutbox, NotificationOutbox.idempotency_key == MailedDocument.document_key)
            .where(MailedDocument.document_key.in_(list(part)))
        )
        for how, state, error in rows:
            out.add(how, state, 1, error)
    return out


def tally_where(session: Session, *conditions: ColumnElement[bool]) -> Tally:
    """:func:`tally` of the documents that each of ``conditions`` (on ``batch_document_rec`` and
    the outbox; they must not overlap) picks, counted in SQL, one query each: a row per delivery
    and outbox state. Several disjoint conditions rather than their OR, so each reads its index."""
    out = Tally()
    for condition in conditions:
        rows = session.execute(
            select(
                MailedDocument.delivery,
                NotificationOutbox.state,
                func.count(),
                func.max(NotificationOutbox.last_error),
            )
            .outerjoin(NotificationOutbox, NotificationOutbox.idempotency_key == MailedDocument.document_key)
            .where(condition)
            .group_by(MailedDocument.delivery, NotificationOutbox.state)
        )
        for how, state, count, error in rows:
            out.add(how, state, int(count), error)
    return out


def listing(
    session: Session,
    *,
    execution_id: int | None = None,
    run_key: str | None = None,
    kind: str | None = None,
    party_code: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Documents newest first with how each was to be delivered and how its delivery went."""
    ob = NotificationOutbox
    stmt = select(MailedDocument, ob.state, ob.attempts, ob.delivered_at, ob.last_error).outerjoin(
        ob, ob.idempotency_key == MailedDocument.document_key
    )
    if execution_id is not None:
        stmt = stmt.where(MailedDocument.execution_id == execution_id)
    if run_key is not None:
        stmt = stmt.where(MailedDocument.run_key == run_key)
    if kind is not None:
        stmt = stmt.where(MailedDocument.kind == kind)
    if party_code is not None:
        stmt = stmt.where(MailedDocument.party_code == party_code)
    out = []
    for doc, state, attempts, delivered_at, error in session.execute(
        stmt.order_by(MailedDocument.id.desc()).limit(limit)
    ):
        status = {
            Delivery.NO_ADDRESS: "not e-mailed (no address)",
            Delivery.EMAIL_OFF: "not e-mailed (e-mail off)",
            Delivery.NO_PDF: "not e-mailed (no PDF)",
        }.get(Delivery(doc.delivery), {DELIVERED: "e-mailed", FAILED: "e-mail failed"}.get(state or "", "queued"))
        out.append(
            {
                "id": doc.id,
                "key": doc.document_key,
                "kind": doc.kind,
                "execution_id": doc.execution_id,
                "run_key": doc.run_key,
                "party": doc.party,
                "party_code": doc.party_code,
                "email_to": doc.email_to,
                "file": doc.file,
                "sha256": doc.sha256,
                "delivery": doc.delivery,
                "status": status,
                "attempts": attempts,
                "delivered_at": delivered_at.isoformat() if delivered_at else None,
                "last_error": error,
                "created_at": doc.created_at.isoformat(),
            }
        )
    return out

"""The jobs' side of e-mailing documents (statements, reminders, remittance advices).

A job queues its documents with :func:`queue_documents` in the transaction that records
them in the books, commits (``ctx.checkpoint``), then calls :func:`send_documents`, which
hands them to the mail server and says where they stand. See
:mod:`acas_batch.monitoring.documents` for the guarantees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from pydantic import Field
from sqlalchemy import Select, not_, or_, select

from acas_batch.batch.context import JobContext
from acas_batch.db import transaction
from acas_batch.models import MailedDocument, NotificationOutbox
from acas_batch.monitoring import documents
from acas_batch.monitoring.documents import Document, Recorded, Tally

__all__ = [
    "Document",
    "Recorded",
    "Tally",
    "email_field",
    "emails_documents",
    "queue_documents",
    "record_unmailed",
    "send_documents",
    "send_documents_where",
]


def email_field(whom: str) -> Any:
    """The ``email`` parameter of a job that makes documents for ``whom``."""
    return Field(
        True,
        description=f"E-mail each document, PDF attached, to {whom} (once: a rerun sends nobody a second copy); "
        "false: print only, counted as not e-mailed.",
    )


def queue_documents(ctx: JobContext[Any], docs: Sequence[Document], *, run_key: str, email: bool) -> Recorded:
    """Record ``docs`` and queue the e-mailed ones in ``ctx.session`` (committed by the caller).

    Nothing is queued when the installation does not mail documents (``mail_documents``
    false, as in every simulation: simulated customers must not get real letters).
    """
    email = emails_documents(ctx, email)
    return documents.record(
        ctx.session, docs, execution_id=ctx.execution_id, run_key=run_key, email=email, now=ctx.clock_now()
    )


def emails_documents(ctx: JobContext[Any], email: bool) -> bool:
    """Whether a run with the ``email`` parameter sends its documents: not when the installation
    does not mail documents (``mail_documents`` false, as in every simulation)."""
    return email and ctx.settings.mail_documents


def record_unmailed(
    ctx: JobContext[Any], docs: Select[int, str, str, str | None], *, kind: str, party: str, run_key: str, email: bool
) -> Recorded:
    """:func:`queue_documents` for documents none of which is e-mailed (``email`` off, or no
    PDF to attach), recorded in SQL from ``docs``: the party's id, the document's key, the
    party's code and address. Nothing is read into Python but a count."""
    how = documents.Delivery.NO_PDF if emails_documents(ctx, email) else documents.Delivery.EMAIL_OFF
    return documents.record_unmailed(
        ctx.session, docs, kind=kind, party=party, how=how, execution_id=ctx.execution_id, run_key=run_key,
        now=ctx.clock_now(),
    )  # fmt: skip


_WAITING = ("pending", "sending")
#: Keys read at a time of the documents waiting in the outbox.
_PAGE = 100


def send_documents(ctx: JobContext[Any], run_key: str, recorded: Sequence[Recorded]) -> Tally:
    """Deliver what the run queued (and what an interrupted attempt of the same run key left
    waiting), then tally this run's documents. Call it after the commit, with nothing pending
    in ``ctx.session``: on SQLite the job's transaction holds the write lock."""
    keys = list(dict.fromkeys(k for r in recorded for k in r.keys))
    with transaction(ctx.engine) as session:  # read apart from the job's session, which must stay idle
        waiting = session.scalars(
            select(MailedDocument.document_key)
            .join(NotificationOutbox, NotificationOutbox.idempotency_key == MailedDocument.document_key)
            .where(MailedDocument.run_key == run_key, NotificationOutbox.state.in_(_WAITING))
        ).all()
    mine = set(keys)
    keys += [k for k in waiting if k not in mine]
    return _deliver_and_tally(ctx, lambda: keys, earlier=sum(r.earlier for r in recorded))


def send_documents_where(ctx: JobContext[Any], run_key: str, keys: Select[str], *, earlier: int) -> Tally:
    """:func:`send_documents` for a run too large to hold its documents' keys: ``keys`` selects
    them in SQL. Only the documents waiting in the outbox, of those or of ``run_key`` (what an
    interrupted attempt left), are read, a page at a time, and delivered; the tally is counted
    in SQL. A run with nothing to send (mail off, or all e-mailed before) reads no key.
    ``earlier``: the run's :attr:`Recorded.earlier`."""
    waiting = NotificationOutbox.state.in_(_WAITING)
    ours = MailedDocument.document_key.in_(keys)

    def waiting_keys() -> Iterator[str]:
        after = ""
        while True:
            with transaction(ctx.engine) as session:
                page = session.scalars(
                    select(MailedDocument.document_key)
                    .join(NotificationOutbox, NotificationOutbox.idempotency_key == MailedDocument.document_key)
                    .where(waiting, or_(ours, MailedDocument.run_key == run_key), MailedDocument.document_key > after)
                    .order_by(MailedDocument.document_key)
                    .limit(_PAGE)
                ).all()
            yield from page
            if len(page) < _PAGE:
                return
            after = page[-1]

    stopped = documents.deliver(
        ctx.engine, ctx.settings, waiting_keys(), clock=ctx.clock_now, execution_id=ctx.execution_id
    )
    with transaction(ctx.engine) as session:
        others = (MailedDocument.run_key == run_key) & waiting & not_(ours)
        result = documents.tally_where(session, ours, others)
    return _reported(ctx, result, stopped, earlier=earlier)


def _deliver_and_tally(ctx: JobContext[Any], keys: Callable[[], Iterable[str]], *, earlier: int) -> Tally:
    """Deliver the documents of ``keys()`` and tally them (``keys`` is called once for each)."""
    stopped = documents.deliver(ctx.engine, ctx.settings, keys(), clock=ctx.clock_now, execution_id=ctx.execution_id)
    with transaction(ctx.engine) as session:
        result = documents.tally(session, keys())
    return _reported(ctx, result, stopped, earlier=earlier)


def _reported(ctx: JobContext[Any], result: Tally, stopped: str | None, *, earlier: int) -> Tally:
    """The run's tally, its waiting and failed documents logged (a failure warns the run)."""
    if stopped:
        ctx.log.warning(
            f"{result.queued} document(s) wait in the outbox: the mail server did not take them ({stopped}); "
            "the monitor sends them when it does",
            event="documents_waiting",
        )
    if result.failed:
        ctx.log.warning(
            f"{result.failed} document(s) could not be e-mailed: {result.last_error}", event="documents_failed"
        )
        ctx.warn_outcome(f"{result.failed} document(s) could not be e-mailed (acas-batch documents list)")
    result.earlier = earlier
    if result.earlier:
        ctx.log.info(
            f"{result.earlier} document(s) were e-mailed or queued by an earlier run: not sent again",
            event="documents_earlier",
        )
    return result

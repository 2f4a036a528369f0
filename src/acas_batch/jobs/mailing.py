"""The jobs' side of e-mailing documents (statements, reminders, remittance advices).

A job queues its documents with :func:`queue_documents` in the transaction that records
them in the books, commits (``ctx.checkpoint``), then calls :func:`send_documents`, which
hands them to the mail server and says where they stand. See
:mod:`acas_batch.monitoring.documents` for the guarantees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any

from pydantic import Field
from sqlalchemy import ColumnElement, not_, select

from acas_batch.batch.context import JobContext
from acas_batch.db import transaction
from acas_batch.models import MailedDocument, NotificationOutbox
from acas_batch.monitoring import documents
from acas_batch.monitoring.documents import Document, Recorded, Tally

__all__ = ["Document", "Recorded", "Tally", "email_field", "queue_documents", "send_documents", "send_documents_where"]


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
    email = email and ctx.settings.mail_documents
    return documents.record(
        ctx.session, docs, execution_id=ctx.execution_id, run_key=run_key, email=email, now=ctx.clock_now()
    )


_WAITING = ("pending", "sending")


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


def send_documents_where(
    ctx: JobContext[Any], run_key: str, keys: Callable[[], Iterable[str]], mine: ColumnElement[bool], *, earlier: int
) -> Tally:
    """:func:`send_documents` for a run too large to hold its documents' keys: ``keys()``
    streams them (read again for the tally), ``mine`` picks the same documents in SQL (a
    condition on ``batch_document_rec``), so that those of ``run_key`` an interrupted attempt
    left waiting in the outbox are added once. ``earlier``: the run's :attr:`Recorded.earlier`."""
    with transaction(ctx.engine) as session:  # few: an earlier attempt's documents the run no longer makes
        others = session.scalars(
            select(MailedDocument.document_key)
            .join(NotificationOutbox, NotificationOutbox.idempotency_key == MailedDocument.document_key)
            .where(MailedDocument.run_key == run_key, NotificationOutbox.state.in_(_WAITING), not_(mine))
        ).all()
    return _deliver_and_tally(ctx, lambda: chain(keys(), others), earlier=earlier)


def _deliver_and_tally(ctx: JobContext[Any], keys: Callable[[], Iterable[str]], *, earlier: int) -> Tally:
    """Deliver the documents of ``keys()`` and tally them (``keys`` is called once for each)."""
    stopped = documents.deliver(ctx.engine, ctx.settings, keys(), clock=ctx.clock_now, execution_id=ctx.execution_id)
    with transaction(ctx.engine) as session:
        result = documents.tally(session, keys())
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

"""Run notices: the e-mail a job's ``notify`` parameter asks for when its run ends.

``notify`` (see :class:`acas_batch.jobs.params.Notify`) names recipients and whether they hear
of success, of failure, or both. A failure is told once no further attempt follows (the same
rule as the ``failure`` alert, so a run that succeeds on its retry sends no failure notice);
a success includes an outcome with warnings. Each notice is recorded in
``batch_run_notice_rec`` in the transaction that queues it in the outbox, so two monitors never
both queue it; the outbox delivers it, however long the mail server is away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from acas_batch.masking import mask_text
from acas_batch.models import BatchExecution, BatchJob, BatchRunNotice, ExecutionState
from acas_batch.monitoring.outbox import Outgoing, enqueue

_SUCCESS = (ExecutionState.SUCCEEDED, ExecutionState.WARNING)
_FAILURE = (ExecutionState.FAILED, ExecutionState.TIMED_OUT)


@dataclass(frozen=True)
class Notice:
    """One run's outcome and who asked to hear of it."""

    execution: BatchExecution
    job_name: str
    recipients: tuple[str, ...]


def _requested(params: Mapping[str, Any], state: ExecutionState) -> tuple[str, ...]:
    notify = params.get("notify")
    if not isinstance(notify, Mapping):
        return ()
    recipients = notify.get("recipients") or []
    if not isinstance(recipients, list) or not recipients:
        return ()
    wanted = bool(notify.get("on_success", False)) if state in _SUCCESS else bool(notify.get("on_failure", True))
    return tuple(str(r) for r in recipients) if wanted else ()


def due_notices(session: Session, since: datetime, now: datetime) -> list[Notice]:
    """Runs that ended in (since, now], asked to be told of that outcome and were not told yet."""
    nxt = aliased(BatchExecution)
    told = select(BatchRunNotice.execution_id).where(BatchRunNotice.execution_id == BatchExecution.id)
    rows = session.execute(
        select(BatchExecution, BatchJob.name, BatchJob.default_params)
        .join(BatchJob, BatchJob.id == BatchExecution.job_id)
        .where(
            BatchExecution.state.in_(_SUCCESS + _FAILURE),
            BatchExecution.finished_at > since,
            BatchExecution.finished_at <= now,
            ~exists(told),
            # a failure is final only when no retry follows it
            ~exists().where(nxt.previous_execution_id == BatchExecution.id, BatchExecution.state.in_(_FAILURE)),
        )
        .order_by(BatchExecution.finished_at, BatchExecution.id)
    ).all()
    found = []
    for ex, name, defaults in rows:
        recipients = _requested({**(defaults or {}), **(ex.params or {})}, ex.state)
        if recipients:
            found.append(Notice(ex, name, recipients))
    return found


def compose(notice: Notice, sender: str) -> EmailMessage:
    """The message telling ``notice``'s recipients how the run ended (secrets masked)."""
    ex = notice.execution
    outcome = {
        ExecutionState.SUCCEEDED: "succeeded",
        ExecutionState.WARNING: "succeeded with warnings",
        ExecutionState.FAILED: "failed",
        ExecutionState.TIMED_OUT: "timed out",
    }[ex.state]
    msg = EmailMessage()
    msg["Subject"] = f"[ACAS batch] {notice.job_name} {outcome} (business date {ex.business_date:%d/%m/%Y})"
    msg["From"] = sender
    msg["To"] = ", ".join(notice.recipients)
    msg["Date"] = format_datetime(ex.finished_at) if ex.finished_at else None
    msg["Message-ID"] = make_msgid(domain="acas-batch")
    result = ex.result or {}
    lines = [
        f"{notice.job_name} {outcome}.",
        "",
        f"Execution:     {ex.id} (attempt {ex.attempt}, run key {ex.run_key})",
        f"Business date: {ex.business_date:%d/%m/%Y}",
        f"Started:       {ex.started_at.isoformat() if ex.started_at else '-'}",
        f"Finished:      {ex.finished_at.isoformat() if ex.finished_at else '-'}",
        f"Duration:      {(ex.duration_ms or 0) / 1000:.1f} s",
    ]
    if result.get("summary"):
        lines.append(f"Summary:       {result['summary']}")
    if ex.state in _FAILURE:
        lines.append(f"Error:         {ex.error_type or 'error'}: {ex.error_message or 'no message'}")
    files = result.get("files") or []
    if files:
        lines += ["", "Files:"] + [f"  {f}" for f in files]
    msg.set_content(mask_text("\n".join(lines)) + "\n")
    return msg


@dataclass
class NoticeReport:
    """What one pass of run notices queued."""

    sent: int = 0
    error: str | None = None


def queue_run_notices(session: Session, since: datetime, now: datetime, sender: str) -> NoticeReport:
    """Queue every due notice in the outbox (key ``run_notice:<execution>``) and record it in
    ``batch_run_notice_rec``, in the caller's transaction. The caller commits; the outbox sends."""
    report = NoticeReport()
    for notice in due_notices(session, since, now):
        try:
            with session.begin_nested():
                session.add(
                    BatchRunNotice(
                        execution_id=notice.execution.id,
                        outcome=notice.execution.state.value,
                        recipients=", ".join(notice.recipients),
                        sent_at=now,
                    )
                )
                session.flush()
        except IntegrityError:
            continue  # another monitor queued this run first
        msg = compose(notice, sender)
        body = msg.get_content()
        enqueue(
            session,
            Outgoing(
                key=f"run_notice:{notice.execution.id}",
                kind="run_notice",
                recipients=notice.recipients,
                subject=str(msg["Subject"]),
                body=body,
                execution_id=notice.execution.id,
            ),
            now=now,
        )
        report.sent += 1
    return report

"""Run notices: the e-mail a job's ``notify`` parameter asks for when its run ends.

``notify`` (see :class:`acas_batch.jobs.params.Notify`) names recipients and whether they hear
of success, of failure, or both. A failure is told once no further attempt follows (the same
rule as the ``failure`` alert, so a run that succeeds on its retry sends no failure notice);
a success includes an outcome with warnings. Each notice is recorded in
``batch_run_notice_rec`` in the transaction that sends it: a mail server that refuses the
message leaves no row, so the next pass tries again, and two monitors never both send it.
"""

from __future__ import annotations

import smtplib
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
from acas_batch.monitoring.notify import EmailNotifier

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
    """What one pass of run notices did."""

    sent: int = 0
    error: str | None = None


def send_run_notices(session: Session, since: datetime, now: datetime, notifier: EmailNotifier) -> NoticeReport:
    """Send every due notice, each recorded in its own savepoint with the send. The caller commits."""
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
                notifier.deliver(compose(notice, notifier.config.sender), notice.recipients)
        except IntegrityError:
            continue  # another monitor told this run first
        except (OSError, smtplib.SMTPException) as exc:
            report.error = f"{type(exc).__name__}: {exc}"
            break  # the server is unwell: the rest wait for the next pass
        report.sent += 1
    return report

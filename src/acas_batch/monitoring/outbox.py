"""The outbox: every outgoing notification is a row first, sent later, never lost.

The decision to notify (an alert group, a digest, a run notice, later a statement with its PDF)
is written in the same transaction as the state it reports, under a unique idempotency key, so
it is queued once however many monitors decide it. Sending is a separate step:

1. claim due rows (compare-and-set ``pending`` -> ``sending`` with a claim that expires) and commit;
2. hand each to its transport;
3. record the outcome (``delivered``, or back to ``pending`` with ``next_attempt_at`` moved by
   backoff and ``last_error`` kept; ``failed`` only after ``max_attempts`` permanent refusals).

A mail server that is down only delays: transient errors never use up a message's attempts.
Exactly once within the system: one row per key, one sender at a time per row. At the SMTP
boundary a sender killed after the server accepted a message but before step 3 committed
leaves the row to be sent again when its claim expires; the Message-ID is derived from the key,
so the copy is recognisable as the same message. A sender that lives waits out a database away
at step 3 (a restart) instead, so that the row is not sent again.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.batch.outage import patiently
from acas_batch.db import transaction
from acas_batch.errors import ConfigError
from acas_batch.masking import mask_text
from acas_batch.models import AlertSeverity, AlertState, BatchAlert, NotificationOutbox
from acas_batch.monitoring import smime
from acas_batch.monitoring.findings import Finding
from acas_batch.monitoring.notify import DeliveryError, EmailNotifier, WebhookNotifier

_log = logging.getLogger(__name__)

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
CLAIM = timedelta(minutes=5)
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=10)
#: The alert rule that tells of a delivery outage (raised once per outage, resolved on the next success;
#: the health check reads it as ``system.health.DELIVERY_OUTAGE_RULE``).
DELIVERY_RULE = "notify_failed"


@dataclass(frozen=True)
class Attachment:
    """A document sent with a message: its bytes kept in the row (``data``), or a file read
    when the message is sent (``path``, refused unless its SHA-256 is still ``sha256``)."""

    name: str
    content_type: str
    data: bytes | None = None
    path: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """A notification to queue. ``key`` names it for good: the same key is queued once."""

    key: str
    kind: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    channel: str = "email"
    attachment: Attachment | None = None
    route: str | None = None
    alert_ids: tuple[int, ...] = ()
    execution_id: int | None = None
    max_attempts: int = 5


def enqueue(session: Session, item: Outgoing, *, now: datetime) -> bool:
    """Queue ``item`` unless its key is already queued. True when this call queued it.

    The text is masked here, so no secret waits in the outbox in clear.
    """
    if not item.recipients:
        return False
    att = item.attachment
    row = NotificationOutbox(
        idempotency_key=item.key,
        kind=item.kind,
        channel=item.channel,
        recipients=list(item.recipients),
        subject=mask_text(item.subject)[:255],
        body=mask_text(item.body),
        attachment_name=att.name if att else None,
        attachment_type=att.content_type if att else None,
        attachment=att.data if att else None,
        attachment_path=att.path if att else None,
        attachment_sha256=att.sha256 if att else None,
        route=item.route,
        alert_ids=list(item.alert_ids) or None,
        execution_id=item.execution_id,
        state=PENDING,
        attempts=0,
        max_attempts=item.max_attempts,
        next_attempt_at=now,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False  # queued before, by this or another process
    return True


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... at most 10 min between tries."""
    delay: timedelta = BACKOFF_FIRST * (2 ** min(max(attempts - 1, 0), 20))
    return min(delay, BACKOFF_MAX)


def claim_due(
    session: Session, *, sender: str, now: datetime, limit: int = 50, keys: Sequence[str] | None = None
) -> list[int]:
    """Claim up to ``limit`` due messages for ``sender`` (oldest first), only those of ``keys``
    when given; the caller commits.

    A sender takes back its own claims at once: ``sender`` names one process and thread, whose
    passes follow one another, so a message it claimed and has not recorded was left by a pass
    of its own that a database restart cut short before it was sent (a sent message's delivery
    is recorded patiently, through the restart). Another sender's claim is waited out
    (:data:`CLAIM`): that sender may be sending it now.
    """
    due = or_(
        (NotificationOutbox.state == PENDING) & (NotificationOutbox.next_attempt_at <= now),
        (NotificationOutbox.state == SENDING)
        & or_(NotificationOutbox.claim_expires_at < now, NotificationOutbox.claimed_by == sender),
    )
    stmt = select(NotificationOutbox.id).where(due)
    if keys is not None:
        stmt = stmt.where(NotificationOutbox.idempotency_key.in_(list(keys)))
    candidates = session.scalars(
        stmt.order_by(NotificationOutbox.next_attempt_at, NotificationOutbox.id).limit(limit)
    ).all()
    won = []
    for oid in candidates:
        # Compare-and-set: of two senders, one moves the row; the other's update matches nothing.
        hit = session.execute(
            update(NotificationOutbox)
            .where(NotificationOutbox.id == oid, due)
            .values(state=SENDING, claimed_by=sender, claim_expires_at=now + CLAIM)
            .execution_options(synchronize_session=False)
        )
        if hit.rowcount:  # type: ignore[attr-defined]
            won.append(oid)
    return won


def message_id(key: str) -> str:
    """A Message-ID fixed by the idempotency key: a resent copy is recognisably the same mail."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@acas-batch>"


def to_email(row: NotificationOutbox, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = row.subject
    msg["From"] = sender
    msg["To"] = ", ".join(row.recipients)
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = message_id(row.idempotency_key)
    msg["X-ACAS-Outbox-Key"] = row.idempotency_key
    msg.set_content(row.body)
    data = attached_file(row) if row.attachment_path else row.attachment
    if data is not None and row.attachment_name:
        maintype, _, subtype = (row.attachment_type or "application/octet-stream").partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=row.attachment_name)
    return msg


def attached_file(row: NotificationOutbox) -> bytes:
    """The bytes of the file ``row`` attaches, exactly as they were when it was queued.

    Raises:
        DeliveryError: (final) the file is gone or is not the document that was queued: the
            customer must never receive a document other than the one the run recorded.
    """
    path = Path(row.attachment_path or "")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DeliveryError(f"document {path} cannot be read ({exc.strerror}); not sent", final=True) from exc
    if row.attachment_sha256 and hashlib.sha256(data).hexdigest() != row.attachment_sha256:
        raise DeliveryError(f"document {path} changed since it was queued (SHA-256 differs); not sent", final=True)
    return data


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    error: str | None = None
    delivered_keys: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"delivered": self.delivered, "retrying": self.retrying, "failed": self.failed, "error": self.error}


#: Turns a message into something on the wire; raises DeliveryError. Tests and S/MIME wrap it.
Encoder = Callable[[EmailMessage, NotificationOutbox], EmailMessage]


class Deliverer:
    """Sends claimed outbox rows through the e-mail and webhook transports."""

    def __init__(
        self,
        email: EmailNotifier,
        webhook: WebhookNotifier | None = None,
        *,
        sender: str | None = None,
        encoder: Encoder | None = None,
        smime_dir: Path | None = None,
    ) -> None:
        self.email = email
        self.webhook = webhook or WebhookNotifier()
        # Named after its process and thread unless told: a sender takes back its own unfinished
        # claims at once (claim_due), so two threads of one process (the web's) must not share a name.
        self.sender = sender or f"monitor:{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.encoder = encoder
        self.smime_dir = smime_dir  # recipients' S/MIME certificates: their copies leave encrypted

    def send(self, row: NotificationOutbox) -> None:
        if row.channel == "webhook":
            self.webhook.post(row.recipients[0], row.subject, row.body)
            return
        msg = to_email(row, self.email.config.sender)
        if self.encoder is not None:
            msg = self.encoder(msg, row)
        sealed, plain = smime.split(self.smime_dir, row.recipients)
        try:
            if sealed:
                self.email.deliver(smime.seal(msg, list(sealed.values())), list(sealed))
            if plain:
                self.email.deliver(msg, plain)
        except ConfigError as exc:
            raise DeliveryError(str(exc)) from exc

    def deliver_due(
        self, engine: Engine, *, now: datetime, limit: int = 50, keys: Sequence[str] | None = None
    ) -> DeliveryReport:
        """Send what is due now (of ``keys`` only, when given). A transport error that is not the
        message's fault (server down, TLS refused) stops this pass for that channel: the rest keep
        their turn and their attempts."""
        report = DeliveryReport()
        with transaction(engine, write=True) as session:
            ids = claim_due(session, sender=self.sender, now=now, limit=limit, keys=keys)
        down: dict[str, str] = {}
        for oid in ids:
            with transaction(engine) as session:
                row = session.get(NotificationOutbox, oid)
                if row is None:
                    continue
                session.expunge(row)
            if row.channel in down:
                self._release(engine, oid, now)
                continue
            try:
                self.send(row)
            except DeliveryError as exc:
                reason = str(exc)
                report.error = reason
                state = self._failed(engine, row, reason, permanent=exc.permanent, final=exc.final, now=now)
                if state == FAILED:
                    report.failed += 1
                else:
                    report.retrying += 1
                if not exc.permanent:
                    down[row.channel] = reason
                continue
            # The server has the message: its delivery is recorded even through a database
            # restart (waited out), or the row would be sent again when its claim expired.
            patiently(functools.partial(self._delivered, engine, oid, now), _log, self.sender, "recording a delivery")
            report.delivered += 1
            report.delivered_keys.append(row.idempotency_key)
        for channel in ("email", "webhook"):
            if channel in down:
                self._outage(engine, channel, down[channel], now)
            elif report.delivered and channel == "email":
                self._recovered(engine, channel, now)
        return report

    def _delivered(self, engine: Engine, oid: int, now: datetime) -> None:
        with transaction(engine, write=True) as session:
            session.execute(
                update(NotificationOutbox)
                .where(NotificationOutbox.id == oid, NotificationOutbox.claimed_by == self.sender)
                .values(
                    state=DELIVERED,
                    delivered_at=now,
                    last_attempt_at=now,
                    attempts=NotificationOutbox.attempts + 1,
                    claimed_by=None,
                    claim_expires_at=None,
                )
                .execution_options(synchronize_session=False)
            )

    def _release(self, engine: Engine, oid: int, now: datetime) -> None:
        with transaction(engine, write=True) as session:
            session.execute(
                update(NotificationOutbox)
                .where(NotificationOutbox.id == oid, NotificationOutbox.claimed_by == self.sender)
                .values(state=PENDING, claimed_by=None, claim_expires_at=None)
                .execution_options(synchronize_session=False)
            )

    def _failed(
        self, engine: Engine, row: NotificationOutbox, reason: str, *, permanent: bool, final: bool, now: datetime
    ) -> str:
        attempts = row.attempts + 1
        refusals_left = permanent and attempts >= row.max_attempts
        state = FAILED if final or refusals_left else PENDING
        with transaction(engine, write=True) as session:
            session.execute(
                update(NotificationOutbox)
                .where(NotificationOutbox.id == row.id, NotificationOutbox.claimed_by == self.sender)
                .values(
                    state=state,
                    attempts=attempts,
                    last_error=reason[:2000],
                    last_attempt_at=now,
                    next_attempt_at=now + backoff(attempts),
                    claimed_by=None,
                    claim_expires_at=None,
                )
                .execution_options(synchronize_session=False)
            )
        return state

    def _outage(self, engine: Engine, channel: str, reason: str, now: datetime) -> None:
        """Record the outage as one alert; log it once, when it opens."""
        from acas_batch.monitoring.alerts import raise_alert  # alerts import this module's names

        with transaction(engine, write=True) as session:
            pending = session.scalar(
                select(func.count()).select_from(NotificationOutbox).where(NotificationOutbox.state != DELIVERED)
            )
            raised = raise_alert(
                session,
                Finding(
                    rule=DELIVERY_RULE,
                    severity=AlertSeverity.WARNING,
                    dedup_key=f"{DELIVERY_RULE}:{channel}",
                    title=f"alert {channel} cannot be delivered",
                    message=f"{channel} delivery failed: {reason}; {pending} notification(s) wait in the outbox",
                    details={"channel": channel, "reason": reason},
                ),
                now,
            )
        if raised.is_new:
            _log.warning(
                "notification_delivery_failed channel=%s reason=%s (retrying; logged once per outage)", channel, reason
            )

    def _recovered(self, engine: Engine, channel: str, now: datetime) -> None:
        with transaction(engine, write=True) as session:
            alert = session.scalars(
                select(BatchAlert).where(
                    BatchAlert.dedup_key == f"{DELIVERY_RULE}:{channel}", BatchAlert.state != AlertState.RESOLVED
                )
            ).one_or_none()
            if alert is None:
                return
            alert.state = AlertState.RESOLVED
            alert.resolved_at = now
            since = alert.first_raised_at
            # What waited out the outage goes at the next pass, not after each message's backoff
            session.execute(
                update(NotificationOutbox)
                .where(
                    NotificationOutbox.state == PENDING,
                    NotificationOutbox.channel == channel,
                    NotificationOutbox.next_attempt_at > now,
                )
                .values(next_attempt_at=now)
                .execution_options(synchronize_session=False)
            )
        _log.warning("notification_delivery_recovered channel=%s down_since=%s", channel, since.isoformat())


@dataclass(frozen=True)
class OutboxStatus:
    """How the outbox stands: what waits, for how long, and why."""

    pending: int
    failed: int
    delivered_24h: int
    oldest_pending_at: datetime | None
    oldest_pending_seconds: float
    max_delay_24h_seconds: float
    last_error: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "pending": self.pending,
            "failed": self.failed,
            "delivered_24h": self.delivered_24h,
            "oldest_pending_at": self.oldest_pending_at.isoformat() if self.oldest_pending_at else None,
            "oldest_pending_seconds": round(self.oldest_pending_seconds, 1),
            "max_delay_24h_seconds": round(self.max_delay_24h_seconds, 1),
            "last_error": self.last_error,
        }


def status(session: Session, *, now: datetime) -> OutboxStatus:
    """Counts, the age of the oldest waiting message and the worst delay of the last 24 hours."""
    ob = NotificationOutbox
    waiting = (ob.state == PENDING) | (ob.state == SENDING)
    pending = session.scalar(select(func.count()).select_from(ob).where(waiting)) or 0
    failed = session.scalar(select(func.count()).select_from(ob).where(ob.state == FAILED)) or 0
    oldest = session.scalar(select(func.min(ob.created_at)).where(waiting))
    last_error = session.scalar(
        select(ob.last_error)
        .where(ob.last_error.is_not(None), ob.state != DELIVERED)
        .order_by(ob.last_attempt_at.desc())
        .limit(1)
    )
    recent = session.execute(
        select(ob.created_at, ob.delivered_at).where(ob.state == DELIVERED, ob.delivered_at > now - timedelta(days=1))
    ).all()
    delays = [(d - c).total_seconds() for c, d in recent if d is not None]
    return OutboxStatus(
        pending=pending,
        failed=failed,
        delivered_24h=len(recent),
        oldest_pending_at=oldest,
        oldest_pending_seconds=(now - oldest).total_seconds() if oldest else 0.0,
        max_delay_24h_seconds=max(delays, default=0.0),
        last_error=last_error,
    )


def recent(session: Session, *, limit: int = 50, state: str | None = None) -> list[NotificationOutbox]:
    stmt = select(NotificationOutbox)
    if state:
        stmt = stmt.where(NotificationOutbox.state == state)
    return list(session.scalars(stmt.order_by(NotificationOutbox.id.desc()).limit(limit)))


def severity_rank(severity: AlertSeverity | str) -> int:
    return {"info": 0, "warning": 1, "critical": 2}[str(severity)]

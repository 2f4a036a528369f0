"""Alerting records: the notification outbox, alert routes, silences, single-use link
nonces and deadlines in business terms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, JSONType, UTCDateTime


class NotificationOutbox(Base):
    """One outgoing notification (alert, digest, run notice, later statements and remittances).

    Written in the transaction that decides to notify, so a decision is never lost; sent later
    by whichever process claims it. ``idempotency_key`` is unique: a document or alert group
    is queued once however many processes decide to send it. States:

    - ``pending``: waiting for ``next_attempt_at`` (a failed attempt moves it forward).
    - ``sending``: claimed by ``claimed_by`` until ``claim_expires_at``; a sender that died
      leaves it to be claimed again after the claim expires.
    - ``delivered``: the server accepted it (terminal).
    - ``failed``: refused permanently ``max_attempts`` times (terminal; shown in health).
    """

    __tablename__ = "batch_outbox_rec"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32), doc="alert, digest, escalation, run_notice, statement ...")
    channel: Mapped[str] = mapped_column(String(16), doc="email or webhook")
    recipients: Mapped[list[str]] = mapped_column(JSONType, doc="Addresses, or the webhook URL.")
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(255))
    attachment_type: Mapped[str | None] = mapped_column(String(128), doc="MIME type, e.g. application/pdf")
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary, doc="A small attachment kept in the row.")
    attachment_path: Mapped[str | None] = mapped_column(
        Text, doc="A document attached from its file (a statement PDF), read when the message is sent."
    )
    attachment_sha256: Mapped[str | None] = mapped_column(
        String(64), doc="The file's SHA-256 when queued: a file that changed since is refused, never sent."
    )
    route: Mapped[str | None] = mapped_column(String(64), doc="The alert route that chose the recipients.")
    alert_ids: Mapped[list[int] | None] = mapped_column(JSONType, doc="The alerts this message tells.")
    execution_id: Mapped[int | None] = mapped_column(
        ForeignKey("batch_execution_rec.id", ondelete="SET NULL"), doc="The run a document or notice is about."
    )
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5, doc="Permanent refusals tolerated.")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("state IN ('pending', 'sending', 'delivered', 'failed')", name="state_known"),
        CheckConstraint("channel IN ('email', 'webhook')", name="channel_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_batch_outbox_rec_due", "state", "next_attempt_at"),
        Index("ix_batch_outbox_rec_created", "created_at"),
    )


class MailedDocument(Base):
    """A document a job made for a customer or supplier (a statement, a reminder, a remittance
    advice) and how it was to reach them.

    ``document_key`` names the document for good (run key + party + document) and is unique:
    a rerun or a resumed run finds it and never e-mails it again. A document handed to the
    outbox has ``delivery`` ``email`` and its outbox row has the same key (``batch_outbox_rec``
    says whether it was delivered, when, and the last error); the other values say why it
    was not e-mailed.
    """

    __tablename__ = "batch_document_rec"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    document_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16), doc="statement, reminder or remittance")
    execution_id: Mapped[int | None] = mapped_column(
        ForeignKey("batch_execution_rec.id", ondelete="SET NULL"), doc="The run that made it (or e-mailed it)."
    )
    run_key: Mapped[str] = mapped_column(String(200))
    party: Mapped[str] = mapped_column(String(16), doc="customer or supplier")
    party_id: Mapped[int] = mapped_column(Integer)
    party_code: Mapped[str] = mapped_column(String(32))
    file: Mapped[str | None] = mapped_column(Text, doc="The PDF, in the run's output folder.")
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    email_to: Mapped[str | None] = mapped_column(String(255))
    delivery: Mapped[str] = mapped_column(
        String(16),
        doc="email (queued in the outbox under the same key), no_address, email_off (the run said not to), "
        "no_pdf (the run wrote no PDF to attach)",
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("kind IN ('statement', 'reminder', 'remittance')", name="kind_known"),
        CheckConstraint("party IN ('customer', 'supplier')", name="party_known"),
        CheckConstraint("delivery IN ('email', 'no_address', 'email_off', 'no_pdf')", name="delivery_known"),
        CheckConstraint("delivery <> 'email' OR (email_to IS NOT NULL AND sha256 IS NOT NULL)", name="email_complete"),
        Index("ix_batch_document_rec_execution", "execution_id"),
        Index("ix_batch_document_rec_run_key", "run_key"),
    )


class AlertRoute(Base):
    """Who hears of an alert: by minimum severity, module and job, to e-mail addresses and/or
    a webhook; with escalation steps for critical alerts nobody acknowledges.

    Every enabled route that matches receives the alert; when none matches, the route marked
    ``is_default`` does (and without one, the installation's ``alert_email_to``).
    """

    __tablename__ = "batch_alert_route_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    min_severity: Mapped[str] = mapped_column(String(16), default="warning")
    module: Mapped[str | None] = mapped_column(String(8), doc="GL, SL, PL, ST, SYS; NULL: any")
    job_name: Mapped[str | None] = mapped_column(String(64), doc="NULL: any job (and alerts with no job)")
    email_to: Mapped[list[str]] = mapped_column(JSONType, default=list)
    webhook_url: Mapped[str | None] = mapped_column(String(1024))
    escalation: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType, default=list, doc="Steps: [{after_minutes, email_to}], each after the previous."
    )
    office_hours_only: Mapped[bool] = mapped_column(Boolean, default=False, doc="Escalate on business days only.")
    digest: Mapped[bool] = mapped_column(Boolean, default=False, doc="Non-critical alerts wait for the daily digest.")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("min_severity IN ('info', 'warning', 'critical')", name="severity_known"),)


class AlertSilence(Base):
    """A silence: matching alerts are recorded but not sent until it expires."""

    __tablename__ = "batch_alert_silence_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str | None] = mapped_column(String(64))
    module: Mapped[str | None] = mapped_column(String(8))
    job_name: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="Lifted before it expired.")

    __table_args__ = (Index("ix_batch_alert_silence_rec_expires", "expires_at"),)


class AlertLinkUse(Base):
    """A used acknowledge/resolve link: its nonce may never act again."""

    __tablename__ = "batch_alert_link_rec"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("batch_alert_rec.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_by: Mapped[str] = mapped_column(String(128))


class Deadline(Base):
    """A job that must be done by a time written in business terms (a calendar rule, as schedules)."""

    __tablename__ = "batch_deadline_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("batch_job_rec.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), doc="A schedule kind: monthly, daily ...")
    rule: Mapped[dict[str, Any]] = mapped_column(JSONType, doc="When it falls due, as a schedule rule.")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    shift_policy: Mapped[str] = mapped_column(String(16), default="next")
    severity: Mapped[str] = mapped_column(String(16), default="critical")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

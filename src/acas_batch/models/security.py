"""Users, roles, sessions and API tokens, and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, JSONType, UTCDateTime


class Role(Base):
    """A named set of permissions (``jobs:run``, ``executions:cancel`` ...)."""

    __tablename__ = "role_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    permissions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: Job modules the scoped permissions apply to (``["SL"]``); None: every module.
    modules: Mapped[list[str] | None] = mapped_column(JSONType)
    is_standard: Mapped[bool] = mapped_column(Boolean, default=False)


class User(Base):
    """A person (or service account) who uses acas-batch."""

    __tablename__ = "user_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    email: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role_id: Mapped[int] = mapped_column(ForeignKey("role_rec.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The IANA zone this user reads times in (``America/New_York``); None: the company's zone.
    time_zone: Mapped[str | None] = mapped_column(String(64))


class UserSession(Base):
    """A login session or an API token; only a hash of the secret is kept."""

    __tablename__ = "user_session_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_rec.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), doc="session or api_token")
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: An API token's role (its permissions are those both it and its user's role grant).
    role_id: Mapped[int | None] = mapped_column(ForeignKey("role_rec.id"))
    #: The first characters of the token, to recognise it in a list (never enough to use it).
    prefix: Mapped[str | None] = mapped_column(String(16))
    client_addr: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_user_session_rec_expires", "expires_at"),)


class Audit(Base):
    """Who did what, to what, when and why. Never updated, never deleted by the app."""

    __tablename__ = "audit_rec"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), doc="e.g. execution.hold, job.update, run.force")
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    os_user: Mapped[str | None] = mapped_column(String(64))
    host: Mapped[str | None] = mapped_column(String(255))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    face: Mapped[str | None] = mapped_column(String(16))
    #: The previous row's ``row_hash`` ("" for the first row): the chain that shows tampering.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    #: SHA-256 of this row's canonical content, ``prev_hash`` included.
    row_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_rec_time", "occurred_at"),
        Index("ix_audit_rec_target", "target_type", "target_id"),
    )


class LoginThrottle(Base):
    """Recent failed sign-ins per account (``user:<name>``) or client address (``addr:<ip>``).

    They slow the next attempt down; they never lock anyone out.
    """

    __tablename__ = "login_throttle_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Approval(Base):
    """A four-eyes request: one user asks with a reason, a different one approves, then it runs once."""

    __tablename__ = "approval_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), doc="pending, approved, rejected, done, failed")
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    __table_args__ = (Index("ix_approval_rec_state", "state"),)

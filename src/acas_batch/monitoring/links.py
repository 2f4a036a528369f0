"""Acknowledge and resolve links for alert mail: signed, expiring, single-use.

A token is ``base64url(alert_id.action.expires.nonce).signature`` with an HMAC-SHA256 signature
under the installation's link key (``secret_key``, else a random key kept in
``<data_dir>/alert-links.key``, readable by its owner only). The signature proves the link was
made here and not altered; the expiry bounds its life; the nonce, recorded in
``batch_alert_link_rec`` when used, makes it single-use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.errors import NotFound, ValidationError
from acas_batch.models import AlertLinkUse, BatchAlert
from acas_batch.monitoring.alerts import acknowledge_alert, resolve_alert

ACTIONS = ("ack", "resolve")


@dataclass(frozen=True)
class LinkClaim:
    """What a valid token allows: one action on one alert, once."""

    alert_id: int
    action: str
    expires_at: datetime
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, alert_id: int, action: str, expires_at: datetime, nonce: str | None = None) -> str:
    if action not in ACTIONS:
        raise ValidationError(f"link action {action!r} is not one of {', '.join(ACTIONS)}")
    payload = f"{alert_id}.{action}.{int(expires_at.timestamp())}.{nonce or secrets.token_hex(16)}".encode()
    return f"{_b64(payload)}.{_b64(hmac.new(key, payload, hashlib.sha256).digest())}"


def verify(key: bytes, token: str, *, now: datetime) -> LinkClaim:
    """The claim of a genuine, unexpired token.

    Raises:
        ValidationError: malformed, forged or altered, or expired (the message says which).
    """
    try:
        payload_b64, _, sig_b64 = token.strip().partition(".")
        payload = _unb64(payload_b64)
        signature = _unb64(sig_b64)
        alert_id, action, expires, nonce = payload.decode().split(".")
        claim = LinkClaim(int(alert_id), action, datetime.fromtimestamp(int(expires), UTC), nonce)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("the alert link is malformed") from exc
    if not hmac.compare_digest(hmac.new(key, payload, hashlib.sha256).digest(), signature):
        raise ValidationError("the alert link's signature is not valid (altered, or made by another installation)")
    if claim.action not in ACTIONS:
        raise ValidationError(f"link action {claim.action!r} is not one of {', '.join(ACTIONS)}")
    if now >= claim.expires_at:
        raise ValidationError(f"the alert link expired at {claim.expires_at.isoformat()}")
    return claim


def link_key(settings: Settings) -> bytes:
    """The key that signs links: ``secret_key`` when set, else a key file made once (0600)."""
    if settings.secret_key:
        return hashlib.sha256(b"acas-alert-links:" + settings.secret_key.encode()).digest()
    path = Path(settings.data_dir) / "alert-links.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return bytes.fromhex(path.read_text().strip())
        with os.fdopen(fd, "w") as fh:
            fh.write(key.hex())
        return key


def link_maker(settings: Settings) -> Callable[[int, str, datetime], str] | None:
    """Makes the dashboard URL for an action on an alert, or None when no dashboard address is set."""
    base = settings.alert_link_base_url.rstrip("/")
    if not base:
        return None
    key = link_key(settings)
    life = timedelta(hours=settings.alert_link_hours)

    def make(alert_id: int, action: str, now: datetime) -> str:
        # "link", not "token": the outbox masks the value of any key that names a secret.
        return f"{base}/alerts/{alert_id}/{action}?link={sign(key, alert_id, action, now + life)}"

    return make


def redeem(session: Session, key: bytes, token: str, *, user: str, now: datetime) -> tuple[LinkClaim, BatchAlert]:
    """Verify ``token``, record its nonce as used, and do its action on its alert, in the caller's transaction.

    The nonce is the primary key of ``batch_alert_link_rec``: a second use, even by a racing
    request, fails on the insert. If the action itself is refused (the alert is no longer
    open) the caller's rollback takes the nonce back with it: the link did nothing.

    Raises:
        ValidationError: malformed, forged, altered, expired, or already used.
        NotFound: its alert no longer exists.
        InvalidStateTransition: the alert's state does not allow the action.
    """
    claim = verify(key, token, now=now)
    if session.get(BatchAlert, claim.alert_id) is None:
        raise NotFound(f"no alert has id {claim.alert_id}")
    try:
        with session.begin_nested():
            session.add(AlertLinkUse(nonce=claim.nonce, alert_id=claim.alert_id, action=claim.action, used_at=now,
                                     used_by=user[:128]))  # fmt: skip
            session.flush()
    except IntegrityError:
        used = session.get(AlertLinkUse, claim.nonce)
        when = f" at {used.used_at.isoformat()} by {used.used_by}" if used is not None else ""
        raise ValidationError(f"this alert link has already been used{when}") from None
    if claim.action == "ack":
        alert = acknowledge_alert(session, claim.alert_id, user, now)
    else:
        alert = resolve_alert(session, claim.alert_id, now, by=user)
    return claim, alert

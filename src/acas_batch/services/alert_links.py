"""Acknowledge or resolve an alert with the signed link its mail carried: once, before it expires.

The link proves the action was offered in a mail this installation sent; the actor presenting it
(the dashboard's signed-in user, or whoever the face resolves) must still hold ``alerts:manage``,
so a forwarded mail cannot act for a stranger. Audited as ``alert.acknowledge`` or
``alert.resolve`` with the link's nonce.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.monitoring.links import link_key, redeem, verify
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services.base import resolve_actor
from acas_batch.services.door import perform

_ACTIONS = {"ack": "alert.acknowledge", "resolve": "alert.resolve"}


def act_on_link(
    engine: Engine, settings: Settings, token: str, *, actor: Actor | str | None = None, now: datetime
) -> dict[str, Any]:
    """Do what the link says (acknowledge or resolve its alert), once.

    Raises:
        ValidationError: the link is malformed, forged, altered, expired or already used.
        NotFound: its alert no longer exists.
        InvalidStateTransition: the alert is no longer open (nothing recorded: the link stays unused).
        PermissionDenied: the actor may not manage alerts.
    """
    key = link_key(settings)
    claim = verify(key, token, now=now)  # a bad link is refused before anything is checked or written
    who = resolve_actor(engine, actor, face="cli" if actor is None else "python")

    def act(session: Session) -> dict[str, Any]:
        _, alert = redeem(session, key, token, user=who.username, now=now)
        return {
            "id": alert.id,
            "action": claim.action,
            "state": alert.state.value,
            "by": who.username,
            "acknowledged_by": alert.acknowledged_by,
            "resolved_by": alert.resolved_by,
        }

    return perform(
        engine, who, Permission.ALERTS_MANAGE, _ACTIONS[claim.action], ("alert", claim.alert_id), act, now=now,
        details={"link": claim.nonce, "expires_at": claim.expires_at.isoformat()},
    )  # fmt: skip


def link_claim(settings: Settings, token: str, *, now: datetime) -> dict[str, Any]:
    """What a link offers (its alert, action and expiry), without using it.

    Raises:
        ValidationError: malformed, forged, altered or expired.
    """
    claim = verify(link_key(settings), token, now=now)
    return {"alert_id": claim.alert_id, "action": claim.action, "expires_at": claim.expires_at.isoformat()}

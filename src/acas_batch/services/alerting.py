"""Alerting services: the outbox, thresholds, routes, silences, escalation links, deadlines, metrics.

Every face (CLI, web, API) enters here. Functions that change something take the acting user
and record what they did in the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from acas_batch.clock import FileClock, utcnow
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import ValidationError
from acas_batch.monitoring import deliverer_for
from acas_batch.monitoring import outbox as outbox_mod

_OUTBOX_STATES = ("pending", "sending", "delivered", "failed")


def outbox_status(engine: Engine, *, now: datetime) -> dict[str, Any]:
    """How the outbox stands: waiting, failed, the oldest waiting message's age, the worst delay today."""
    with transaction(engine) as session:
        return outbox_mod.status(session, now=now).as_dict()


def outbox_list(engine: Engine, *, state: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest outbox messages (no bodies: they may name customers)."""
    if state is not None and state not in _OUTBOX_STATES:
        raise ValidationError(f"outbox state {state!r} is not one of {', '.join(_OUTBOX_STATES)}")
    if not 1 <= limit <= 10_000:
        raise ValidationError(f"limit {limit} must be between 1 and 10000")
    with transaction(engine) as session:
        return [
            {
                "id": r.id,
                "key": r.idempotency_key,
                "kind": r.kind,
                "channel": r.channel,
                "state": r.state,
                "recipients": len(r.recipients),
                "subject": r.subject,
                "attempts": r.attempts,
                "created_at": r.created_at.isoformat(),
                "next_attempt_at": r.next_attempt_at.isoformat() if r.state in ("pending", "sending") else None,
                "delivered_at": r.delivered_at.isoformat() if r.delivered_at else None,
                "delay_seconds": round((r.delivered_at - r.created_at).total_seconds(), 1) if r.delivered_at else None,
                "last_error": r.last_error,
            }
            for r in outbox_mod.recent(session, limit=limit, state=state)
        ]


def deliver_outbox(engine: Engine, settings: Settings, *, now: datetime) -> dict[str, Any]:
    """Send what waits in the outbox now (normally the monitor does this every pass)."""
    return deliverer_for(settings).deliver_due(engine, now=now).as_dict()


def clock_now(settings: Settings) -> datetime:
    """Now, as the installation's processes see it: the shared simulated clock when
    ``clock_file`` is set (simulations, tests), else the system's."""
    return FileClock(settings.clock_file).now() if settings.clock_file else utcnow()

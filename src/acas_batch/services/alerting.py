"""Alerting services: the outbox, thresholds, routes, silences, escalation links, deadlines, metrics.

Every face (CLI, web, API) enters here. Functions that change something take the acting user
and record what they did in the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.clock import FileClock, utcnow
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import JobNotFound, NotFound, ValidationError
from acas_batch.models import BatchJob, BatchThreshold
from acas_batch.monitoring import deliverer_for
from acas_batch.monitoring import outbox as outbox_mod
from acas_batch.monitoring.alerts import dismiss_alert
from acas_batch.monitoring.thresholds import BELOW, DEFAULTS, ThresholdKind, check_limit, check_scope
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services import door
from acas_batch.services.base import resolve_actor
from acas_batch.services.door import perform, read

_OUTBOX_STATES = ("pending", "sending", "delivered", "failed")


def outbox_status(engine: Engine, *, actor: Actor, now: datetime) -> dict[str, Any]:
    """How the outbox stands: waiting, failed, the oldest waiting message's age, the worst delay today.

    Raises:
        PermissionDenied: ``actor`` may not read alerts (audited).
    """
    return read(
        engine, actor, Permission.ALERTS_READ, lambda s: outbox_mod.status(s, now=now).as_dict(), what="outbox", now=now
    )


def outbox_list(
    engine: Engine, *, actor: Actor, now: datetime, state: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest outbox messages (no bodies: they may name customers).

    Raises:
        PermissionDenied: ``actor`` may not read alerts (audited).
        ValidationError: an unknown state or a limit out of range.
    """
    if state is not None and state not in _OUTBOX_STATES:
        raise ValidationError(f"outbox state {state!r} is not one of {', '.join(_OUTBOX_STATES)}")
    if not 1 <= limit <= 10_000:
        raise ValidationError(f"limit {limit} must be between 1 and 10000")
    door.may_read(engine, actor, Permission.ALERTS_READ, what="outbox", now=now)
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


def deliver_outbox(engine: Engine, settings: Settings, *, actor: Actor, now: datetime) -> dict[str, Any]:
    """Send what waits in the outbox now (normally the monitor does this every pass); audited
    with what was delivered, retried and failed.

    Raises:
        PermissionDenied: ``actor`` may not manage alerts (audited); nothing sent.
    """
    door.allowed(engine, actor, Permission.ALERTS_MANAGE, what="outbox.deliver", now=now)
    sent = deliverer_for(settings).deliver_due(engine, now=now).as_dict()
    door.record(engine, actor, "outbox.deliver", ("outbox", None), now=now, details=sent)
    return sent


def alert_dismiss(
    engine: Engine, alert_id: int, *, actor: Actor | str | None = None, reason: str, now: datetime
) -> dict[str, Any]:
    """Dismiss an alert with a written reason: resolved, kept with who and why, audited, and
    never raised again for the same run (an alert nothing can clear, such as a refused second
    close whose run key succeeded before).

    Raises:
        ValidationError: no reason; nothing written.
        NotFound: no such alert.
        InvalidStateTransition: it is already resolved.
        PermissionDenied: the actor may not manage alerts.
    """
    who = resolve_actor(engine, actor, face="cli" if actor is None else "python")

    def act(session: Session) -> dict[str, Any]:
        alert = dismiss_alert(session, alert_id, by=who.username, reason=reason, now=now)
        return {
            "id": alert.id,
            "rule": alert.rule,
            "title": alert.title,
            "state": alert.state.value,
            "resolved_by": alert.resolved_by,
            "resolution": alert.resolution,
        }

    return perform(
        engine,
        who,
        Permission.ALERTS_MANAGE,
        "alert.dismiss",
        ("alert", alert_id),
        act,
        now=now,
        reason=reason,
        details=lambda done: {"rule": done["rule"], "title": done["title"]},
    )


def clock_now(settings: Settings) -> datetime:
    """Now, as the installation's processes see it: the shared simulated clock when
    ``clock_file`` is set (simulations, tests), else the system's."""
    return FileClock(settings.clock_file).now() if settings.clock_file else utcnow()


def _threshold_dict(t: BatchThreshold) -> dict[str, Any]:
    return {
        "id": t.id,
        "scope": t.scope,
        "kind": t.metric,
        "warning": t.warning_value,
        "critical": t.critical_value,
        "params": t.params or {},
        "enabled": t.enabled,
        "description": t.description,
    }


def thresholds_list(engine: Engine, *, actor: Actor | str | None = None, now: datetime) -> list[dict[str, Any]]:
    """Every threshold row, and the built-in defaults that apply where no row does."""
    who = resolve_actor(engine, actor, face="cli" if actor is None else "python")

    def act(session: Session) -> list[dict[str, Any]]:
        rows = [
            _threshold_dict(t)
            for t in session.scalars(select(BatchThreshold).order_by(BatchThreshold.scope, BatchThreshold.metric))
        ]
        for kind, limit in DEFAULTS.items():
            rows.append(
                {
                    "id": None,
                    "scope": "default",
                    "kind": kind.value,
                    "warning": limit.warning,
                    "critical": limit.critical,
                    "params": limit.params,
                    "enabled": True,
                    "description": "built in",
                }
            )
        return rows

    return read(engine, who, Permission.ALERTS_READ, act, what="thresholds", now=now)


def threshold_set(
    engine: Engine,
    *,
    actor: Actor | str | None = None,
    scope: str,
    kind: str,
    warning: float | None = None,
    critical: float | None = None,
    params: dict[str, Any] | None = None,
    description: str = "",
    now: datetime,
) -> dict[str, Any]:
    """Create or replace the threshold of ``kind`` for ``scope`` (audited with before and after).

    Raises:
        ValidationError: an unknown kind, scope or parameter, or no limit at all; nothing written.
        JobNotFound: ``job:NAME`` names no job.
        PermissionDenied: the actor may not manage alerts.
    """
    scope = check_scope(scope)
    parameters = dict(params or {})
    check_limit(kind, scope, warning, critical, parameters)
    who = resolve_actor(engine, actor, face="cli" if actor is None else "python")
    before: dict[str, Any] = {}

    def act(session: Session) -> dict[str, Any]:
        job_id = None
        if scope.startswith("job:"):
            job_id = session.scalar(select(BatchJob.id).where(BatchJob.name == scope[4:]))
            if job_id is None:
                raise JobNotFound(f"no job is named {scope[4:]!r}")
        row = session.scalars(
            select(BatchThreshold).where(BatchThreshold.scope == scope, BatchThreshold.metric == kind)
        ).one_or_none()
        if row is None:
            row = BatchThreshold(scope=scope, metric=kind, comparison="<" if ThresholdKind(kind) in BELOW else ">")
            session.add(row)
        else:
            before.update(_threshold_dict(row))
        row.job_id, row.warning_value, row.critical_value = job_id, warning, critical
        row.params, row.enabled, row.description = parameters or None, True, description
        session.flush()
        return _threshold_dict(row)

    return perform(
        engine,
        who,
        Permission.ALERTS_MANAGE,
        "threshold.set",
        ("threshold", f"{scope}/{kind}"),
        act,
        now=now,
        details=lambda after: {"before": before or None, "after": after},
    )


def threshold_delete(
    engine: Engine, *, actor: Actor | str | None = None, scope: str, kind: str, now: datetime
) -> dict[str, Any]:
    """Delete a threshold: the next wider scope (or the built-in default) applies again.

    Raises:
        NotFound: no such threshold.
    """
    who = resolve_actor(engine, actor, face="cli" if actor is None else "python")

    def act(session: Session) -> dict[str, Any]:
        row = session.scalars(
            select(BatchThreshold).where(BatchThreshold.scope == scope.strip(), BatchThreshold.metric == kind)
        ).one_or_none()
        if row is None:
            raise NotFound(f"no threshold {kind} for scope {scope!r}")
        gone = _threshold_dict(row)
        session.delete(row)
        return gone

    return perform(
        engine,
        who,
        Permission.ALERTS_MANAGE,
        "threshold.delete",
        ("threshold", f"{scope}/{kind}"),
        act,
        now=now,
        details=lambda gone: {"before": gone},
    )

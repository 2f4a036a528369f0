"""The one door: every action of every face checks the policy here and is audited here.

``perform`` checks the acting :class:`Actor`'s permission (for a job's module where the
permission is scoped), runs the action in one write transaction and appends one audit row
with the actor's identity. A refusal raises :class:`PermissionDenied` and writes nothing but
its own audit row. ``read`` does the same for reads (a refused read is audited; an allowed
one is not, unless the caller says it reads sensitive data).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.db import transaction
from acas_batch.errors import PermissionDenied, ValidationError
from acas_batch.models.audit_chain import COUNT_KEY, IDENTITY_KEY, append_audit
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission, check

T = TypeVar("T")

#: A module given directly, or looked up inside the action's transaction (a job's, an execution's).
ModuleOf = str | Callable[[Session], str | None] | None

#: Actions whose reason is mandatory.
REASON_REQUIRED = frozenset(
    {
        "execution.cancel",
        "execution.hold",
        "execution.rerun",
        "execution.force_rerun",
        "execution.mark_succeeded",
        "schedule.create",
        "schedule.update",
        "schedule.delete",
        "alert.silence",
        "alert.dismiss",
        "system.restore",
    }
)


def identity_of(actor: Actor) -> dict[str, str | None]:
    """What the audit trail records of who acts, besides the username."""
    return {"os_user": actor.os_user, "host": actor.host, "client_addr": actor.client_addr, "face": actor.face}


def require_reason(action: str, reason: str | None) -> str | None:
    """The reason, stripped; a :class:`ValidationError` when ``action`` needs one and none is given."""
    text = (reason or "").strip()
    if action in REASON_REQUIRED and not text:
        raise ValidationError(f"{action} needs a reason (--reason): say why, for the audit trail")
    return text or None


def _module(session: Session, module: ModuleOf) -> str | None:
    if module is None or isinstance(module, str):
        return module
    return module(session)


def audit_refusal(
    engine: Engine, actor: Actor, exc: PermissionDenied, *, action: str, target: tuple[str, object], now: datetime
) -> None:
    """Append the refusal's own audit row (the only thing a refused action writes)."""
    with transaction(engine, write=True) as session:
        append_audit(
            session,
            actor=actor.username,
            action=f"denied:{action}"[:64],
            target_type=target[0],
            target_id=target[1],
            now=now,
            details={"permission": exc.permission, "role": actor.role},
            identity=identity_of(actor),
        )


def perform(  # noqa: PLR0917 - the door names who, what permission, what action, on what, and how
    engine: Engine,
    actor: Actor,
    permission: Permission,
    action: str,
    target: tuple[str, object],
    fn: Callable[[Session], T],
    *,
    now: datetime,
    reason: str | None = None,
    module: ModuleOf = None,
    details: dict[str, Any] | Callable[[T], dict[str, Any] | None] | None = None,
    extra: tuple[Permission, ...] = (),
) -> T:
    """Check, act and audit in one transaction.

    ``fn`` runs after the check; if it writes no audit row of its own (the engine's operations
    write theirs, with their before and after values), ``perform`` writes one. The identity
    of ``actor`` (OS user, host, client address, face) goes onto every row written meanwhile.

    Raises:
        PermissionDenied: the actor lacks ``permission`` (or one of ``extra``); audited, nothing else written.
        ValidationError: a reason is required and missing; nothing written.
    """
    why = require_reason(action, reason)
    try:
        with transaction(engine, write=True) as session:
            scope = _module(session, module)
            for needed in (permission, *extra):
                check(actor, needed, scope, what=f"{action} {target[1] if target[1] is not None else ''}".strip())
            session.info[IDENTITY_KEY] = identity_of(actor)
            result = fn(session)
            if not session.info.get(COUNT_KEY):
                info = details(result) if callable(details) else details
                append_audit(
                    session,
                    actor=actor.username,
                    action=action,
                    target_type=target[0],
                    target_id=target[1],
                    now=now,
                    reason=why,
                    details=info,
                )
            return result
    except PermissionDenied as exc:
        audit_refusal(engine, actor, exc, action=action, target=target, now=now)
        raise


def read(
    engine: Engine,
    actor: Actor,
    permission: Permission,
    fn: Callable[[Session], T],
    *,
    what: str,
    now: datetime,
    module: ModuleOf = None,
) -> T:
    """Check a read permission, then run ``fn`` in a read transaction (a refusal is audited).

    Raises:
        PermissionDenied: the actor lacks ``permission``.
    """
    try:
        check(actor, permission, module if isinstance(module, str) else None, what=what)
    except PermissionDenied as exc:
        audit_refusal(engine, actor, exc, action=f"read:{what}", target=("read", None), now=now)
        raise
    with transaction(engine) as session:
        return fn(session)


def may_read(
    engine: Engine, actor: Actor, permission: Permission, *, what: str, now: datetime, module: str | None = None
) -> None:
    """Check a read permission before a read that opens its own transactions (a stream, a
    forecast, a page of logs); a refusal is audited like :func:`read`'s.

    Raises:
        PermissionDenied: the actor lacks ``permission``.
    """
    read(engine, actor, permission, lambda _session: None, what=what, now=now, module=module)


def allowed(engine: Engine, actor: Actor, permission: Permission, *, what: str, now: datetime) -> None:
    """Check ``permission`` before an action that is not one transaction (a backup, a restore,
    starting the scheduler); a refusal is audited.

    Raises:
        PermissionDenied: the actor lacks ``permission``.
    """
    try:
        check(actor, permission, what=what)
    except PermissionDenied as exc:
        audit_refusal(engine, actor, exc, action=what, target=("system", None), now=now)
        raise


def record(
    engine: Engine,
    actor: Actor,
    action: str,
    target: tuple[str, object],
    *,
    now: datetime,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row for an action done outside a transaction of ours (a backup file written)."""
    with transaction(engine, write=True) as session:
        append_audit(
            session,
            actor=actor.username,
            action=action,
            target_type=target[0],
            target_id=target[1],
            now=now,
            reason=reason,
            details=details,
            identity=identity_of(actor),
        )


def check_within(actor: Actor, permission: Permission, *, what: str) -> None:
    """Check a further permission inside an action already going through :func:`perform`,
    which audits its refusal (one that depends on the row the action found).
    """
    check(actor, permission, what=what)

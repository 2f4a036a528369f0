"""Documents sent to customers and suppliers: what each run made and how its e-mail went."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.errors import ValidationError
from acas_batch.monitoring import documents
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services.base import resolve_actor
from acas_batch.services.door import read

KINDS = ("statement", "reminder", "remittance")


def documents_list(
    engine: Engine,
    *,
    actor: Actor | str | None = None,
    execution_id: int | None = None,
    run_key: str | None = None,
    kind: str | None = None,
    party: str | None = None,
    limit: int = 200,
    now: datetime,
) -> list[dict[str, Any]]:
    """Documents newest first, each with its delivery: e-mailed (when), queued (attempts, last
    error), e-mail failed (why), or not e-mailed and why (no address, e-mail off, no PDF).

    Raises:
        ValidationError: an unknown kind or a limit out of range.
        PermissionDenied: the actor may not read executions.
    """
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"document kind {kind!r} is not one of {', '.join(KINDS)}")
    if not 1 <= limit <= 100_000:
        raise ValidationError(f"limit {limit} must be between 1 and 100000")
    who = resolve_actor(engine, actor, face="cli" if actor is None else "python")

    def act(session: Session) -> list[dict[str, Any]]:
        return documents.listing(
            session, execution_id=execution_id, run_key=run_key, kind=kind, party_code=party, limit=limit
        )

    return read(engine, who, Permission.EXECUTIONS_READ, act, what="documents", now=now)

"""The audit trail for auditors: list with filters, export, and prove the hash chain."""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.errors import ValidationError
from acas_batch.models.audit_chain import ChainReport, verify_chain
from acas_batch.models.security import Audit
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services import door

__all__ = ["ChainReport", "audit_rows", "export_audit", "verify_audit"]

_FIELDS = (
    "id",
    "occurred_at",
    "actor",
    "os_user",
    "host",
    "client_addr",
    "face",
    "action",
    "target_type",
    "target_id",
    "reason",
    "details",
    "row_hash",
)


def _row(a: Audit) -> dict[str, Any]:
    return {
        "id": a.id,
        "occurred_at": a.occurred_at.isoformat(),
        "actor": a.actor,
        "os_user": a.os_user,
        "host": a.host,
        "client_addr": a.client_addr,
        "face": a.face,
        "action": a.action,
        "target_type": a.target_type,
        "target_id": a.target_id,
        "reason": a.reason,
        "details": a.details,
        "row_hash": a.row_hash,
    }


def _query(
    session: Session,
    *,
    actor: str | None,
    action: str | None,
    target: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
) -> list[dict[str, Any]]:
    stmt = select(Audit)
    if actor:
        stmt = stmt.where(Audit.actor == actor)
    if action:
        stmt = stmt.where(Audit.action.startswith(action, autoescape=True))
    if target:
        kind, _, ident = target.partition(":")
        stmt = stmt.where(Audit.target_type == kind)
        if ident:
            stmt = stmt.where(Audit.target_id == ident)
    if since:
        stmt = stmt.where(Audit.occurred_at >= since)
    if until:
        stmt = stmt.where(Audit.occurred_at < until)
    stmt = stmt.order_by(Audit.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return [_row(a) for a in session.scalars(stmt)]


def audit_rows(
    engine: Engine,
    who: Actor,
    *,
    now: datetime,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Audit rows, newest first, filtered by actor, action prefix, target (``execution:42``) and time.

    Raises:
        PermissionDenied: the actor may not read the audit trail.
    """
    if not 1 <= limit <= 100_000:
        raise ValidationError(f"--limit {limit}: between 1 and 100000")
    return door.read(
        engine,
        who,
        Permission.AUDIT_READ,
        lambda s: _query(s, actor=actor, action=action, target=target, since=since, until=until, limit=limit),
        what="read the audit trail",
        now=now,
    )


def export_audit(
    engine: Engine,
    who: Actor,
    dest: Path,
    *,
    fmt: str,
    now: datetime,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[Path, int]:
    """Write the matching rows (oldest first) to ``dest`` as CSV or JSON, readable by the owner only.

    Raises:
        PermissionDenied, ValidationError.
    """
    kind = fmt.lower()
    if kind not in {"csv", "json"}:
        raise ValidationError(f"--format {fmt!r}: csv or json")
    rows = door.read(
        engine,
        who,
        Permission.AUDIT_READ,
        lambda s: _query(s, actor=actor, action=action, target=target, since=since, until=until, limit=None),
        what="export the audit trail",
        now=now,
    )
    rows.reverse()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        if kind == "json":
            json.dump(rows, out, indent=1, default=str)
        else:
            writer = csv.DictWriter(out, fieldnames=list(_FIELDS))
            writer.writeheader()
            for r in rows:
                writer.writerow(r | {"details": json.dumps(r["details"], sort_keys=True, default=str)})
    door.record(engine, who, "audit.export", ("file", dest.name), now=now, details={"rows": len(rows)})
    return dest, len(rows)


def verify_audit(engine: Engine, who: Actor, *, now: datetime) -> ChainReport:
    """Walk the chain; the report names the first broken row.

    Raises:
        PermissionDenied: the actor may not read the audit trail.
    """
    return door.read(engine, who, Permission.AUDIT_READ, verify_chain, what="verify the audit trail", now=now)

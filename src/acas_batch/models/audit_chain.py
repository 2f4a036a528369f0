"""The audit trail's hash chain: every row carries the previous row's hash and its own.

Rows are appended only through :func:`append_audit`; :func:`verify_chain` recomputes every
hash and names the first row that does not match (a row changed, deleted or inserted behind
the application's back). Appends are serialised (PostgreSQL: a transaction-level advisory
lock; SQLite: write transactions are exclusive already) so the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from acas_batch.models.security import Audit

#: ``session.info`` key for the identity the services put on a transaction (os user, host, face, address).
IDENTITY_KEY = "acas_identity"
#: ``session.info`` key counting the audit rows written in the transaction.
COUNT_KEY = "acas_audited"
_LAST_KEY = "acas_audit_last"
_LOCK_ID = 0x41434153  # "ACAS"
_ACTOR_MAX = 64
_TARGET_MAX = 64


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True)


def canonical(row: Audit) -> str:
    """The text a row's hash covers: every column but ``row_hash`` itself."""
    return _json(
        [
            row.id,
            _stamp(row.occurred_at),
            row.actor,
            row.action,
            row.target_type,
            row.target_id,
            row.reason,
            row.details,
            row.os_user,
            row.host,
            row.client_addr,
            row.face,
            row.prev_hash or "",
        ]
    )


def row_digest(row: Audit) -> str:
    return hashlib.sha256(canonical(row).encode()).hexdigest()


def _last_hash(session: Session) -> str:
    cached = session.info.get(_LAST_KEY)
    if cached is not None:
        return str(cached)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    last = session.scalar(select(Audit.row_hash).order_by(Audit.id.desc()).limit(1))
    return last or ""


def _clip(value: object, limit: int) -> str | None:
    if value is None:
        return None
    out = str(value)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: object,
    now: datetime,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    identity: dict[str, str | None] | None = None,
) -> Audit:
    """Append one row to the audit trail in the caller's transaction, chained to the last one.

    ``identity`` (os_user, host, client_addr, face) defaults to what the services put on the
    session (``session.info[IDENTITY_KEY]``).
    """
    who = identity if identity is not None else session.info.get(IDENTITY_KEY, {})
    prev = _last_hash(session)
    row = Audit(
        occurred_at=now,
        actor=_clip(actor, _ACTOR_MAX) or "",
        action=action[:64],
        target_type=target_type[:32],
        target_id=_clip(target_id, _TARGET_MAX),
        reason=reason,
        details=None if details is None else json.loads(_json(details)),
        os_user=_clip(who.get("os_user"), 64),
        host=_clip(who.get("host"), 255),
        client_addr=_clip(who.get("client_addr"), 64),
        face=_clip(who.get("face"), 16),
        prev_hash=prev,
    )
    session.add(row)
    session.flush()  # the id is part of what the hash covers
    # The stored instant is what a later read returns; hash that (SQLite keeps microseconds too).
    row.occurred_at = row.occurred_at.astimezone(UTC)
    row.row_hash = row_digest(row)
    session.flush()
    session.info[_LAST_KEY] = row.row_hash
    session.info[COUNT_KEY] = int(session.info.get(COUNT_KEY, 0)) + 1
    return row


@dataclass(frozen=True)
class ChainReport:
    """What a walk of the chain found: rows checked and the first broken one (None: intact)."""

    rows: int
    broken_id: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.broken_id is None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": self.rows, "broken_id": self.broken_id, "problem": self.problem}


def _rows(session: Session, batch: int = 2000) -> Iterator[Audit]:
    after = 0
    while True:
        chunk = list(session.scalars(select(Audit).where(Audit.id > after).order_by(Audit.id).limit(batch)))
        if not chunk:
            return
        yield from chunk
        after = chunk[-1].id
        session.expunge_all()


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash in id order; name the first row whose link or content does not match."""
    prev = ""
    count = 0
    for row in _rows(session):
        count += 1
        if (row.prev_hash or "") != prev:
            return ChainReport(count, row.id, "its link to the previous row is broken (a row was removed or inserted)")
        if row.row_hash != row_digest(row):
            return ChainReport(count, row.id, "its content does not match its hash (the row was changed)")
        prev = row.row_hash or ""
    return ChainReport(count, None, None)

"""Secret job parameters: the key (created on ``init``), sealing a value, rotating the key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.models import BatchExecution, BatchJob, BatchSchedule
from acas_batch.secretbox import SecretBox, ensure_key_file, keep_only, new_key_first, reseal_all
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services import door

#: The JSON columns that may hold sealed values.
_SEALED_COLUMNS: tuple[tuple[Any, str], ...] = (
    (BatchExecution, "params"),
    (BatchSchedule, "params"),
    (BatchJob, "default_params"),
)


def ensure_secret_key(settings: Settings) -> Path | None:
    """Create the data folder's key file (0600) unless a key is configured; returns it when created."""
    return ensure_key_file(settings)


def seal_secret(engine: Engine, settings: Settings, clear: str, *, actor: Actor, now: datetime) -> str:
    """``clear`` sealed with the installation's key, for a job's defaults or a schedule's parameters.

    Sealing needs ``jobs:write``, the permission to write a job's parameters, where a sealed value
    goes. It is audited (``secrets.seal``), neither the clear nor the sealed value recorded. A key
    file is made first if the installation has none yet.

    Raises:
        PermissionDenied: ``actor`` may not write jobs (audited; nothing else written, no key made).
        ValidationError: the configured key is not a valid key.
    """
    return door.perform(
        engine,
        actor,
        Permission.JOBS_WRITE,
        "secrets.seal",
        ("system", None),
        lambda _session: SecretBox.for_settings(settings).seal(clear),
        now=now,
    )


@dataclass(frozen=True)
class Rotation:
    """What a key rotation did."""

    resealed: int  # sealed values re-encrypted with the new key
    rows: int  # rows changed


def rotate_secret_key(engine: Engine, settings: Settings, *, actor: Actor, now: datetime) -> Rotation:
    """Write a new key, re-seal every stored secret with it, then drop the old keys.

    The new key goes in front of the key file first, so a value sealed meanwhile (by a process still
    holding the old key) opens with either key; the old keys are dropped only after every row is
    re-sealed in one transaction. A failure leaves both keys in the file: nothing is lost.

    Only an administrator (``settings:write``) rotates the key; the rotation is audited.

    Raises:
        PermissionDenied: ``actor`` may not change the installation's settings (audited).
        ValidationError: the key comes from ``ACAS_SECRET_KEY`` (rotate it where it is kept), or a stored
            value does not open with the configured keys.
    """
    door.allowed(engine, actor, Permission.SETTINGS_WRITE, what="secrets.rotate_key", now=now)
    keys = new_key_first(settings)
    box = SecretBox.for_settings(settings)
    resealed = rows = 0
    with transaction(engine, write=True) as session:
        for model, column in _SEALED_COLUMNS:
            attr = getattr(model, column)
            for row in session.scalars(select(model).where(attr.is_not(None))):
                value, n = reseal_all(getattr(row, column), box)
                if n:
                    setattr(row, column, value)
                    resealed += n
                    rows += 1
    keep_only(settings, keys[:1])
    door.record(
        engine, actor, "secrets.rotate_key", ("system", None), now=now, details={"resealed": resealed, "rows": rows}
    )
    return Rotation(resealed=resealed, rows=rows)

"""The demo company: a deterministic UK wholesaler with two years of trading."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import Engine

from acas_batch.db import check_connection
from acas_batch.ledger.demo import DemoProgress, DemoReport, DemoSize, generate, ledger_is_empty
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services import door

__all__ = ["DemoProgress", "DemoReport", "DemoSize", "generate_demo"]


def generate_demo(
    engine: Engine,
    size: DemoSize,
    *,
    end: date,
    seed: int,
    actor: Actor,
    now: datetime,
    if_empty: bool = False,
    progress: Callable[[DemoProgress], None] | None = None,
) -> DemoReport | None:
    """Build the demo company as ``actor``, an administrator (``settings:write``); with
    ``if_empty``, do nothing (None) when a ledger exists. The generation is audited.

    Raises:
        DatabaseError: the database cannot be reached.
        PermissionDenied: ``actor`` may not change the installation's settings (audited).
    """
    check_connection(engine)
    door.allowed(engine, actor, Permission.SETTINGS_WRITE, what="demo.generate", now=now)
    if if_empty and not ledger_is_empty(engine):
        return None
    report = generate(engine, size=size, end=end, seed=seed, progress=progress)
    door.record(engine, actor, "demo.generate", ("system", None), now=now, details={"size": str(size), "seed": seed})
    return report

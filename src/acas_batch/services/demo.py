"""The demo company: a deterministic UK wholesaler with two years of trading."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import Engine

from acas_batch.db import check_connection
from acas_batch.ledger.demo import DemoProgress, DemoReport, DemoSize, generate, ledger_is_empty

__all__ = ["DemoProgress", "DemoReport", "DemoSize", "generate_demo"]


def generate_demo(
    engine: Engine,
    size: DemoSize,
    *,
    end: date,
    seed: int,
    if_empty: bool = False,
    progress: Callable[[DemoProgress], None] | None = None,
) -> DemoReport | None:
    """Build the demo company; with ``if_empty``, do nothing (None) when a ledger exists.

    Raises:
        DatabaseError: the database cannot be reached.
    """
    check_connection(engine)
    if if_empty and not ledger_is_empty(engine):
        return None
    return generate(engine, size=size, end=end, seed=seed, progress=progress)

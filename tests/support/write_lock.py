"""Whether another process could write to an SQLite database at a given moment (its write lock is free)."""

from __future__ import annotations

import sqlite3
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy.engine import make_url


def another_writer_gets_through(db_url: str) -> bool:
    """Take SQLite's write lock from a connection of our own, waiting at most 0.2 s, and give it back."""
    path = make_url(db_url).database
    assert path, db_url
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:  # database is locked: a transaction holds the write lock
        assert "locked" in str(exc), exc
        return False
    finally:
        other.close()


def lock_seen_during(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str, db_url: str) -> list[bool]:
    """Patch ``module.name`` to note, each time it is called, whether another writer gets through
    then; returns the list the notes go to."""
    seen: list[bool] = []
    real = getattr(module, name)

    def noting(*args: Any, **kwargs: Any) -> Any:
        seen.append(another_writer_gets_through(db_url))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, noting)
    return seen

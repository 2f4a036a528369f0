"""What the spec's facades share: resolving ``db`` and ``current_user``, and ``(success, result)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.clock import Clock, SystemClock
from acas_batch.config import Settings, load_settings
from acas_batch.db import make_engine, transaction
from acas_batch.errors import AcasBatchError

T = TypeVar("T")
Outcome = tuple[bool, Any]


def connect(settings: Settings) -> Engine:
    """The engine for the settings' database (nothing is opened until first use)."""
    return make_engine(settings.database_url, busy_timeout=settings.busy_timeout_seconds)


def actor_of(current_user: object) -> str:
    """The name the audit trail and alerts record for ``current_user``.

    Accepts None (the system), a username, or any object with a ``username`` (a
    ``User`` row or the caller's own user object).
    """
    if current_user is None:
        return "system"
    if isinstance(current_user, str):
        return current_user
    name = getattr(current_user, "username", None)
    return str(name) if name else str(current_user)


class Facade:
    """A service bound to one database, one user and one clock."""

    def __init__(
        self,
        db: Engine | str | None = None,
        current_user: object = None,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
    ) -> None:
        if settings is None:
            url = db if isinstance(db, str) else (db.url.render_as_string(hide_password=False) if db else None)
            settings = load_settings(database_url=url)
        self.settings = settings
        self.engine = (
            db
            if isinstance(db, Engine)
            else make_engine(settings.database_url, busy_timeout=settings.busy_timeout_seconds)
        )
        self.clock: Clock = clock or SystemClock()
        self.current_user = current_user
        self.actor = actor_of(current_user)
        #: The error behind the last ``(False, message)``.
        self.last_error: AcasBatchError | None = None

    def _failed(self, exc: AcasBatchError) -> tuple[bool, str]:
        self.last_error = exc
        return False, str(exc)

    def _run(self, action: Callable[[Session], T], *, write: bool = False) -> T:
        """Run ``action`` in one transaction; errors propagate."""
        with transaction(self.engine, write=write) as session:
            return action(session)

    def _call(self, action: Callable[[Session], T], *, write: bool = False) -> tuple[bool, T | str]:
        """Run ``action`` in one transaction; user errors become ``(False, message)``."""
        try:
            with transaction(self.engine, write=write) as session:
                return True, action(session)
        except AcasBatchError as exc:
            return self._failed(exc)

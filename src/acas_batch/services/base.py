"""What the spec's facades share: resolving ``db`` and ``current_user``, and ``(success, result)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.clock import Clock, SystemClock
from acas_batch.config import Settings, load_settings
from acas_batch.db import make_engine, transaction
from acas_batch.errors import AcasBatchError, AuthenticationRequired
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services import door
from acas_batch.services.identity import actor_for_username

T = TypeVar("T")
Outcome = tuple[bool, Any]


def connect(settings: Settings) -> Engine:
    """The engine for the settings' database (nothing is opened until first use)."""
    return make_engine(settings.database_url, busy_timeout=settings.busy_timeout_seconds)


def resolve_actor(engine: Engine, who: object, *, face: str = "python") -> Actor:
    """The acting user of a facade: ``who`` may be an :class:`Actor`, a username (that active
    user's role), anything with a ``username``, or None: the local administrator console (whoever
    runs the Python API in-process can open the database anyway).

    Raises:
        AuthenticationRequired: no active user has the name.
    """
    if who is None:
        return Actor.console(face=face)
    if isinstance(who, Actor):
        return who
    name = who if isinstance(who, str) else getattr(who, "username", None)
    if not name:
        raise AuthenticationRequired(f"cannot tell who {who!r} is: give a username or an Actor")
    return actor_for_username(engine, str(name), face=face)


class Facade:
    """A service bound to one database, one user and one clock."""

    def __init__(
        self,
        db: Engine | str | None = None,
        current_user: object = None,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
        actor: Actor | None = None,
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
        #: Who acts through this facade; every call is checked against the policy for them.
        self.actor: Actor = resolve_actor(self.engine, actor if actor is not None else current_user)
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

    def _guarded(
        self,
        permission: Permission,
        action: str,
        target: tuple[str, object],
        fn: Callable[[Session], T],
        *,
        reason: str | None = None,
        details: Any = None,
    ) -> tuple[bool, T | str]:
        """Check the actor's permission, act and audit in one transaction; errors become ``(False, message)``."""
        try:
            return True, door.perform(
                self.engine, self.actor, permission, action, target, fn,
                now=self.clock.now(), reason=reason, details=details,
            )  # fmt: skip
        except AcasBatchError as exc:
            return self._failed(exc)

    def _reading(self, permission: Permission, what: str, fn: Callable[[Session], T]) -> tuple[bool, T | str]:
        """Check a read permission, then read in one transaction; errors become ``(False, message)``."""
        try:
            return True, door.read(self.engine, self.actor, permission, fn, what=what, now=self.clock.now())
        except AcasBatchError as exc:
            return self._failed(exc)

    def _may(self, permission: Permission, what: str) -> None:
        """Raise PermissionDenied (audited) unless the actor holds ``permission``."""
        door.allowed(self.engine, self.actor, permission, what=what, now=self.clock.now())

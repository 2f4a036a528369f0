"""Who is asking: sign-in, sessions, API tokens and the acting user of every request.

The one module of the web face that knows where identities come from: the services'
identity functions (users, argon2id passwords, server-side sessions and API tokens in the
database, sign-in throttling). Permissions are checked by the services through their door,
which audits a refusal; templates use :func:`may` only to hide what the user cannot do.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from acas_batch.clock import Clock, SystemClock
from acas_batch.errors import ValidationError
from acas_batch.services import identity
from acas_batch.services.identity import Actor, may

__all__ = ["SESSION_LIFETIME", "Actor", "Identities", "first_admin", "may"]

#: How long a session cookie is kept by the browser (the server ends idle sessions sooner).
SESSION_LIFETIME: timedelta = identity.SESSION_ABSOLUTE


class Identities:
    """The identity functions of one database, as the pages and the API use them."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()

    def _console(self) -> Actor:
        return Actor.console(face="web")

    # --- users ---------------------------------------------------------------------
    def add_user(self, username: str, password: str, role: str, *, actor: Actor | None = None) -> None:
        """Create a user with a role, as ``actor`` (default: the local console, for set-up)."""
        identity.add_user(
            self.engine, actor or self._console(), username, role=role, password=password, now=self.clock.now()
        )

    @property
    def users(self) -> set[str]:
        """The usernames that exist (for set-up code and tests)."""
        return {u.username for u in identity.list_users(self.engine, self._console(), now=self.clock.now())}

    def list_users(self, actor: Actor) -> list[dict[str, Any]]:
        return [
            {"username": u.username, "role": u.role, "active": u.active}
            for u in identity.list_users(self.engine, actor, now=self.clock.now())
        ]

    # --- sign-in and sessions ----------------------------------------------------------
    def authenticate_password(self, username: str, password: str, *, client_addr: str | None, face: str) -> Actor:
        """The user these credentials name (slowed down after repeated failures).

        Raises:
            AuthenticationRequired: unknown user, wrong password or disabled account (one message).
        """
        return identity.authenticate_password(
            self.engine, username, password, client_addr=client_addr, face=face, now=self.clock.now()
        )

    def create_session(self, actor: Actor) -> tuple[str, str]:
        """A new server-side session for ``actor``: its cookie value and its CSRF token."""
        token = identity.create_session(self.engine, actor, now=self.clock.now())
        return token, csrf_of(token)

    def resolve_session(self, token: str, *, client_addr: str | None) -> tuple[Actor, str]:
        """The actor and CSRF token of a live session.

        Raises:
            AuthenticationRequired: no such session, ended, idle too long or expired.
        """
        actor = identity.resolve_session(self.engine, token, now=self.clock.now(), client_addr=client_addr)
        return actor, csrf_of(token)

    def end_session(self, token: str) -> None:
        identity.end_session(self.engine, token, now=self.clock.now())

    # --- API tokens ------------------------------------------------------------------------
    def create_token(self, username: str, name: str, *, actor: Actor | None = None) -> str:
        """A new API token for ``username``; only its hash is kept, so it is shown once.

        Raises:
            ValidationError: a missing name; NotFound: an unknown user.
        """
        if not username.strip():
            raise ValidationError("name the user the token is for", fields={"username": "required"})
        token, _view = identity.create_token(
            self.engine, actor or self._console(), name=name, username=username, now=self.clock.now()
        )
        return token

    def list_tokens(self, actor: Actor) -> list[dict[str, Any]]:
        return [
            t.as_dict() | {"revoked": t.revoked_at is not None, "created_at": t.created_at}
            for t in identity.list_tokens(self.engine, actor, now=self.clock.now())
        ]

    def revoke_token(self, token_id: int, *, actor: Actor) -> None:
        identity.revoke_token(self.engine, actor, token_id, now=self.clock.now())

    def authenticate_token(self, token: str, *, client_addr: str | None) -> Actor:
        """The user an API token acts for, narrowed to the token's role.

        Raises:
            AuthenticationRequired: an unknown, expired or revoked token, or a disabled user.
        """
        return identity.authenticate_token(
            self.engine, token, client_addr=client_addr, face="api", now=self.clock.now()
        )


def csrf_of(session_token: str) -> str:
    """The CSRF token of a session: derived from its secret, so nothing more is stored."""
    return hmac.new(session_token.encode(), b"acas-batch csrf", hashlib.sha256).hexdigest()[:43]


def first_admin(identities: Identities, data_dir: Path) -> tuple[str, str | None]:
    """The first administrator's credentials for the start-up banner (see
    ``identity.first_admin_credentials``): the password when it is known, else None."""
    username, password, _made = identity.first_admin_credentials(
        identities.engine, data_dir, now=identities.clock.now()
    )
    return username, password


def new_signin_token() -> str:
    return secrets.token_urlsafe(24)

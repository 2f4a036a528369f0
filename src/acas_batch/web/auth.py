"""Who is asking: sign-in, sessions, API tokens and the acting user of every request.

This is the one module of the web face that knows where identities come from. Until the
services' identity module (users in the database, the permission policy) is in place it
keeps the first administrator and any users and tokens made here in memory, with the
standard roles' permissions; the pages and the API see only :class:`Actor`, :func:`may`
and the functions below, so moving to the database changes this module alone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from acas_batch.errors import AuthenticationRequired, PermissionDenied, ValidationError

#: The standard roles and what each may do (the same table as the security package's roles).
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {
            "jobs:read",
            "jobs:write",
            "jobs:run",
            "schedules:write",
            "executions:read",
            "executions:control",
            "executions:force",
            "logs:read",
            "logs:export",
            "alerts:read",
            "alerts:manage",
            "users:manage",
            "audit:read",
        }
    ),
    "operator": frozenset(
        {
            "jobs:read",
            "jobs:run",
            "executions:read",
            "executions:control",
            "logs:read",
            "logs:export",
            "alerts:read",
            "alerts:manage",
        }
    ),
    "accountant": frozenset({"jobs:read", "jobs:run", "executions:read", "logs:read", "logs:export", "alerts:read"}),
    "viewer": frozenset({"jobs:read", "executions:read", "logs:read", "alerts:read"}),
}

SESSION_LIFETIME = timedelta(hours=12)
TOKEN_PREFIX = "acas_"


@dataclass(frozen=True)
class Actor:
    """The person or program a request acts for."""

    username: str
    role: str
    permissions: frozenset[str]
    modules: frozenset[str] | None = None
    face: str = "web"
    user_id: int | None = None
    os_user: str | None = None
    host: str | None = None
    client_addr: str | None = None


def may(actor: Actor | None, permission: str, module: str | None = None) -> bool:
    """Whether ``actor`` may do ``permission`` (templates use it only to hide buttons)."""
    if actor is None or permission not in actor.permissions:
        return False
    return module is None or actor.modules is None or module in actor.modules


def require(actor: Actor, permission: str) -> None:
    """Refuse the request unless ``actor`` may do ``permission``.

    Raises:
        PermissionDenied: naming the user and the permission.
    """
    if not may(actor, permission):
        raise PermissionDenied(f"{actor.username} ({actor.role}) may not {permission}")


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, 200_000)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class _User:
    username: str
    role: str
    salt: bytes
    password_hash: bytes
    active: bool = True


@dataclass
class _Session:
    actor: Actor
    csrf: str
    expires_at: datetime


@dataclass
class _Token:
    id: int
    name: str
    username: str
    created_at: datetime
    revoked: bool = False


@dataclass
class Identities:
    """Users, sessions and API tokens of one running web application."""

    users: dict[str, _User] = field(default_factory=dict)
    sessions: dict[str, _Session] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- users ---------------------------------------------------------------------
    def add_user(self, username: str, password: str, role: str) -> None:
        """Create (or replace) a user.

        Raises:
            ValidationError: an unknown role, an empty name or a password under 8 characters.
        """
        if role not in ROLE_PERMISSIONS:
            raise ValidationError(f"role {role!r} is not one of {', '.join(ROLE_PERMISSIONS)}", fields={"role": role})
        if not username.strip():
            raise ValidationError("a user needs a name", fields={"username": "required"})
        if len(password) < 8:
            raise ValidationError("a password needs at least 8 characters", fields={"password": "too short"})
        salt = secrets.token_bytes(16)
        with self.lock:
            self.users[username] = _User(username, role, salt, _hash(password, salt))

    def list_users(self) -> list[dict[str, object]]:
        return [{"username": u.username, "role": u.role, "active": u.active} for u in self.users.values()]

    def _actor(self, user: _User, *, face: str, client_addr: str | None) -> Actor:
        return Actor(user.username, user.role, ROLE_PERMISSIONS[user.role], face=face, client_addr=client_addr)

    # --- sign-in and sessions ----------------------------------------------------------
    def authenticate_password(self, username: str, password: str, *, client_addr: str | None, face: str) -> Actor:
        """The user these credentials name.

        Raises:
            AuthenticationRequired: unknown user or wrong password (the same message for both).
        """
        user = self.users.get(username)
        if user is None or not user.active or not hmac.compare_digest(_hash(password, user.salt), user.password_hash):
            raise AuthenticationRequired("wrong user name or password")
        return self._actor(user, face=face, client_addr=client_addr)

    def create_session(self, actor: Actor, *, now: datetime) -> tuple[str, str]:
        """A new session for ``actor``: its cookie value and its CSRF token."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        with self.lock:
            self.sessions[_digest(token)] = _Session(actor, csrf, now + SESSION_LIFETIME)
        return token, csrf

    def resolve_session(self, token: str, *, now: datetime, client_addr: str | None) -> tuple[Actor, str]:
        """The actor and CSRF token of a live session.

        Raises:
            AuthenticationRequired: no such session, or it expired.
        """
        found = self.sessions.get(_digest(token))
        if found is None or found.expires_at <= now:
            raise AuthenticationRequired("not signed in, or the session expired")
        user = self.users.get(found.actor.username)
        if user is None or not user.active:
            raise AuthenticationRequired("the user of this session is no longer active")
        return replace(found.actor, client_addr=client_addr), found.csrf

    def end_session(self, token: str) -> None:
        with self.lock:
            self.sessions.pop(_digest(token), None)

    # --- API tokens ------------------------------------------------------------------------
    def create_token(self, username: str, name: str, *, now: datetime) -> str:
        """A new API token for ``username``; only its hash is kept, so it is shown once.

        Raises:
            ValidationError: an unknown user.
        """
        if username not in self.users:
            raise ValidationError(f"no user is named {username!r}", fields={"username": "unknown"})
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[_digest(token)] = _Token(len(self.tokens) + 1, name, username, now)
        return token

    def list_tokens(self) -> list[dict[str, object]]:
        return [
            {"id": t.id, "name": t.name, "username": t.username, "created_at": t.created_at, "revoked": t.revoked}
            for t in self.tokens.values()
        ]

    def revoke_token(self, token_id: int) -> None:
        for t in self.tokens.values():
            if t.id == token_id:
                t.revoked = True

    def authenticate_token(self, token: str, *, client_addr: str | None) -> Actor:
        """The user an API token acts for.

        Raises:
            AuthenticationRequired: an unknown or revoked token.
        """
        found = self.tokens.get(_digest(token))
        user = self.users.get(found.username) if found is not None and not found.revoked else None
        if user is None or not user.active:
            raise AuthenticationRequired("the API token is unknown or revoked")
        return self._actor(user, face="api", client_addr=client_addr)


def first_admin(identities: Identities, data_dir: Path) -> tuple[str, str]:
    """The first administrator's credentials, made once and kept (mode 0600) in the data folder."""
    path = data_dir / "admin-credentials.txt"
    if path.exists():
        username, _, password = path.read_text().strip().partition(":")
    else:
        username, password = "admin", secrets.token_urlsafe(12)
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(f"{username}:{password}\n")
    if username not in identities.users:
        identities.add_user(username, password, "admin")
    return username, password

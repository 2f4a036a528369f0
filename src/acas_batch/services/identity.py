"""Who is acting: passwords, sign-in with throttling, sessions, API tokens and users.

Passwords are hashed with argon2id (parameters in the hash string; a hash made with weaker
parameters is replaced at the next sign-in). Session and API token secrets are random; only
their SHA-256 is stored. Failed sign-ins slow the next attempt on that account and from that
address down (a delay growing to :data:`MAX_DELAY`); nobody is ever locked out.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from acas_batch.db import transaction
from acas_batch.errors import AuthenticationRequired, Conflict, NotFound, PermissionDenied, ValidationError
from acas_batch.models.audit_chain import append_audit
from acas_batch.models.security import LoginThrottle, Role, User, UserSession
from acas_batch.security.actor import Actor, host_name, os_user
from acas_batch.security.policy import MODULES, READER_CONSOLE, STANDARD_ROLES, Permission, may
from acas_batch.security.roles import install_standard_roles
from acas_batch.services.door import identity_of, perform, read

#: argon2id at OWASP's minimum for argon2id (m=19 MiB, t=2, p=1) or above.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
#: A login session ends after this long without use ...
SESSION_IDLE = timedelta(minutes=30)
#: ... and this long after sign-in in any case.
SESSION_ABSOLUTE = timedelta(hours=12)
#: API tokens expire after this many days unless told otherwise.
TOKEN_DAYS = 90
TOKEN_PREFIX = "acas_"
SESSION_PREFIX = "acas_s_"
#: Failed attempts allowed before any delay, the first delay, and the longest one (seconds).
FREE_FAILURES = 3
FIRST_DELAY = 0.5
MAX_DELAY = 30.0
#: Failures older than this are forgotten.
FAILURE_MEMORY = timedelta(minutes=15)
MIN_PASSWORD = 10
_USERNAME_CHARS = set(string.ascii_letters + string.digits + "._-@")
_DUMMY_HASH = HASHER.hash("not a password of anyone")
T = TypeVar("T")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def login_delay(failures: int) -> float:
    """Seconds the next sign-in waits after ``failures`` recent failures: none for the first
    few, then doubling up to :data:`MAX_DELAY`."""
    if failures < FREE_FAILURES:
        return 0.0
    return float(min(FIRST_DELAY * 2 ** (failures - FREE_FAILURES), MAX_DELAY))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > 64 or not set(name) <= _USERNAME_CHARS or name.startswith("console:"):
        raise ValidationError(f"username {username[:70]!r}: use 1-64 letters, digits, '.', '_', '-' or '@'")
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"a password needs at least {MIN_PASSWORD} characters")
    if "\x00" in password:
        raise ValidationError("a password cannot hold a NUL character")


def _role(session: Session, name: str) -> Role:
    role = session.scalar(select(Role).where(Role.name == name))
    if role is None and name in STANDARD_ROLES:
        install_standard_roles(session)
        role = session.scalar(select(Role).where(Role.name == name))
    if role is None:
        names = sorted(set(session.scalars(select(Role.name))) | set(STANDARD_ROLES))
        raise ValidationError(f"no role is named {name!r} (roles: {', '.join(names)})")
    return role


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user is named {username!r}")
    return user


def actor_of_user(
    session: Session, user: User, *, face: str, client_addr: str | None = None, scope: Role | None = None
) -> Actor:
    """The Actor for ``user`` with their role's permissions (narrowed to ``scope``'s, for a token)."""
    role = session.get(Role, user.role_id)
    if role is None:  # pragma: no cover - a foreign key keeps it
        raise NotFound(f"user {user.username!r} has no role")
    permissions = frozenset(role.permissions)
    modules = None if role.modules is None else frozenset(role.modules)
    if scope is not None and scope.id != role.id:
        permissions &= frozenset(scope.permissions)
        if scope.modules is not None:
            modules = frozenset(scope.modules) if modules is None else modules & frozenset(scope.modules)
    return Actor(
        username=user.username,
        role=role.name if scope is None else scope.name,
        permissions=permissions,
        modules=modules,
        face=face,
        user_id=user.id,
        os_user=os_user() if face in {"cli", "python"} else None,
        host=host_name() if face in {"cli", "python"} else None,
        client_addr=client_addr,
        zone=user.time_zone,
    )


def actor_for_username(engine: Engine, username: str, *, face: str) -> Actor:
    """The Actor of an active user, without a password: for in-process callers of the Python API,
    who can open the database anyway.

    Raises:
        AuthenticationRequired: no such active user.
    """
    with transaction(engine) as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            raise AuthenticationRequired(f"no active user is named {username!r}")
        return actor_of_user(session, user, face=face)


# --- sign-in -------------------------------------------------------------------------------------
def _failures(session: Session, key: str, now: datetime) -> int:
    row = session.scalar(select(LoginThrottle).where(LoginThrottle.key == key))
    if row is None or now - row.last_failure_at > FAILURE_MEMORY:
        return 0
    return row.failures


def _fail(session: Session, key: str, now: datetime) -> None:
    row = session.scalar(select(LoginThrottle).where(LoginThrottle.key == key))
    if row is None:
        session.add(LoginThrottle(key=key, failures=1, last_failure_at=now))
    else:
        row.failures = 1 if now - row.last_failure_at > FAILURE_MEMORY else row.failures + 1
        row.last_failure_at = now


def _keys(username: str, client_addr: str | None) -> list[str]:
    return [f"user:{username[:190]}"] + ([f"addr:{client_addr[:190]}"] if client_addr else [])


def pending_delay(engine: Engine, username: str, *, client_addr: str | None, now: datetime) -> float:
    """The delay the next sign-in as ``username`` from ``client_addr`` will wait."""
    with transaction(engine) as session:
        return login_delay(max(_failures(session, k, now) for k in _keys(username, client_addr)))


def authenticate_password(
    engine: Engine,
    username: str,
    password: str,
    *,
    client_addr: str | None,
    face: str,
    now: datetime,
    sleep: Callable[[float], None] = time.sleep,
) -> Actor:
    """Sign in with a password: the user's Actor.

    After repeated failures on the account or from the address, waits first (``sleep``).

    Raises:
        AuthenticationRequired: unknown user, wrong password or disabled account (one message for all).
    """
    delay = pending_delay(engine, username, client_addr=client_addr, now=now)
    if delay > 0:
        sleep(delay)
    with transaction(engine, write=True) as session:
        user = session.scalar(select(User).where(User.username == username))
        stored = user.password_hash if user is not None and user.active else None
        good = False
        try:
            good = HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            good = False
        if not good or user is None:
            for key in _keys(username, client_addr):
                _fail(session, key, now)
            append_audit(
                session,
                actor=username[:64] or "?",
                action="auth.login_failed",
                target_type="user",
                target_id=username[:64],
                now=now,
                details={"delay_seconds": delay},
                identity={"os_user": None, "host": None, "client_addr": client_addr, "face": face},
            )
        else:
            if HASHER.check_needs_rehash(stored or ""):
                user.password_hash = HASHER.hash(password)
            user.last_login_at = now
            throttle = session.scalar(select(LoginThrottle).where(LoginThrottle.key == _keys(username, None)[0]))
            if throttle is not None:
                session.delete(throttle)
            return actor_of_user(session, user, face=face, client_addr=client_addr)
    raise AuthenticationRequired("wrong username or password")


def authenticate_token(engine: Engine, token: str, *, client_addr: str | None, face: str, now: datetime) -> Actor:
    """Sign in with an API token (``acas_...``): the Actor of its user, narrowed to the token's role.

    Raises:
        AuthenticationRequired: unknown, expired or revoked token, or a disabled user.
    """
    return _resolve(engine, token, kind="api_token", client_addr=client_addr, face=face, now=now, idle=None)


def _resolve(
    engine: Engine,
    token: str,
    *,
    kind: str,
    client_addr: str | None,
    face: str,
    now: datetime,
    idle: timedelta | None,
) -> Actor:
    with transaction(engine, write=True) as session:
        row = session.scalar(
            select(UserSession).where(UserSession.token_hash == _digest(token), UserSession.kind == kind)
        )
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise AuthenticationRequired(f"the {kind.replace('_', ' ')} is unknown, expired or revoked")
        if idle is not None and (row.last_used_at or row.created_at) + idle <= now:
            row.expires_at = now
            raise AuthenticationRequired("the session ended after a time without use: sign in again")
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            raise AuthenticationRequired("the account is disabled")
        row.last_used_at = now
        scope = session.get(Role, row.role_id) if row.role_id is not None else None
        return actor_of_user(session, user, face=face, client_addr=client_addr or row.client_addr, scope=scope)


def create_session(engine: Engine, actor: Actor, *, now: datetime, absolute: timedelta = SESSION_ABSOLUTE) -> str:
    """A new login session for a signed-in user; returns its secret (shown to their browser only)."""
    if actor.user_id is None:
        raise AuthenticationRequired("only a user signed in with a password has a session")
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    with transaction(engine, write=True) as session:
        session.add(
            UserSession(
                user_id=actor.user_id,
                kind="session",
                token_hash=_digest(token),
                created_at=now,
                expires_at=now + absolute,
                last_used_at=now,
                client_addr=actor.client_addr,
            )
        )
    return token


def resolve_session(
    engine: Engine, session_token: str, *, now: datetime, client_addr: str | None, idle: timedelta = SESSION_IDLE
) -> Actor:
    """The Actor of a live session (idle and absolute expiry checked; its last use moved to now).

    Raises:
        AuthenticationRequired: unknown, ended, idle too long or expired.
    """
    return _resolve(engine, session_token, kind="session", client_addr=client_addr, face="web", now=now, idle=idle)


def end_session(engine: Engine, token: str, *, now: datetime) -> None:
    """Sign out: the session can no longer be used."""
    with transaction(engine, write=True) as session:
        row = session.scalar(select(UserSession).where(UserSession.token_hash == _digest(token)))
        if row is not None and row.revoked_at is None:
            row.revoked_at = now


# --- users ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UserView:
    username: str
    role: str
    active: bool
    display_name: str
    email: str | None
    created_at: datetime
    last_login_at: datetime | None
    #: The zone the user reads times in; None: the company's.
    time_zone: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role,
            "active": self.active,
            "display_name": self.display_name,
            "email": self.email,
            "created_at": self.created_at.isoformat(),
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
            "time_zone": self.time_zone,
        }


def generate_password() -> str:
    """A random password of 20 characters (about 119 bits)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(20))


def _insert_user(session: Session, username: str, role: str, password: str, now: datetime, **extra: Any) -> User:
    name = _check_username(username)
    _check_password(password)
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict(f"a user named {name!r} exists already")
    user = User(
        username=name,
        role_id=_role(session, role).id,
        password_hash=hash_password(password),
        active=True,
        created_at=now,
        display_name=extra.get("display_name") or "",
        email=extra.get("email"),
    )
    session.add(user)
    session.flush()
    return user


def add_user(
    engine: Engine,
    actor: Actor,
    username: str,
    *,
    role: str,
    password: str,
    now: datetime,
    display_name: str = "",
    email: str | None = None,
) -> UserView:
    """Create a user with a role.

    Raises:
        PermissionDenied, ValidationError, Conflict: nothing written (a refusal is audited).
    """

    def act(session: Session) -> UserView:
        user = _insert_user(session, username, role, password, now, display_name=display_name, email=email)
        return _view(session, user)

    return perform(
        engine,
        actor,
        Permission.USERS_MANAGE,
        "user.add",
        ("user", username[:64]),
        act,
        now=now,
        details=lambda v: {"after": {"username": v.username, "role": v.role}},
    )


def _view(session: Session, user: User) -> UserView:
    role = session.get(Role, user.role_id)
    return UserView(
        user.username,
        role.name if role else "?",
        user.active,
        user.display_name,
        user.email,
        user.created_at,
        user.last_login_at,
        user.time_zone,
    )


def list_users(engine: Engine, actor: Actor, *, now: datetime) -> list[UserView]:
    """Every user with their role (passwords never leave the database, not even hashed)."""
    return read(
        engine,
        actor,
        Permission.USERS_MANAGE,
        lambda s: [_view(s, u) for u in s.scalars(select(User).order_by(User.username))],
        what="list users",
        now=now,
    )


def my_account(engine: Engine, actor: Actor) -> UserView:
    """The signed-in user's own account (anyone may read their own).

    Raises:
        NotFound: the actor is not a user of this database (the console, the system).
    """
    if actor.user_id is None:
        raise NotFound(f"{actor.username} is not a user with an account: sign in as one")
    with transaction(engine) as session:
        user = session.get(User, actor.user_id)
        if user is None:
            raise NotFound(f"no user is named {actor.username!r}")
        return _view(session, user)


def _admins_left(session: Session, without: int) -> int:
    admin = session.scalar(select(Role.id).where(Role.name == "admin"))
    return int(
        session.scalar(select(func.count()).where(User.role_id == admin, User.active.is_(True), User.id != without))
        or 0
    )


def set_user_active(
    engine: Engine, actor: Actor, username: str, active: bool, *, now: datetime, reason: str | None = None
) -> UserView:
    """Disable (or enable again) a user; disabling ends their sessions and tokens.

    Raises:
        PermissionDenied, NotFound, Conflict (the last active administrator).
    """

    def act(session: Session) -> UserView:
        user = _user(session, username)
        if not active and _admins_left(session, user.id) == 0 and _is_admin(session, user):
            raise Conflict(f"{username!r} is the last active administrator")
        before = user.active
        user.active = active
        if not active:
            for row in session.scalars(
                select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
            ):
                row.revoked_at = now
        append_audit(
            session,
            actor=actor.username,
            action="user.enable" if active else "user.disable",
            target_type="user",
            target_id=username,
            now=now,
            reason=reason,
            details={"before": {"active": before}, "after": {"active": active}},
        )
        return _view(session, user)

    return perform(
        engine,
        actor,
        Permission.USERS_MANAGE,
        "user.disable" if not active else "user.enable",
        ("user", username),
        act,
        now=now,
        reason=reason,
    )


def _is_admin(session: Session, user: User) -> bool:
    role = session.get(Role, user.role_id)
    return role is not None and role.name == "admin"


def set_user_role(engine: Engine, actor: Actor, username: str, role: str, *, now: datetime) -> UserView:
    """Give a user another role.

    Raises:
        PermissionDenied, NotFound, ValidationError, Conflict (demoting the last administrator).
    """

    def act(session: Session) -> UserView:
        user = _user(session, username)
        new = _role(session, role)
        old = session.get(Role, user.role_id)
        if new.name != "admin" and _is_admin(session, user) and _admins_left(session, user.id) == 0:
            raise Conflict(f"{username!r} is the last active administrator")
        user.role_id = new.id
        append_audit(
            session,
            actor=actor.username,
            action="user.set_role",
            target_type="user",
            target_id=username,
            now=now,
            details={"before": {"role": old.name if old else None}, "after": {"role": new.name}},
        )
        return _view(session, user)

    return perform(engine, actor, Permission.USERS_MANAGE, "user.set_role", ("user", username), act, now=now)


def _own_or_managed(
    engine: Engine,
    actor: Actor,
    username: str,
    action: str,
    act: Callable[[Session], T],
    *,
    now: datetime,
    details: Callable[[T], dict[str, Any] | None] | None = None,
) -> T:
    """Change something of a user's own (anyone signed in, as themselves) or of another
    (``users:manage``, through the door); audited either way.

    Raises:
        PermissionDenied: another user's, without ``users:manage`` (audited).
    """
    if actor.user_id is not None and actor.username == username:
        with transaction(engine, write=True) as session:
            result = act(session)
            append_audit(
                session,
                actor=actor.username,
                action=action,
                target_type="user",
                target_id=username,
                now=now,
                details=details(result) if details else None,
                identity=identity_of(actor),
            )
        return result
    return perform(engine, actor, Permission.USERS_MANAGE, action, ("user", username), act, now=now, details=details)


def set_password(engine: Engine, actor: Actor, username: str, password: str, *, now: datetime) -> None:
    """Set a user's password (their own: anyone signed in; another's: ``users:manage``).

    Raises:
        PermissionDenied, NotFound, ValidationError.
    """
    _check_password(password)

    def act(session: Session) -> None:
        user = _user(session, username)
        user.password_hash = hash_password(password)
        for row in session.scalars(
            select(UserSession).where(
                UserSession.user_id == user.id, UserSession.kind == "session", UserSession.revoked_at.is_(None)
            )
        ):
            row.revoked_at = now

    _own_or_managed(engine, actor, username, "user.set_password", act, now=now)


#: What a user types to go back to the company's zone.
COMPANY_ZONE_WORDS = ("", "default", "company")


@cache
def time_zones() -> dict[str, str]:
    """Every IANA zone name the zone database knows, by its lower-case form."""
    return {name.lower(): name for name in available_timezones() if name not in {"Factory", "posixrules", "localtime"}}


def parse_time_zone(value: str) -> str | None:
    """An IANA zone name in its proper case (``america/new_york`` gives ``America/New_York``),
    or None for the company's zone (empty, ``default`` or ``company``).

    Raises:
        ValidationError: a name the zone database does not know, naming it.
    """
    name = value.strip()
    if name.lower() in COMPANY_ZONE_WORDS:
        return None
    known = time_zones().get(name.lower())
    if known is None:
        raise ValidationError(
            f"time zone {value[:70]!r} is not known: use an IANA name such as Europe/London or America/New_York",
            fields={"zone": "unknown time zone"},
        )
    return known


def set_time_zone(engine: Engine, actor: Actor, username: str, zone: str, *, now: datetime) -> UserView:
    """Choose the zone a user reads times in (their own: anyone signed in; another's:
    ``users:manage``). ``default`` goes back to the company's zone. Times stay stored in UTC.

    Raises:
        ValidationError: an unknown zone; nothing changed.
        PermissionDenied, NotFound.
    """
    chosen = parse_time_zone(zone)
    before: list[str | None] = []

    def act(session: Session) -> UserView:
        user = _user(session, username)
        before.append(user.time_zone)
        user.time_zone = chosen
        return _view(session, user)

    return _own_or_managed(
        engine,
        actor,
        username,
        "user.set_time_zone",
        act,
        now=now,
        details=lambda v: {"before": {"time_zone": before[0]}, "after": {"time_zone": v.time_zone}},
    )


def create_first_admin(
    engine: Engine, *, now: datetime, username: str = "admin", password: str | None = None
) -> tuple[str, str | None]:
    """The first administrator, when the database has no active one yet.

    Returns the username and the password made up for it (None when ``password`` was given,
    or when an administrator exists already: then nothing is written).
    """
    with transaction(engine, write=True) as session:
        install_standard_roles(session)
        admin = _role(session, "admin")
        existing = session.scalar(
            select(User.username).where(User.role_id == admin.id, User.active.is_(True)).order_by(User.id).limit(1)
        )
        if existing is not None:
            return existing, None
        made = password is None
        secret = password or generate_password()
        _insert_user(session, username, "admin", secret, now, display_name="First administrator")
        append_audit(
            session,
            actor=f"console:{os_user()}",
            action="user.add",
            target_type="user",
            target_id=username,
            now=now,
            details={"after": {"username": username, "role": "admin"}, "first_administrator": True},
            identity={"os_user": os_user(), "host": host_name(), "client_addr": None, "face": "cli"},
        )
        return username, secret if made else None


#: The file in the data folder that keeps the generated first administrator's credentials (0600).
CREDENTIALS_FILE = "admin-credentials.txt"


def first_admin_credentials(engine: Engine, data_dir: Path, *, now: datetime) -> tuple[str, str | None, bool]:
    """The first administrator: made with a generated password when the database has no active
    one, that password kept (mode 0600) in ``data_dir`` so ``make run`` can show it again.

    Returns the username, the password when it is known (None when the administrator was made
    otherwise, or changed their password), and whether it was made just now.
    """
    path = data_dir / CREDENTIALS_FILE
    username, made = create_first_admin(engine, now=now)
    if made is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(f"{username}:{made}\n")
        return username, made, True
    if path.exists():
        saved_user, _, saved = path.read_text().strip().partition(":")
        if saved_user == username and saved and _still_signs_in(engine, username, saved):
            return username, saved, False
        # A password that no longer signs in (changed, or another administrator's) is not kept about.
        path.unlink(missing_ok=True)
    return username, None, False


def _still_signs_in(engine: Engine, username: str, password: str) -> bool:
    with transaction(engine) as session:
        stored = session.scalar(select(User.password_hash).where(User.username == username, User.active))
    try:
        return stored is not None and HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- API tokens ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenView:
    id: int
    username: str
    name: str | None
    prefix: str | None
    role: str | None
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "prefix": self.prefix,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def _token_view(session: Session, row: UserSession) -> TokenView:
    user = session.get(User, row.user_id)
    role = session.get(Role, row.role_id) if row.role_id is not None else None
    return TokenView(
        row.id,
        user.username if user else "?",
        row.name,
        row.prefix,
        role.name if role else None,
        row.created_at,
        row.expires_at,
        row.last_used_at,
        row.revoked_at,
    )


def _owner(session: Session, actor: Actor, username: str | None) -> User:
    target = username or actor.username
    if target != actor.username and Permission.USERS_MANAGE.value not in actor.permissions:
        raise PermissionDenied(
            f"{actor.username} may not manage the tokens of {target}: missing permission users:manage",
            who=actor.username,
            what=f"manage tokens of {target}",
            permission=Permission.USERS_MANAGE.value,
        )
    return _user(session, target)


def create_token(
    engine: Engine,
    actor: Actor,
    *,
    name: str,
    now: datetime,
    role: str | None = None,
    username: str | None = None,
    days: int = TOKEN_DAYS,
) -> tuple[str, TokenView]:
    """A new API token for ``username`` (default: the actor), scoped to ``role`` (default: the user's).

    Returns the token, shown this once, and what is kept of it.

    Raises:
        PermissionDenied, NotFound, ValidationError.
    """
    if not 1 <= days <= 3660:
        raise ValidationError(f"--days {days}: between 1 and 3660")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)

    def act(session: Session) -> TokenView:
        user = _owner(session, actor, username)
        scope = _role(session, role) if role else None
        row = UserSession(
            user_id=user.id,
            kind="api_token",
            token_hash=_digest(token),
            name=name[:128],
            prefix=token[:12],
            role_id=scope.id if scope else user.role_id,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        session.add(row)
        session.flush()
        view = _token_view(session, row)
        append_audit(
            session,
            actor=actor.username,
            action="token.create",
            target_type="token",
            target_id=row.id,
            now=now,
            details={"after": view.as_dict()},
        )
        return view

    if actor.user_id is None and username is None:
        raise ValidationError("the console has no tokens of its own: name the user (--for USER)")
    return token, perform(engine, actor, Permission.JOBS_READ, "token.create", ("token", None), act, now=now)


def list_tokens(engine: Engine, actor: Actor, *, now: datetime, username: str | None = None) -> list[TokenView]:
    """API tokens (never their secrets): the actor's own, or anyone's for ``users:manage``."""

    def act(session: Session) -> list[TokenView]:
        stmt = select(UserSession).where(UserSession.kind == "api_token").order_by(UserSession.id)
        if username is not None or Permission.USERS_MANAGE.value not in actor.permissions:
            stmt = stmt.where(UserSession.user_id == _owner(session, actor, username).id)
        return [_token_view(session, r) for r in session.scalars(stmt)]

    return read(engine, actor, Permission.JOBS_READ, act, what="list tokens", now=now)


def revoke_token(engine: Engine, actor: Actor, token_id: int, *, now: datetime) -> TokenView:
    """Revoke an API token at once (one's own, or anyone's for ``users:manage``)."""

    def act(session: Session) -> TokenView:
        row = session.get(UserSession, token_id)
        if row is None or row.kind != "api_token":
            raise NotFound(f"no API token has id {token_id}")
        user = session.get(User, row.user_id)
        _owner(session, actor, user.username if user else None)
        if row.revoked_at is None:
            row.revoked_at = now
        return _token_view(session, row)

    return perform(engine, actor, Permission.JOBS_READ, "token.revoke", ("token", token_id), act, now=now)


def list_roles(engine: Engine) -> list[dict[str, Any]]:
    """The roles, their permissions and module scopes."""
    with transaction(engine) as session:
        return [
            {
                "name": r.name,
                "description": r.description,
                "permissions": sorted(r.permissions),
                "modules": None if r.modules is None else sorted(r.modules),
                "standard": r.is_standard,
            }
            for r in session.scalars(select(Role).order_by(Role.id))
        ]


__all__ = [
    "CREDENTIALS_FILE",
    "MODULES",
    "STANDARD_ROLES",
    "Actor",
    "Permission",
    "TokenView",
    "UserView",
    "actor_for_username",
    "add_user",
    "authenticate_password",
    "authenticate_token",
    "cli_actor",
    "create_first_admin",
    "create_session",
    "create_token",
    "end_session",
    "first_admin_credentials",
    "list_roles",
    "list_tokens",
    "list_users",
    "login_delay",
    "may",
    "pending_delay",
    "resolve_session",
    "revoke_token",
    "set_password",
    "set_user_active",
    "set_user_role",
]


def database_access(database_url: str) -> int:
    """How this OS user can reach the database directly: ``os.W_OK`` for an SQLite file (or, for
    a new one, its folder) writable by them, or a server database whose URL they hold (its
    credentials let them change any row anyway); ``os.R_OK`` for a file they may only read; 0."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return os.W_OK
    path = (url.database or "").removeprefix("file:").partition("?")[0]
    if path in {"", ":memory:"}:
        return os.W_OK
    target = Path(path)
    if not target.exists():
        return os.W_OK if os.access(target.parent or Path("."), os.W_OK) else 0
    if os.access(target, os.W_OK):
        return os.W_OK
    return os.R_OK if os.access(target, os.R_OK) else 0


def cli_actor(
    engine: Engine,
    database_url: str,
    *,
    user: str | None,
    token: str | None,
    ask_password: Callable[[str], str],
    now: datetime,
) -> Actor:
    """Who is acting on the command line.

    ``token`` (ACAS_TOKEN) signs in with an API token; ``user`` (--user / ACAS_USER) with a
    password read by ``ask_password``; neither: the local administrator console, allowed only
    to an OS user who can write the database directly (one who may only read the SQLite file
    gets the reading console, :data:`READER_CONSOLE`). The OS user and host are recorded
    either way.

    Raises:
        AuthenticationRequired: bad credentials, or no user named and the database cannot be opened.
    """
    if token:
        return replace(
            authenticate_token(engine, token, client_addr=None, face="cli", now=now),
            os_user=os_user(),
            host=host_name(),
        )
    if user:
        password = ask_password(f"password for {user}: ")
        return replace(
            authenticate_password(engine, user, password, client_addr=None, face="cli", now=now),
            os_user=os_user(),
            host=host_name(),
        )
    access = database_access(database_url)
    if access == os.R_OK:
        return replace(Actor.console(face="cli"), role="reader", permissions=frozenset(p.value for p in READER_CONSOLE))
    if access != os.W_OK:
        raise AuthenticationRequired(
            "this OS user cannot open the database: name a user with --user (or ACAS_USER) or set ACAS_TOKEN"
        )
    return Actor.console(face="cli")

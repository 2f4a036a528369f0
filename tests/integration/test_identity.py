"""Sign-in, sessions, API tokens and user management (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.errors import AuthenticationRequired, Conflict, PermissionDenied, ValidationError
from acas_batch.models import Audit, User, UserSession
from acas_batch.security.actor import Actor
from acas_batch.services import identity
from tests.support.users import PASSWORD, user

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_passwords_are_argon2id_at_owasp_strength_and_rehashed_when_weaker(engine: Engine) -> None:
    user(engine, "ann", "operator")
    with Session(engine) as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "ann"))
    assert stored is not None and stored.startswith("$argon2id$")
    params = dict(p.split("=") for p in stored.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2 and int(params["p"]) >= 1
    # Given a hash made with weaker parameters, when ann signs in, then it is replaced.
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with Session(engine) as s, s.begin():
        s.execute(update(User).where(User.username == "ann").values(password_hash=weak))
    actor = identity.authenticate_password(engine, "ann", PASSWORD, client_addr="10.0.0.1", face="web", now=NOW)
    assert (actor.username, actor.role, actor.face) == ("ann", "operator", "web")
    with Session(engine) as s:
        assert s.scalar(select(User.password_hash).where(User.username == "ann")) != weak


def test_wrong_password_unknown_user_and_disabled_account_read_the_same(engine: Engine) -> None:
    user(engine, "ann", "viewer")
    for name, password in (("ann", "wrong password!"), ("nobody", PASSWORD)):
        with pytest.raises(AuthenticationRequired, match="wrong username or password"):
            identity.authenticate_password(engine, name, password, client_addr=None, face="cli", now=NOW)
    identity.set_user_active(engine, Actor.console(), "ann", False, now=NOW)
    with pytest.raises(AuthenticationRequired, match="wrong username or password"):
        identity.authenticate_password(engine, "ann", PASSWORD, client_addr=None, face="cli", now=NOW)


def test_fifty_wrong_passwords_are_slowed_and_the_right_one_still_works(engine: Engine) -> None:
    user(engine, "ann", "viewer")
    waited: list[float] = []
    for i in range(50):
        with pytest.raises(AuthenticationRequired):
            identity.authenticate_password(
                engine,
                "ann",
                f"guess {i:04d}",
                client_addr="203.0.113.9",
                face="web",
                now=NOW + timedelta(seconds=i),
                sleep=waited.append,
            )
    # The computed delays grow (none for the first few, then doubling) to the cap; no lock-out.
    assert waited[0] == identity.login_delay(identity.FREE_FAILURES)
    assert waited == sorted(waited) and waited[-1] == identity.MAX_DELAY and len(waited) == 50 - identity.FREE_FAILURES
    # The same address guessing another account is slowed too.
    assert identity.pending_delay(engine, "bob", client_addr="203.0.113.9", now=NOW + timedelta(seconds=51)) > 0
    actor = identity.authenticate_password(
        engine,
        "ann",
        PASSWORD,
        client_addr="203.0.113.9",
        face="web",
        now=NOW + timedelta(seconds=60),
        sleep=waited.append,
    )
    assert actor.username == "ann" and waited[-1] == identity.MAX_DELAY
    assert identity.pending_delay(engine, "ann", client_addr=None, now=NOW + timedelta(seconds=61)) == 0
    with Session(engine) as s:
        failed = s.scalars(select(Audit).where(Audit.action == "auth.login_failed")).all()
    assert len(failed) == 50 and failed[0].client_addr == "203.0.113.9"


def test_sessions_end_when_idle_or_absolute_expiry_passes_or_on_sign_out(engine: Engine) -> None:
    user(engine, "ann", "viewer")
    actor = identity.authenticate_password(engine, "ann", PASSWORD, client_addr="10.0.0.1", face="web", now=NOW)
    token = identity.create_session(engine, actor, now=NOW)
    later = NOW + identity.SESSION_IDLE - timedelta(seconds=1)
    assert identity.resolve_session(engine, token, now=later, client_addr="10.0.0.1").username == "ann"
    with pytest.raises(AuthenticationRequired, match="without use"):
        identity.resolve_session(engine, token, now=later + identity.SESSION_IDLE, client_addr=None)
    # Absolute expiry, even while used all the time.
    token = identity.create_session(engine, actor, now=NOW)
    t = NOW
    while t < NOW + identity.SESSION_ABSOLUTE - timedelta(minutes=20):
        t += timedelta(minutes=20)
        identity.resolve_session(engine, token, now=t, client_addr=None)
    with pytest.raises(AuthenticationRequired):
        identity.resolve_session(engine, token, now=NOW + identity.SESSION_ABSOLUTE, client_addr=None)
    token = identity.create_session(engine, actor, now=NOW)
    identity.end_session(engine, token, now=NOW)
    with pytest.raises(AuthenticationRequired):
        identity.resolve_session(engine, token, now=NOW, client_addr=None)
    with Session(engine) as s:
        assert token not in {r.token_hash for r in s.scalars(select(UserSession))}


def test_api_tokens_are_prefixed_hashed_scoped_expiring_and_revocable(engine: Engine) -> None:
    ann = user(engine, "ann", "operator")
    token, view = identity.create_token(engine, ann, name="ci", role="viewer", now=NOW, days=30)
    assert token.startswith("acas_") and view.prefix == token[:12] and view.role == "viewer"
    with Session(engine) as s:
        assert s.scalar(select(UserSession).where(UserSession.token_hash == token)) is None
    actor = identity.authenticate_token(engine, token, client_addr="10.1.1.1", face="api", now=NOW)
    # The token's role narrows the user's: a viewer token of an operator cannot control executions.
    assert "executions:control" not in actor.permissions and "executions:read" in actor.permissions
    assert identity.list_tokens(engine, ann, now=NOW)[0].last_used_at == NOW
    with pytest.raises(AuthenticationRequired):
        identity.authenticate_token(engine, token, client_addr=None, face="api", now=NOW + timedelta(days=31))
    identity.revoke_token(engine, ann, view.id, now=NOW)
    with pytest.raises(AuthenticationRequired):
        identity.authenticate_token(engine, token, client_addr=None, face="api", now=NOW)
    # Another user's tokens are not one's own to revoke.
    bob = user(engine, "bob", "viewer")
    _token, other = identity.create_token(engine, bob, name="mine", now=NOW)
    with pytest.raises(PermissionDenied):
        identity.revoke_token(engine, ann, other.id, now=NOW)


def test_users_are_managed_by_administrators_only_and_the_last_one_stays(engine: Engine) -> None:
    name, password = identity.create_first_admin(engine, now=NOW)
    assert name == "admin" and password is not None and len(password) >= 16
    assert identity.create_first_admin(engine, now=NOW) == ("admin", None)
    admin = identity.authenticate_password(engine, "admin", password, client_addr=None, face="cli", now=NOW)
    identity.add_user(engine, admin, "carol", role="accountant", password=PASSWORD, now=NOW)
    carol = identity.actor_for_username(engine, "carol", face="cli")
    assert carol.modules == frozenset({"GL", "SL", "PL", "ST"})
    with pytest.raises(PermissionDenied, match=r"carol .* may not user.add .*users:manage"):
        identity.add_user(engine, carol, "dave", role="admin", password=PASSWORD, now=NOW)
    with pytest.raises(ValidationError):
        identity.add_user(engine, admin, "bad/name", role="viewer", password=PASSWORD, now=NOW)
    with pytest.raises(ValidationError, match="no role"):
        identity.add_user(engine, admin, "dave", role="wizard", password=PASSWORD, now=NOW)
    with pytest.raises(Conflict, match="last active administrator"):
        identity.set_user_role(engine, admin, "admin", "viewer", now=NOW)
    identity.set_user_role(engine, admin, "carol", "operator", now=NOW)
    assert {u.username: u.role for u in identity.list_users(engine, admin, now=NOW)} == {
        "admin": "admin",
        "carol": "operator",
    }
    with Session(engine) as s:
        rows = s.scalars(select(Audit).order_by(Audit.id)).all()
    assert [(r.action, r.actor) for r in rows if r.action.startswith(("user.", "denied:"))] == [
        ("user.add", rows[0].actor),
        ("user.add", "admin"),
        ("denied:user.add", "carol"),
        ("user.set_role", "admin"),
    ]


def test_the_saved_first_password_is_forgotten_once_it_no_longer_signs_in(engine: Engine, tmp_path) -> None:
    # Given the first administrator made with a generated password, kept in the data folder
    name, password, made = identity.first_admin_credentials(engine, tmp_path, now=NOW)
    saved = tmp_path / identity.CREDENTIALS_FILE
    assert made and password is not None and saved.read_text() == f"{name}:{password}\n"
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    # When it is asked for again, the same password is shown (it still signs in)
    assert identity.first_admin_credentials(engine, tmp_path, now=NOW) == (name, password, False)
    # When the administrator changes the password
    admin = identity.authenticate_password(engine, name, password, client_addr=None, face="cli", now=NOW)
    identity.set_password(engine, admin, name, "a new and longer secret", now=NOW)
    # Then the old one is no longer offered, and the file holding it is gone
    assert identity.first_admin_credentials(engine, tmp_path, now=NOW) == (name, None, False)
    assert not saved.exists()

"""Users for tests: a named user with a role, and their Actor."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from acas_batch.security.actor import Actor
from acas_batch.services.identity import actor_for_username, add_user

PASSWORD = "correct horse battery"


def user(engine: Engine, name: str = "ann", role: str = "admin", *, face: str = "python") -> Actor:
    """The Actor of user ``name`` with ``role``, created (by the console) when missing."""
    try:
        return actor_for_username(engine, name, face=face)
    except Exception:  # not there yet
        add_user(engine, Actor.console(), name, role=role, password=PASSWORD, now=datetime.now(UTC))
        return actor_for_username(engine, name, face=face)


def token_env(engine: Engine, name: str = "ann", role: str = "admin") -> dict[str, str]:
    """Environment for the command line to act as user ``name`` (an API token in ACAS_TOKEN)."""
    from acas_batch.services.identity import create_token

    actor = user(engine, name, role)
    token, _view = create_token(engine, actor, name="test", now=datetime.now(UTC))
    return {"ACAS_TOKEN": token}

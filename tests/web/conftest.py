"""A signed-in test client of the web application on the parametrised database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from acas_batch.config import Settings, load_settings
from acas_batch.services.bootstrap import initialise
from acas_batch.web.app import create_app
from acas_batch.web.auth import Identities

PASSWORDS = {"admin": "admin-password-1", "operator": "operator-password-1", "viewer": "viewer-password-1"}


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(environ={}, database_url=db_url, data_dir=tmp_path)


@pytest.fixture
def identities() -> Identities:
    ids = Identities()
    for role, password in PASSWORDS.items():
        ids.add_user(role, password, role)
    return ids


@pytest.fixture
def app_client(engine: Engine, settings: Settings, identities: Identities) -> Iterator[TestClient]:
    """An unsigned client of an app over the standard catalogue."""
    initialise(engine)
    app = create_app(settings, engine=engine, identities=identities)
    with TestClient(app, follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, username: str) -> str:
    """Sign ``username`` in through the form; returns the session's CSRF token (read from a page)."""
    form = client.get("/signin")
    token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post(
        "/signin", data={"username": username, "password": PASSWORDS[username], "token": token.group(1), "next": "/"}
    )
    assert done.status_code == 303, done.text
    page = client.get("/runs")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    return csrf.group(1)

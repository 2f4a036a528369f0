"""Fixtures shared by the ledger and job tests of this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.books import Books


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    """Posting helpers over one session on the test database."""
    with Session(engine, expire_on_commit=False) as session:
        yield Books.open(session)

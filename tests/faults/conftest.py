"""The fault tests: every test in this folder carries the ``faults`` marker."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.support import PrivateServer

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivateServer]:
    """A PostgreSQL server of this test session's own, which its tests may restart at will.

    The shared server at 5432 serves every other test running beside these, so it is never
    restarted; this one is made with ``pg_createcluster`` (root only) and dropped afterwards.
    """
    if os.geteuid() != 0 or shutil.which("pg_createcluster") is None:
        pytest.skip("a private PostgreSQL server needs root and pg_createcluster")
    server = PrivateServer.create()
    try:
        yield server
    finally:
        server.drop()

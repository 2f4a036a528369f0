"""Fixtures shared by every test layer.

Database tests take the ``engine`` (or ``db_url``) fixture, parametrised over SQLite and
PostgreSQL. PostgreSQL uses the local server (``ACAS_TEST_PG_URL``, default
postgresql+psycopg://postgres@127.0.0.1:5432/test) and a throw-away database per test
session; if the server is unreachable the tests fail, they never skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from acas_batch.db import make_engine
from acas_batch.models import Base
from acas_batch.models.migrate import upgrade

# Wall-clock limits make property tests flaky on a loaded machine; what they check is not time.
hypothesis_settings.register_profile(
    "acas", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors]
)
hypothesis_settings.load_profile("acas")


@pytest.fixture(autouse=True, scope="session")
def _standard_job_code() -> None:
    """The standard jobs' code in the registry, as in a worker (importing ``acas_batch.jobs`` alone
    registers nothing; tests that read a job's parameter model or run key need it loaded)."""
    from acas_batch.jobs import load_standard_jobs

    load_standard_jobs()


PG_ADMIN_URL = os.environ.get("ACAS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


def _pg_admin_engine() -> Engine:
    return make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_template_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (one per xdist worker), migrated to head."""
    name = f"acas_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # A test's commits need not wait for the disk: durability is the fault tests' business, on a
        # server of their own (tests/faults), whose databases keep the default
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head, copied for every test that needs a database."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _empty_all(engine: Engine) -> None:
    """Every table emptied and every sequence back at its start, as a fresh database at head.

    Only the tables written since they were last emptied (a heap file that is not empty) are
    truncated: a test writes a few of the ~90 tables, and truncating all of them gave every table,
    index and TOAST table a new file (0.27 s each test at rest, about 1 s under load). Truncating
    rather than deleting keeps a table's rows in the order they were inserted, which some tests'
    reads without ORDER BY have come to rely on.
    """
    ours = {t.name for t in Base.metadata.sorted_tables}
    with engine.begin() as conn:
        written = [
            name
            for (name,) in conn.exec_driver_sql(
                "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
                "AND pg_relation_size(oid) > 0"
            )
            if name in ours
        ]
        if written:
            conn.exec_driver_sql(f"TRUNCATE {', '.join(f'{chr(34)}{n}{chr(34)}' for n in written)} CASCADE")
        conn.exec_driver_sql(
            "SELECT setval(c.oid, s.seqstart, false) FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid"
        )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database at head, on the parametrised backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "acas.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_template_url")
    engine = make_engine(url)
    _empty_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no tables at all, on the parametrised backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"acas_empty_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def old_engine(empty_db_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on a database migrated up to the revision the test module names ``BEFORE``
    (a migration's test, which then upgrades and downgrades it)."""
    engine = make_engine(empty_db_url)
    upgrade(engine, request.module.BEFORE)
    yield engine
    engine.dispose()

"""Engines and sessions: one code path for SQLite and PostgreSQL.

SQLite gets WAL, foreign keys, a busy timeout and explicit ``BEGIN``: pysqlite's own
transaction handling defers ``BEGIN`` until the first write, which makes
``BEGIN IMMEDIATE`` impossible. With ``isolation_level=None`` on the DBAPI connection
we emit ``BEGIN`` ourselves, ``BEGIN IMMEDIATE`` when a connection is opened with
``execution_options(sqlite_begin="IMMEDIATE")`` (see :func:`write_engine`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from acas_batch.config import normalise_database_url
from acas_batch.errors import DatabaseError

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(f"sqlite_begin must be DEFERRED, IMMEDIATE or EXCLUSIVE, not {mode!r}")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _install_idle_ping(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled PostgreSQL connection on checkout only if it sat idle for ``idle_seconds``.

    A connection that fails the ping is replaced (``DisconnectionError`` makes the pool
    retry with a fresh one), as ``pool_pre_ping`` does, without a round trip per checkout
    for a process that uses its connections continuously.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("connection failed its ping") from exc


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10, ping_after_idle: float | None = None) -> Engine:
    """Create the engine for ``url`` (SQLite file or PostgreSQL via psycopg 3).

    A SQLite file's folder is created if missing. PostgreSQL connections are checked
    before use: at every checkout, or with ``ping_after_idle`` only after that many
    seconds unused (for the engine's hot loops: a worker and its job processes).
    """
    url = normalise_database_url(url)
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        database = sa_url.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _install_sqlite_hooks(engine)
        return engine
    engine = create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=ping_after_idle is None,
        pool_recycle=1800,
    )
    if ping_after_idle is not None:
        _install_idle_ping(engine, ping_after_idle)
    return engine


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def write_engine(engine: Engine) -> Engine:
    """The same engine, but SQLite transactions take the write lock at ``BEGIN``.

    Use it for read-then-write transactions (claims, state changes): with a deferred
    transaction two SQLite writers can deadlock on lock upgrade, which the busy timeout
    cannot resolve. On PostgreSQL it changes nothing.
    """
    if is_sqlite(engine):
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    bind = write_engine(engine) if write else engine
    with Session(bind=bind, expire_on_commit=False) as session, session.begin():
        yield session


def check_connection(engine: Engine) -> None:
    """Raise :class:`DatabaseError` with a one-line reason if the database is unreachable."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(f"cannot connect to {engine.url.render_as_string(hide_password=True)}: {reason}") from exc


def rowcount(result: Any) -> int:
    """Rows matched by an UPDATE or DELETE (``Session.execute`` types it as a plain Result)."""
    count = getattr(result, "rowcount", None)
    return int(count) if isinstance(count, int) and count >= 0 else 0

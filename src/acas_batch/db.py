"""Engines and sessions: one code path for SQLite and PostgreSQL.

SQLite gets WAL with ``synchronous=FULL`` (a commit is on disk when it returns), foreign keys,
a busy timeout and explicit ``BEGIN``: pysqlite's own
transaction handling defers ``BEGIN`` until the first write, which makes
``BEGIN IMMEDIATE`` impossible. With ``isolation_level=None`` on the DBAPI connection
we emit ``BEGIN`` ourselves, ``BEGIN IMMEDIATE`` when a connection is opened with
``execution_options(sqlite_begin="IMMEDIATE")`` (see :func:`write_engine`), and for a job's
unit of work a ``BEGIN`` that takes the write lock only at the first write (see :func:`job_engine`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVarTuple
from urllib.parse import quote

from sqlalchemy import (
    ColumnElement,
    Engine,
    Integer,
    Select,
    Table,
    TableClause,
    any_,
    bindparam,
    column,
    create_engine,
    event,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError as SQLAlchemyDBAPIError
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable
from sqlalchemy.sql.visitors import InternalTraversal

from acas_batch.config import normalise_database_url
from acas_batch.errors import (
    AcasBatchError,
    DatabaseError,
    DatabaseLocked,
    DatabaseMissing,
    DatabaseNotInitialised,
    DatabaseReadOnly,
    DatabaseUnreachable,
    NotADatabase,
    ValidationError,
)

Ts = TypeVarTuple("Ts")

SQLITE_BUSY_TIMEOUT_MS = 30_000

#: ``sqlite_begin`` of a job's unit of work: read without a lock, take the write lock at the first write.
AT_FIRST_WRITE = "AT_FIRST_WRITE"
#: ``Connection.info`` key: what the connection's SQLite transaction holds, ``READING`` or ``WRITING``.
_LOCK = "acas_sqlite_lock"
_READING, _WRITING = "reading", "writing"

# Statements that need no write lock on the main database: reads, transaction control, and
# temporary tables (SQLite keeps them in a database of the connection's own).
_NO_WRITE = re.compile(
    r"\s*(SELECT|PRAGMA|EXPLAIN|VALUES|BEGIN|COMMIT|END|ROLLBACK|RELEASE|CREATE\s+TEMP(ORARY)?\s)", re.IGNORECASE
)
_DML = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _needs_write_lock(statement: str, context: Any, executemany: bool) -> bool:
    """Whether a statement of a job's transaction must hold the write lock when it runs.

    Writes; and reads ``FOR UPDATE`` (which SQLite drops from the SQL: the lock is what makes
    them exclusive here) and savepoints (they are opened to write). A statement starting with
    ``WITH`` writes if it names a DML verb anywhere: a read taken for a write only takes the
    lock early.
    """
    if executemany or context.isinsert or context.isupdate or context.isdelete:
        return True
    compiled = context.compiled
    if compiled is not None and getattr(compiled.statement, "_for_update_arg", None) is not None:
        return True
    if statement.lstrip()[:4].upper() == "WITH":
        return _DML.search(statement) is not None
    return _NO_WRITE.match(statement) is None


def _take_write_lock(conn: Connection, run: Callable[[str], Any]) -> None:
    """End the job's read-only transaction and begin one that holds the write lock.

    A read transaction cannot wait for the write lock: in WAL mode SQLite refuses the upgrade
    at once (``SQLITE_BUSY``, no busy handler) if another connection holds the lock, and for
    good (``SQLITE_BUSY_SNAPSHOT``) if another has committed since the transaction's first
    read. Nothing of the main database has been written yet, so the read transaction ends
    (``COMMIT``: the temporary tables it made stay) and ``BEGIN IMMEDIATE`` waits for the lock
    up to the busy timeout.
    """
    conn.info[_LOCK] = _WRITING
    run("COMMIT")
    try:
        run("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY_SNAPSHOT:
            raise
        # Only a statement still stepping keeps the old snapshot past the COMMIT.
        raise sqlite3.OperationalError(
            "cannot take the write lock: a read of this transaction is still open and another process "
            "has written since it began; read a result to its end before the transaction's first write"
        ) from exc


def take_write_lock(bind: Session | Connection) -> None:
    """Make sure the transaction of ``bind`` holds SQLite's write lock from here to its commit.

    For a job's transaction that has only read (:func:`job_engine`): before a read whose
    result decides a write and must not change before it (ids drawn from ``MAX(id)``), and
    before writes that bypass SQLAlchemy's statements. Elsewhere it does nothing.
    """
    conn = _connection_of(bind)
    if conn.info.get(_LOCK) != _READING:
        return
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        _take_write_lock(conn, cursor.execute)
    except sqlite3.Error as exc:
        raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
    finally:
        cursor.close()


def holds_write_lock(session: Session) -> bool:
    """Whether the session's SQLite transaction holds the write lock (so no other connection
    of this process may write until it commits). False on PostgreSQL."""
    if not session.in_transaction() or session.get_bind().dialect.name != "sqlite":
        return False
    return bool(session.connection().info.get(_LOCK) == _WRITING)


def _install_sqlite_hooks(engine: Engine, *, busy_timeout_ms: int, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        if not read_only:  # switching to WAL is a write; a read-only file is read as it is
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        # FULL: WAL is synced at every commit, so a commit survives a power cut. NORMAL syncs
        # only at checkpoints, and a lost commit of a payment run whose Bacs file is already on
        # disk would let a rerun pay again. Its cost is measured in docs/faults.md.
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE", AT_FIRST_WRITE):
            raise ValueError(f"sqlite_begin must be DEFERRED, IMMEDIATE, EXCLUSIVE or {AT_FIRST_WRITE}, not {mode!r}")
        if mode == AT_FIRST_WRITE:
            conn.exec_driver_sql("BEGIN")
            conn.info[_LOCK] = _READING
            return
        conn.exec_driver_sql(f"BEGIN {mode}")
        if mode == "DEFERRED":
            conn.info.pop(_LOCK, None)
        else:
            conn.info[_LOCK] = _WRITING

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(
        conn: Connection, cursor: Any, statement: str, _params: Any, context: Any, executemany: bool
    ) -> None:
        if conn.info.get(_LOCK) == _READING and _needs_write_lock(statement, context, executemany):
            _take_write_lock(conn, cursor.execute)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn: Connection) -> None:
        conn.info.pop(_LOCK, None)


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


def _keep_private(engine: Engine, database: Path) -> None:
    """The SQLite file and its WAL are made 0600 when a connection opens (the first one creates them)."""

    @event.listens_for(engine, "connect")
    def _chmod(_dbapi_connection: Any, _record: Any) -> None:
        for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
            with contextlib.suppress(OSError):  # not there yet, or not ours to change
                if path.exists() and path.stat().st_mode & 0o077:
                    path.chmod(0o600)


def make_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    ping_after_idle: float | None = None,
    busy_timeout: float | None = None,
) -> Engine:
    """Create the engine for ``url`` (SQLite file or PostgreSQL via psycopg 3).

    A SQLite file's folder is created if missing, except for a read-only URI
    (:func:`sqlite_read_only_url`), which is opened read-only. ``busy_timeout`` (seconds,
    SQLite) is how long a statement waits for another process's lock. PostgreSQL
    connections are checked before use: at every checkout, or with ``ping_after_idle``
    only after that many seconds unused (for the engine's hot loops: a worker and its job
    processes).
    """
    url = normalise_database_url(url)
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        database = sa_url.database or ""
        uri = sa_url.query.get("uri") == "true"
        if database and database != ":memory:" and not uri:
            Path(database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        busy_ms = SQLITE_BUSY_TIMEOUT_MS if busy_timeout is None else int(busy_timeout * 1000)
        engine = create_engine(url, echo=echo, connect_args={"timeout": busy_ms / 1000})
        _install_sqlite_hooks(engine, busy_timeout_ms=busy_ms, read_only=uri and sa_url.query.get("mode") == "ro")
        if database and database != ":memory:" and not database.startswith("file:"):
            _keep_private(engine, Path(database))
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


#: The longest sleep of SQLite's busy handler between two tries at a lock: its delays end at 100 ms.
BUSY_HANDLER_LONGEST_SLEEP = 0.1
_sleep = time.sleep


def yield_write_lock(bind: Session | Connection | Engine) -> None:
    """Call after a commit in a series of write transactions: on SQLite, let waiting writers in.

    A writer waiting for SQLite's lock sleeps in its busy handler, up to 100 ms between tries,
    and one that wakes while a chunked writer (the log clean-up) holds the lock again sleeps
    again. A writer that commits chunk after chunk and begins the next at once keeps the others
    out for seconds, though each chunk is short: the scheduler's tick and the workers' lease
    renewals with them. A pause as long as the busy handler's longest sleep, the lock free, lets
    every writer that was waiting in. PostgreSQL wakes a writer waiting on a row lock at once:
    no pause there.
    """
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    if dialect.name == "sqlite":
        _sleep(BUSY_HANDLER_LONGEST_SLEEP)


def write_engine(engine: Engine) -> Engine:
    """The same engine, but SQLite transactions take the write lock at ``BEGIN``.

    Use it for read-then-write transactions (claims, state changes): with a deferred
    transaction two SQLite writers can deadlock on lock upgrade, which the busy timeout
    cannot resolve. On PostgreSQL it changes nothing.
    """
    if is_sqlite(engine):
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    return engine


def job_engine(engine: Engine) -> Engine:
    """The same engine, but a SQLite transaction reads without a lock and takes the write lock
    only at its first write (then holds it to its commit).

    For a job's unit of work, which may read, or lay out documents, for longer than a lease
    between two commits: meanwhile the worker renews leases and other processes write. At its
    first write (or a read ``FOR UPDATE``, or a savepoint) the read-only transaction ends and
    ``BEGIN IMMEDIATE`` begins a new one, waiting for the lock up to the busy timeout (see
    :func:`_take_write_lock`): from there to the commit the transaction sees the newest rows.
    What it read before may be older, as under PostgreSQL's READ COMMITTED, which the jobs run
    under there: the writes that protect money guard themselves (compare-and-set, unique
    constraints, ``FOR UPDATE``) and the fenced finish checks the lease in its own ``UPDATE``.
    On PostgreSQL it changes nothing.
    """
    if is_sqlite(engine):
        return engine.execution_options(sqlite_begin=AT_FIRST_WRITE)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    bind = write_engine(engine) if write else engine
    with Session(bind=bind, expire_on_commit=False) as session, session.begin():
        yield session


def plan_cursors_for_every_row(bind: Session | Connection) -> None:
    """For the rest of the transaction, plan server-side cursors for reading every row.

    PostgreSQL plans a cursor (``yield_per``) for its first tenth of rows
    (``cursor_tuple_fraction``): with statistics, a grouped read over the movements then
    walks an index in group order (random heap reads, several times slower) where a plain
    query hashes a sequential scan. A job that streams a result to its end wants the plan
    that is fastest for all of it. SQLite has no such setting.
    """
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    if dialect.name == "postgresql":
        bind.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))


def stream_partitions(bind: Session | Connection, statement: Any, size: int) -> Iterator[list[Any]]:
    """The rows of ``statement`` in lists of up to ``size``, memory flat, planned as a plain query.

    On PostgreSQL a server-side cursor (``yield_per``) is planned for its first rows and never
    gets parallel workers; psycopg's chunked mode streams a plain query's rows instead. The
    statement is sent with its values inline (``literal_binds``, strings quoted by SQLAlchemy):
    use it for statements whose values are the code's own numbers, dates, enumerations and
    constants, never text from outside; and read it to its end (the connection serves nothing
    else meanwhile). Other databases: ``yield_per`` partitions.
    """
    conn = _connection_of(bind)
    if conn.dialect.name != "postgresql":
        yield from (list(p) for p in conn.execute(statement.execution_options(yield_per=size)).partitions())
        return
    sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    raw: Any = conn.connection.driver_connection
    # No parameters, but an empty mapping: psycopg then reads the text as the dialect wrote it
    # for parameters, so each % it doubled (as in a LIKE pattern or a string) is one % again.
    rows = raw.cursor().stream(sql, params={}, size=size)
    while part := list(itertools.islice(rows, size)):
        yield part


def copy_csv(bind: Session | Connection, statement: Any, *, block_bytes: int = 1 << 20) -> Iterator[bytes]:
    """PostgreSQL: the rows of ``statement`` as CSV, formatted by the server (``COPY ... TO STDOUT``).

    Lines end CRLF and fields are quoted where ``csv.writer`` quotes them (a delimiter,
    quote, CR or LF inside; one exception, an empty text, comes quoted as ``""``, which any
    reader takes for the same empty field), so the bytes read back by ``csv.reader`` give the
    rows a ``csv.writer`` file gives. The server formats each value in C; the client only joins
    the lines (32,000 ABC rows: 27 ms, against 55 ms fetched as rows and written by the csv
    module). Yields blocks of whole lines, about ``block_bytes`` each: memory flat. The values
    go into the SQL as in :func:`stream_partitions` (the same rule: never text from outside).
    """
    conn = _connection_of(bind)
    if conn.dialect.name != "postgresql":
        raise NotImplementedError("COPY is PostgreSQL's: write rows with reports.write_csv elsewhere")
    sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    # The dialect doubles each % for the driver's parameters; COPY takes the text as it is.
    sql = sql.replace("%%", "%")
    raw: Any = conn.connection.driver_connection
    line_ends = _CrLf()
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
        block: list[bytes] = []
        size = 0
        for data in copy:
            block.append(bytes(data))
            size += len(data)
            if size >= block_bytes:
                yield line_ends(b"".join(block))
                block, size = [], 0
        if block:
            yield line_ends(b"".join(block))


class _CrLf:
    """COPY's line ends (LF) made CRLF, block by block; an LF inside a quoted field stays.

    Quotes come in pairs around a field and doubled within it, so splitting on them leaves
    the text outside every field at alternate places; whether a block starts inside a field
    is carried from the block before.
    """

    def __init__(self) -> None:
        self.quoted = False

    def __call__(self, data: bytes) -> bytes:
        parts = data.split(b'"')
        for i in range(1 if self.quoted else 0, len(parts), 2):
            parts[i] = parts[i].replace(b"\n", b"\r\n")
        if len(parts) % 2 == 0:  # an odd number of quotes: the next block starts on the other side
            self.quoted = not self.quoted
        return b'"'.join(parts)


@contextmanager
def temporary_table(bind: Session | Connection, name: str, query: Select[*Ts]) -> Iterator[TableClause]:
    """``query``'s rows in a temporary table ``name`` of this transaction, for several statements to read.

    ``CREATE TEMPORARY TABLE ... AS``: on PostgreSQL the query may use parallel workers, which
    a statement that writes (an ``INSERT ... SELECT``, or a data-modifying CTE) never gets.
    The table is dropped when the block ends; if it ends by an error the caller's rollback
    removes it (its creation is part of the transaction, on both databases). ``name`` is
    written into the SQL as it is: a constant of the caller, never input.
    """
    if not name.isidentifier():
        raise ValueError(f"temporary table name {name!r} is not an identifier")
    conn = _connection_of(bind)
    conn.execute(_CreateTemporaryTableAs(name, query))
    yield table(name, *(column(c.name, c.type) for c in query.selected_columns))
    conn.exec_driver_sql(f"DROP TABLE {name}")


class _CreateTemporaryTableAs(Executable, ClauseElement):
    # Cacheable: the name and the query's structure make the key, the query's values stay bound
    # parameters, so a long-lived process compiles each ranking once, not at every run.
    inherit_cache = True
    _traverse_internals = [
        ("name", InternalTraversal.dp_string),
        ("query", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, name: str, query: Select[*tuple[Any, ...]]) -> None:
        self.name, self.query = name, query


@compiles(_CreateTemporaryTableAs)
def _create_temporary_table_as(element: _CreateTemporaryTableAs, compiler: SQLCompiler, **kw: Any) -> str:
    on_commit = " ON COMMIT DROP" if compiler.dialect.name == "postgresql" else ""
    return f"CREATE TEMPORARY TABLE {element.name}{on_commit} AS {compiler.process(element.query, **kw)}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (plain or read-only URI); None for PostgreSQL or memory."""
    sa_url = make_url(normalise_database_url(url))
    if sa_url.get_backend_name() != "sqlite" or not sa_url.database or sa_url.database == ":memory:":
        return None
    database = sa_url.database
    return Path(database.removeprefix("file:")) if sa_url.query.get("uri") == "true" else Path(database)


def sqlite_read_only_url(path: Path) -> str:
    """A URL that opens the SQLite file ``path`` read-only (``mode=ro``): nothing can be written."""
    quoted = quote(str(path.resolve()), safe="/")
    return f"sqlite:///file:{quoted}?mode=ro&uri=true"


def is_read_only_url(url: str) -> bool:
    sa_url = make_url(url)
    return sa_url.query.get("uri") == "true" and sa_url.query.get("mode") == "ro"


def database_error(exc: BaseException, url: str) -> AcasBatchError | None:
    """The one-line :class:`DatabaseError` a driver's error means, or None if it is not one of them.

    Told apart: the server not answering, no such database, no schema (``init`` not run),
    not a database file, a read-only database asked to write, and a lock held past the
    busy timeout.
    """
    if not isinstance(exc, SQLAlchemyDBAPIError):
        return None
    where = make_url(url).render_as_string(hide_password=True)
    orig = exc.orig
    message = (str(orig).strip().splitlines() or [""])[0] if orig is not None else str(exc)
    code = getattr(orig, "sqlstate", None) or ""
    lowered = message.lower()
    path = sqlite_path(url)
    if code == "22003":
        return ValidationError(f"a number is out of range ({message}): ids and counts fit in 64 bits")
    if code.startswith("22"):
        return ValidationError(f"a value the database refuses: {message}")
    if "no such table" in lowered or code == "42P01":
        return DatabaseNotInitialised(f"database {where} holds no acas-batch schema: run `acas-batch init` first")
    if "no such column" in lowered or code == "42703":
        return DatabaseNotInitialised(
            f"database {where} has an older schema than this acas-batch: run `acas-batch db upgrade` ({message})"
        )
    if "file is not a database" in lowered or "malformed" in lowered:
        return NotADatabase(f"{path or where} is not an acas-batch database (SQLite: {message})")
    if "readonly database" in lowered or code in ("25006", "42501"):
        return DatabaseReadOnly(f"database {where} is read-only for you; this command writes ({message})")
    if "database is locked" in lowered or "database table is locked" in lowered or code == "55P03":
        return DatabaseLocked(f"database {where} is locked by another process past the busy timeout; try again")
    if code == "3D000" or ('database "' in lowered and "does not exist" in lowered):
        return DatabaseMissing(f"database {where} does not exist: create it, then run `acas-batch init`")
    if "unable to open database file" in lowered:
        return DatabaseMissing(
            f"cannot open the SQLite file {path or where}: does its folder exist and can you read it?"
        )
    if isinstance(exc, OperationalError) and path is None:
        return DatabaseUnreachable(f"cannot reach database {where}: {message}")
    if isinstance(exc, OperationalError):
        return DatabaseError(f"database {where}: {message}")
    return None


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


def _table_of(target: Table | Any) -> Table:
    if isinstance(target, Table):
        return target
    table = getattr(target, "__table__", None)
    if not isinstance(table, Table):
        raise TypeError(f"insert_rows needs a Table or a mapped class, not {target!r}")
    return table


def column_defaults(table: Table) -> dict[str, Any]:
    """Each column's Python-side default (scalar, or callable evaluated once), as ``insert()`` would apply it."""
    defaults: dict[str, Any] = {}
    for col in table.columns:
        default = col.default
        if default is None:
            continue
        if getattr(default, "is_scalar", False):
            defaults[col.name] = default.arg  # type: ignore[attr-defined]
        elif getattr(default, "is_callable", False):
            defaults[col.name] = default.arg(None)  # type: ignore[attr-defined]
    return defaults


def insert_rows(
    bind: Session | Connection,
    target: Table | Any,
    rows: Iterable[Mapping[str, Any]],
    *,
    columns: Sequence[str] | None = None,
) -> int:
    """Insert ``rows`` (dicts keyed by column name) into ``target`` in the current transaction.

    ``target`` is a :class:`~sqlalchemy.Table` or a mapped class; ``bind`` a session (its
    current transaction, begun if need be, after flushing its pending objects) or a connection.
    The rows commit or roll back with that transaction. PostgreSQL gets ``COPY ... FROM STDIN``
    on the transaction's own psycopg connection; SQLite an ``executemany`` of one prepared
    ``INSERT``. Each value goes through its column type's bind processing for the dialect,
    so JSON, enums (their value), dates, UTC instants, booleans and NULLs are stored exactly
    as ``session.execute(insert(model), rows)`` stores them.

    The columns written are ``columns`` if given, else those of the first row plus any with a
    Python-side default; a row missing one of them gets the default or NULL. A key that is not
    a column of the table is refused with a ``ValueError`` naming it: for a list, before anything is written;
    for any other iterable (consumed once, streamed, so it must not use the same connection
    while it is read) when that row is reached, leaving the transaction to be rolled back.
    Returns the number of rows written (an empty iterable writes nothing).
    """
    table = _table_of(target)
    known = {c.name for c in table.columns}
    if columns is not None:
        _check_keys(table, dict.fromkeys(columns), known)
    if isinstance(rows, Sequence):
        for row in rows:
            _check_keys(table, row, known)
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return 0
    conn = _connection_of(bind)
    defaults = column_defaults(table)
    _check_keys(table, first, known)
    if columns is None:
        names = [c.name for c in table.columns if c.name in first or c.name in defaults]
    else:
        names = list(columns)
    chosen = set(names)
    pairs = [(name, defaults.get(name)) for name in names]

    def values(row: Mapping[str, Any]) -> list[Any]:
        if not row.keys() <= chosen:
            _check_keys(table, row, known)
            raise ValueError(
                f"{table.name}: a row has column(s) {', '.join(map(repr, sorted(row.keys() - chosen)))} "
                "that the first row lacks; name every column with columns="
            )
        return [row.get(name, default) for name, default in pairs]

    return _write(conn, table, names, map(values, itertools.chain((first,), it)))


def insert_values(
    bind: Session | Connection,
    target: Table | Any,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    processed: bool = False,
) -> int:
    """As :func:`insert_rows`, for rows given as sequences of values in the order of ``columns``.

    No defaults are applied and no keys checked (the columns are named once): the fast path for
    many rows built from arrays. With ``processed`` the values are already what both drivers take
    as they are (numbers, strings, ISO dates, None) and skip the columns' bind processing.
    Returns the number of rows written.
    """
    table = _table_of(target)
    _check_keys(table, dict.fromkeys(columns), {c.name for c in table.columns})
    return _write(_connection_of(bind), table, list(columns), rows, processed=processed)


def _connection_of(bind: Session | Connection) -> Connection:
    if isinstance(bind, Session):
        bind.flush()
        return bind.connection()
    if not bind.in_transaction():
        bind.begin()  # the driver's own cursor below must run inside the connection's transaction
    return bind


def _write(
    conn: Connection, table: Table, names: list[str], rows: Iterable[Sequence[Any]], *, processed: bool = False
) -> int:
    """``rows`` (values in the order of ``names``) through each column's bind processing (unless
    ``processed``), then ``COPY`` (PostgreSQL) or an ``executemany`` (SQLite) on the connection's
    own transaction."""
    dialect = conn.dialect
    processors: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate([] if processed else names):
        processor = table.columns[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors.append((i, processor))

    def with_processors(row: Sequence[Any]) -> Sequence[Any]:
        if not processors:
            return row
        out = list(row)
        for i, process in processors:
            out[i] = process(out[i])
        return out

    prep = dialect.identifier_preparer
    into = f"{prep.format_table(table)} ({', '.join(prep.quote(n) for n in names)})"
    raw: Any = conn.connection.driver_connection
    written = 0
    if dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {into} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(with_processors(row))
                written += 1
        return written

    take_write_lock(conn)  # the rows go past SQLAlchemy's statements, which take it otherwise
    cur = raw.cursor()
    try:
        cur.executemany(
            f"INSERT INTO {into} VALUES ({', '.join('?' for _ in names)})",
            map(with_processors, rows) if processors else rows,
        )
        return max(int(cur.rowcount), 0)  # summed over the executions
    finally:
        cur.close()


def one_of(session: Session, column: ColumnElement[int] | Any, ids: Collection[int]) -> ColumnElement[bool]:
    """``column IN ids`` bound as one parameter (an array on PostgreSQL, a JSON array on SQLite),
    so a chunk of thousands of documents neither renders nor binds thousands of placeholders."""
    if session.get_bind().dialect.name == "postgresql":
        condition: ColumnElement[bool] = column == any_(bindparam(None, sorted(ids), type_=ARRAY(Integer)))
    else:
        condition = column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(sorted(ids)))))
    return condition


def reserve_ids(session: Session, target: Table | Any, count: int) -> list[int]:
    """``count`` new primary keys for ``target``'s integer ``id``, to write rows with :func:`insert_rows`.

    Rows written with ids drawn beforehand need no ``RETURNING`` (which SQLite answers one row
    at a time when the ids must come back in order) and can go through ``COPY``. PostgreSQL
    draws them from the column's sequence, so concurrent writers never get the same ids. SQLite
    takes the ones after the table's highest id, read holding the write lock (a job's transaction
    that has only read takes it first: :func:`take_write_lock`): only one transaction writes at
    a time, so no other can take the same ids before this one commits.
    """
    if count <= 0:
        return []
    table = _table_of(target)
    if session.get_bind().dialect.name == "postgresql":
        drawn = session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": count},
        )
        return [int(i) for i in drawn]
    take_write_lock(session)  # a job's transaction that has only read: no other writer from here to its commit
    top = int(session.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")) or 0)
    return list(range(top + 1, top + 1 + count))


def _check_keys(table: Table, row: Mapping[str, Any], known: set[str]) -> None:
    if row.keys() <= known:
        return
    unknown = sorted(set(row) - known)
    if unknown:
        raise ValueError(f"{table.name} has no column {', '.join(map(repr, unknown))}")

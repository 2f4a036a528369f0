"""Bulk loading for the demo generator: rows buffered per table, written in chunks.

PostgreSQL gets ``COPY ... FROM STDIN`` through psycopg; SQLite gets ``executemany`` on the
raw connection. Values are converted here exactly as SQLAlchemy would store them, so the
rows read back identically through the models on both databases. Buffers are flushed in
the schema's dependency order, so a row's parents are always written before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Boolean, Connection, Date, DateTime, Numeric, Table, insert
from sqlalchemy import Enum as SAEnum

from acas_batch.models import Base, UTCDateTime


def _table_defaults(table: Table) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for col in table.columns:
        default = col.default
        if default is not None and getattr(default, "is_scalar", False):
            defaults[col.name] = default.arg  # type: ignore[attr-defined]
        elif default is not None and getattr(default, "is_callable", False):
            value = default.arg(None)  # type: ignore[attr-defined]
            defaults[col.name] = value
    return defaults


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _sqlite_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_date(value: date) -> str:
    return value.isoformat()


def _converters(table: Table, postgres: bool) -> list[tuple[int, Callable[[Any], Any]]]:
    """Which columns need converting, and how: only enums for COPY; dates, times and booleans too for SQLite."""
    out: list[tuple[int, Callable[[Any], Any]]] = []
    for i, col in enumerate(table.columns):
        kind = col.type
        if isinstance(kind, SAEnum):
            out.append((i, _enum_value))
        elif postgres:
            continue
        elif isinstance(kind, UTCDateTime | DateTime):
            out.append((i, _sqlite_datetime))
        elif isinstance(kind, Date):
            out.append((i, _sqlite_date))
        elif isinstance(kind, Boolean):
            out.append((i, int))
    return out


class BulkWriter:
    """Buffers rows (dicts) per table and writes them in dependency order, ``chunk_rows`` at a time."""

    def __init__(
        self, conn: Connection, *, chunk_rows: int = 20_000, on_flush: Callable[[int], None] | None = None
    ) -> None:
        self.conn = conn
        self.chunk_rows = chunk_rows
        self.on_flush = on_flush
        self.postgres = conn.dialect.name == "postgresql"
        self.order = [t.name for t in Base.metadata.sorted_tables]
        self.tables: dict[str, Table] = {t.name: t for t in Base.metadata.sorted_tables}
        self.columns: dict[str, list[str]] = {n: [c.name for c in t.columns] for n, t in self.tables.items()}
        self.defaults: dict[str, dict[str, Any]] = {n: _table_defaults(t) for n, t in self.tables.items()}
        self.converters = {n: _converters(t, self.postgres) for n, t in self.tables.items()}
        # Small tables with Decimal columns go through SQLAlchemy, which stores Numeric per dialect.
        self.via_core = {n for n, t in self.tables.items() if any(isinstance(c.type, Numeric) for c in t.columns)}
        self.buffers: dict[str, list[dict[str, Any]]] = {}
        self.pending = 0
        self.written = 0
        self.counts: dict[str, int] = {}

    def add(self, table: str, row: dict[str, Any]) -> None:
        """Buffer a row. Nothing is written until a flush: the caller flushes at points where
        every buffered row's parents are buffered or written too."""
        self.buffers.setdefault(table, []).append(row)
        self.pending += 1

    def add_many(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.add(table, row)

    def maybe_flush(self) -> None:
        """Flush if a chunk's worth of rows is waiting."""
        if self.pending >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        """Write every buffered row, parents first, and commit."""
        for name in self.order:
            rows = self.buffers.pop(name, None)
            if rows:
                self._write(name, rows)
        self.conn.commit()
        if self.on_flush is not None:
            self.on_flush(self.written)

    def _tuples(self, name: str, rows: list[dict[str, Any]]) -> list[list[Any]]:
        defaults = self.defaults[name]
        pairs = [(c, defaults.get(c)) for c in self.columns[name]]
        converters = self.converters[name]
        out = []
        for row in rows:
            values = [row.get(c, d) for c, d in pairs]
            for i, convert in converters:
                v = values[i]
                if v is not None:
                    values[i] = convert(v)
            out.append(values)
        return out

    def _write(self, name: str, rows: list[dict[str, Any]]) -> None:
        if not self.conn.in_transaction():
            self.conn.begin()  # the raw cursors below must run inside the connection's transaction
        self.pending -= len(rows)
        self.written += len(rows)
        self.counts[name] = self.counts.get(name, 0) + len(rows)
        if name in self.via_core:
            defaults = self.defaults[name]
            self.conn.execute(insert(self.tables[name]), [defaults | row for row in rows])
            return
        cols = self.columns[name]
        tuples = self._tuples(name, rows)
        quoted = ", ".join(f'"{c}"' for c in cols)
        raw = self.conn.connection.driver_connection
        if self.postgres:
            with raw.cursor() as cur, cur.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:  # type: ignore[union-attr]
                for t in tuples:
                    copy.write_row(t)
        else:
            marks = ", ".join("?" for _ in cols)
            cur = raw.cursor()  # type: ignore[union-attr]
            cur.executemany(f'INSERT INTO "{name}" ({quoted}) VALUES ({marks})', tuples)
            cur.close()

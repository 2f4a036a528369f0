"""Bulk loading for the demo generator: rows buffered per table, written in chunks.

Each chunk goes through :func:`acas_batch.db.insert_rows` (``COPY ... FROM STDIN`` on
PostgreSQL, ``executemany`` on SQLite; values bound exactly as SQLAlchemy stores them), so
the rows read back identically through the models on both databases. Buffers are flushed
in the schema's dependency order, so a row's parents are always written before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Executable, Numeric, Table, insert

from acas_batch.db import column_defaults, insert_rows
from acas_batch.models import Base


class BulkWriter:
    """Buffers rows (dicts) per table and writes them in dependency order, ``chunk_rows`` at a time."""

    def __init__(
        self, conn: Connection, *, chunk_rows: int = 20_000, on_flush: Callable[[int], None] | None = None
    ) -> None:
        self.conn = conn
        self.chunk_rows = chunk_rows
        self.on_flush = on_flush
        self.order = [t.name for t in Base.metadata.sorted_tables]
        self.tables: dict[str, Table] = {t.name: t for t in Base.metadata.sorted_tables}
        self.columns: dict[str, list[str]] = {n: [c.name for c in t.columns] for n, t in self.tables.items()}
        self.defaults: dict[str, dict[str, Any]] = {n: column_defaults(t) for n, t in self.tables.items()}
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
        """Write every buffered row, parents first. Nothing is committed here: the caller
        commits once, when everything is written, so an interrupted load leaves nothing."""
        for name in self.order:
            rows = self.buffers.pop(name, None)
            if rows:
                self._write(name, rows)
        if self.on_flush is not None:
            self.on_flush(self.written)

    def execute_many(self, statement: Executable, params: Iterable[dict[str, Any]]) -> None:
        """Run ``statement`` once per parameter set, ``chunk_rows`` sets at a time, so they are never all held."""
        it = iter(params)
        while chunk := list(islice(it, self.chunk_rows)):
            self.conn.execute(statement, chunk)

    def _write(self, name: str, rows: list[dict[str, Any]]) -> None:
        if not self.conn.in_transaction():
            self.conn.begin()
        self.pending -= len(rows)
        self.written += len(rows)
        self.counts[name] = self.counts.get(name, 0) + len(rows)
        if name in self.via_core:
            defaults = self.defaults[name]
            self.conn.execute(insert(self.tables[name]), [defaults | row for row in rows])
            return
        insert_rows(self.conn, self.tables[name], rows, columns=self.columns[name])

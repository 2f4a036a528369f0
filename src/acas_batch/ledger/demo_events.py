"""The demo generator's planned future: events and payment-run entries, kept on disk until due.

When a document is created its fate is planned (receipts, credit note, deliveries, the
supplier's invoice, its place in a payment run). Held in Python, those plans grow with
the company: at full size hundreds of thousands of them wait at any time. Here only the
current day's events are in memory; later ones wait in a private temporary SQLite
database (deleted when closed) and are read back the day they fall due, in the order
they were planned, so the generator's output does not depend on where they waited.
"""

from __future__ import annotations

import heapq
import pickle
import sqlite3
from collections.abc import Iterator
from datetime import date
from typing import Any

BATCH = 2_000  # plans written to disk at a time

_SCHEMA = (
    "CREATE TABLE event (day INTEGER, seq INTEGER, kind TEXT, payload BLOB, PRIMARY KEY (day, seq)) WITHOUT ROWID",
    "CREATE TABLE payment (day INTEGER, supplier INTEGER, seq INTEGER, invoice INTEGER, gross INTEGER,"
    " discount INTEGER, PRIMARY KEY (day, supplier, seq)) WITHOUT ROWID",
)


class PlannedEvents:
    """Future events in (day, planning order), and entries of future payment runs.

    ``at`` plans an event; ``due(day)`` yields the events of every day up to ``day`` in
    (day, planning order), including those planned for ``day`` while it runs. Days must be
    asked for in ascending order.
    """

    def __init__(self, *, batch: int = BATCH) -> None:
        self.batch = batch
        # "" is SQLite's private temporary database: on disk once past its page cache, removed on close.
        self.db = sqlite3.connect("", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        for ddl in _SCHEMA:
            self.db.execute(ddl)
        self.db.execute("BEGIN")  # one transaction, never committed: nothing here outlives the run
        self.today = 0  # ordinal of the day being run; events up to it are in ``current``
        self.current: list[tuple[int, int, str, tuple[Any, ...]]] = []
        self.seq = 0
        self.waiting = 0
        # Rows on their way to disk, written a batch at a time (one executemany, not an execute per plan).
        self.events_out: list[tuple[int, int, str, bytes]] = []
        self.payments_out: list[tuple[int, int, int, int, int, int]] = []

    def at(self, day: date, kind: str, payload: tuple[Any, ...]) -> None:
        """Plan ``kind`` with ``payload`` for ``day``."""
        self.seq += 1
        ordinal = day.toordinal()
        if ordinal <= self.today:
            heapq.heappush(self.current, (ordinal, self.seq, kind, payload))
            return
        self.waiting += 1
        self.events_out.append((ordinal, self.seq, kind, pickle.dumps(payload, pickle.HIGHEST_PROTOCOL)))
        if len(self.events_out) >= self.batch:
            self._write()

    def due(self, day: date) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """The events planned for ``day`` or earlier, oldest day first, then in planning order."""
        self.today = day.toordinal()
        self._write()
        if self.waiting:
            rows = self.db.execute("SELECT day, seq, kind, payload FROM event WHERE day <= ?", (self.today,)).fetchall()
            if rows:
                self.db.execute("DELETE FROM event WHERE day <= ?", (self.today,))
                self.waiting -= len(rows)
                for ordinal, seq, kind, payload in rows:
                    heapq.heappush(self.current, (ordinal, seq, kind, pickle.loads(payload)))
        while self.current:
            _, _, kind, payload = heapq.heappop(self.current)
            yield kind, payload

    def pay(self, day: date, supplier: int, invoice: int, gross: int, discount: int) -> None:
        """Put an invoice in the payment run of ``day``."""
        self.seq += 1
        self.payments_out.append((day.toordinal(), supplier, self.seq, invoice, gross, discount))
        if len(self.payments_out) >= self.batch:
            self._write()

    def payment_run(self, day: date) -> dict[int, list[tuple[int, int, int]]]:
        """Take the run of ``day``: per supplier (ascending), its (invoice, gross, discount) in planning order."""
        ordinal = day.toordinal()
        self._write()
        rows = self.db.execute(
            "SELECT supplier, invoice, gross, discount FROM payment WHERE day = ? ORDER BY supplier, seq", (ordinal,)
        ).fetchall()
        run: dict[int, list[tuple[int, int, int]]] = {}
        for supplier, invoice, gross, discount in rows:
            run.setdefault(supplier, []).append((invoice, gross, discount))
        if rows:
            self.db.execute("DELETE FROM payment WHERE day = ?", (ordinal,))
        return run

    def _write(self) -> None:
        if self.events_out:
            self.db.executemany("INSERT INTO event VALUES (?, ?, ?, ?)", self.events_out)
            self.events_out.clear()
        if self.payments_out:
            self.db.executemany("INSERT INTO payment VALUES (?, ?, ?, ?, ?, ?)", self.payments_out)
            self.payments_out.clear()

    def close(self) -> None:
        self.db.close()

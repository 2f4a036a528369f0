"""Outages of the database as a long-running process lives through them.

A scheduler or worker outlives any outage: it keeps its job processes, retries with a
growing pause, and says so once when the outage begins and once when it ends, with the
reason on one line, instead of a traceback at every poll. An error that is not a lost or
busy database (a bug) is still logged with its traceback, since nobody could fix it
otherwise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, DisconnectionError

from acas_batch.errors import AcasBatchError

T = TypeVar("T")

#: The first pause after a failure (seconds); it doubles with each failure in a row ...
BACKOFF_FIRST = 0.25
#: ... up to this (seconds).
BACKOFF_CAP = 5.0
#: A failure this soon (seconds) after the database came back belongs to the same outage: a
#: restart cuts every pooled connection, and each is found dead at its next use.
SAME_OUTAGE_SECONDS = 30.0


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is unreachable, restarting or busy, rather than a bug.

    PostgreSQL: a connection that failed or was cut (no SQLSTATE, class 08) and the
    server's shutdown codes (57P01-57P03). SQLite: a locked or busy file and I/O errors.
    Not an error of a named file (a full disk, a read-only output folder): that is the job's.
    """
    if isinstance(exc, DisconnectionError):
        return True
    if isinstance(exc, AcasBatchError) or (isinstance(exc, OSError) and exc.filename is not None):
        return False  # a file that cannot be written (disk full, read-only folder) is the job's failure
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(orig, OSError | TimeoutError):
        return True
    module = type(orig).__module__ or ""
    if module.startswith("psycopg"):
        if type(orig).__name__ not in _PG_CLASSES and not any(c.__name__ in _PG_CLASSES for c in type(orig).__mro__):
            return False
        state = getattr(orig, "sqlstate", None)
        return state is None or state.startswith("08") or state in {"57P01", "57P02", "57P03"}
    if module.startswith("sqlite3") and type(orig).__name__ == "OperationalError":
        text = str(orig).lower()
        return any(words in text for words in _SQLITE_OUTAGES)
    return False


_PG_CLASSES = {"OperationalError", "InterfaceError"}
_SQLITE_OUTAGES = ("database is locked", "database table is locked", "disk i/o error", "unable to open")


def one_line(exc: BaseException) -> str:
    """The first line of the driver's own message: what an operator needs, without the SQL."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {text[0] if text else ''}".rstrip(": ")


class Outage:
    """The state of one process's view of the database: up, or down since when, and the pause."""

    def __init__(self, log: logging.Logger, who: str) -> None:
        self.log = log
        self.who = who
        self.failures = 0  # failures in a row
        self.since: float | None = None  # monotonic start of the current outage
        self.outages = 0  # outages seen since the process started
        self._back_at = -SAME_OUTAGE_SECONDS  # monotonic end of the last outage

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException, doing: str) -> float:
        """Record a failure while ``doing``; returns the pause before the next try (seconds).

        The first failure of an outage is logged as a warning; the rest at debug level.
        """
        self.failures += 1
        if not is_outage(exc):
            self.log.error("%s: %s failed", self.who, doing, exc_info=exc)
        elif self.since is None and time.monotonic() - self._back_at < SAME_OUTAGE_SECONDS:
            self.since = time.monotonic()
            self.log.debug("%s: unavailable again while %s (%s)", self.who, doing, one_line(exc))
        elif self.since is None:
            self.since = time.monotonic()
            self.outages += 1
            self.log.warning(
                "%s: database unavailable while %s (%s); retrying until it is back", self.who, doing, one_line(exc)
            )
        else:
            self.log.debug("%s: still unavailable while %s (%s)", self.who, doing, one_line(exc))
        return float(min(BACKOFF_CAP, BACKOFF_FIRST * 2.0 ** (self.failures - 1)))

    def ok(self) -> None:
        """A round trip succeeded: the outage, if any, is over."""
        if self.since is not None:
            self.log.info("%s: database available again after %.1f s", self.who, time.monotonic() - self.since)
            self._back_at = time.monotonic()
        self.since = None
        self.failures = 0


def patiently(fn: Callable[[], T], log: logging.Logger, who: str, doing: str, *, give_up_after: float = 600.0) -> T:
    """``fn()``, tried again with a growing pause while the database is away (a bug raises at once).

    For writes that are safe to repeat until they land: each is one transaction, fenced
    by its lease token, so a repeat after an unacknowledged commit changes nothing.
    """
    outage = Outage(log, who)
    deadline = time.monotonic() + give_up_after
    while True:
        try:
            result = fn()
        except Exception as exc:
            if not is_outage(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(outage.failed(exc, doing))
            continue
        outage.ok()
        return result

"""Clocks: the only place that reads the wall clock.

Everything that needs "now" takes a :class:`Clock`. A :class:`SimulatedClock` lets a
whole quarter of schedules run in seconds in tests and in ``acas-batch simulate``.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    """A source of the current time, always timezone-aware UTC."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class SimulatedClock:
    """A clock that moves only when told to (``advance``/``set``), when slept on, or while flowing.

    ``sleep`` advances virtual time instead of waiting, so code that polls on a
    schedule runs at full speed. Between ``flow(True)`` and ``flow(False)`` virtual time
    also runs at the wall clock's pace, as it does for a job's own clock while it runs, so
    whatever is recorded meanwhile keeps the order it happened in.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"SimulatedClock needs an aware datetime, got naive {start.isoformat()}")
        self._now = start.astimezone(UTC)
        self._flowing_since: float | None = None
        self._lock = threading.Lock()

    def _current(self) -> datetime:
        if self._flowing_since is None:
            return self._now
        return self._now + timedelta(seconds=time.perf_counter() - self._flowing_since)

    def now(self) -> datetime:
        with self._lock:
            return self._current()

    def flow(self, on: bool) -> None:
        """Let virtual time run at the wall clock's pace (``True``) or stand still (``False``)."""
        with self._lock:
            self._now = self._current()
            self._flowing_since = time.perf_counter() if on else None

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError(f"SimulatedClock.set needs an aware datetime, got naive {when.isoformat()}")
        with self._lock:
            self._now = when.astimezone(UTC)
            if self._flowing_since is not None:
                self._flowing_since = time.perf_counter()

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._current()

    def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=seconds))


class FileClock:
    """Simulated time shared by several processes: the instant written in a file.

    A driver (a test, or ``acas-batch simulate`` across processes) writes ISO-8601 UTC
    instants to the file; every process reading it agrees on "now". ``sleep`` waits in
    real time: the driver decides when time moves.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._cache: tuple[tuple[int, int], datetime] | None = None

    def now(self) -> datetime:
        stat = self._path.stat()
        key = (stat.st_ino, stat.st_mtime_ns)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        value = datetime.fromisoformat(self._path.read_text().strip())
        if value.tzinfo is None:
            raise ValueError(f"clock file {self._path} holds a naive time {value.isoformat()}")
        value = value.astimezone(UTC)
        self._cache = (key, value)
        return value

    def set(self, when: datetime) -> None:
        """Move shared time (atomically: readers never see a half-written file)."""
        if when.tzinfo is None:
            raise ValueError(f"FileClock.set needs an aware datetime, got naive {when.isoformat()}")
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(when.astimezone(UTC).isoformat())
        os.replace(tmp, self._path)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def utcnow() -> datetime:
    """The wall clock in UTC, for edges that have no injected clock (CLI defaults)."""
    return datetime.now(UTC)

"""Clocks: the only place that reads the wall clock.

Everything that needs "now" takes a :class:`Clock`. A :class:`SimulatedClock` lets a
whole quarter of schedules run in seconds in tests and in ``acas-batch simulate``.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
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
    """A clock that moves only when told to (``advance``/``set``) or when slept on.

    ``sleep`` advances virtual time instead of waiting, so code that polls on a
    schedule runs at full speed.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"SimulatedClock needs an aware datetime, got naive {start.isoformat()}")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError(f"SimulatedClock.set needs an aware datetime, got naive {when.isoformat()}")
        with self._lock:
            self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=seconds))


def utcnow() -> datetime:
    """The wall clock in UTC, for edges that have no injected clock (CLI defaults)."""
    return datetime.now(UTC)

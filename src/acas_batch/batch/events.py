"""Execution events and the observers that hook into them.

Monitoring, metrics, log capture and audit register an :class:`Observer`; the engine
calls every hook after the state change it reports has been committed. Hooks must not
raise: an observer's failure is logged and never changes an execution.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from acas_batch.models.enums import ExecutionState

log = logging.getLogger("acas_batch.events")


@dataclass(frozen=True)
class ExecutionEvent:
    """What happened to one execution, as observers see it."""

    execution_id: int
    job_name: str
    state: ExecutionState
    at: datetime
    attempt: int = 1
    worker_id: str | None = None
    reason: str | None = None


class Observer:
    """No-op hooks; subclass and override the ones you need."""

    def on_created(self, event: ExecutionEvent) -> None:
        """An execution was created (scheduled, manual, triggered, retry, rerun)."""

    def on_claimed(self, event: ExecutionEvent) -> None:
        """A worker claimed the execution and holds its lease."""

    def on_finished(self, event: ExecutionEvent) -> None:
        """The execution reached a terminal state."""

    def on_retry_scheduled(self, event: ExecutionEvent) -> None:
        """A failed attempt was followed by a new attempt waiting for its backoff."""

    def on_recovered(self, event: ExecutionEvent) -> None:
        """A lease expired and the execution was recovered by its job's policy."""


class Observers:
    """The registered observers; calling a hook calls it on each, isolating failures."""

    def __init__(self, observers: Iterable[Observer] = ()) -> None:
        self._observers = list(observers)

    def add(self, observer: Observer) -> None:
        self._observers.append(observer)

    def emit(self, hook: str, event: ExecutionEvent) -> None:
        for observer in self._observers:
            try:
                getattr(observer, hook)(event)
            except Exception:
                log.exception("observer %r failed on %s for execution %s", observer, hook, event.execution_id)


class RecordingObserver(Observer):
    """Keeps every event it sees, in order (for tests and the simulator's report)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ExecutionEvent]] = []

    def on_created(self, event: ExecutionEvent) -> None:
        self.events.append(("created", event))

    def on_claimed(self, event: ExecutionEvent) -> None:
        self.events.append(("claimed", event))

    def on_finished(self, event: ExecutionEvent) -> None:
        self.events.append(("finished", event))

    def on_retry_scheduled(self, event: ExecutionEvent) -> None:
        self.events.append(("retry_scheduled", event))

    def on_recovered(self, event: ExecutionEvent) -> None:
        self.events.append(("recovered", event))

"""Helpers for engine tests: settings, job definitions, the calendar, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

import tests.jobs_fixture  # noqa: F401  (registers the test jobs in this process)
from acas_batch.batch.definitions import create_job
from acas_batch.batch.scheduler import Calendar, business_calendar
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.models import BatchExecution, BatchSchedule

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def engine_settings(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": tmp_path,
        "job_modules": "tests.jobs_fixture",
        "lease_seconds": 3,
        "poll_seconds": 0.05,
        "shutdown_grace_seconds": 2,
    }
    values.update(overrides)
    return Settings(**values)


def define(engine: Engine, name: str, handler: str | None = None, **values: Any) -> int:
    with transaction(engine, write=True) as s:
        return create_job(s, name, handler=handler or name, module="SYS", now=NOW, **values).id


def wait_until(predicate: Callable[[], bool], timeout: float = 30, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def executions(engine: Engine, **where: Any) -> list[BatchExecution]:
    with transaction(engine) as s:
        stmt = select(BatchExecution).order_by(BatchExecution.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(BatchExecution, key) == value)
        return list(s.scalars(stmt))


def uk_calendar() -> Calendar:
    """The real business calendar (England and Wales bank holidays) with the real schedule rules."""
    return business_calendar(Settings())


def schedules(engine: Engine) -> list[BatchSchedule]:
    with transaction(engine) as s:
        return list(s.scalars(select(BatchSchedule).order_by(BatchSchedule.id)))


class Running:
    """A scheduler and a worker running in background threads of the test process."""

    def __init__(self, settings: Settings, engine: Engine, *, slots: int = 2, calendar: Calendar | None = None) -> None:
        import threading

        from acas_batch.batch.scheduler import Scheduler
        from acas_batch.batch.worker import Worker
        from acas_batch.clock import SystemClock

        self.scheduler = Scheduler(settings, engine, clock=SystemClock(), calendar=calendar or uk_calendar())
        self.worker = Worker(settings, clock=SystemClock(), slots=slots, engine=engine)
        self.worker.start()
        self._threads = [
            threading.Thread(target=self.scheduler.run, daemon=True),
            threading.Thread(target=self.worker.run, daemon=True),
        ]

    def __enter__(self) -> Running:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.worker.request_stop()
        self.scheduler.request_stop()
        for t in self._threads:
            t.join(timeout=30)

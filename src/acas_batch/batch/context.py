"""What a running job sees.

A job is a function of its context: it reads ``ctx.params``, ``ctx.business_date`` and
``ctx.now`` (never the wall clock), does its work through ``ctx.session`` and reports
through ``ctx.log``, ``ctx.progress`` and ``ctx.checkpoint``.

``ctx.checkpoint(state)`` commits the job's pending writes in ``ctx.session`` *together
with* the checkpoint, in one transaction fenced by the execution's lease: a crash
between chunks resumes from the last committed chunk, never repeating or losing one.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.config import Settings

P_co = TypeVar("P_co", bound=BaseModel, covariant=True)


class JobLog(Protocol):
    """Writes an execution's log lines to ``batch_log_rec`` (masked, outside the job's transaction)."""

    def debug(self, message: str, *, event: str = "job_log", **context: Any) -> None: ...

    def info(self, message: str, *, event: str = "job_log", **context: Any) -> None: ...

    def warning(self, message: str, *, event: str = "job_warning", **context: Any) -> None: ...

    def error(self, message: str, *, event: str = "job_error", **context: Any) -> None: ...


class JobContext(Protocol, Generic[P_co]):
    """The interface job code is written against."""

    @property
    def execution_id(self) -> int: ...

    @property
    def job_name(self) -> str: ...

    @property
    def attempt(self) -> int: ...

    @property
    def params(self) -> P_co: ...

    @property
    def business_date(self) -> date: ...

    @property
    def now(self) -> datetime:
        """The run's "now": its nominal time when scheduled, else when it started (UTC)."""
        ...

    @property
    def settings(self) -> Settings:
        """The system's settings (data and output folders, time zone, holiday calendar)."""
        ...

    @property
    def engine(self) -> Engine: ...

    @property
    def session(self) -> Session:
        """The job's unit of work; committed by ``checkpoint`` and when the job returns."""
        ...

    @property
    def log(self) -> JobLog: ...

    @property
    def last_checkpoint(self) -> dict[str, Any] | None:
        """The state saved by the last committed ``checkpoint`` of this run (across retries)."""
        ...

    def progress(self, done: int, total: int | None = None) -> None: ...

    def checkpoint(self, state: dict[str, Any]) -> None:
        """Commit ``ctx.session``'s pending writes and ``state`` atomically, fenced by the lease."""
        ...

    def output(self, name: str) -> Path:
        """A path in this execution's output folder (created), for a file named ``name``."""
        ...

    def warn_outcome(self, reason: str) -> None:
        """Finish the run in the WARNING state (work done, someone must look) with ``reason``."""
        ...

    def clock_now(self) -> datetime:
        """The installation's time as the run goes on (the worker's clock, simulated in a
        simulation): when something happened outside the books, such as a message handed to
        the mail server. Never for the job's figures, which use ``now`` and ``business_date``."""
        ...


class JobResult(BaseModel):
    """What a job returns: a short summary kept on the execution and shown to users."""

    summary: str = ""
    counts: dict[str, int] = {}
    totals: dict[str, int] = {}
    files: list[str] = []
    data: dict[str, Any] = {}

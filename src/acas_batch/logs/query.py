"""Filtering and search over ``batch_log_rec``.

A filter accepts the spec's own shapes: integer dates (``20241201``), ISO dates or
date objects; ``log_level`` is a *minimum* severity (``ERROR`` also returns CRITICAL).
Results stream from the database in id order; nothing loads the whole log.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from acas_batch.errors import ValidationError
from acas_batch.models import BatchJob, BatchLog, LogLevel

LEVEL_ORDER = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARNING, LogLevel.ERROR, LogLevel.CRITICAL]
MAX_LIMIT = 10_000


def parse_day(value: Any, field: str) -> date:
    """A date from ``20241201``, ``"20241201"``, ``"2024-12-01"`` or a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if text.isdigit() and len(text) == 8:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{field}: {value!r} is not a date (use YYYYMMDD or YYYY-MM-DD)") from None


@dataclass(frozen=True)
class LogFilter:
    """Which log lines to return."""

    job_name: str | None = None
    execution_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    min_level: LogLevel | None = None
    event: str | None = None
    search: str | None = None
    limit: int = 1_000
    offset: int = 0


_KEYS = {"job_name", "execution_id", "date_from", "date_to", "log_level", "event", "search", "limit", "offset"}


def parse_filter(raw: Mapping[str, Any] | None) -> LogFilter:
    """Build a :class:`LogFilter` from the spec's dictionary form, refusing unknown keys."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ValidationError(f"unknown log filter {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
    level = raw.get("log_level")
    if level is not None:
        try:
            level = LogLevel(str(level).upper())
        except ValueError:
            raise ValidationError(
                f"log_level: {level!r} is not one of {', '.join(m.value for m in LogLevel)}"
            ) from None
    date_from = parse_day(raw["date_from"], "date_from") if raw.get("date_from") is not None else None
    date_to = parse_day(raw["date_to"], "date_to") if raw.get("date_to") is not None else None
    if date_from and date_to and date_to < date_from:
        raise ValidationError(f"date_to {date_to} is before date_from {date_from}")
    try:
        limit = int(raw.get("limit", 1_000))
        offset = int(raw.get("offset", 0))
        execution_id = int(raw["execution_id"]) if raw.get("execution_id") is not None else None
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"limit, offset and execution_id must be integers: {exc}") from None
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValidationError(f"limit must be 1..{MAX_LIMIT} and offset >= 0 (got {limit}, {offset})")
    return LogFilter(
        job_name=raw.get("job_name"),
        execution_id=execution_id,
        date_from=date_from,
        date_to=date_to,
        min_level=level,
        event=raw.get("event"),
        search=raw.get("search"),
        limit=limit,
        offset=offset,
    )


@dataclass(frozen=True)
class LogEntry:
    """One log line with its job's name."""

    id: int
    logged_at: datetime
    level: LogLevel
    job_name: str | None
    execution_id: int | None
    event: str
    message: str
    context: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "logged_at": self.logged_at.isoformat(),
            "level": self.level.value,
            "job_name": self.job_name,
            "execution_id": self.execution_id,
            "event": self.event,
            "message": self.message,
            "context": self.context,
        }


def _statement(flt: LogFilter) -> Select[Any]:
    stmt = select(
        BatchLog.id,
        BatchLog.logged_at,
        BatchLog.level,
        BatchJob.name,
        BatchLog.execution_id,
        BatchLog.event,
        BatchLog.message,
        BatchLog.context,
    ).outerjoin(BatchJob, BatchJob.id == BatchLog.job_id)
    if flt.job_name:
        stmt = stmt.where(BatchJob.name == flt.job_name)
    if flt.execution_id is not None:
        stmt = stmt.where(BatchLog.execution_id == flt.execution_id)
    if flt.date_from:
        stmt = stmt.where(BatchLog.logged_at >= datetime.combine(flt.date_from, time(), UTC))
    if flt.date_to:
        stmt = stmt.where(BatchLog.logged_at < datetime.combine(flt.date_to + timedelta(days=1), time(), UTC))
    if flt.min_level:
        stmt = stmt.where(BatchLog.level.in_(LEVEL_ORDER[LEVEL_ORDER.index(flt.min_level) :]))
    if flt.event:
        stmt = stmt.where(BatchLog.event == flt.event)
    if flt.search:
        pattern = f"%{flt.search.lower()}%"
        stmt = stmt.where(or_(func.lower(BatchLog.message).like(pattern), func.lower(BatchLog.event).like(pattern)))
    return stmt.order_by(BatchLog.logged_at, BatchLog.id)


def _entry(row: Any) -> LogEntry:
    return LogEntry(
        id=row[0],
        logged_at=row[1],
        level=row[2],
        job_name=row[3],
        execution_id=row[4],
        event=row[5],
        message=row[6],
        context=row[7],
    )


def query_logs(session: Session, flt: LogFilter) -> tuple[list[LogEntry], int]:
    """One page of matching lines and the total number that match."""
    stmt = _statement(flt)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.execute(stmt.limit(flt.limit).offset(flt.offset)).all()
    return [_entry(r) for r in rows], int(total)


def iter_logs(session: Session, flt: LogFilter, *, chunk: int = 2_000) -> Iterator[LogEntry]:
    """Every matching line (limit and offset ignored), streamed in chunks."""
    result = session.execute(_statement(flt).execution_options(yield_per=chunk))
    for row in result:
        yield _entry(row)

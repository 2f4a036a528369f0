"""Filtering and search over ``batch_log_rec``.

A filter accepts the spec's own shapes: integer dates (``20241201``), ISO dates or
date objects; ``log_level`` is a *minimum* severity (``ERROR`` also returns CRITICAL).
Results come in (logged_at, id) order; nothing loads the whole log. ``search`` finds lines
whose event or stored (masked) message has each word searched (``word*``: a word starting so), through
the full-text index (SQLite FTS5, PostgreSQL ``tsvector``; see migration ``0023_perf``);
a page is found by the ``after`` cursor (keyset) rather than an offset, and its count stops
at :data:`COUNT_CAP` beyond the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, TextClause, and_, column, func, literal_column, or_, select, table, text
from sqlalchemy.orm import Session, aliased

from acas_batch.errors import ValidationError
from acas_batch.models import BatchJob, BatchLog, LogLevel

#: The indexed document on PostgreSQL, exactly as the index ``ix_batch_log_rec_search`` was built.
PG_DOCUMENT = "to_tsvector('simple'::regconfig, (batch_log_rec.event::text || ' ' || batch_log_rec.message))"

LEVEL_ORDER = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARNING, LogLevel.ERROR, LogLevel.CRITICAL]
MAX_LIMIT = 10_000
#: A page's count stops this far: the rest shows as ``1,000+``.
COUNT_CAP = 1_000
#: On SQLite, from this many matches an export's search probes the index line by line in order.
SQLITE_PROBE_FROM = 5_000
#: Walking the lines in order costs about this many times more a line than reading a match from
#: the full-text index (SQLite: a probe of the index; PostgreSQL: computing the line's words).
PROBE_COST = 3
_WORD = re.compile(r"([^\W_]+)(\*?)")


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
    after: tuple[datetime, int] | None = None  # keyset: lines after this (logged_at, id)


_KEYS = {"job_name", "execution_id", "date_from", "date_to", "log_level", "event", "search", "limit", "offset", "after"}


def parse_after(value: Any) -> tuple[datetime, int]:
    """The ``after`` cursor ``<logged_at ISO>|<id>`` of a :class:`LogPage`."""
    at, _, ident = str(value).rpartition("|")
    try:
        when = datetime.fromisoformat(at)
        return (when if when.tzinfo else when.replace(tzinfo=UTC)), int(ident)
    except ValueError:
        raise ValidationError(f"after: {value!r} is not a page cursor (<logged_at>|<id>)") from None


def parse_filter(raw: Mapping[str, Any] | None) -> LogFilter:
    """Build a :class:`LogFilter` from the spec's dictionary form, refusing unknown keys."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ValidationError(f"unknown log filter {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
    for key, value in raw.items():
        # PostgreSQL refuses NUL in text; no job, level or word holds one, so say so instead of failing.
        if isinstance(value, str) and "\x00" in value:
            raise ValidationError(f"{key}: holds a NUL character", fields={key: "NUL character"})
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
    search = raw.get("search")
    if search is not None and not search_words(str(search)):
        raise ValidationError(f"search: {search!r} has no words to look for")
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValidationError(f"limit must be 1..{MAX_LIMIT} and offset >= 0 (got {limit}, {offset})")
    return LogFilter(
        job_name=raw.get("job_name"),
        execution_id=execution_id,
        date_from=date_from,
        date_to=date_to,
        min_level=level,
        event=raw.get("event"),
        search=search,
        limit=limit,
        offset=offset,
        after=parse_after(raw["after"]) if raw.get("after") is not None else None,
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


def search_words(text: str) -> list[tuple[str, bool]]:
    """The words of a search, lower-cased, each with whether it is a prefix (written ``word*``).

    A word is a run of letters and digits (``execution_failed`` is two words)."""
    return [(w.lower(), star == "*") for w, star in _WORD.findall(text)]


def _search_clause(session: Session, words: list[tuple[str, bool]], *, index_first: bool) -> TextClause:
    """Lines whose event or message has each of ``words`` (or a word starting with it), by the full-text index.

    ``index_first``: on SQLite, read the matches from the index (see :func:`_index_first`)."""
    if session.get_bind().dialect.name == "postgresql":
        return text(f"{PG_DOCUMENT} @@ to_tsquery('simple'::regconfig, :log_search)").bindparams(
            log_search=_pg_tsquery(words)
        )
    # A prefix costs FTS5 a merge of every matching word's list, at each probe below: whole
    # words are the fast case, prefixes are for when a person asks for one.
    match = _fts_match(words)
    if index_first:
        # Few lines match: read them from the index, then filter and order them.
        return text(
            "batch_log_rec.id IN (SELECT rowid FROM batch_log_fts WHERE batch_log_fts MATCH :log_search)"
        ).bindparams(log_search=match)
    # Many match: walk the lines in order and ask the index about each (a seek), so the first
    # page stops after a few lines instead of reading every match.
    return text(
        "EXISTS (SELECT 1 FROM batch_log_fts WHERE batch_log_fts MATCH :log_search"
        " AND batch_log_fts.rowid = batch_log_rec.id)"
    ).bindparams(log_search=match)


def _fts_match(words: list[tuple[str, bool]]) -> str:
    return " AND ".join(f'"{w}"{"*" if prefix else ""}' for w, prefix in words)


def _pg_tsquery(words: list[tuple[str, bool]]) -> str:
    return " & ".join(f"'{w}'{':*' if prefix else ''}" for w, prefix in words)


def _index_first(session: Session, flt: LogFilter, rows: int | None) -> bool:
    """Whether a search reads its matches from the full-text index first (then filters and orders
    them) rather than walking the lines in order and probing the index for each (SQLite) or
    computing each line's words (PostgreSQL). ``rows``: how many lines in order the caller wants
    (a page's offset and limit), None for all. On PostgreSQL the matches are the planner's
    estimate, so no line is read to choose; on SQLite they are counted in the index, up to the
    threshold.

    Reading first costs one row per match (``m``); walking costs about ``rows * lines / m``
    probes of :data:`PROBE_COST` rows each, whatever the other filters (they thin the
    walk and the matches alike). So the index is read first while ``m * m < PROBE_COST
    * rows * lines``: at 10,000,000 lines and a page of 50, below about 39,000 matches. A
    whole export (``rows`` None) reads first below :data:`SQLITE_PROBE_FROM` matches.
    """
    if not flt.search:
        return True
    if session.get_bind().dialect.name == "postgresql":
        if rows is None:
            return True
        # The planner's own estimates (its statistics of the indexed words): no line is read.
        query = _pg_tsquery(search_words(flt.search))
        matches = _pg_estimate(session, f"{PG_DOCUMENT} @@ to_tsquery('simple'::regconfig, :q)", {"q": query})
        return matches * matches < PROBE_COST * rows * _pg_estimate(session, "true", {})
    if rows is None:
        threshold = SQLITE_PROBE_FROM
    else:
        # max - min of the ids, each one seek (lines deleted by retention are at the low end).
        lines = session.scalar(
            text("SELECT coalesce((SELECT max(id) FROM batch_log_rec) - (SELECT min(id) FROM batch_log_rec) + 1, 0)")
        )
        threshold = math.isqrt(PROBE_COST * rows * int(lines or 0))
    return _fts_matches(session, _fts_match(search_words(flt.search)), threshold) < threshold


def _pg_estimate(session: Session, condition: str, params: dict[str, Any]) -> int:
    """How many lines PostgreSQL's planner expects to match ``condition``."""
    plan = session.scalar(text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM batch_log_rec WHERE {condition}"), params)
    return int(plan[0]["Plan"]["Plan Rows"])


def _fts_matches(session: Session, match: str, limit: int) -> int:
    """How many lines the FTS5 query matches, counting no further than ``limit``."""
    return int(
        session.scalar(
            text(
                "SELECT count(*) FROM (SELECT rowid FROM batch_log_fts WHERE batch_log_fts MATCH :m LIMIT :n)"
            ).bindparams(m=match, n=limit)
        )
        or 0
    )


_FTS = table("batch_log_fts", column("rowid"))


def _count_statement(session: Session, flt: LogFilter, cap: int, *, index_first: bool) -> Select[Any]:
    """The matches, no more than ``cap``. On SQLite, a search matching many lines is counted in
    the index's order (a stream of its list) joined to the lines, not probed line by line."""
    if not flt.search or index_first or session.get_bind().dialect.name != "sqlite":
        return _statement(session, flt, index_first=index_first, ordered=False).limit(cap)
    words = search_words(flt.search)
    stmt = (
        select(BatchLog.id)
        .select_from(_FTS.join(BatchLog, BatchLog.id == _FTS.c.rowid))
        .where(text("batch_log_fts MATCH :log_count").bindparams(log_count=_fts_match(words)))
    )
    return _filtered(stmt, flt).limit(cap)


def _statement(session: Session, flt: LogFilter, *, index_first: bool, ordered: bool = True) -> Select[Any]:
    log: Any = BatchLog
    search = _search_clause(session, search_words(flt.search), index_first=index_first) if flt.search else None
    postgresql = session.get_bind().dialect.name == "postgresql"
    if search is not None and index_first and postgresql:
        # The word's lines from the index, fenced (OFFSET 0) from the rest of the query: else
        # the planner may walk the lines in page order and compute each one's words (seconds
        # for a word in one line of a thousand), or AND the index with the job's 300,000 lines.
        log = aliased(BatchLog, select(BatchLog).where(search).offset(0).subquery("matches"))
        search = None
    stmt = select(
        log.id, log.logged_at, log.level, BatchJob.name, log.execution_id, log.event, log.message, log.context
    ).outerjoin(BatchJob, BatchJob.id == log.job_id)
    if search is not None:
        stmt = stmt.where(search)
    if not ordered:
        return _filtered(stmt, flt, log=log)
    return _filtered(stmt, flt, log=log, level_walk=not postgresql).order_by(log.logged_at, log.id)


def _filtered(stmt: Select[Any], flt: LogFilter, *, log: Any = BatchLog, level_walk: bool = False) -> Select[Any]:
    """``stmt`` with every condition of ``flt`` but the search, on the lines of ``log``.

    ``level_walk``: a minimum level of several levels is checked on the lines walked in order,
    not looked up in the (level, logged_at) index (SQLite).
    """
    if flt.job_name:
        # The job's id first, so the (job_id, logged_at) index serves the filter and the order.
        job_id = select(BatchJob.id).where(BatchJob.name == flt.job_name).scalar_subquery()
        stmt = stmt.where(log.job_id == job_id)
    if flt.execution_id is not None:
        stmt = stmt.where(log.execution_id == flt.execution_id)
    if flt.date_from:
        stmt = stmt.where(log.logged_at >= datetime.combine(flt.date_from, time(), UTC))
    if flt.date_to:
        stmt = stmt.where(log.logged_at < datetime.combine(flt.date_to + timedelta(days=1), time(), UTC))
    if flt.min_level and flt.min_level is not LEVEL_ORDER[0]:
        levels = LEVEL_ORDER[LEVEL_ORDER.index(flt.min_level) :]
        level: Any = log.level
        if level_walk and len(levels) > 1:
            # SQLite reads one index range per level and cannot merge them in time order: it
            # would sort every ERROR and CRITICAL line for one page. The unary + keeps the
            # (level, logged_at) index out, so the page walks the time (or job) index instead
            # and stops at the page's end (ERROR and up: about one line in 33).
            level = literal_column("+batch_log_rec.level", BatchLog.level.type)
        stmt = stmt.where(level.in_(levels))
    if flt.event:
        stmt = stmt.where(log.event == flt.event)
    if flt.after is not None:
        at, after_id = flt.after
        stmt = stmt.where(or_(log.logged_at > at, and_(log.logged_at == at, log.id > after_id)))
    return stmt


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


@dataclass(frozen=True)
class LogPage:
    """One page of matching lines.

    ``total`` counts the matches no further than ``COUNT_CAP`` beyond the page (``capped``
    then says there are more): a common word matches millions of lines, and counting them
    all would cost more than finding the page. ``next_after`` is the cursor of the next page
    (the ``after`` filter), None on the last.
    """

    entries: list[LogEntry]
    total: int
    capped: bool
    next_after: str | None

    @property
    def total_text(self) -> str:
        """The count as a person reads it: ``1,000+`` when capped."""
        return f"{self.total:,}+" if self.capped else f"{self.total:,}"


def query_page(session: Session, flt: LogFilter) -> LogPage:
    """One page of matching lines (after ``flt.after`` or from ``flt.offset``) and a capped count."""
    cap = max(COUNT_CAP, flt.offset + flt.limit)
    first = _index_first(session, flt, flt.offset + flt.limit)
    counted = session.scalar(
        select(func.count()).select_from(_count_statement(session, flt, cap + 1, index_first=first).subquery())
    )
    counted = counted or 0
    page = _statement(session, flt, index_first=first).limit(flt.limit).offset(flt.offset)
    rows = session.execute(page).all()
    entries = [_entry(r) for r in rows]
    last = entries[-1] if len(entries) == flt.limit else None
    next_after = f"{last.logged_at.isoformat()}|{last.id}" if last is not None else None
    return LogPage(entries, min(int(counted), cap), int(counted) > cap, next_after)


def query_logs(session: Session, flt: LogFilter) -> tuple[list[LogEntry], int]:
    """One page of matching lines and how many match (capped: see :class:`LogPage`)."""
    page = query_page(session, flt)
    return page.entries, page.total


def iter_logs(session: Session, flt: LogFilter, *, chunk: int = 2_000) -> Iterator[LogEntry]:
    """Every matching line (limit and offset ignored), streamed in chunks."""
    result = session.execute(
        _statement(session, flt, index_first=_index_first(session, flt, None)).execution_options(yield_per=chunk)
    )
    for row in result:
        yield _entry(row)

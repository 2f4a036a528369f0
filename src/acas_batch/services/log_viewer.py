"""``BatchLogViewerService``: view, search, export, analyse and clean up logs (the spec's facade)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import AcasBatchError, ValidationError
from acas_batch.logs import ExportFormat, LogEntry, LogPattern, detect_patterns, export_logs, parse_filter
from acas_batch.logs.query import LogPage, query_page
from acas_batch.logs.reliability import reliability_scores
from acas_batch.masking import mask_any, mask_text
from acas_batch.security.policy import Permission
from acas_batch.services import door
from acas_batch.services.base import Facade, Outcome
from acas_batch.system.housekeeping import log_cutoffs, purge_log_chunks

_EXPORT_ONLY = {"format", "output_dir"}


def view_logs(engine: Engine, filters: Mapping[str, Any] | None = None) -> tuple[list[LogEntry], int]:
    """Matching log lines, messages and context masked, and how many match (capped, see :func:`view_log_page`).

    Raises:
        ValidationError: a bad filter.
    """
    page = view_log_page(engine, filters)
    return page.entries, page.total


def view_log_page(engine: Engine, filters: Mapping[str, Any] | None = None) -> LogPage:
    """One page of matching log lines, messages and context masked, with its capped count and
    the cursor of the next page (the ``after`` filter).

    Raises:
        ValidationError: a bad filter.
    """
    flt = parse_filter(filters)
    with transaction(engine) as session:
        page = query_page(session, flt)
    entries = [dataclasses.replace(e, message=mask_text(e.message), context=mask_any(e.context)) for e in page.entries]
    return dataclasses.replace(page, entries=entries)


def export_log_file(
    engine: Engine,
    settings: Settings,
    filters: Mapping[str, Any] | None,
    fmt: str,
    *,
    output_dir: Path | None,
    now: datetime,
) -> tuple[Path, int, ExportFormat]:
    """Export matching lines (secrets masked) into ``output_dir`` (default: the data folder's ``exports``).

    Returns the file, the number of lines and the format.

    Raises:
        ValidationError: a bad filter or format.
    """
    export_format = ExportFormat.parse(fmt)
    flt = parse_filter(filters)
    with transaction(engine) as session:
        path, count = export_logs(session, flt, export_format, output_dir or settings.data_dir / "exports", now)
    return path, count, export_format


def log_patterns(engine: Engine, filters: Mapping[str, Any] | None = None, *, min_count: int = 2) -> list[LogPattern]:
    """Recurring warning and error shapes, most frequent first.

    Raises:
        ValidationError: a bad filter.
    """
    flt = parse_filter(filters)
    with transaction(engine) as session:
        return detect_patterns(session, flt, min_count=min_count)


class BatchLogViewerService(Facade):
    """Execution logs for people: filtered, searched, exported (masked), analysed, pruned."""

    def get_execution_logs(self, filters: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Matching log lines (``job_name``, ``execution_id``, ``date_from``/``date_to`` as
        ``20241201`` or ISO, ``log_level`` minimum, ``event``, ``search``, ``limit``, ``offset``,
        ``after``: the ``next_after`` cursor of the previous page). ``total`` stops counting
        1,000 lines past the page (``total_capped`` then true)."""
        try:
            flt = parse_filter(filters)
            self._may(Permission.LOGS_READ, "read logs")
            page = self._run(lambda s: query_page(s, flt))
        except AcasBatchError as exc:
            self.last_error = exc
            return {"success": False, "error": str(exc), "logs": [], "total": 0}
        logs = [{**e.as_dict(), "message": mask_text(e.message), "context": mask_any(e.context)} for e in page.entries]
        return {
            "success": True,
            "total": page.total,
            "total_capped": page.capped,
            "next_after": page.next_after,
            "limit": flt.limit,
            "offset": flt.offset,
            "logs": logs,
        }

    def search_logs(self, text: str, filters: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Lines whose message or event has every word of ``text`` (``word*``: a word starting so), any case."""
        return self.get_execution_logs({**dict(filters or {}), "search": text})

    def export_logs(self, params: Mapping[str, Any]) -> Outcome:
        """Export matching lines: ``(True, file_path)``. ``format`` is CSV, JSON or TXT."""
        raw = dict(params)
        try:
            fmt = ExportFormat.parse(str(raw.get("format", "CSV")))
            flt = parse_filter({k: v for k, v in raw.items() if k not in _EXPORT_ONLY})
        except AcasBatchError as exc:
            return self._failed(exc)
        dest = Path(raw["output_dir"]) if raw.get("output_dir") else self.settings.data_dir / "exports"
        now = self.clock.now()
        try:
            self._may(Permission.LOGS_EXPORT, "export logs")
            path, count = self._run(lambda s: export_logs(s, flt, fmt, dest, now))
        except AcasBatchError as exc:
            return self._failed(exc)
        door.record(
            self.engine, self.actor, "logs.export", ("file", path.name), now=now,
            details={"filters": {k: str(v) for k, v in raw.items()}, "lines": count, "format": fmt.value},
        )  # fmt: skip
        return True, str(path)

    def analyze_log_patterns(self, filters: Mapping[str, Any] | None = None, min_count: int = 2) -> Outcome:
        """Recurring warning and error shapes, most frequent first."""
        try:
            flt = parse_filter(filters)
        except AcasBatchError as exc:
            return self._failed(exc)
        return self._reading(
            Permission.LOGS_READ,
            "analyse logs",
            lambda s: [p.as_dict() for p in detect_patterns(s, flt, min_count=min_count)],
        )

    def get_reliability_scores(self, days: int = 30) -> Outcome:
        """Per job over the last ``days``: runs, outcomes, first-attempt success and a 0-100 score."""
        if days < 1:
            return self._failed(ValidationError(f"days {days} must be at least 1"))
        now = self.clock.now()
        return self._reading(
            Permission.EXECUTIONS_READ,
            "read reliability scores",
            lambda s: [r.as_dict() for r in reliability_scores(s, since=now - timedelta(days=days))],
        )

    def cleanup_logs(self, retention_days: Mapping[str, int] | None = None) -> Outcome:
        """Delete log lines past their level's retention (defaults: debug 7, info 30, warning 90,
        error (with critical) 365 days), in chunks. Returns the count deleted per level."""
        days = {"debug": 7, "info": 30, "warning": 90, "error": 365}
        for group, value in dict(retention_days or {}).items():
            if group.lower() not in days or int(value) < 1:
                return self._failed(
                    ValidationError(f"retention {group}={value}: use debug, info, warning or error and >= 1 day")
                )
            days[group.lower()] = int(value)
        now = self.clock.now()
        try:
            self._may(Permission.LOGS_MANAGE, "clean up logs")
            purge = purge_log_chunks(self.engine, cutoffs=log_cutoffs(now, days))
        except AcasBatchError as exc:
            return self._failed(exc)
        door.record(
            self.engine, self.actor, "logs.cleanup", ("logs", None), now=now,
            details={"retention_days": days, "deleted": purge.deleted},
        )  # fmt: skip
        return True, {"deleted": purge.deleted, "total": purge.total, "chunks": purge.chunks}

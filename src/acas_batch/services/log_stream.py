"""Log exports streamed to a client as they are read (CSV, JSON or text), secrets masked."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from acas_batch.db import transaction
from acas_batch.logs import ExportFormat, parse_filter
from acas_batch.logs.export import CSV_COLUMNS
from acas_batch.logs.query import LogEntry, iter_logs
from acas_batch.masking import mask_any, mask_text
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services import door

#: Media type of each export format.
MEDIA_TYPES = {ExportFormat.CSV: "text/csv", ExportFormat.JSON: "application/json", ExportFormat.TXT: "text/plain"}


def export_format(value: str) -> ExportFormat:
    """``csv``, ``json`` or ``txt`` (any case).

    Raises:
        ValidationError: anything else.
    """
    return ExportFormat.parse(value)


def _masked(e: LogEntry) -> dict[str, Any]:
    return {**e.as_dict(), "message": mask_text(e.message), "context": mask_any(e.context)}


def stream_logs(
    engine: Engine,
    filters: Mapping[str, Any],
    fmt: ExportFormat,
    *,
    actor: Actor,
    now: datetime,
    chunk: int = 500,
) -> Iterator[str]:
    """The matching lines in ``fmt``, a few hundred lines per piece, read in one transaction.

    The filter and ``actor``'s permission are checked before the first piece, so a bad filter
    or a refusal raises before anything is sent.

    Raises:
        PermissionDenied: ``actor`` may not export logs (audited).
        ValidationError: a bad filter.
    """
    flt = parse_filter(filters)
    door.may_read(engine, actor, Permission.LOGS_EXPORT, what="export logs", now=now)

    def pieces() -> Iterator[str]:
        with transaction(engine) as session:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            if fmt is ExportFormat.CSV:
                writer.writerow(CSV_COLUMNS)
            elif fmt is ExportFormat.JSON:
                buffer.write("[")
            for count, e in enumerate(iter_logs(session, flt), start=1):
                d = _masked(e)
                if fmt is ExportFormat.CSV:
                    d["context"] = json.dumps(d["context"], sort_keys=True) if d["context"] else ""
                    writer.writerow([d[c] for c in CSV_COLUMNS])
                elif fmt is ExportFormat.JSON:
                    buffer.write(("," if count > 1 else "") + "\n" + json.dumps(d, sort_keys=True))
                else:
                    who = f"{e.job_name or '-'}#{e.execution_id}" if e.execution_id else e.job_name or "system"
                    buffer.write(f"{d['logged_at']} {e.level.value:<8} {who} {e.event}: {d['message']}\n")
                if count % chunk == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            if fmt is ExportFormat.JSON:
                buffer.write("\n]\n")
            yield buffer.getvalue()

    return pieces()

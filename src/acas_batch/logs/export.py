"""Export of log lines to CSV, JSON or plain text, streamed and masked."""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy.orm import Session

from acas_batch.errors import OutputError, ValidationError
from acas_batch.fileperms import private_dir, private_file, safe_name
from acas_batch.logs.query import LogEntry, LogFilter, iter_logs
from acas_batch.masking import mask_any, mask_text


class ExportFormat(StrEnum):
    """File formats of a log export."""

    CSV = "csv"  # one row per line; context as a JSON column
    JSON = "json"  # one array of objects
    TXT = "txt"  # one human-readable line per log line

    @classmethod
    def parse(cls, value: str) -> ExportFormat:
        try:
            return cls(value.lower())
        except ValueError:
            raise ValidationError(f"format {value!r} is not one of CSV, JSON, TXT") from None


CSV_COLUMNS = ["id", "logged_at", "level", "job_name", "execution_id", "event", "message", "context"]


def _txt(entry: LogEntry) -> str:
    who = f"{entry.job_name or '-'}#{entry.execution_id}" if entry.execution_id else entry.job_name or "system"
    return f"{entry.logged_at.isoformat()} {entry.level.value:<8} {who} {entry.event}: {mask_text(entry.message)}"


def export_logs(session: Session, flt: LogFilter, fmt: ExportFormat, dest_dir: Path, now: datetime) -> tuple[Path, int]:
    """Write the matching lines to a new file in ``dest_dir``; returns its path and the line count.

    The file is written under a temporary name and renamed when complete; a failed export
    leaves nothing behind.

    Raises:
        OutputError: ``dest_dir`` cannot be created or written.
    """
    try:
        private_dir(dest_dir)
    except OSError as exc:
        raise OutputError(f"cannot create the export folder {dest_dir}: {exc.strerror or exc}") from exc
    try:
        return _write_export(session, flt, fmt, dest_dir, now)
    except OSError as exc:
        raise OutputError(f"cannot write the export into {dest_dir}: {exc.strerror or exc}") from exc


def _write_export(
    session: Session, flt: LogFilter, fmt: ExportFormat, dest_dir: Path, now: datetime
) -> tuple[Path, int]:
    # The job filter is the user's text: reduced to a plain name, the file cannot leave ``dest_dir``.
    stem = f"logs-{safe_name(flt.job_name or 'all')}-{now:%Y%m%dT%H%M%S}"
    path = dest_dir / f"{stem}.{fmt.value}"
    n = 1
    while path.exists():  # two exports in one second each keep their own file
        n += 1
        path = dest_dir / f"{stem}-{n}.{fmt.value}"
    tmp = dest_dir / f".{path.name}.tmp{os.getpid()}"
    try:
        count = _write_lines(session, flt, fmt, tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path, count


def _write_lines(session: Session, flt: LogFilter, fmt: ExportFormat, tmp: Path) -> int:
    count = 0
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        private_file(tmp)
        if fmt is ExportFormat.CSV:
            writer = csv.writer(fh)
            writer.writerow(CSV_COLUMNS)
            for e in iter_logs(session, flt):
                d = e.as_dict()
                d["message"] = mask_text(e.message)
                d["context"] = json.dumps(mask_any(e.context), sort_keys=True) if e.context else ""
                writer.writerow([d[c] for c in CSV_COLUMNS])
                count += 1
        elif fmt is ExportFormat.JSON:
            fh.write("[")
            for e in iter_logs(session, flt):
                d = e.as_dict()
                d["message"] = mask_text(e.message)
                d["context"] = mask_any(e.context)
                fh.write(("," if count else "") + "\n" + json.dumps(d, sort_keys=True))
                count += 1
            fh.write("\n]\n")
        else:
            for e in iter_logs(session, flt):
                fh.write(_txt(e) + "\n")
                count += 1
    return count

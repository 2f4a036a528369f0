"""Error-pattern detection: log messages grouped by their shape.

A message's *signature* replaces what varies between occurrences (numbers, ids,
quoted values, dates, paths) with placeholders, so "journal 1234 does not balance by
5p" and "journal 88 does not balance by 12p" are one pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from acas_batch.logs.query import LogFilter, iter_logs
from acas_batch.masking import mask_text
from acas_batch.models import LogLevel

_RULES = [
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<uuid>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"), "<date>"),
    (re.compile(r"'[^']*'|\"[^\"]*\""), "<str>"),
    (re.compile(r"(?:/[\w.-]+){2,}"), "<path>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>"),
    (re.compile(r"\d+(?:[.,]\d+)*"), "<n>"),
]


def signature(message: str) -> str:
    """The shape of a message, with its variable parts replaced."""
    text = message.strip().splitlines()[0] if message.strip() else ""
    for rule, placeholder in _RULES:
        text = rule.sub(placeholder, text)
    return re.sub(r"\s+", " ", text)[:300]


@dataclass
class LogPattern:
    """A recurring message shape and where it was seen."""

    signature: str
    count: int
    first_seen: datetime
    last_seen: datetime
    example: str
    jobs: dict[str, int] = field(default_factory=dict)
    executions: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, object]:
        return {
            "signature": self.signature,
            "count": self.count,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "example": self.example,
            "jobs": dict(sorted(self.jobs.items())),
            "executions": len(self.executions),
        }


def detect_patterns(session: Session, flt: LogFilter, *, min_count: int = 2, top: int = 20) -> list[LogPattern]:
    """Recurring message shapes among the matching lines (default: WARNING and above), most frequent first."""
    if flt.min_level is None:
        flt = LogFilter(**{**flt.__dict__, "min_level": LogLevel.WARNING})
    found: dict[str, LogPattern] = {}
    for entry in iter_logs(session, flt):
        sig = signature(entry.message)
        pat = found.get(sig)
        if pat is None:
            pat = found[sig] = LogPattern(
                signature=sig,
                count=0,
                first_seen=entry.logged_at,
                last_seen=entry.logged_at,
                example=mask_text(entry.message),
            )
        pat.count += 1
        pat.last_seen = max(pat.last_seen, entry.logged_at)
        pat.first_seen = min(pat.first_seen, entry.logged_at)
        name = entry.job_name or "system"
        pat.jobs[name] = pat.jobs.get(name, 0) + 1
        if entry.execution_id is not None:
            pat.executions.add(entry.execution_id)
    ranked = sorted((p for p in found.values() if p.count >= min_count), key=lambda p: (-p.count, p.signature))
    return ranked[:top]

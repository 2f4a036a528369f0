"""How the dashboard writes instants and durations: in the company's zone, GMT or BST said."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def local_time(value: datetime | None, zone: str, *, seconds: bool = True) -> str:
    """``2026-12-06 19:48:21 GMT``: the instant in ``zone`` with its abbreviation (GMT or BST in London)."""
    if value is None:
        return ""
    shown = value.astimezone(ZoneInfo(zone))
    return shown.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def local_iso(value: str | datetime | None, zone: str) -> str:
    """An ISO 8601 instant (as the services' dictionaries hold them) shown as :func:`local_time` does."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return local_time(value, zone)
    try:
        return local_time(datetime.fromisoformat(value), zone)
    except ValueError:
        return value


def iso_utc(value: datetime | date | None) -> str | None:
    """ISO 8601 in UTC with ``Z`` for instants (the API's form); dates as ``YYYY-MM-DD``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def duration(ms: int | None) -> str:
    """``850 ms``, ``12.4 s``, ``3 min 05 s``, ``2 h 04 min``."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, secs = divmod(ms // 1000, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def ago(value: datetime | None, now: datetime) -> str:
    """``4 s ago``, ``3 min ago``, ``2 h ago``, ``5 d ago``; ``in 3 min`` for the future."""
    if value is None:
        return ""
    seconds = int((now - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        text = f"{seconds} s"
    elif seconds < 3600:
        text = f"{seconds // 60} min"
    elif seconds < 86_400:
        text = f"{seconds // 3600} h"
    else:
        text = f"{seconds // 86_400} d"
    return f"in {text}" if future else f"{text} ago"

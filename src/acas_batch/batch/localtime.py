"""Wall-clock times in a time zone turned into UTC instants, under one named DST policy."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from acas_batch.errors import ValidationError

DEFAULT_TIMEZONE = "Europe/London"


class DstPolicy(StrEnum):
    """How a local wall-clock time that a clock change disturbs becomes one instant.

    There is one policy, named so that every rule and test refers to it. In London the
    clocks go forward at 01:00 GMT on the last Sunday of March (01:00-01:59 does not
    exist) and back at 02:00 BST on the last Sunday of October (01:00-01:59 happens twice).
    """

    # A nonexistent local time runs at the first valid instant after it, the end of the
    # gap: 01:00 and 01:30 on the spring-forward Sunday both run at 02:00 BST (01:00 UTC).
    # A local time that occurs twice runs once, at its first occurrence (fold=0): 01:30 on
    # the fall-back Sunday runs at 01:30 BST (00:30 UTC) and not again at 01:30 GMT.
    GAP_FORWARD_FOLD_FIRST = "gap_forward_fold_first"


DST_POLICY = DstPolicy.GAP_FORWARD_FOLD_FIRST


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``.

    Raises:
        ValidationError: no such zone.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"timezone: unknown time zone {name!r} (use an IANA name such as Europe/London)") from exc


def _gap_end(naive: datetime, tz: ZoneInfo) -> datetime:
    """The first valid instant after a nonexistent wall time (the transition instant), in UTC."""
    # The transition lies between the instants the two offsets give; bisect to the second.
    before = naive.replace(tzinfo=tz, fold=0).utcoffset()
    after = naive.replace(tzinfo=tz, fold=1).utcoffset()
    assert before is not None and after is not None
    lo = (naive - after).replace(tzinfo=UTC)  # read with the new offset: before the transition
    hi = (naive - before).replace(tzinfo=UTC)  # read with the old offset: after it
    while hi - lo > timedelta(seconds=1):
        mid = (lo + (hi - lo) / 2).replace(microsecond=0)
        if mid.astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


@lru_cache(maxsize=16384)
def resolve(day: date, at: time, tz_name: str) -> tuple[datetime, datetime]:
    """The instant at which wall time ``day`` ``at`` in ``tz_name`` runs, under :data:`DST_POLICY`.

    Returns:
        ``(nominal, local)``: the aware UTC instant and the same instant in the zone.
    """
    tz = zone(tz_name)
    naive = datetime.combine(day, at)
    local = naive.replace(tzinfo=tz)  # fold=0: the first of two, if the time repeats
    nominal = local.astimezone(UTC)
    back = nominal.astimezone(tz)
    if back.replace(tzinfo=None) != naive:  # the wall time does not exist: a gap
        nominal = _gap_end(naive, tz)
        back = nominal.astimezone(tz)
    return nominal, back


def parse_hhmm(field: str, value: object) -> time:
    """A ``"HH:MM"`` wall-clock time.

    Raises:
        ValidationError: naming ``field`` and ``value``.
    """
    if isinstance(value, str) and len(value) == 5 and value[2] == ":" and (value[:2] + value[3:]).isdigit():
        hour, minute = int(value[:2]), int(value[3:])
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise ValidationError(f"{field}: {value!r} is not a time of day HH:MM (00:00 to 23:59)")


def format_hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"

"""Reading what a person types: dates, instants, modules and states, with one clear error each.

Every face (the command line now, the web next) parses its input with these, so a date is
read the same way everywhere: ISO 8601 or the spec's integer form (``20261201``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acas_batch.batch.localtime import zone
from acas_batch.batch.operations import parse_business_date
from acas_batch.clock import Clock, SystemClock
from acas_batch.config import Settings
from acas_batch.errors import ValidationError
from acas_batch.models.company import AccountingPeriod, PeriodStatus
from acas_batch.models.enums import ExecutionState, Module, ShiftPolicy

__all__ = [
    "ExecutionState",
    "Module",
    "ShiftPolicy",
    "check_actor",
    "check_business_date",
    "check_id",
    "check_name",
    "check_params",
    "check_reason",
    "check_recipients",
    "check_text",
    "parse_business_date",
    "parse_day",
    "parse_instant",
    "parse_module",
    "parse_state",
    "today",
]


def parse_day(option: str, value: str) -> date:
    """A date given as ``2026-12-01`` or, as the spec's integer dates, ``20261201``.

    Raises:
        ValidationError: naming the option and the value.
    """
    try:
        if len(value) == 8 and value.isdigit():
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{option}: {value!r} is not a date (YYYY-MM-DD or YYYYMMDD)") from None


def parse_instant(option: str, value: str, default_zone: str) -> datetime:
    """An ISO 8601 date and time; without an offset it is read in ``default_zone``.

    Raises:
        ValidationError: naming the option and the value, or an unknown zone.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{option}: {value!r} is not a date and time (e.g. 2026-12-01T09:00)") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone(default_zone))


def parse_module(value: str | None) -> Module | None:
    """A ledger's module (``GL``, ``SL``, ``PL``, ``ST``, ``SYS``; any case); None for all.

    Raises:
        ValidationError: for anything else.
    """
    if value is None:
        return None
    try:
        return Module(value.upper())
    except ValueError:
        raise ValidationError(f"unknown module {value!r} (GL, SL, PL, ST or SYS)") from None


def parse_state(value: str | None) -> ExecutionState | None:
    """An execution state by its name (``queued``, ``failed`` ...); None for all.

    Raises:
        ValidationError: naming the states there are.
    """
    if value is None:
        return None
    try:
        return ExecutionState(value)
    except ValueError:
        raise ValidationError(f"--state {value!r} is not one of {', '.join(s.value for s in ExecutionState)}") from None


def today(settings: Settings, clock: Clock | None = None) -> date:
    """Today's date in the settings' time zone: the default business date."""
    return (clock or SystemClock()).now().astimezone(zone(settings.timezone)).date()


def check_business_date(session: Session, day: date) -> None:
    """Refuse a business date outside the company's open financial years (before anything is created).

    An open year is one with a period not yet locked by its year end. A database without
    a ledger (no periods at all) has no years to hold to: any date is taken.

    Raises:
        ValidationError: naming the date and the years open.
    """
    open_years = select(AccountingPeriod.financial_year).where(AccountingPeriod.status != PeriodStatus.LOCKED)
    first, last = session.execute(
        select(func.min(AccountingPeriod.start_date), func.max(AccountingPeriod.end_date)).where(
            AccountingPeriod.financial_year.in_(open_years)
        )
    ).one()
    if first is None:
        if session.scalar(select(func.count()).select_from(AccountingPeriod)):
            raise ValidationError(f"business_date {day.isoformat()}: the company has no open financial year")
        return
    if not first <= day <= last:
        raise ValidationError(
            f"business_date {day.isoformat()} is outside the company's open financial years "
            f"({first.isoformat()} to {last.isoformat()})"
        )


# --- hostile input: one clear line, nothing written --------------------------------------------------------------

#: Longest names and free texts the database columns hold (job names and actors are String(64)).
MAX_NAME = 64
MAX_REASON = 1000
#: JSON parameters: how deeply nested and how large they may be.
MAX_PARAM_DEPTH = 8
MAX_PARAM_TEXT = 64 * 1024
#: Ids are 64-bit signed integers in the database.
MAX_ID = 2**63 - 1
MIN_REASON_CHARS = 3

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_name(kind: str, value: str) -> str:
    """A job (or similar) name: letters, digits, ``_``, ``-``, ``.``; no path parts; at most 64 characters.

    Raises:
        ValidationError: naming the kind of name and what is wrong (the value is shown escaped).
    """
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{kind} name is empty")
    if len(value) > MAX_NAME:
        raise ValidationError(f"{kind} name is {len(value)} characters long (at most {MAX_NAME})")
    if "\x00" in value or "/" in value or "\\" in value or ".." in value or not _NAME.fullmatch(value):
        raise ValidationError(
            f"{kind} name {value!r} may hold only letters, digits, '_', '-' and '.' "
            "(no '/', '..' or control characters)"
        )
    return value


def check_text(field: str, value: str, *, max_len: int) -> str:
    """Free text for a column of ``max_len`` characters, without NUL or control characters.

    Raises:
        ValidationError: naming the field.
    """
    if len(value) > max_len:
        raise ValidationError(
            f"{field} is {len(value)} characters long (at most {max_len})", fields={field: "too long"}
        )
    if _CONTROL.search(value):
        raise ValidationError(f"{field} holds a NUL or control character", fields={field: "control character"})
    return value


def check_actor(value: str) -> str:
    """Who acts, as recorded (``created_by``, audit rows): at most 64 characters, printable."""
    if not value.strip():
        raise ValidationError("the acting user's name is empty")
    return check_text("user name", value, max_len=MAX_NAME)


def check_reason(value: str | None, *, required: bool = False) -> str | None:
    """A reason must say something: at least three characters that are not spaces or punctuation alone.

    Raises:
        ValidationError: the reason is missing (when required), too short, or only punctuation.
    """
    if value is None or (not value.strip() and not required):
        if required:
            raise ValidationError("a reason is required", fields={"reason": "required"})
        return None
    check_text("reason", value, max_len=MAX_REASON)
    meaningful = [c for c in value if c.isalnum()]
    if len(value.strip()) < MIN_REASON_CHARS or len(meaningful) < 2:
        raise ValidationError(
            f"reason {value.strip()!r} says nothing: "
            f"write at least {MIN_REASON_CHARS} characters with letters or digits",
            fields={"reason": "too short"},
        )
    return value.strip()


def check_id(field: str, value: int) -> int:
    """A row id: a positive integer that fits in 64 bits.

    Raises:
        ValidationError: naming the field and the range.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ValidationError(f"{field} {value!r} is not an id (1 to {MAX_ID})", fields={field: "out of range"})
    return value


def check_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Parameters as JSON: at most 8 levels deep and 64 KB of text, no NUL or control characters in names.

    Raises:
        ValidationError: naming the parameter at fault.
    """
    raw = dict(params or {})
    stack: list[tuple[str, Any, int]] = [(str(k), v, 1) for k, v in raw.items()]
    size = 0
    while stack:
        where, value, depth = stack.pop()
        if depth > MAX_PARAM_DEPTH:
            raise ValidationError(f"parameter {where.split('.')[0]} is nested more than {MAX_PARAM_DEPTH} levels deep")
        size += len(where)
        if isinstance(value, str):
            size += len(value)
            if "\x00" in value:
                raise ValidationError(f"parameter {where} holds a NUL character", fields={where: "NUL character"})
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ID:
            raise ValidationError(f"parameter {where} is beyond a 64-bit integer", fields={where: "too large"})
        elif isinstance(value, Mapping):
            stack.extend((f"{where}.{k}", v, depth + 1) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}[{i}]", v, depth + 1) for i, v in enumerate(value))
        if size > MAX_PARAM_TEXT:
            raise ValidationError(f"parameters are larger than {MAX_PARAM_TEXT // 1024} KB")
        if _CONTROL.search(where):
            raise ValidationError("a parameter name holds a NUL or control character")
    return raw


def check_recipients(settings: Settings, params: Mapping[str, Any]) -> None:
    """``notify.recipients`` may name only the domains or addresses of ``ACAS_NOTIFY_ALLOWED`` (when set).

    Raises:
        ValidationError: naming the first address that is not allowed.
    """
    allowed = {a.strip().lower().lstrip("@") for a in settings.notify_allowed.split(",") if a.strip()}
    notify = params.get("notify")
    if not allowed or not isinstance(notify, Mapping):
        return
    for address in notify.get("recipients") or ():
        text = str(address).strip().lower()
        if text not in allowed and text.rpartition("@")[2] not in allowed:
            raise ValidationError(
                f"notify.recipients: {text!r} is not an allowed recipient (ACAS_NOTIFY_ALLOWED)",
                fields={"notify.recipients": "not allowed"},
            )

"""Reading what a person types: dates, instants, modules and states, with one clear error each.

Every face (the command line now, the web next) parses its input with these, so a date is
read the same way everywhere: ISO 8601 or the spec's integer form (``20261201``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acas_batch.batch.localtime import zone
from acas_batch.batch.operations import parse_business_date
from acas_batch.clock import Clock, SystemClock
from acas_batch.config import Settings
from acas_batch.errors import ValidationError
from acas_batch.models import AccountingPeriod, PeriodStatus
from acas_batch.models.enums import ExecutionState, Module, ShiftPolicy

__all__ = [
    "ExecutionState",
    "Module",
    "ShiftPolicy",
    "check_business_date",
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

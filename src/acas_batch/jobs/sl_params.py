"""Parameter types shared by the ledger jobs: period, VAT quarter, warehouse, output format, notify.

A period is named ``CURRENT`` (the accounting period holding the business date),
``PREVIOUS`` (the one before it) or ``YYYY-MM`` (the period holding that month's first
day). A VAT quarter is three consecutive periods of the financial year (periods 1-3, 4-6,
7-9, 10-12), named ``CURRENT``, ``PREVIOUS`` or ``YYYY-Qn`` (financial year, quarter).
Names are checked when the parameters are parsed; they are resolved against the
company's accounting periods when the job runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.errors import PeriodNotFound
from acas_batch.models import AccountingPeriod

_PERIOD = re.compile(r"^(CURRENT|PREVIOUS|\d{4}-(0[1-9]|1[0-2]))$")
_QUARTER = re.compile(r"^(CURRENT|PREVIOUS|\d{4}-Q[1-4])$")
_WAREHOUSE = re.compile(r"^(ALL|[A-Z0-9_-]{1,12})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        value = value.strip().upper()
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return check


PeriodName = Annotated[str, AfterValidator(_check(_PERIOD, "a period (CURRENT, PREVIOUS or YYYY-MM)"))]
QuarterName = Annotated[str, AfterValidator(_check(_QUARTER, "a VAT quarter (CURRENT, PREVIOUS or YYYY-Qn)"))]
Warehouse = Annotated[str, AfterValidator(_check(_WAREHOUSE, "a warehouse code or ALL"))]


class OutputFormat(StrEnum):
    """Which files a report job writes (a CSV is always written)."""

    CSV = "csv"  # the CSV only
    PDF = "pdf"  # the CSV and the PDF people read
    BOTH = "both"  # the same as pdf; kept because the spec names it

    @property
    def pdf(self) -> bool:
        return self is not OutputFormat.CSV


def _emails(values: list[str]) -> list[str]:
    bad = [v for v in values if not _EMAIL.match(v)]
    if bad:
        raise ValueError(f"not e-mail addresses: {', '.join(bad)}")
    return values


class Notify(BaseModel):
    """Who hears about the run's outcome."""

    model_config = ConfigDict(extra="forbid")

    recipients: Annotated[list[str], AfterValidator(_emails)] = Field(default_factory=list)
    on_success: bool = False
    on_failure: bool = True


@dataclass(frozen=True)
class DateRange:
    """A resolved period or quarter: its first and last day and its name."""

    label: str
    start: date
    end: date
    financial_year: int
    first_period_no: int


def _periods(session: Session) -> list[AccountingPeriod]:
    return list(session.scalars(select(AccountingPeriod).order_by(AccountingPeriod.start_date)))


def _holding(periods: list[AccountingPeriod], day: date, name: str) -> int:
    for i, p in enumerate(periods):
        if p.start_date <= day <= p.end_date:
            return i
    raise PeriodNotFound(f"no accounting period holds {day.isoformat()} (period {name})")


def resolve_period(session: Session, name: str, business_date: date) -> DateRange:
    """The accounting period ``name`` stands for on ``business_date``."""
    periods = _periods(session)
    if name in ("CURRENT", "PREVIOUS"):
        i = _holding(periods, business_date, name) - (name == "PREVIOUS")
        if i < 0:
            raise PeriodNotFound(f"no accounting period before the one holding {business_date.isoformat()}")
    else:
        year, month = (int(x) for x in name.split("-"))
        i = _holding(periods, date(year, month, 1), name)
    p = periods[i]
    label = f"{p.start_date:%Y-%m}"
    return DateRange(label, p.start_date, p.end_date, p.financial_year, p.period_no)


def resolve_quarter(session: Session, name: str, business_date: date) -> DateRange:
    """The VAT quarter (three periods of a financial year) ``name`` stands for on ``business_date``."""
    periods = _periods(session)
    if name in ("CURRENT", "PREVIOUS"):
        p = periods[_holding(periods, business_date, name)]
        year, q = p.financial_year, (p.period_no - 1) // 3 + 1
        if name == "PREVIOUS":
            year, q = (year, q - 1) if q > 1 else (year - 1, 4)
    else:
        year, q = int(name[:4]), int(name[-1])
    members = [p for p in periods if p.financial_year == year and (p.period_no - 1) // 3 + 1 == q]
    if len(members) != 3:
        raise PeriodNotFound(f"VAT quarter {year}-Q{q} ({name}) is not three accounting periods of the books")
    return DateRange(f"{year}-Q{q}", members[0].start_date, members[-1].end_date, year, members[0].period_no)


def hmrc_period_key(quarter: DateRange) -> str:
    """The period key a new return of ``quarter`` gets: year and calendar quarter of its last day
    (``26C3`` for July to September 2026), as the demo company's returns have them. A return
    already in the books keeps the key it has (HMRC issues the keys; ours is a placeholder)."""
    return f"{quarter.end:%y}C{(quarter.end.month - 1) // 3 + 1}"

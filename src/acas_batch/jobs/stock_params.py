"""Parameter types shared by the ledger jobs: warehouse, period, output format, notification.

Each is a pydantic type or model, so a bad value is refused before the run with a
message naming the field. ``Period`` accepts ``CURRENT``, ``PREVIOUS`` or ``YYYY-MM`` and
resolves against the run's business date and the company's accounting periods.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.errors import ValidationError
from acas_batch.models import AccountingPeriod, Warehouse

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WAREHOUSE = re.compile(r"^[A-Z0-9_-]{1,8}$")


class OutputFormat(StrEnum):
    """Which files a report job writes (CSV is always written: it is the data)."""

    CSV = "csv"  # the CSV only
    PDF = "pdf"  # the PDF besides the CSV
    BOTH = "both"  # the same as pdf; kept because the spec names it

    @property
    def pdf(self) -> bool:
        return self is not OutputFormat.CSV


def _period(value: str) -> str:
    text = value.strip().upper()
    if text in ("CURRENT", "PREVIOUS") or _PERIOD.match(text):
        return text
    raise ValueError(f"period {value!r} must be CURRENT, PREVIOUS or YYYY-MM")


def _warehouse(value: str) -> str:
    text = value.strip().upper()
    if text == "ALL" or _WAREHOUSE.match(text):
        return text
    raise ValueError(f"warehouse {value!r} must be ALL or a warehouse code (up to 8 letters or digits)")


#: A period: ``CURRENT``, ``PREVIOUS`` or a calendar month ``YYYY-MM``.
PeriodParam = Annotated[str, AfterValidator(_period)]
#: A warehouse code, or ``ALL``.
WarehouseParam = Annotated[str, AfterValidator(_warehouse)]


class Notify(BaseModel):
    """Who hears about a run, and when."""

    model_config = ConfigDict(extra="forbid")

    recipients: list[str] = Field(default_factory=list, description="E-mail addresses.")
    on_success: bool = False
    on_failure: bool = True


def month_of(period: str, business_date: date) -> date:
    """The first day of the calendar month a period parameter names (no database needed)."""
    first = business_date.replace(day=1)
    if period == "CURRENT":
        return first
    if period == "PREVIOUS":
        return date(first.year - 1, 12, 1) if first.month == 1 else first.replace(month=first.month - 1)
    match = _PERIOD.match(period)
    if match is None:
        raise ValidationError(f"period {period!r} must be CURRENT, PREVIOUS or YYYY-MM")
    return date(int(match[1]), int(match[2]), 1)


def resolve_period(session: Session, period: str, business_date: date) -> AccountingPeriod:
    """The accounting period holding the month ``period`` names.

    Raises:
        ValidationError: when the company has no such period.
    """
    day = month_of(period, business_date)
    row = session.scalars(
        select(AccountingPeriod).where(AccountingPeriod.start_date <= day, AccountingPeriod.end_date >= day)
    ).first()
    if row is None:
        raise ValidationError(f"no accounting period holds {day:%Y-%m} (period {period})")
    return row


def warehouse_ids(session: Session, warehouse: str) -> list[int] | None:
    """The ids a warehouse parameter selects: None for ALL.

    Raises:
        ValidationError: for a code no warehouse has.
    """
    if warehouse == "ALL":
        return None
    found = session.scalar(select(Warehouse.id).where(Warehouse.code == warehouse))
    if found is None:
        raise ValidationError(f"warehouse {warehouse!r} does not exist")
    return [found]

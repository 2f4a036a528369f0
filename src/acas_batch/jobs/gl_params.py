"""Parameter types shared by the ledger jobs: period, financial year, warehouse, output format, notify.

Each is a plain value validated by pydantic, so a bad value is refused before the run
with a message naming the field. Periods and years are resolved against the run's
business date and the company's accounting periods (never the wall clock).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.errors import PeriodNotFound
from acas_batch.models import AccountingPeriod

_PERIOD = re.compile(r"^(\d{4})[-/](\d{1,2})$")
_WAREHOUSE = re.compile(r"^[A-Z0-9_-]{1,16}$")


def _check_period(value: str) -> str:
    text = value.strip().upper()
    if text in ("CURRENT", "PREVIOUS"):
        return text
    m = _PERIOD.match(text)
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"{value!r} is not a period: use CURRENT, PREVIOUS or YYYY-PP (financial year, period 1-12)")
    return f"{m.group(1)}-{int(m.group(2)):02d}"


def _check_year(value: str | int) -> str:
    text = str(value).strip().upper()
    if text in ("CURRENT", "PREVIOUS") or re.fullmatch(r"\d{4}", text):
        return text
    raise ValueError(f"{value!r} is not a financial year: use CURRENT, PREVIOUS or the year it starts in (YYYY)")


def _check_warehouse(value: str) -> str:
    text = value.strip().upper()
    if text != "ALL" and not _WAREHOUSE.match(text):
        raise ValueError(f"{value!r} is not a warehouse code (up to 16 letters, digits, '-' or '_') or ALL")
    return text


#: ``CURRENT`` (the period of the business date), ``PREVIOUS`` (the one before) or ``YYYY-PP``.
Period = Annotated[str, AfterValidator(_check_period)]
#: ``CURRENT``, ``PREVIOUS`` or the calendar year the financial year starts in.
FinancialYear = Annotated[str, AfterValidator(_check_year)]
#: A warehouse code or ``ALL``.
Warehouse = Annotated[str, AfterValidator(_check_warehouse)]


class OutputFormat(StrEnum):
    """Which files a report job writes beside its result table."""

    CSV = "csv"  # the CSV only
    PDF = "pdf"  # the PDF only (reports people read)
    BOTH = "both"  # CSV and PDF

    @property
    def csv(self) -> bool:
        return self is not OutputFormat.PDF

    @property
    def pdf(self) -> bool:
        return self is not OutputFormat.CSV


class Notify(BaseModel):
    """Who hears about a run and when (sending comes with the alerts work)."""

    model_config = ConfigDict(extra="forbid")

    recipients: list[str] = Field(default_factory=list)
    on_success: bool = False
    on_failure: bool = True


def resolve_period(session: Session, period: str, business_date: date) -> AccountingPeriod:
    """The accounting period a ``Period`` value names, seen from ``business_date``.

    Raises:
        PeriodNotFound: when no accounting period matches.
    """
    query = select(AccountingPeriod)
    if period in ("CURRENT", "PREVIOUS"):
        current = session.scalars(
            query.where(AccountingPeriod.start_date <= business_date, AccountingPeriod.end_date >= business_date)
        ).first()
        if current is None:
            raise PeriodNotFound(f"no accounting period covers the business date {business_date.isoformat()}")
        if period == "CURRENT":
            return current
        found = session.scalars(
            query.where(AccountingPeriod.end_date < current.start_date).order_by(AccountingPeriod.end_date.desc())
        ).first()
    else:
        year, number = (int(x) for x in period.split("-"))
        found = session.scalars(
            query.where(AccountingPeriod.financial_year == year, AccountingPeriod.period_no == number)
        ).first()
    if found is None:
        raise PeriodNotFound(f"no accounting period {period} (business date {business_date.isoformat()})")
    return found


def resolve_year(session: Session, year: str, business_date: date) -> int:
    """The financial year a ``FinancialYear`` value names, seen from ``business_date``."""
    if year not in ("CURRENT", "PREVIOUS"):
        return int(year)
    current = resolve_period(session, "CURRENT", business_date).financial_year
    return current if year == "CURRENT" else current - 1


def period_label(period: AccountingPeriod) -> str:
    """``YYYY-PP``: how a period is written in parameters, run keys and file names."""
    return f"{period.financial_year}-{period.period_no:02d}"


def _month_before(day: date) -> date:
    first = day.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def period_run_key(params: BaseModel, business_date: date) -> str:
    """Run key of a period job: ``YYYY-PP`` when named, else the calendar month CURRENT or PREVIOUS stands for.

    Accounting periods are calendar months, so the month of the business date names the
    current period without a database (the key is formed before the run).
    """
    period = str(getattr(params, "period", "CURRENT"))
    if period == "CURRENT":
        return f"month:{business_date:%Y-%m}"
    if period == "PREVIOUS":
        return f"month:{_month_before(business_date):%Y-%m}"
    return f"period:{period}"


def year_run_key(params: BaseModel, business_date: date) -> str:
    """Run key of a financial-year job: ``fy:YYYY``, or the year CURRENT/PREVIOUS stands for at the business date."""
    year = str(getattr(params, "financial_year", "CURRENT"))
    if year in ("CURRENT", "PREVIOUS"):
        return f"fy:{year.lower()}@{business_date.isoformat()}"
    return f"fy:{year}"

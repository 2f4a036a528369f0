"""The parameter types every ledger job shares: period, financial year, VAT quarter, warehouse,
output format and notification.

One meaning everywhere, so an operator who learns a value once can use it on any job:

- a **period** is ``CURRENT`` (the accounting period holding the business date), ``PREVIOUS``
  (the one before it) or a calendar month ``YYYY-MM`` (the period holding that month's first
  day; ``YYYY/MM`` and ``YYYY-M`` are read the same way);
- a **financial year** is ``CURRENT``, ``PREVIOUS`` or the calendar year it starts in;
- a **VAT quarter** is ``CURRENT``, ``PREVIOUS`` or ``YYYY-Qn``: the three months of the
  company's VAT stagger that end in calendar quarter ``n`` of ``YYYY`` (stagger 1, quarters
  ending March/June/September/December: ``2026-Q3`` is July to September 2026; stagger 2,
  ending January/April/July/October: ``2026-Q3`` is May to July 2026 and ``2027-Q1`` is November
  2026 to January 2027; stagger 3, ending February/May/August/November: ``2026-Q3`` is June to
  August 2026); the **VAT scheme** (``accrual`` or ``cash``) is the company's unless a run names one;
- a **warehouse** is ``ALL`` or a warehouse code;
- the **output format** says whether a PDF is written besides the CSV (the CSV, being the
  data, is always written);
- **notify** names who is e-mailed when the run ends, on success and/or on failure (sent by
  the monitor; see :mod:`acas_batch.monitoring.run_notices`).

Each is a pydantic type or model, so a bad value is refused before the run with a message
naming the field. Names are resolved against the run's business date and the company's
accounting periods, never the wall clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.batch.registry import Upstream
from acas_batch.errors import PeriodNotFound, ValidationError
from acas_batch.models import AccountingPeriod, Company, Warehouse

_MONTH = re.compile(r"^(\d{4})[-/](\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^\d{4}$")
_WAREHOUSE = re.compile(r"^[A-Z0-9_-]{1,8}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _period(value: str) -> str:
    text = value.strip().upper()
    if text in ("CURRENT", "PREVIOUS"):
        return text
    m = _MONTH.match(text)
    if m is None or not 1 <= int(m[2]) <= 12:
        raise ValueError(f"period {value!r} must be CURRENT, PREVIOUS or a month YYYY-MM")
    return f"{m[1]}-{int(m[2]):02d}"


def _year(value: str | int) -> str:
    text = str(value).strip().upper()
    if text in ("CURRENT", "PREVIOUS") or _YEAR.match(text):
        return text
    raise ValueError(f"financial year {value!r} must be CURRENT, PREVIOUS or the year it starts in (YYYY)")


def _quarter(value: str) -> str:
    text = value.strip().upper()
    if text in ("CURRENT", "PREVIOUS") or _QUARTER.match(text):
        return text
    raise ValueError(
        f"VAT quarter {value!r} must be CURRENT, PREVIOUS or YYYY-Qn (the calendar quarter its last month is in)"
    )


def _warehouse(value: str) -> str:
    text = value.strip().upper()
    if text == "ALL" or _WAREHOUSE.match(text):
        return text
    raise ValueError(f"warehouse {value!r} must be ALL or a warehouse code (up to 8 letters, digits, '-' or '_')")


def _emails(values: list[str]) -> list[str]:
    cleaned = [v.strip() for v in values]
    bad = [v for v in cleaned if not _EMAIL.match(v)]
    if bad:
        raise ValueError(f"not e-mail addresses: {', '.join(bad)}")
    return cleaned


#: ``CURRENT``, ``PREVIOUS`` or a calendar month ``YYYY-MM`` (normalised to that form).
Period = Annotated[str, AfterValidator(_period)]
#: ``CURRENT``, ``PREVIOUS`` or the calendar year the financial year starts in.
FinancialYear = Annotated[str, AfterValidator(_year)]
#: ``CURRENT``, ``PREVIOUS`` or ``YYYY-Qn`` (the VAT quarter ending in that calendar quarter).
VatQuarter = Annotated[str, AfterValidator(_quarter)]
#: ``accrual`` (by tax point) or ``cash`` (by the date money moves); None: the company's scheme.
VatSchemeName = Literal["accrual", "cash"] | None
#: A warehouse code, or ``ALL``.
WarehouseCode = Annotated[str, AfterValidator(_warehouse)]


class OutputFormat(StrEnum):
    """Which files a report job writes besides its result table. The CSV is always written."""

    CSV = "csv"  # the CSV only
    PDF = "pdf"  # the CSV and the PDF people read
    BOTH = "both"  # the same as pdf; kept because the spec names it

    @property
    def pdf(self) -> bool:
        return self is not OutputFormat.CSV


class Notify(BaseModel):
    """Who is e-mailed when the run ends, and on which outcome.

    A failure is told once the last attempt has failed (not on each retry); success includes
    an outcome with warnings. Mail goes over the alerting SMTP settings.
    """

    model_config = ConfigDict(extra="forbid")

    recipients: Annotated[list[str], AfterValidator(_emails)] = Field(
        default_factory=list, description="E-mail addresses told of the outcome."
    )
    on_success: bool = Field(False, description="Tell the recipients when the run succeeds.")
    on_failure: bool = Field(True, description="Tell the recipients when the run fails for good.")


class VatReturnParams(BaseModel):
    """The parameters of both halves of the quarter's VAT return (SL_VAT_RETURN, PL_VAT_RETURN)."""

    model_config = ConfigDict(extra="forbid")

    quarter: VatQuarter = Field("CURRENT", description="CURRENT, PREVIOUS or YYYY-Qn (calendar quarter).")
    scheme: VatSchemeName = Field(None, description="accrual or cash; default: the company's VAT scheme.")
    output_format: OutputFormat = OutputFormat.BOTH
    notify: Notify = Field(default_factory=Notify)


@dataclass(frozen=True)
class DateRange:
    """A resolved period or VAT quarter: its name, first and last day, financial year and first period number."""

    label: str
    start: date
    end: date
    financial_year: int
    first_period_no: int


def month_of(period: str, business_date: date) -> date:
    """The first day of the calendar month a period names, seen from ``business_date`` (no database needed).

    Accounting periods are calendar months, so this also names the period a run key stands for
    before the run starts.
    """
    first = business_date.replace(day=1)
    if period == "CURRENT":
        return first
    if period == "PREVIOUS":
        return date(first.year - 1, 12, 1) if first.month == 1 else first.replace(month=first.month - 1)
    m = _MONTH.match(period)
    if m is None:
        raise ValidationError(f"period {period!r} must be CURRENT, PREVIOUS or a month YYYY-MM")
    return date(int(m[1]), int(m[2]), 1)


def period_run_key(params: BaseModel, business_date: date) -> str:
    """``month:YYYY-MM``: the run key of a period job, the same whichever way the period is named."""
    return f"month:{month_of(str(getattr(params, 'period', 'CURRENT')), business_date):%Y-%m}"


def period_from_upstream(upstream: Upstream) -> dict[str, Any]:
    """A triggered period job reports on the period its upstream (a period close) ran for.

    A November close run late, on 6 December, triggers November's reports, not December's.
    """
    part = upstream.key_part
    return {"period": part.removeprefix("month:")} if part.startswith("month:") else {}


def year_run_key(params: BaseModel, business_date: date) -> str:
    """Run key of a financial-year job: ``fy:YYYY``, or the year CURRENT/PREVIOUS stands for at the business date."""
    year = str(getattr(params, "financial_year", "CURRENT"))
    if year in ("CURRENT", "PREVIOUS"):
        return f"fy:{year.lower()}@{business_date.isoformat()}"
    return f"fy:{year}"


def _holding(session: Session, day: date) -> AccountingPeriod | None:
    return session.scalars(
        select(AccountingPeriod).where(AccountingPeriod.start_date <= day, AccountingPeriod.end_date >= day)
    ).first()


def resolve_period(session: Session, period: str, business_date: date) -> AccountingPeriod:
    """The accounting period ``period`` names, seen from ``business_date``.

    Raises:
        PeriodNotFound: when the company has no such period.
    """
    on = business_date if period in ("CURRENT", "PREVIOUS") else month_of(period, business_date)
    current = _holding(session, on)
    if current is None:
        raise PeriodNotFound(f"no accounting period holds {on.isoformat()} (period {period})")
    if period != "PREVIOUS":
        return current
    previous = session.scalars(
        select(AccountingPeriod)
        .where(AccountingPeriod.end_date < current.start_date)
        .order_by(AccountingPeriod.end_date.desc())
    ).first()
    if previous is None:
        raise PeriodNotFound(f"no accounting period precedes {current.start_date.isoformat()} (period {period})")
    return previous


def period_range(period: AccountingPeriod) -> DateRange:
    """A period as a date range labelled by its month (``YYYY-MM``)."""
    return DateRange(
        f"{period.start_date:%Y-%m}", period.start_date, period.end_date, period.financial_year, period.period_no
    )


def resolve_period_range(session: Session, period: str, business_date: date) -> DateRange:
    """:func:`resolve_period` as a date range."""
    return period_range(resolve_period(session, period, business_date))


def period_label(period: AccountingPeriod) -> str:
    """``YYYY-PP`` (financial year, period number): how accountants name a period in titles and file names."""
    return f"{period.financial_year}-{period.period_no:02d}"


def period_name(period: AccountingPeriod) -> str:
    """``P08 FY2026/27 (November 2026)``: how a period is named to a person (the calendar month too,
    since a financial year's period 8 is not the calendar's August)."""
    fy = period.financial_year
    return f"P{period.period_no:02d} FY{fy}/{(fy + 1) % 100:02d} ({period.start_date:%B %Y})"


def resolve_year(session: Session, year: str, business_date: date) -> int:
    """The financial year a ``FinancialYear`` value names, seen from ``business_date``."""
    if year not in ("CURRENT", "PREVIOUS"):
        return int(year)
    current = resolve_period(session, "CURRENT", business_date).financial_year
    return current if year == "CURRENT" else current - 1


def vat_stagger(session: Session) -> int:
    """The company's VAT stagger (1, 2 or 3; 1 without a company row)."""
    found = session.scalar(select(Company.vat_stagger).limit(1))
    return int(found) if found is not None else 1


def quarter_end_month(name: str, business_date: date, stagger: int = 1) -> tuple[int, int]:
    """The calendar year and month in which the VAT quarter ``name`` ends, seen from ``business_date``.

    Stagger ``k``'s quarters end in the months ``m`` (1-12) with ``m % 3 == k - 1``: ``CURRENT`` is the
    quarter holding the business date, ``PREVIOUS`` the one before, ``YYYY-Qn`` the one whose last
    month falls in calendar quarter ``n`` of ``YYYY``.
    """
    if stagger not in (1, 2, 3):
        raise ValidationError(f"VAT stagger {stagger} must be 1, 2 or 3")
    if name in ("CURRENT", "PREVIOUS"):
        index = business_date.year * 12 + business_date.month - 1  # months since year 0
        index += (stagger + 1 - index) % 3  # forward to the stagger's quarter end: index % 3 == (k + 1) % 3
        index -= 3 * (name == "PREVIOUS")
        return index // 12, index % 12 + 1
    m = _QUARTER.match(name)
    if m is None:
        raise ValidationError(f"VAT quarter {name!r} must be CURRENT, PREVIOUS or YYYY-Qn")
    return int(m[1]), 3 * int(m[2]) - (4 - stagger) % 3


def quarter_of(name: str, business_date: date, stagger: int = 1) -> tuple[int, int]:
    """The name of the VAT quarter ``name`` stands for on ``business_date``: the calendar year and
    quarter (1-4) its last month falls in."""
    year, month = quarter_end_month(name, business_date, stagger)
    return year, (month - 1) // 3 + 1


def quarter_run_key(session: Session, params: BaseModel, business_date: date) -> str:
    """``YYYY-Qn``: the run key of a VAT-quarter job, the same whichever way the quarter is named."""
    year, q = quarter_of(str(getattr(params, "quarter", "CURRENT")), business_date, vat_stagger(session))
    return f"{year}-Q{q}"


def resolve_quarter(session: Session, name: str, business_date: date) -> DateRange:
    """The VAT quarter ``name`` stands for on ``business_date`` under the company's stagger: three
    calendar months, which must be accounting periods of the books.

    Raises:
        PeriodNotFound: when a month of the quarter is not an accounting period.
    """
    stagger = vat_stagger(session)
    year, month = quarter_end_month(name, business_date, stagger)
    start = _months_after(date(year, month, 1), -2)
    label = f"{year}-Q{(month - 1) // 3 + 1}"
    members = list(
        session.scalars(
            select(AccountingPeriod)
            .where(AccountingPeriod.start_date >= start, AccountingPeriod.start_date < _months_after(start, 3))
            .order_by(AccountingPeriod.start_date)
        )
    )
    if len(members) != 3:
        raise PeriodNotFound(
            f"VAT quarter {label} ({name}, {start:%m/%Y} to {month:02d}/{year}) "
            "is not three accounting periods of the books"
        )
    first, last = members[0], members[-1]
    return DateRange(label, first.start_date, last.end_date, first.financial_year, first.period_no)


def _months_after(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def hmrc_period_key(quarter: DateRange) -> str:
    """The period key a new return of ``quarter`` gets: year and calendar quarter of its last day
    (``26C3`` for July to September 2026, or for May to July 2026 on stagger 2), as the demo
    company's returns have them. A return already in the books keeps the key it has (HMRC issues
    the keys; ours is a placeholder)."""
    return f"{quarter.end:%y}C{(quarter.end.month - 1) // 3 + 1}"


def vat_scheme(session: Session, named: str | None) -> str:
    """The VAT scheme a run uses: the one it names, else the company's (accrual without a company row)."""
    if named is not None:
        return named
    company = session.scalar(select(Company.vat_scheme).limit(1))
    return company.value if company is not None else "accrual"


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

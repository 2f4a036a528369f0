"""Late Payment of Commercial Debts (Interest) Act 1998: statutory interest and compensation.

Simple interest at 8% over the Bank of England reference rate, on the VAT-inclusive
amount, per day late; the reference rate for January-June is the base rate in force on
31 December before, for July-December the rate on 30 June. Fixed compensation per
invoice: £40 under £1,000, £70 from £1,000 to £9,999.99, £100 from £10,000.

Rates and bands are data (``REFERENCE_RATES``, ``COMPENSATION_BANDS``), passed in so a
company can keep them current; a half-year with no recorded rate is an error, never a
guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from acas_batch.analysis.money import round_half_up
from acas_batch.errors import ValidationError

STATUTORY_MARGIN = Decimal("8.00")

#: Bank of England base rate (percent) on the reference days (31 Dec, 30 Jun), keyed by
#: the first day of the half-year it applies to.
REFERENCE_RATES: dict[date, Decimal] = {
    date(2022, 1, 1): Decimal("0.25"),
    date(2022, 7, 1): Decimal("1.25"),
    date(2023, 1, 1): Decimal("3.50"),
    date(2023, 7, 1): Decimal("5.00"),
    date(2024, 1, 1): Decimal("5.25"),
    date(2024, 7, 1): Decimal("5.25"),
    date(2025, 1, 1): Decimal("4.75"),
    date(2025, 7, 1): Decimal("4.25"),
    date(2026, 1, 1): Decimal("3.75"),  # Bank Rate cut to 3.75% on 18 December 2025
}

#: (upper bound in pence, exclusive, or None for no bound; compensation in pence)
COMPENSATION_BANDS: tuple[tuple[int | None, int], ...] = (
    (100_000, 4_000),
    (1_000_000, 7_000),
    (None, 10_000),
)


def half_year_start(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def reference_rate(day: date, rates: Mapping[date, Decimal] = REFERENCE_RATES) -> Decimal:
    """The reference rate (percent) that applies to interest accruing on ``day``."""
    start = half_year_start(day)
    try:
        return rates[start]
    except KeyError:
        ref = date(start.year - 1, 12, 31) if start.month == 1 else date(start.year, 6, 30)
        raise ValidationError(
            f"no Bank of England reference rate recorded for the half-year from {start.isoformat()} "
            f"(the base rate on {ref.isoformat()}); add it to the late-payment rates"
        ) from None


def compensation(gross_pence: int, bands: Sequence[tuple[int | None, int]] = COMPENSATION_BANDS) -> int:
    """Fixed compensation for one invoice of ``gross_pence`` (VAT included)."""
    for upper, amount in bands:
        if upper is None or gross_pence < upper:
            return amount
    raise ValidationError("compensation bands must end with an unbounded band")


@dataclass(frozen=True)
class LatePaymentClaim:
    """What may be claimed on one overdue invoice as at a date."""

    days_late: int
    interest_pence: int
    compensation_pence: int

    @property
    def total_pence(self) -> int:
        return self.interest_pence + self.compensation_pence


def statutory_claim(
    gross_pence: int,
    due: date,
    as_at: date,
    rates: Mapping[date, Decimal] = REFERENCE_RATES,
    bands: Sequence[tuple[int | None, int]] = COMPENSATION_BANDS,
) -> LatePaymentClaim:
    """Interest from the day after ``due`` to ``as_at`` inclusive, plus compensation.

    Interest accrues day by day at the rate of the half-year each day falls in (the rate
    changes on 1 January and 1 July), on a 365-day year, rounded half-up once at the end.
    """
    if as_at <= due or gross_pence <= 0:
        return LatePaymentClaim(days_late=max((as_at - due).days, 0), interest_pence=0, compensation_pence=0)
    interest = Decimal(0)
    day = due + timedelta(days=1)
    while day <= as_at:
        start = half_year_start(day)
        end = date(start.year, 6, 30) if start.month == 1 else date(start.year, 12, 31)
        span_end = min(end, as_at)
        days = (span_end - day).days + 1
        rate = (STATUTORY_MARGIN + reference_rate(day, rates)) / 100
        interest += Decimal(gross_pence) * rate * days / 365
        day = span_end + timedelta(days=1)
    return LatePaymentClaim(
        days_late=(as_at - due).days,
        interest_pence=round_half_up(interest),
        compensation_pence=compensation(gross_pence, bands),
    )

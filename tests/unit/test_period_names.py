"""How a period is named to a person: its number, its financial year and its calendar month."""

from __future__ import annotations

from datetime import date

from acas_batch.jobs.params import period_label, period_name
from acas_batch.models import AccountingPeriod


def test_period_eight_of_a_year_starting_in_april_is_named_november() -> None:
    november = AccountingPeriod(
        financial_year=2026, period_no=8, start_date=date(2026, 11, 1), end_date=date(2026, 11, 30)
    )
    assert period_name(november) == "P08 FY2026/27 (November 2026)"
    assert period_label(november) == "2026-08"  # file names and run data keep the short form


def test_the_last_period_of_a_year_names_the_next_calendar_year() -> None:
    march = AccountingPeriod(financial_year=2099, period_no=12, start_date=date(2100, 3, 1), end_date=date(2100, 3, 31))
    assert period_name(march) == "P12 FY2099/00 (March 2100)"

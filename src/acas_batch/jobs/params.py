"""Parameter types shared by the ledger jobs: period, warehouse, output format, notification.

A period is ``CURRENT``, ``PREVIOUS`` or ``YYYY-MM`` (the accounting period containing that
month); it is resolved against the run's business date and the company's accounting periods,
never the wall clock.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.errors import PeriodNotFound
from acas_batch.models import AccountingPeriod

OutputFormat = Literal["csv", "pdf", "both"]


def _period(value: str) -> str:
    text = value.strip().upper()
    if text in {"CURRENT", "PREVIOUS"} or re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        return text
    raise ValueError(f"period {value!r} must be CURRENT, PREVIOUS or YYYY-MM")


def _warehouse(value: str) -> str:
    text = value.strip().upper()
    if not re.fullmatch(r"[A-Z0-9_-]{1,12}", text):
        raise ValueError(f"warehouse {value!r} must be ALL or a warehouse code")
    return text


Period = Annotated[str, AfterValidator(_period)]
Warehouse = Annotated[str, AfterValidator(_warehouse)]


class Notify(BaseModel):
    """Who hears of the outcome (the engine's alerting sends it)."""

    model_config = ConfigDict(extra="forbid")

    on_success: list[str] = Field(default_factory=list, description="E-mail addresses told of success.")
    on_failure: list[str] = Field(default_factory=list, description="E-mail addresses told of failure.")


def wants_csv(fmt: OutputFormat) -> bool:
    return fmt in {"csv", "both"}


def wants_pdf(fmt: OutputFormat) -> bool:
    return fmt in {"pdf", "both"}


def resolve_period(session: Session, period: str, business_date: date) -> AccountingPeriod:
    """The accounting period ``period`` names, seen from ``business_date``."""
    on = business_date if period in {"CURRENT", "PREVIOUS"} else date(int(period[:4]), int(period[5:7]), 1)
    current = session.scalar(
        select(AccountingPeriod).where(AccountingPeriod.start_date <= on, AccountingPeriod.end_date >= on)
    )
    if current is None:
        raise PeriodNotFound(f"no accounting period contains {on.isoformat()} (period {period})")
    if period != "PREVIOUS":
        return current
    previous = session.scalar(
        select(AccountingPeriod)
        .where(AccountingPeriod.end_date < current.start_date)
        .order_by(AccountingPeriod.end_date.desc())
        .limit(1)
    )
    if previous is None:
        raise PeriodNotFound(f"no accounting period precedes {current.start_date.isoformat()}")
    return previous

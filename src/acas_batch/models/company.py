"""The company, its accounting periods and its closure days (the business calendar's own holidays)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, UTCDateTime, enum_column


class VatScheme(StrEnum):
    """When VAT falls due."""

    ACCRUAL = "accrual"  # by tax point: the invoice date
    CASH = "cash"  # by the date the money is received or paid


class PeriodStatus(StrEnum):
    """Whether an accounting period accepts postings."""

    OPEN = "open"  # postings accepted
    CLOSED = "closed"  # period close done; no postings (a year-end reopen is an operator's act)
    LOCKED = "locked"  # year closed; never posted to again


class Company(Base):
    """The company whose books these are (one row)."""

    __tablename__ = "company_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    base_currency: Mapped[str] = mapped_column(String(3), default="GBP")
    year_start_month: Mapped[int] = mapped_column(Integer, default=4, doc="First month of the financial year.")
    vat_registration: Mapped[str | None] = mapped_column(String(16))
    vat_scheme: Mapped[VatScheme] = mapped_column(enum_column(VatScheme, "vat_scheme"), default=VatScheme.ACCRUAL)
    vat_stagger: Mapped[int] = mapped_column(
        Integer,
        default=1,
        server_default="1",
        doc="HMRC VAT stagger: 1 = quarters end March/June/September/December, "
        "2 = April/July/October/January, 3 = May/August/November/February.",
    )
    demo_seed: Mapped[int | None] = mapped_column(Integer, doc="Seed of the demo generator, if demo data.")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("base_currency = 'GBP'", name="currency_gbp"),
        CheckConstraint("year_start_month BETWEEN 1 AND 12", name="year_start_month_range"),
        CheckConstraint("vat_stagger BETWEEN 1 AND 3", name="vat_stagger_range"),
    )


class AccountingPeriod(Base):
    """One of the twelve periods of a financial year."""

    __tablename__ = "accounting_period_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    financial_year: Mapped[int] = mapped_column(Integer, doc="Calendar year in which the financial year starts.")
    period_no: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[PeriodStatus] = mapped_column(enum_column(PeriodStatus, "period_status"), default=PeriodStatus.OPEN)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("financial_year", "period_no"),
        UniqueConstraint("start_date"),
        CheckConstraint("period_no BETWEEN 1 AND 12", name="period_no_range"),
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
        Index("ix_accounting_period_rec_end_date", "end_date"),
    )


class ClosureDay(Base):
    """A day the company is closed besides the public holidays (read by the business calendar)."""

    __tablename__ = "closure_day_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column("date", Date, unique=True)
    description: Mapped[str] = mapped_column(Text, default="")

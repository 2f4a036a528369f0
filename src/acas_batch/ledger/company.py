"""The company's VAT settings as the VAT jobs see them: scheme and stagger.

The stagger decides which months the VAT quarters end in (HMRC groups 1, 2 and 3). Changing
it moves the quarter-end schedules of the two VAT return jobs to the new quarter ends in the
same transaction, so the returns keep running on the day each quarter closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.batch.definitions import update_schedule
from acas_batch.batch.executions import audit
from acas_batch.errors import NotFound, ValidationError
from acas_batch.models import BatchJob, BatchSchedule, Company, VatScheme
from acas_batch.models.enums import ScheduleKind

#: The jobs whose quarter-end schedules follow the stagger.
VAT_JOBS = ("SL_VAT_RETURN", "PL_VAT_RETURN")


@dataclass(frozen=True)
class CompanyVat:
    """The VAT settings of the company."""

    name: str
    registration: str | None
    scheme: str
    stagger: int
    quarter_end_months: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vat_registration": self.registration,
            "vat_scheme": self.scheme,
            "vat_stagger": self.stagger,
            "quarter_end_months": list(self.quarter_end_months),
        }


def stagger_months(stagger: int) -> tuple[int, ...]:
    """The months (1-12) in which stagger ``stagger``'s VAT quarters end."""
    return tuple(m for m in range(1, 13) if m % 3 == stagger - 1)


def _company(session: Session) -> Company:
    company = session.scalars(select(Company).order_by(Company.id).limit(1)).first()
    if company is None:
        raise NotFound("there is no company in this database yet (`acas-batch demo generate` makes one)")
    return company


def company_vat(session: Session) -> CompanyVat:
    """The company's VAT settings.

    Raises:
        NotFound: when the database holds no company.
    """
    c = _company(session)
    return CompanyVat(c.name, c.vat_registration, c.vat_scheme.value, c.vat_stagger, stagger_months(c.vat_stagger))


def set_company_vat(
    session: Session, *, now: datetime, actor: str, stagger: int | None = None, scheme: str | None = None
) -> tuple[CompanyVat, list[int]]:
    """Change the VAT scheme and/or stagger; returns the settings and the ids of the schedules moved.

    A new stagger moves every quarterly schedule of the VAT return jobs to its quarter ends
    (``fy_start_month`` = the stagger), audited like an operator's schedule change.

    Raises:
        ValidationError: for a stagger other than 1, 2 or 3 or an unknown scheme; nothing changes.
        NotFound: when the database holds no company.
    """
    if stagger is not None and stagger not in (1, 2, 3):
        raise ValidationError(f"VAT stagger {stagger} must be 1, 2 or 3")
    if scheme is not None and scheme not in {s.value for s in VatScheme}:
        raise ValidationError(f"VAT scheme {scheme!r} must be accrual or cash")
    company = _company(session)
    before = company_vat(session)
    if scheme is not None:
        company.vat_scheme = VatScheme(scheme)
    moved: list[int] = []
    if stagger is not None:
        company.vat_stagger = stagger
        schedules = session.scalars(
            select(BatchSchedule)
            .join(BatchJob, BatchJob.id == BatchSchedule.job_id)
            .where(BatchJob.name.in_(VAT_JOBS), BatchSchedule.kind == ScheduleKind.QUARTERLY)
            .order_by(BatchSchedule.id)
        ).all()
        for schedule in schedules:
            if int(dict(schedule.rule).get("fy_start_month", 1)) != stagger:
                update_schedule(
                    session, schedule.id, now=now, actor=actor, rule=dict(schedule.rule) | {"fy_start_month": stagger}
                )
                moved.append(schedule.id)
    session.flush()
    after = company_vat(session)
    audit(
        session,
        actor=actor,
        action="company.vat",
        target_type="company",
        target_id=company.id,
        now=now,
        details={"before": before.as_dict(), "after": after.as_dict(), "schedules_moved": moved},
    )
    return after, moved

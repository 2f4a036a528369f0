"""The company's VAT settings as the VAT jobs see them: scheme and stagger.

The stagger decides which months the VAT quarters end in (HMRC groups 1, 2 and 3). Changing
it here changes the company only; the services move the quarter-end schedules of the two VAT
return jobs (:data:`VAT_JOBS`) in the same transaction, so the returns keep running on the
day each quarter closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.errors import NotFound, ValidationError
from acas_batch.models import Company, VatScheme

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


def set_company_vat(session: Session, *, stagger: int | None = None, scheme: str | None = None) -> CompanyVat:
    """Change the VAT scheme and/or stagger of the company; returns the new settings.

    Raises:
        ValidationError: for a stagger other than 1, 2 or 3 or an unknown scheme; nothing changes.
        NotFound: when the database holds no company.
    """
    if stagger is not None and stagger not in (1, 2, 3):
        raise ValidationError(f"VAT stagger {stagger} must be 1, 2 or 3")
    if scheme is not None and scheme not in {s.value for s in VatScheme}:
        raise ValidationError(f"VAT scheme {scheme!r} must be accrual or cash")
    company = _company(session)
    if scheme is not None:
        company.vat_scheme = VatScheme(scheme)
    if stagger is not None:
        company.vat_stagger = stagger
    session.flush()
    return company_vat(session)


def company_id(session: Session) -> int:
    """The id of the company (the first, in a database that holds several)."""
    return _company(session).id

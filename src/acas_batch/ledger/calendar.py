"""The company's own closure days, which the business calendar adds to the public holidays."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.models import ClosureDay


def closure_days(session: Session) -> set[date]:
    """Every day the company is closed besides public holidays."""
    return set(session.scalars(select(ClosureDay.day)))

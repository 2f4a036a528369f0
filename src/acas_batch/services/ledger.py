"""Ledger operations people perform by hand: VAT returns and their settlement, the company's VAT
settings.

Each change is written to the audit trail in the same transaction as the change itself, so a
refused change leaves neither.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.batch.definitions import update_schedule
from acas_batch.batch.executions import audit
from acas_batch.db import transaction
from acas_batch.ledger.company import VAT_JOBS, CompanyVat, company_id, company_vat, set_company_vat
from acas_batch.ledger.money import format_pence
from acas_batch.ledger.vat_returns import Settlement, VatReturnView, direction, record_vat_settlement, vat_returns
from acas_batch.models import BatchJob, BatchSchedule
from acas_batch.models.enums import ScheduleKind
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services.door import perform

__all__ = [
    "CompanyVat",
    "Settlement",
    "VatReturnView",
    "change_company_vat",
    "direction",
    "format_pence",
    "read_company_vat",
    "settle_vat",
    "vat_return_list",
]


def vat_return_list(engine: Engine) -> list[VatReturnView]:
    """Every VAT return, oldest quarter first."""
    with transaction(engine) as session:
        return vat_returns(session)


def settle_vat(
    engine: Engine,
    period_key: str,
    *,
    on: date,
    now: datetime,
    actor: Actor,
    bank_code: str | None = None,
    journal_id: int | None = None,
) -> Settlement:
    """Settle the return ``period_key`` on ``on`` (posting the payment, or marking ``journal_id`` as it),
    audited as ``vat.settle``.

    Raises:
        UnknownDocument, VatSettlementRefused, ValidationError: nothing is written.
    """

    def act(session: Session) -> Settlement:
        done = record_vat_settlement(session, period_key, on=on, bank_code=bank_code, journal_id=journal_id)
        audit(
            session,
            actor=actor.username,
            action="vat.settle",
            target_type="vat_return",
            target_id=done.return_id,
            now=now,
            details=done.as_dict(),
        )
        return done

    return perform(engine, actor, Permission.LEDGER_POST, "vat.settle", ("vat_return", period_key), act, now=now)


def read_company_vat(engine: Engine) -> CompanyVat:
    """The company's VAT settings.

    Raises:
        NotFound: the database holds no company.
    """
    with transaction(engine) as session:
        return company_vat(session)


def change_company_vat(
    engine: Engine, *, now: datetime, actor: Actor, stagger: int | None = None, scheme: str | None = None
) -> tuple[CompanyVat, list[int]]:
    """Change the VAT scheme and/or stagger; returns the settings and the ids of the schedules moved.

    A new stagger moves every quarterly schedule of the VAT return jobs to its quarter ends
    (``fy_start_month`` = the stagger), audited like an operator's schedule change, in the same
    transaction as the company's change (audited as ``company.vat``).

    Raises:
        ValidationError: a stagger other than 1, 2 or 3 or an unknown scheme; nothing changes.
        NotFound: the database holds no company.
    """

    def act(session: Session) -> tuple[CompanyVat, list[int]]:
        before = company_vat(session)
        after = set_company_vat(session, stagger=stagger, scheme=scheme)
        moved: list[int] = []
        if stagger is not None:
            schedules = session.scalars(
                select(BatchSchedule)
                .join(BatchJob, BatchJob.id == BatchSchedule.job_id)
                .where(BatchJob.name.in_(VAT_JOBS), BatchSchedule.kind == ScheduleKind.QUARTERLY)
                .order_by(BatchSchedule.id)
            ).all()
            for schedule in schedules:
                if int(dict(schedule.rule).get("fy_start_month", 1)) != stagger:
                    rule = dict(schedule.rule) | {"fy_start_month": stagger}
                    update_schedule(session, schedule.id, now=now, actor=actor.username, rule=rule)
                    moved.append(schedule.id)
        audit(
            session,
            actor=actor.username,
            action="company.vat",
            target_type="company",
            target_id=company_id(session),
            now=now,
            details={"before": before.as_dict(), "after": after.as_dict(), "schedules_moved": moved},
        )
        return after, moved

    return perform(engine, actor, Permission.SETTINGS_WRITE, "company.vat", ("company", None), act, now=now)

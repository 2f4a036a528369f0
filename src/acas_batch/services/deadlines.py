"""Deadlines: list them with each one's predicted finish and slack, set and delete them (audited).

Every face enters here; changes are checked against the policy (``alerts:manage``) and written
to the audit trail with the values before and after.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.batch.calendar import ScheduleSpec, describe, rule_from_json
from acas_batch.batch.schedules import company_calendar
from acas_batch.config import Settings
from acas_batch.errors import JobNotFound, NotFound, ValidationError
from acas_batch.models import AlertSeverity, BatchJob, Deadline, ShiftPolicy
from acas_batch.monitoring.deadlines import Instance, deadline_spec, evaluate
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services.base import resolve_actor
from acas_batch.services.door import perform, read

_NAME_MAX = 64


def _row_dict(d: Deadline, job: str) -> dict[str, Any]:
    try:
        rule_text = describe(deadline_spec(d).rule)
    except (ValidationError, ValueError):
        rule_text = "invalid rule"
    return {
        "id": d.id,
        "name": d.name,
        "job": job,
        "kind": d.kind,
        "rule": d.rule,
        "when": rule_text,
        "timezone": d.timezone,
        "shift": d.shift_policy,
        "severity": d.severity,
        "enabled": d.enabled,
        "description": d.description,
    }


def _instance_dict(i: Instance, now: datetime) -> dict[str, Any]:
    est = i.estimate
    return {
        "due": i.due.isoformat(),
        "business_date": i.business_date.isoformat() if i.business_date else None,
        "estimated_finish": est.finish.isoformat() if est and est.finish else None,
        "finished": bool(est and est.done),
        "slack_seconds": round(i.slack.total_seconds()) if i.slack is not None else None,
        "status": i.status(now),
        "basis": est.basis if est else "no occurrence due before this deadline",
        "chain": list(est.path) if est else [],
    }


def deadline_instances(session: Session, settings: Settings, *, now: datetime) -> list[Instance]:
    """Every enabled deadline's instants of the last two days and its next, estimated."""
    return evaluate(session, now, company_calendar(session, settings), default_slots=settings.workers)


def deadlines_list(
    engine: Engine, settings: Settings, *, actor: Actor | str | None = None, now: datetime
) -> list[dict[str, Any]]:
    """Every deadline with its recent and next instants: the estimated finish, the slack, the status."""
    who = resolve_actor(engine, actor, face="cli" if actor is None else "python")

    def act(session: Session) -> list[dict[str, Any]]:
        instances = deadline_instances(session, settings, now=now)
        rows = []
        for d, job in session.execute(
            select(Deadline, BatchJob.name).join(BatchJob, BatchJob.id == Deadline.job_id).order_by(Deadline.name)
        ):
            row = _row_dict(d, job)
            row["instances"] = [_instance_dict(i, now) for i in instances if i.deadline.id == d.id]
            rows.append(row)
        return rows

    return read(engine, who, Permission.ALERTS_READ, act, what="deadlines", now=now)


def _checked(kind: str, rule: dict[str, Any] | str, timezone: str, shift: str, severity: str) -> dict[str, Any]:
    if isinstance(rule, str):
        try:
            rule = json.loads(rule)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"the rule {rule!r} is not JSON: {exc.msg}") from None
    if not isinstance(rule, dict):
        raise ValidationError(f"the rule {rule!r} is not a JSON object")
    try:
        policy = ShiftPolicy(shift)
    except ValueError:
        raise ValidationError(f"shift {shift!r} is not one of {', '.join(p.value for p in ShiftPolicy)}") from None
    if severity not in {s.value for s in AlertSeverity}:
        raise ValidationError(f"severity {severity!r} is not one of info, warning, critical")
    parsed = rule_from_json(kind, rule)  # ValidationError naming the field
    ScheduleSpec(parsed, timezone, policy)  # an unknown zone, or a shift that does not apply
    if parsed.kind.value == "interval":
        raise ValidationError("a deadline needs a calendar rule (daily, weekly, monthly ...), not an interval")
    return parsed.to_json()


def deadline_set(
    engine: Engine,
    *,
    actor: Actor | str | None = None,
    name: str,
    job: str,
    kind: str,
    rule: dict[str, Any] | str,
    timezone: str = "Europe/London",
    shift: str = "next",
    severity: str = "critical",
    description: str = "",
    enabled: bool = True,
    now: datetime,
) -> dict[str, Any]:
    """Create or replace the deadline ``name``: ``job`` done by each instant of the rule (audited).

    Raises:
        ValidationError: a bad name, rule, zone, shift or severity; nothing written.
        JobNotFound: no job has that name.
        PermissionDenied: the actor may not manage alerts.
    """
    name = name.strip()
    if not name or len(name) > _NAME_MAX:
        raise ValidationError(f"deadline name {name!r} must be 1 to {_NAME_MAX} characters")
    stored_rule = _checked(kind, rule, timezone, shift, severity)
    who = resolve_actor(engine, actor, face="cli" if actor is None else "python")
    before: dict[str, Any] = {}

    def act(session: Session) -> dict[str, Any]:
        job_id = session.scalar(select(BatchJob.id).where(BatchJob.name == job))
        if job_id is None:
            raise JobNotFound(f"no job is named {job!r}")
        row = session.scalars(select(Deadline).where(Deadline.name == name)).one_or_none()
        if row is None:
            row = Deadline(name=name, created_at=now)
            session.add(row)
        else:
            before.update(_row_dict(row, session.scalar(select(BatchJob.name).where(BatchJob.id == row.job_id)) or "?"))
        row.job_id, row.kind, row.rule, row.timezone = job_id, kind.strip().lower(), stored_rule, timezone
        row.shift_policy, row.severity, row.description, row.enabled = shift, severity, description, enabled
        session.flush()
        return _row_dict(row, job)

    return perform(
        engine, who, Permission.ALERTS_MANAGE, "deadline.set", ("deadline", name), act, now=now,
        details=lambda after: {"before": before or None, "after": after},
    )  # fmt: skip


def deadline_delete(engine: Engine, *, actor: Actor | str | None = None, name: str, now: datetime) -> dict[str, Any]:
    """Delete a deadline (its open alerts resolve at the next monitor pass).

    Raises:
        NotFound: no deadline has that name.
    """
    who = resolve_actor(engine, actor, face="cli" if actor is None else "python")

    def act(session: Session) -> dict[str, Any]:
        found = session.execute(
            select(Deadline, BatchJob.name).join(BatchJob, BatchJob.id == Deadline.job_id).where(Deadline.name == name)
        ).first()
        if found is None:
            raise NotFound(f"no deadline is named {name!r}")
        gone = _row_dict(found[0], found[1])
        session.delete(found[0])
        return gone

    return perform(
        engine, who, Permission.ALERTS_MANAGE, "deadline.delete", ("deadline", name), act, now=now,
        details=lambda gone: {"before": gone},
    )  # fmt: skip

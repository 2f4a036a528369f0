"""Job and schedule definitions: create, update, enable, disable.

Values are checked before they are stored: the job's code must be registered (unless
``allow_unregistered``), resources must parse, a schedule's rule must be one the calendar
understands and its time zone must exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.batch.calendar import ScheduleSpec, rule_from_json
from acas_batch.batch.executions import audit, job_by_name
from acas_batch.batch.registry import REGISTRY, Registry
from acas_batch.batch.resources import parse_resources
from acas_batch.errors import Conflict, JobNotFound, ScheduleNotFound, ValidationError
from acas_batch.models.batch import BatchJob, BatchSchedule
from acas_batch.models.enums import MisfirePolicy, Module, RecoveryPolicy, ScheduleKind, ShiftPolicy

JOB_FIELDS = {
    "description",
    "handler",
    "enabled",
    "priority",
    "max_concurrency",
    "timeout_seconds",
    "max_attempts",
    "retry_backoff_seconds",
    "retry_backoff_max_seconds",
    "retry_on",
    "recovery_policy",
    "resources",
    "default_params",
    "dependency_wait_seconds",
}
SCHEDULE_FIELDS = {
    "kind",
    "rule",
    "timezone",
    "shift_policy",
    "misfire_policy",
    "misfire_grace_seconds",
    "enabled",
    "start_held",
    "params",
    "valid_from",
    "valid_until",
}


def _check_job_values(values: Mapping[str, Any], registry: Registry, allow_unregistered: bool) -> None:
    unknown = set(values) - JOB_FIELDS - {"module", "name", "is_standard", "created_by"}
    if unknown:
        raise ValidationError(f"unknown job field(s): {', '.join(sorted(unknown))}")
    if "resources" in values:
        parse_resources(values["resources"])
    if "handler" in values and not allow_unregistered and values["handler"] not in registry:
        raise JobNotFound(f"no job code is registered under {values['handler']!r}")
    if "default_params" in values and values.get("handler", "") in registry:
        spec = registry.get(values["handler"])
        spec.refuse_clear_secrets(values["default_params"], f"default parameters of {values.get('name', 'the job')}")
        spec.validate_params(values["default_params"])
    if "recovery_policy" in values and values["recovery_policy"] not in tuple(RecoveryPolicy):
        choices = ", ".join(p.value for p in RecoveryPolicy)
        raise ValidationError(f"recovery policy must be one of {choices}, not {values['recovery_policy']!r}")


def create_job(
    session: Session,
    name: str,
    *,
    now: datetime,
    module: Module | str,
    handler: str | None = None,
    actor: str = "system",
    registry: Registry = REGISTRY,
    allow_unregistered: bool = False,
    **values: Any,
) -> BatchJob:
    """Define a job (its code is ``handler``, by default the job's name).

    Raises:
        Conflict: a job with this name exists.
        ValidationError / JobNotFound: a value is invalid or the code is not registered.
    """
    handler = handler or name
    _check_job_values({**values, "handler": handler}, registry, allow_unregistered)
    if session.scalars(select(BatchJob.id).where(BatchJob.name == name)).first() is not None:
        raise Conflict(f"a job named {name!r} already exists")
    spec = registry.get(handler) if handler in registry else None
    defaults: dict[str, Any] = {}
    if spec is not None:
        defaults = {
            "description": spec.description,
            "timeout_seconds": spec.timeout_seconds,
            "max_attempts": spec.max_attempts,
            "retry_on": list(spec.retry_on) if spec.retry_on is not None else None,
            "resources": [dict(r) for r in spec.resources],
        }
    job = BatchJob(
        name=name,
        module=Module(module),
        handler=handler,
        created_at=now,
        updated_at=now,
        created_by=actor,
        **{**defaults, **values},
    )
    session.add(job)
    session.flush()
    audit(session, actor=actor, action="job.create", target_type="job", target_id=job.id, now=now)
    return job


def update_job(
    session: Session, name: str, *, now: datetime, actor: str = "system", registry: Registry = REGISTRY, **values: Any
) -> BatchJob:
    """Change a job's settings; standard jobs are marked as modified by a user."""
    job = job_by_name(session, name)
    _check_job_values({"handler": job.handler, **values}, registry, allow_unregistered=True)
    if "recovery_policy" in values:
        values["recovery_policy"] = RecoveryPolicy(values["recovery_policy"])
    for key, value in values.items():
        setattr(job, key, value)
    job.updated_at = now
    if job.is_standard:
        job.modified_by_user = True
    audit(
        session,
        actor=actor,
        action="job.update",
        target_type="job",
        target_id=job.id,
        now=now,
        details={k: v for k, v in values.items() if k != "default_params"},
    )
    return job


def set_job_enabled(session: Session, name: str, enabled: bool, *, now: datetime, actor: str = "system") -> BatchJob:
    job = job_by_name(session, name)
    job.enabled = enabled
    job.updated_at = now
    audit(
        session,
        actor=actor,
        action="job.enable" if enabled else "job.disable",
        target_type="job",
        target_id=job.id,
        now=now,
    )
    return job


def _check_schedule(values: Mapping[str, Any]) -> None:
    unknown = set(values) - SCHEDULE_FIELDS
    if unknown:
        raise ValidationError(f"unknown schedule field(s): {', '.join(sorted(unknown))}")
    if "timezone" in values:
        try:
            ZoneInfo(values["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"unknown time zone {values['timezone']!r}") from None
    if values.get("misfire_grace_seconds", 0) < 0:
        raise ValidationError("misfire_grace_seconds must be 0 or more")
    for key, enum in (("kind", ScheduleKind), ("shift_policy", ShiftPolicy), ("misfire_policy", MisfirePolicy)):
        if key in values:
            try:
                enum(values[key])
            except ValueError:
                allowed = ", ".join(m.value for m in enum)
                raise ValidationError(f"{key} {values[key]!r} is not one of {allowed}") from None


def create_schedule(
    session: Session,
    job_name: str,
    *,
    now: datetime,
    name: str | None = None,
    kind: ScheduleKind | str,
    rule: dict[str, Any],
    actor: str = "system",
    **values: Any,
) -> BatchSchedule:
    """Add a schedule to a job. Its first occurrence is the first one after ``now`` (or ``valid_from``).

    Raises:
        ValidationError: the rule, time zone or a policy is invalid (the message names it).
        Conflict: the job already has a schedule of that name.
    """
    _check_schedule({"kind": kind, **values})
    _check_rule(kind, rule, values.get("timezone", "Europe/London"), values.get("shift_policy", "run_anyway"))
    job = job_by_name(session, job_name)
    if "params" in values:
        _check_schedule_params(job, values["params"])
    taken = set(session.scalars(select(BatchSchedule.name).where(BatchSchedule.job_id == job.id)))
    if name is None:
        name = f"{job_name} {ScheduleKind(kind).value}"
        n = 1
        while name in taken:
            n += 1
            name = f"{job_name} {ScheduleKind(kind).value} {n}"
    elif name in taken:
        raise Conflict(f"job {job_name!r} already has a schedule named {name!r}")
    schedule = BatchSchedule(
        job_id=job.id,
        name=name,
        kind=ScheduleKind(kind),
        rule=rule,
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(schedule)
    session.flush()
    audit(session, actor=actor, action="schedule.create", target_type="schedule", target_id=schedule.id, now=now)
    return schedule


def _check_schedule_params(job: BatchJob, params: Any, registry: Registry = REGISTRY) -> None:
    """A schedule's parameters are the job's: validated as a run's would be, secrets sealed."""
    if params is None:
        return
    if not isinstance(params, dict):
        raise ValidationError("schedule parameters must be an object of name: value")
    if job.handler in registry:
        spec = registry.get(job.handler)
        spec.refuse_clear_secrets(params, f"schedule parameters of {job.name}")
        spec.validate_params({**(job.default_params or {}), **params})


def _check_rule(kind: ScheduleKind | str, rule: dict[str, Any], timezone: str, shift: ShiftPolicy | str) -> None:
    """Refuse a rule the calendar cannot read (it names the field)."""
    ScheduleSpec(rule_from_json(ScheduleKind(kind), rule), timezone, ShiftPolicy(shift))


def get_schedule(session: Session, schedule_id: int) -> BatchSchedule:
    schedule = session.get(BatchSchedule, schedule_id)
    if schedule is None:
        raise ScheduleNotFound(f"no schedule has id {schedule_id}")
    return schedule


def update_schedule(
    session: Session, schedule_id: int, *, now: datetime, actor: str = "system", **values: Any
) -> BatchSchedule:
    """Change a schedule; a changed rule is recomputed from the last occurrence handled."""
    _check_schedule(values)
    schedule = get_schedule(session, schedule_id)
    _check_rule(
        values.get("kind", schedule.kind),
        values.get("rule", schedule.rule),
        values.get("timezone", schedule.timezone),
        values.get("shift_policy", schedule.shift_policy),
    )
    if "params" in values:
        _check_schedule_params(session.get_one(BatchJob, schedule.job_id), values["params"])
    for key, value in values.items():
        setattr(schedule, key, value)
    if {"rule", "kind", "timezone", "shift_policy", "valid_from"} & set(values):
        schedule.next_fire_at = now  # due: the next tick recomputes it from the last occurrence handled
    schedule.updated_at = now
    if schedule.is_standard:
        schedule.modified_by_user = True
    audit(session, actor=actor, action="schedule.update", target_type="schedule", target_id=schedule.id, now=now)
    return schedule


def delete_schedule(session: Session, schedule_id: int, *, now: datetime, actor: str = "system") -> None:
    schedule = get_schedule(session, schedule_id)
    session.delete(schedule)
    audit(session, actor=actor, action="schedule.delete", target_type="schedule", target_id=schedule_id, now=now)

"""Edits of jobs and schedules that name the version they change (HTTP ``ETag`` / ``If-Match``).

A version tag is a hash of what a reader sees of the job or schedule; an edit that names an
older tag is refused with nothing changed, so two operators editing the same job cannot
overwrite each other silently.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.batch import definitions
from acas_batch.batch.executions import job_by_name
from acas_batch.db import transaction
from acas_batch.errors import PreconditionFailed, PreconditionRequired, ValidationError
from acas_batch.jobs.catalogue import show_job
from acas_batch.models import BatchJob, BatchSchedule
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services import door
from acas_batch.services.guards import job_module, schedule_module

#: What an edit of a job may change.
JOB_FIELDS = frozenset({"description", "enabled", "priority", "timeout_seconds", "max_attempts", "default_params"})
#: What an edit of a schedule may change.
SCHEDULE_FIELDS = frozenset({"enabled", "kind", "rule", "timezone", "shift_policy", "misfire_policy"})


def _tag(data: Mapping[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, default=str)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def _job(session: Session, name: str) -> dict[str, Any]:
    return show_job(session, job_by_name(session, name.upper()).name)


def _schedule(session: Session, schedule_id: int) -> dict[str, Any]:
    s: BatchSchedule = definitions.get_schedule(session, schedule_id)
    job = session.get_one(BatchJob, s.job_id)
    return {
        "id": s.id,
        "job": job.name,
        "name": s.name,
        "kind": s.kind.value,
        "rule": s.rule,
        "timezone": s.timezone,
        "shift_policy": s.shift_policy.value,
        "misfire_policy": s.misfire_policy.value,
        "enabled": s.enabled,
        "next_fire_at": s.next_fire_at,
        "last_fire_at": s.last_fire_at,
    }


def job_version(engine: Engine, name: str) -> tuple[dict[str, Any], str]:
    """One job as a reader sees it, and its version tag.

    Raises:
        JobNotFound: no job has the name.
    """
    with transaction(engine) as session:
        data = _job(session, name)
    return data, _tag(data)


def schedule_version(engine: Engine, schedule_id: int) -> tuple[dict[str, Any], str]:
    """One schedule and its version tag.

    Raises:
        ScheduleNotFound: no schedule has the id.
    """
    with transaction(engine) as session:
        data = _schedule(session, schedule_id)
    return data, _tag(data)


def _check(if_match: str | None, current: str, what: str) -> None:
    if not if_match:
        raise PreconditionRequired(f"say which version of {what} you change: send If-Match with its ETag")
    wanted = {t.strip() for t in if_match.split(",")}
    if "*" not in wanted and current not in wanted and f"W/{current}" not in wanted:
        raise PreconditionFailed(f"{what} changed since you read it (now {current}): read it again, then edit")


def _fields(values: Mapping[str, Any], allowed: frozenset[str], what: str) -> dict[str, Any]:
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValidationError(
            f"{what} has no editable field {', '.join(unknown)} (editable: {', '.join(sorted(allowed))})",
            fields=dict.fromkeys(unknown, "not editable"),
        )
    if not values:
        raise ValidationError(f"nothing to change in {what}", fields={"body": "empty"})
    return dict(values)


def edit_job(
    engine: Engine, name: str, values: Mapping[str, Any], *, if_match: str | None, actor: Actor, now: datetime
) -> tuple[dict[str, Any], str]:
    """Change a job as ``actor`` if ``if_match`` names its current version; audited. Returns the job
    and its new tag. Its code (``handler``) is not an editable field.

    Raises:
        PermissionDenied: the actor may not edit jobs (audited; nothing else written).
        PreconditionRequired / PreconditionFailed: no tag, or an old one.
        ValidationError: a field that is not editable or a bad value.
    """

    def act(session: Session) -> dict[str, Any]:
        current = _job(session, name)
        _check(if_match, _tag(current), f"job {current['name']}")
        changes = _fields(values, JOB_FIELDS, f"job {current['name']}")
        enabled = changes.pop("enabled", None)
        if changes:
            definitions.update_job(session, current["name"], now=now, actor=actor.username, **changes)
        if enabled is not None and bool(enabled) != current["enabled"]:
            definitions.set_job_enabled(session, current["name"], bool(enabled), now=now, actor=actor.username)
        session.flush()
        return _job(session, name)

    data = door.perform(
        engine, actor, Permission.JOBS_WRITE, "job.update", ("job", name), act, now=now, module=job_module(name)
    )
    return data, _tag(data)


def edit_schedule(
    engine: Engine,
    schedule_id: int,
    values: Mapping[str, Any],
    *,
    if_match: str | None,
    actor: Actor,
    now: datetime,
    reason: str | None = None,
) -> tuple[dict[str, Any], str]:
    """Change a schedule as ``actor`` if ``if_match`` names its current version; audited. Returns it
    and its new tag.

    Raises:
        PermissionDenied: the actor may not edit this job's schedules (audited; nothing else written).
        PreconditionRequired / PreconditionFailed: no tag, or an old one.
        ValidationError: a field that is not editable, or a rule the calendar cannot read.
    """

    def act(session: Session) -> dict[str, Any]:
        current = _schedule(session, schedule_id)
        _check(if_match, _tag(current), f"schedule {schedule_id}")
        changes = _fields(values, SCHEDULE_FIELDS, f"schedule {schedule_id}")
        definitions.update_schedule(session, schedule_id, now=now, actor=actor.username, **changes)
        session.flush()
        return _schedule(session, schedule_id)

    data = door.perform(
        engine, actor, Permission.SCHEDULES_WRITE, "schedule.update", ("schedule", schedule_id), act, now=now,
        module=schedule_module(schedule_id), reason=reason or f"schedule edited through the {actor.face} (If-Match)",
    )  # fmt: skip
    return data, _tag(data)

"""What the door needs to know about a target: the module of a job, an execution or a schedule,
and whether a job may be pointed at other code."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.batch.executions import REGISTRY, get_execution, job_by_name
from acas_batch.errors import JobNotFound, PermissionDenied, ScheduleNotFound, ValidationError
from acas_batch.models.batch import BatchJob, BatchSchedule
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission


def job_module(name: str) -> Callable[[Session], str | None]:
    """The module of job ``name`` (JobNotFound when there is none)."""
    return lambda s: job_by_name(s, name).module.value


def execution_module(execution_id: int) -> Callable[[Session], str | None]:
    """The module of an execution's job (ExecutionNotFound when there is none)."""

    def find(s: Session) -> str | None:
        job = s.get(BatchJob, get_execution(s, execution_id).job_id)
        return job.module.value if job else None

    return find


def schedule_module(schedule_id: int) -> Callable[[Session], str | None]:
    """The module of a schedule's job (ScheduleNotFound when there is none)."""

    def find(s: Session) -> str | None:
        module = s.scalar(
            select(BatchJob.module)
            .join(BatchSchedule, BatchSchedule.job_id == BatchJob.id)
            .where(BatchSchedule.id == schedule_id)
        )
        if module is None:
            raise ScheduleNotFound(f"no schedule has id {schedule_id}")
        return module.value

    return find


def check_handler_change(session: Session, actor: Actor, name: str, handler: str) -> None:
    """A job's code is not an editable setting: the same handler passes; other code is allowed only
    to an administrator (``settings:write``), only if registered, and only of the job's own module.

    Raises:
        PermissionDenied, ValidationError, JobNotFound.
    """
    job = job_by_name(session, name)
    if handler == job.handler:
        return
    if Permission.SETTINGS_WRITE.value not in actor.permissions:
        raise PermissionDenied(
            f"{actor.username} (role {actor.role}) may not point job {name} at other code: "
            f"missing permission {Permission.SETTINGS_WRITE}",
            who=actor.username,
            what=f"change the code of {name}",
            permission=Permission.SETTINGS_WRITE.value,
        )
    if handler not in REGISTRY:
        raise JobNotFound(f"no job code is registered under {handler!r}")
    if REGISTRY.get(handler).module is not job.module:
        raise ValidationError(
            f"job {name} is a {job.module.value} job; {handler!r} is {REGISTRY.get(handler).module.value} code"
        )

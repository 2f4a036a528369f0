"""Run-now, an operator's action on one run and bulk actions on the runs a filter matches, and the
run-now form generated from a job's parameter model.

Run-now honours an ``Idempotency-Key``: it is stored on the execution, so a retried request
returns the execution its first attempt made. Every function takes the acting :class:`Actor` and
goes through the services' door (``door.py``): checked, done and audited in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.batch import operations
from acas_batch.batch.executions import audit
from acas_batch.batch.registry import REGISTRY
from acas_batch.batch.worker import load_job_modules
from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.errors import (
    ApprovalRequired,
    ExecutionNotFound,
    InvalidStateTransition,
    JobNotFound,
    PermissionDenied,
    RunKeyAlreadySucceeded,
    ValidationError,
)
from acas_batch.models import Audit, BatchExecution, BatchJob
from acas_batch.models.enums import ExecutionState
from acas_batch.secretbox import SecretBox
from acas_batch.security.actor import Actor
from acas_batch.security.policy import CLOSE_JOBS, Permission, check
from acas_batch.services import approvals, door, inputs
from acas_batch.services.guards import execution_module
from acas_batch.services.runs import (
    RunQuery,
    check_reading,
    run_filter,
)


def run_now(
    engine: Engine,
    settings: Settings,
    job: str,
    params: Mapping[str, Any],
    *,
    business_date: object | None,
    actor: Actor,
    now: datetime,
    force_reason: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[int, bool]:
    """Start ``job`` now as ``actor``; returns the execution id and whether this call created it.

    Needs ``jobs:run`` for the job's module (``periods:close`` too for a close, and
    ``executions:force`` to force work that succeeded already). With an ``idempotency_key``
    that an earlier call already used, nothing is created and that call's execution is
    returned (the same key for another job is refused).

    Raises:
        PermissionDenied: the actor may not run the job (audited; nothing else written).
        JobNotFound: no such job.
        ValidationError: a bad parameter (``fields`` names each), business date or key.
        RunKeyAlreadySucceeded: the work was done before and no ``force_reason`` was given.
    """
    door.allowed(engine, actor, Permission.JOBS_RUN, what="job.run", now=now)
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 128):
        raise ValidationError("Idempotency-Key must be 1 to 128 characters")
    inputs.check_name("job", job)
    params = inputs.check_params(params)
    inputs.check_recipients(settings, params)
    force_reason = inputs.check_reason(force_reason)
    when = (
        operations.local_date(now, settings.timezone)
        if business_date in (None, "")
        else operations.parse_business_date(business_date)
    )
    name = job.upper()
    extra: tuple[Permission, ...] = (Permission.PERIODS_CLOSE,) if name in CLOSE_JOBS else ()
    if force_reason is not None:
        extra += (Permission.EXECUTIONS_FORCE,)

    def act(session: Session) -> tuple[int, bool]:
        if idempotency_key:
            earlier = _by_key(session, idempotency_key, name)
            if earlier is not None:
                return earlier, False
        row = operations.enqueue(
            session,
            name,
            params,
            now=now,
            business_date=when,
            actor=actor.username,
            force_reason=force_reason,
            wait_default_seconds=settings.dependency_wait_seconds,
            seal=lambda clear: SecretBox.for_settings(settings).seal(clear),
        )
        row.idempotency_key = idempotency_key
        session.flush()
        return row.id, True

    try:
        return door.perform(
            engine,
            actor,
            Permission.JOBS_RUN,
            "job.run",
            ("job", name),
            act,
            now=now,
            module=_job_module(name),
            extra=extra,
            details=lambda r: {"execution_id": r[0], "replayed": not r[1], "business_date": when.isoformat()},
        )
    except IntegrityError:
        # Another request with the same key won the race: its execution is the answer.
        if idempotency_key:
            with transaction(engine) as session:
                earlier = _by_key(session, idempotency_key, name)
            if earlier is not None:
                return earlier, False
        raise


def _job_module(name: str) -> door.ModuleOf:
    """The module of job ``name`` for the door (None for an unknown job: ``enqueue`` then names it)."""

    def find(session: Session) -> str | None:
        module = session.scalar(select(BatchJob.module).where(BatchJob.name == name))
        return None if module is None else str(module.value)

    return find


def _by_key(session: Session, key: str, job: str) -> int | None:
    found = session.execute(
        select(BatchExecution.id, BatchJob.name)
        .join(BatchJob, BatchJob.id == BatchExecution.job_id)
        .where(BatchExecution.idempotency_key == key)
    ).first()
    if found is None:
        return None
    if found[1] != job.upper():
        raise ValidationError(f"Idempotency-Key {key!r} was used for a run of {found[1]}, not {job.upper()}")
    return int(found[0])


def param_fields(engine: Engine, job: str, *, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    """The run-now form of a job: one field per parameter of its model, with type, default and help.

    Raises:
        PermissionDenied: the actor may not read jobs.
        JobNotFound: no such job, or its code is not loaded.
    """
    check_reading(engine, actor, Permission.JOBS_READ, "read a job's parameters", now)
    with transaction(engine) as session:
        row = session.scalars(select(BatchJob).where(BatchJob.name == job.upper())).first()
        if row is None:
            raise JobNotFound(f"no job named {job!r}")
        handler, defaults = row.handler, dict(row.default_params or {})
    if handler not in REGISTRY:
        raise JobNotFound(f"job {job!r}: no code is registered under {handler!r}")
    schema = REGISTRY.get(handler).params_model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        shape = _resolve(prop, defs)
        default = defaults.get(name, prop.get("default"))
        fields.append(
            {
                "name": name,
                "title": name.replace("_", " "),
                "type": "date" if shape.get("format") == "date" else shape.get("type") or "object",
                "required": name in required,
                "default": "" if default is None else default,
                "help": prop.get("description") or shape.get("description", ""),
                "choices": shape.get("enum"),
            }
        )
    return fields


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A property's own shape: ``$ref`` followed, the non-null branch of ``anyOf`` taken."""
    for _ in range(5):
        if "$ref" in prop:
            prop = {
                **defs.get(str(prop["$ref"]).rsplit("/", 1)[-1], {}),
                **{k: v for k, v in prop.items() if k != "$ref"},
            }
        elif "allOf" in prop and len(prop["allOf"]) == 1:
            prop = {**prop["allOf"][0], **{k: v for k, v in prop.items() if k != "allOf"}}
        elif "anyOf" in prop:
            branches = [a for a in prop["anyOf"] if a.get("type") != "null"]
            prop = {**(branches[0] if branches else {}), **{k: v for k, v in prop.items() if k != "anyOf"}}
        else:
            break
    return prop


class RunAction(StrEnum):
    """What an operator may do to a run from the dashboard or the API."""

    CANCEL = "cancel"  # stop it; a running one is terminated by its worker
    HOLD = "hold"  # keep a waiting one from starting
    RELEASE = "release"  # return a held one to where it was
    RERUN = "rerun"  # run a finished one's work again (a success needs force)
    MARK_SUCCEEDED = "mark-succeeded"  # record the work as done by other means


def load_jobs(settings: Settings) -> None:
    """Import the job code the settings name, so run-now can validate parameters."""
    load_job_modules(settings)


def _apply(
    session: Session,
    settings: Settings,
    action: RunAction,
    execution_id: int,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
    force: bool,
) -> BatchExecution:
    wait = settings.dependency_wait_seconds
    if action is RunAction.CANCEL:
        return operations.cancel(session, execution_id, actor=actor, reason=reason, now=now)
    if action is RunAction.HOLD:
        return operations.hold(session, execution_id, actor=actor, reason=reason, now=now)
    if action is RunAction.RELEASE:
        return operations.release(session, execution_id, actor=actor, reason=reason, now=now)
    if action is RunAction.RERUN:
        return operations.rerun(
            session, execution_id, actor=actor, reason=reason, now=now, force=force, wait_default_seconds=wait
        )
    if not reason:
        raise ValidationError("marking a run succeeded needs a reason", fields={"reason": "required"})
    return operations.mark_succeeded(
        session, execution_id, actor=actor, reason=reason, now=now, wait_default_seconds=wait
    )


#: The audit trail's name for each action (and the four-eyes setting's).
ACTION_NAMES: dict[RunAction, str] = {
    RunAction.CANCEL: "execution.cancel",
    RunAction.HOLD: "execution.hold",
    RunAction.RELEASE: "execution.release",
    RunAction.RERUN: "execution.rerun",
    RunAction.MARK_SUCCEEDED: "execution.mark_succeeded",
}


def _permission_of(action: RunAction, *, force: bool = False) -> Permission:
    if action is RunAction.MARK_SUCCEEDED or force:
        return Permission.EXECUTIONS_FORCE
    return Permission.EXECUTIONS_CONTROL


def _name_of(action: RunAction, *, force: bool = False) -> str:
    return "execution.force_rerun" if action is RunAction.RERUN and force else ACTION_NAMES[action]


def parse_action(value: str) -> RunAction:
    """An action by name.

    Raises:
        ValidationError: naming the actions there are.
    """
    try:
        return RunAction(value)
    except ValueError:
        known = ", ".join(a.value for a in RunAction)
        raise ValidationError(f"action {value!r} is not one of {known}", fields={"action": "unknown"}) from None


def act_on_run(
    engine: Engine,
    settings: Settings,
    action: RunAction,
    execution_id: int,
    *,
    actor: Actor,
    reason: str | None,
    now: datetime,
    force: bool = False,
) -> dict[str, Any]:
    """Apply one operator action as ``actor``, audited with its reason; returns the execution's id
    and new state (a rerun returns the new execution).

    Needs ``executions:control`` (``executions:force`` to mark succeeded or force a rerun) for the
    module of the execution's job. An action the four-eyes setting names is recorded as a request
    for a second user's approval instead of done.

    Raises:
        PermissionDenied: the actor may not (audited; nothing else written).
        ApprovalRequired: recorded as a four-eyes request, not done.
        ExecutionNotFound: no such execution.
        InvalidStateTransition: the action does not apply to its state.
    """
    inputs.check_id("execution id", execution_id)
    name = _name_of(action, force=force)
    # Refused before its input is judged: whoever may not act learns nothing more (module scope below).
    door.allowed(engine, actor, _permission_of(action, force=force), what=name, now=now)
    reason = inputs.check_reason(reason, required=action is RunAction.MARK_SUCCEEDED or force)

    def act(session: Session) -> dict[str, Any]:
        if approvals.required(settings, actor, name, approvals.job_of_execution(session, execution_id)):
            request = approvals.request(
                session, actor, name, ("execution", execution_id), params={}, reason=reason, now=now
            )
            return {"approval_id": request.id}
        row = _apply(session, settings, action, execution_id, actor=actor.username, reason=reason, now=now, force=force)
        return {"id": row.id, "state": row.state.value, "cancel_requested": row.cancel_requested}

    done = door.perform(
        engine,
        actor,
        _permission_of(action, force=force),
        name,
        ("execution", execution_id),
        act,
        now=now,
        reason=reason,
        module=execution_module(execution_id),
    )
    if "approval_id" in done:
        raise ApprovalRequired(
            f"{name} of execution {execution_id} needs a second user's approval: request {done['approval_id']} "
            f"recorded (acas-batch approvals approve {done['approval_id']})",
            approval_id=int(done["approval_id"]),
        )
    return done


#: The most executions one bulk action may touch.
BULK_LIMIT = 10_000


def bulk_preview(engine: Engine, q: RunQuery, action: RunAction, *, actor: Actor, now: datetime) -> list[int]:
    """The ids a bulk action over the filter would touch: the matching runs in a state the action applies to.

    Raises:
        PermissionDenied: the actor may not take the action on any module.
    """
    door.allowed(engine, actor, _permission_of(action), what=ACTION_NAMES[action], now=now)
    allowed = _BULK_STATES[action]
    with transaction(engine) as session:
        conds = [*run_filter(session, q), BatchExecution.state.in_(allowed)]
        return list(
            session.scalars(
                select(BatchExecution.id).where(*conds).order_by(BatchExecution.id.desc()).limit(BULK_LIMIT)
            )
        )


_BULK_STATES: dict[RunAction, tuple[ExecutionState, ...]] = {
    RunAction.CANCEL: (*operations.CANCELLABLE, ExecutionState.RUNNING),
    RunAction.HOLD: operations.HOLDABLE,
    RunAction.RELEASE: (ExecutionState.HELD,),
    RunAction.RERUN: (ExecutionState.FAILED, ExecutionState.TIMED_OUT, ExecutionState.CANCELLED),
    RunAction.MARK_SUCCEEDED: operations.MARKABLE,
}


def bulk_act(
    engine: Engine,
    settings: Settings,
    action: RunAction,
    ids: list[int],
    *,
    actor: Actor,
    reason: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Apply one action to many runs in one transaction as ``actor``, audited as one operation
    listing its items.

    A run whose state no longer allows the action, whose job's module the actor's role does not
    cover, or which the four-eyes setting keeps for a second user, is skipped and reported. An
    ``idempotency_key`` already used by an earlier bulk action returns that action's result instead.

    Raises:
        PermissionDenied: the actor may not take the action at all (audited; nothing else written).
        ValidationError: no reason, no runs or too many.
    """
    permission = _permission_of(action)
    name = ACTION_NAMES[action]
    door.allowed(engine, actor, permission, what=name, now=now)
    if idempotency_key:
        with transaction(engine) as session:
            earlier = session.scalars(
                select(Audit).where(Audit.action == "execution.bulk", Audit.target_id == idempotency_key[:64])
            ).first()
            if earlier is not None and earlier.details is not None:
                return dict(earlier.details) | {"replayed": True}
    if not reason or not reason.strip():
        raise ValidationError("a bulk action needs a reason", fields={"reason": "required"})
    if not ids:
        raise ValidationError("no runs were chosen", fields={"ids": "empty"})
    if len(ids) > BULK_LIMIT:
        raise ValidationError(f"{len(ids)} runs is more than {BULK_LIMIT} at once", fields={"ids": "too many"})
    refused: list[tuple[int, PermissionDenied]] = []

    def act(session: Session) -> dict[str, Any]:
        done, skipped = [], []
        for execution_id in ids:
            try:
                job = approvals.job_of_execution(session, execution_id)
                module = session.scalar(select(BatchJob.module).where(BatchJob.name == job))
                try:
                    check(actor, permission, module.value if module else None, what=f"{name} {execution_id}")
                except PermissionDenied as exc:
                    refused.append((execution_id, exc))
                    raise
                if approvals.required(settings, actor, name, job):
                    skipped.append(
                        {"id": execution_id, "why": f"{name} needs a second user's approval: act on it alone"}
                    )
                    continue
                with session.begin_nested():
                    _apply(
                        session, settings, action, execution_id, actor=actor.username, reason=reason, now=now,
                        force=False,
                    )  # fmt: skip
                done.append(execution_id)
            except (InvalidStateTransition, ExecutionNotFound, RunKeyAlreadySucceeded, PermissionDenied) as exc:
                skipped.append({"id": execution_id, "why": str(exc)})
        result = {"action": action.value, "done": done, "skipped": skipped}
        audit(
            session,
            actor=actor.username,
            action="execution.bulk",
            target_type="bulk",
            target_id=idempotency_key[:64] if idempotency_key else None,
            now=now,
            reason=reason,
            details=result,
        )
        return result

    result = door.perform(engine, actor, permission, "execution.bulk", ("bulk", idempotency_key), act, now=now)
    for execution_id, exc in refused:  # each run refused for its module is audited as a refusal
        door.audit_refusal(engine, actor, exc, action=name, target=("execution", execution_id), now=now)
    return result | {"replayed": False}


def params_from_form(fields: list[dict[str, Any]], form: Mapping[str, str]) -> dict[str, Any]:
    """A job's parameters from a form's text fields (see :func:`param_fields`): an empty field keeps the
    default, a list is comma-separated, an object is JSON, a checkbox is ``true`` when ticked.

    Raises:
        ValidationError: a JSON field that is not JSON (``fields`` names it).
    """
    params: dict[str, Any] = {}
    for f in fields:
        name, kind = f["name"], f["type"]
        raw = form.get(name)
        if kind == "boolean":
            params[name] = raw in ("true", "on", "1")
            continue
        if raw is None or raw.strip() == "":
            continue
        text = raw.strip()
        if kind == "array":
            params[name] = [p.strip() for p in text.strip("[]").split(",") if p.strip()]
        elif kind == "object":
            try:
                params[name] = json.loads(text)
            except json.JSONDecodeError:
                raise ValidationError(f"{name}: not JSON", fields={name: 'not JSON (e.g. {"key": 1})'}) from None
        else:
            params[name] = text
    return params

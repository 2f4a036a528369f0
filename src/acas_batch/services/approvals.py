"""Four-eyes: a dangerous action is requested with a reason, approved by a different user holding
``approvals:approve``, and then runs once.

Which actions need it is a setting (``four_eyes``: ``ACTION:JOB`` pairs, ``*`` for every job). The
local administrator console and the system itself are not held to it: they can write the
database directly anyway (see docs/users-and-permissions.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.batch import operations
from acas_batch.batch.executions import get_execution
from acas_batch.config import Settings
from acas_batch.errors import Conflict, NotFound, PermissionDenied, ValidationError
from acas_batch.models.audit_chain import append_audit
from acas_batch.models.batch import BatchJob
from acas_batch.models.security import Approval
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services import door


class State:
    """Where a request is."""

    PENDING = "pending"  # waiting for another user's decision
    DONE = "done"  # approved and carried out (once)
    REJECTED = "rejected"  # refused (or withdrawn by its requester)
    FAILED = "failed"  # approved, but the action itself was refused (e.g. the state had moved on)


def rules(settings: Settings) -> dict[str, set[str]]:
    """The four-eyes setting as ``{action: {job, ...}}`` (``*``: every job).

    Raises:
        ValidationError: a pair that is not ``ACTION:JOB``.
    """
    out: dict[str, set[str]] = {}
    for item in settings.four_eyes.split(","):
        if not item.strip():
            continue
        action, sep, job = item.strip().partition(":")
        if not sep or not action or not job:
            raise ValidationError(f"four_eyes: {item.strip()!r} is not ACTION:JOB")
        out.setdefault(action, set()).add(job.upper() if job != "*" else job)
    return out


def required(settings: Settings, actor: Actor, action: str, job: str | None) -> bool:
    """Whether ``actor`` needs a second user's approval for ``action`` on ``job``."""
    if actor.username.startswith("console:") or actor.face == "system":
        return False
    jobs = rules(settings).get(action, set())
    return "*" in jobs or (job is not None and job.upper() in jobs)


def job_of_execution(session: Session, execution_id: int) -> str | None:
    job = session.get(BatchJob, get_execution(session, execution_id).job_id)
    return job.name if job else None


@dataclass(frozen=True)
class ApprovalView:
    id: int
    action: str
    target: str
    reason: str
    state: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    result: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "target": self.target,
            "reason": self.reason,
            "state": self.state,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at.isoformat(),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "result": self.result,
        }


def _view(a: Approval) -> ApprovalView:
    return ApprovalView(
        a.id,
        a.action,
        f"{a.target_type}:{a.target_id or ''}",
        a.reason,
        a.state,
        a.requested_by,
        a.requested_at,
        a.decided_by,
        a.decided_at,
        a.result,
    )


def request(
    session: Session,
    actor: Actor,
    action: str,
    target: tuple[str, object],
    *,
    params: dict[str, Any],
    reason: str | None,
    now: datetime,
) -> Approval:
    """Record a request (in the caller's transaction, audited as ``approval.request``)."""
    why = (reason or "").strip()
    if not why:
        raise ValidationError(f"{action} needs a second user's approval: give a reason for the request")
    row = Approval(
        action=action,
        target_type=target[0],
        target_id=None if target[1] is None else str(target[1]),
        params=params,
        reason=why,
        state=State.PENDING,
        requested_by=actor.username,
        requested_at=now,
    )
    session.add(row)
    session.flush()
    append_audit(
        session,
        actor=actor.username,
        action="approval.request",
        target_type="approval",
        target_id=row.id,
        now=now,
        reason=why,
        details={"action": action, "target": f"{target[0]}:{target[1]}", "params": params},
        identity=door.identity_of(actor),
    )
    return row


def list_approvals(engine: Engine, actor: Actor, *, now: datetime, state: str | None = None) -> list[ApprovalView]:
    """Requests, newest first (``state`` pending, done, rejected or failed; None: all)."""

    def act(s: Session) -> list[ApprovalView]:
        stmt = select(Approval).order_by(Approval.id.desc()).limit(500)
        if state:
            stmt = stmt.where(Approval.state == state)
        return [_view(a) for a in s.scalars(stmt)]

    return door.read(engine, actor, Permission.JOBS_READ, act, what="list approvals", now=now)


def _claim(
    session: Session, approval_id: int, actor: Actor, *, now: datetime, state: str, note: str | None
) -> Approval:
    row = session.get(Approval, approval_id)
    if row is None:
        raise NotFound(f"no approval request has id {approval_id}")
    if row.state != State.PENDING:
        raise Conflict(f"approval {approval_id} is {row.state}, not pending")
    if state == State.DONE and row.requested_by == actor.username:
        raise PermissionDenied(
            f"{actor.username} may not approve their own request {approval_id}: a different user must",
            who=actor.username,
            what=f"approve request {approval_id}",
            permission=Permission.APPROVE.value,
        )
    # Compare-and-set: of two approvers at once, one wins; the action runs once.
    moved = session.execute(
        update(Approval)
        .where(Approval.id == approval_id, Approval.state == State.PENDING)
        .values(state=state, decided_by=actor.username, decided_at=now, decision_reason=note)
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 0) != 1:
        raise Conflict(f"approval {approval_id} was decided meanwhile")
    session.refresh(row)
    return row


#: What an approved request does, per action: (session, approval, approver, now, settings) -> result.
Runner = Callable[[Session, Approval, Actor, datetime, Settings], dict[str, Any]]


def _execution_action(
    session: Session, row: Approval, approver: Actor, now: datetime, settings: Settings
) -> dict[str, Any]:
    eid = int(row.target_id or 0)
    who = f"{row.requested_by} (approved by {approver.username})"[:64]
    wait = settings.dependency_wait_seconds
    if row.action == "execution.force_rerun":
        done = operations.rerun(
            session, eid, actor=who, reason=row.reason, now=now, force=True, wait_default_seconds=wait
        )
    elif row.action == "execution.release":
        done = operations.release(session, eid, actor=who, reason=row.reason, now=now)
    elif row.action == "execution.mark_succeeded":
        done = operations.mark_succeeded(session, eid, actor=who, reason=row.reason, now=now, wait_default_seconds=wait)
    else:
        raise ValidationError(f"approval {row.id}: {row.action} is not an action approvals can carry out")
    return {"id": done.id, "state": done.state.value}


def approve(
    engine: Engine, settings: Settings, actor: Actor, approval_id: int, *, now: datetime, note: str | None = None
) -> ApprovalView:
    """Approve another user's request and carry it out once (in the same transaction for execution
    actions; a restore runs right after the approval is recorded).

    Raises:
        PermissionDenied: no ``approvals:approve``, or one's own request.
        Conflict: not pending (decided already, or meanwhile).
    """
    restore_args: dict[str, Any] | None = None

    def act(s: Session) -> ApprovalView:
        nonlocal restore_args
        row = _claim(s, approval_id, actor, now=now, state=State.DONE, note=note)
        append_audit(
            s,
            actor=actor.username,
            action="approval.approve",
            target_type="approval",
            target_id=approval_id,
            now=now,
            reason=note,
            details={"action": row.action, "requested_by": row.requested_by},
        )
        if row.action == "system.restore":
            restore_args = dict(row.params) | {"requested_by": row.requested_by, "reason": row.reason}
            return _view(row)
        try:
            with s.begin_nested():
                row.result = _execution_action(s, row, actor, now, settings)
        except (Conflict, NotFound, ValidationError) as exc:
            row.state = State.FAILED
            row.result = {"error": str(exc)}
        row.done_at = now
        s.flush()
        return _view(row)

    view = door.perform(engine, actor, Permission.APPROVE, "approval.approve", ("approval", approval_id), act, now=now)
    if restore_args is not None:
        from pathlib import Path

        from acas_batch.services.system import restore

        restore(
            engine,
            settings,
            actor,
            Path(restore_args["file"]),
            force=bool(restore_args.get("force")),
            now=now,
            reason=f"{restore_args['reason']} (requested by {restore_args['requested_by']}, approval {approval_id})",
            approved=True,
        )
    return view


def reject(engine: Engine, actor: Actor, approval_id: int, *, now: datetime, note: str | None = None) -> ApprovalView:
    """Reject a request (its requester may withdraw their own without ``approvals:approve``)."""

    def act(s: Session) -> ApprovalView:
        row = s.get(Approval, approval_id)
        if row is None:
            raise NotFound(f"no approval request has id {approval_id}")
        if row.requested_by != actor.username:
            door.check_within(actor, Permission.APPROVE, what=f"reject request {approval_id}")
        row = _claim(s, approval_id, actor, now=now, state=State.REJECTED, note=note)
        append_audit(
            s,
            actor=actor.username,
            action="approval.reject",
            target_type="approval",
            target_id=approval_id,
            now=now,
            reason=note,
            details={"action": row.action, "requested_by": row.requested_by},
        )
        return _view(row)

    return door.perform(engine, actor, Permission.JOBS_READ, "approval.reject", ("approval", approval_id), act, now=now)

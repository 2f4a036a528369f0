"""Permissions enforced in the services, the permission matrix, four-eyes, the tamper-evident audit
trail and a restore that keeps it (both databases)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

from acas_batch.batch.definitions import create_job, create_schedule
from acas_batch.cli import main
from acas_batch.db import transaction
from acas_batch.errors import ApprovalRequired, Conflict, PermissionDenied
from acas_batch.jobs.catalogue.installer import install_catalogue
from acas_batch.logs import ExportFormat
from acas_batch.models import Approval, Audit, BatchExecution, BatchJob, BatchSchedule, ExecutionState
from acas_batch.models.enums import RecoveryPolicy
from acas_batch.security.actor import Actor
from acas_batch.security.policy import STANDARD_ROLES, Permission, may
from acas_batch.services import (
    JobSchedulerService,
    alerting,
    approvals,
    catalogue,
    editing,
    log_stream,
    log_viewer,
    monitoring_alerts,
    schedules,
    system,
)
from acas_batch.services.audit import verify_audit
from acas_batch.services.demo import DemoSize, generate_demo
from acas_batch.services.identity import create_token
from acas_batch.services.secrets import rotate_secret_key
from acas_batch.services.system import backup_now, restore
from tests.engine_helpers import engine_settings
from tests.support.users import user

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ROLES = list(STANDARD_ROLES)


def _job(engine: Engine, name: str, module: str) -> None:
    with transaction(engine, write=True) as s:
        create_job(s, name, handler="TEST_NOOP", module=module, now=NOW)


def _execution(engine: Engine, job: str, state: ExecutionState, tag: str) -> int:
    svc = JobSchedulerService(engine, settings=engine_settings(str(engine.url.render_as_string(False)), Path(".")))
    ok, eid = svc.execute_job_now(job, {"tag": tag})
    assert ok, eid
    with transaction(engine, write=True) as s:
        row = s.get_one(BatchExecution, eid)
        row.state = state
        if state is ExecutionState.FAILED:
            row.finished_at = NOW
    return int(eid)


def _counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {
            "executions": s.scalar(select(func.count()).select_from(BatchExecution)) or 0,
            "audit": s.scalar(select(func.count()).select_from(Audit)) or 0,
            "approvals": s.scalar(select(func.count()).select_from(Approval)) or 0,
            "schedules": s.scalar(select(func.count()).select_from(BatchSchedule)) or 0,
            "enabled": s.scalar(select(func.count()).where(BatchJob.enabled.is_(True))) or 0,
        }


#: Actions of the Python API: (name, permission, module of the job it touches, call).
Call = Callable[[JobSchedulerService, dict[str, int]], tuple[bool, Any]]
ACTIONS: list[tuple[str, Permission, str | None, Call]] = [
    ("run GL", Permission.JOBS_RUN, "GL", lambda svc, ids: svc.execute_job_now("GL_NOOP", {"tag": "m"})),
    ("run SYS", Permission.JOBS_RUN, "SYS", lambda svc, ids: svc.execute_job_now("TEST_NOOP", {"tag": "m"})),
    ("hold", Permission.EXECUTIONS_CONTROL, "GL", lambda svc, ids: svc.hold_execution(ids["queued"], "checks")),
    ("cancel", Permission.EXECUTIONS_CONTROL, "GL", lambda svc, ids: svc.cancel_execution(ids["queued"], "not needed")),
    ("rerun", Permission.EXECUTIONS_CONTROL, "GL", lambda svc, ids: svc.rerun_execution(ids["failed"], "again")),
    ("read", Permission.EXECUTIONS_READ, None, lambda svc, ids: svc.get_execution(ids["queued"])),
    ("list", Permission.EXECUTIONS_READ, None, lambda svc, ids: svc.list_executions()),
    ("disable job", Permission.JOBS_WRITE, "GL", lambda svc, ids: svc.disable_job("GL_NOOP")),
    (
        "schedule",
        Permission.SCHEDULES_WRITE,
        "GL",
        lambda svc, ids: svc.create_schedule("GL_NOOP", "daily", {"time": "18:00"}, reason="evening run"),
    ),
    ("scheduler", Permission.SCHEDULER_CONTROL, None, lambda svc, ids: svc.stop_scheduler()),
]


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix_through_the_python_api(engine: Engine, db_url: str, tmp_path: Path, role: str) -> None:
    # Given a GL job, a queued and a failed execution of it, and a user of the role
    _job(engine, "GL_NOOP", "GL")
    _job(engine, "TEST_NOOP", "SYS")
    ids = {
        "queued": _execution(engine, "GL_NOOP", ExecutionState.QUEUED, "q"),
        "failed": _execution(engine, "GL_NOOP", ExecutionState.FAILED, "f"),
    }
    actor = user(engine, f"u_{role}", role)
    svc = JobSchedulerService(engine, settings=engine_settings(db_url, tmp_path), actor=actor)
    for name, permission, module, call in ACTIONS:
        expected = may(actor, permission, module)
        before = _counts(engine)
        ok, result = call(svc, ids)
        refused = isinstance(svc.last_error, PermissionDenied) and not ok
        # Then the policy table decides, and a refusal writes nothing but its own audit row
        assert refused is not expected, (role, name, result)
        if refused:
            assert _counts(engine) == before | {"audit": before["audit"] + 1}, (role, name)
            with Session(engine) as s:
                last = s.scalars(select(Audit).order_by(Audit.id.desc()).limit(1)).one()
            assert last.action.startswith("denied:") and last.actor == actor.username
            assert f"missing permission {permission.value}" in str(result)
        svc.last_error = None


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix_through_the_command_line(
    engine: Engine, db_url: str, role: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _job(engine, "GL_NOOP", "GL")
    eid = _execution(engine, "GL_NOOP", ExecutionState.QUEUED, "q")
    actor = user(engine, f"c_{role}", role)
    token, _view = create_token(engine, actor, name="cli", now=NOW)
    monkeypatch.setenv("ACAS_TOKEN", token)
    monkeypatch.setenv("ACAS_JOB_MODULES", "tests.jobs_fixture")
    commands: list[tuple[list[str], Permission, str | None]] = [
        (["executions", "list", "--json"], Permission.EXECUTIONS_READ, None),
        (["executions", "hold", str(eid), "--reason", "checks"], Permission.EXECUTIONS_CONTROL, "GL"),
        (["run", "GL_NOOP", "-p", "tag=cli"], Permission.JOBS_RUN, "GL"),
        (["users", "list"], Permission.USERS_MANAGE, None),
        (["audit", "verify"], Permission.AUDIT_READ, None),
    ]
    for args, permission, module in commands:
        before = _counts(engine)
        try:
            main([*args, "--database-url", db_url])
            code = 0
        except SystemExit as ended:
            code = int(ended.code or 0)
        err = capsys.readouterr().err
        if may(actor, permission, module):
            assert code == 0, (role, args, err)
        else:
            assert code == 77 and f"missing permission {permission.value}" in err, (role, args, err)
            assert _counts(engine) == before | {"audit": before["audit"] + 1}


def test_a_job_cannot_be_pointed_at_other_code(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _job(engine, "GL_NOOP", "GL")
    operator = JobSchedulerService(
        engine, settings=engine_settings(db_url, tmp_path), actor=user(engine, "op", "operator")
    )
    admin = JobSchedulerService(engine, settings=engine_settings(db_url, tmp_path), actor=user(engine, "ad", "admin"))
    assert operator.update_job("GL_NOOP", handler="TEST_FAIL")[0] is False
    ok, why = admin.update_job("GL_NOOP", handler="TEST_FAIL")
    assert not ok and "is a GL job" in why and "SYS code" in why
    with Session(engine) as s:
        assert s.scalar(select(BatchJob.handler).where(BatchJob.name == "GL_NOOP")) == "TEST_NOOP"
    assert admin.update_job("GL_NOOP", handler="TEST_NOOP", priority=7)[0]


def test_four_eyes_the_requester_cannot_approve_and_an_approved_request_runs_once(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    settings = engine_settings(db_url, tmp_path)
    _job(engine, "GL_NOOP", "GL")
    eid = _execution(engine, "GL_NOOP", ExecutionState.FAILED, "f")
    ann = user(engine, "ann", "admin")  # holds approvals:approve too
    bob = user(engine, "bob", "approver")
    svc = JobSchedulerService(engine, settings=settings, actor=ann)
    # When ann marks it succeeded, only a request is recorded
    ok, message = svc.mark_succeeded(eid, "posted by hand on the 30th")
    assert not ok and "needs a second user's approval" in message
    with Session(engine) as s:
        assert s.get_one(BatchExecution, eid).state is ExecutionState.FAILED
        request_id = s.scalars(select(Approval.id)).one()
    # ann cannot approve her own request
    with pytest.raises(PermissionDenied, match="own request"):
        approvals.approve(engine, settings, ann, request_id, now=NOW)
    # bob approves: it runs, once
    done = approvals.approve(engine, settings, bob, request_id, now=NOW)
    assert done.state == "done" and done.result is not None
    with pytest.raises(Conflict, match="not pending"):
        approvals.approve(engine, settings, bob, request_id, now=NOW)
    with Session(engine) as s:
        assert s.get_one(BatchExecution, eid).state is ExecutionState.SUCCEEDED
        marks = s.scalars(select(Audit.action).where(Audit.action == "execution.mark_succeeded")).all()
        trail = [a for a in s.scalars(select(Audit.action).order_by(Audit.id)) if a.startswith("approval.")]
    assert len(marks) == 1
    assert trail == ["approval.request", "approval.approve"]


def test_an_update_behind_the_apps_back_makes_verify_name_the_row(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _job(engine, "GL_NOOP", "GL")
    ids = [_execution(engine, "GL_NOOP", ExecutionState.QUEUED, str(n)) for n in range(3)]
    svc = JobSchedulerService(engine, settings=engine_settings(db_url, tmp_path), actor=user(engine, "ann", "operator"))
    for eid in ids:
        assert svc.hold_execution(eid, "month end checks")[0]
    auditor = user(engine, "aud", "approver")
    report = verify_audit(engine, auditor, now=NOW)
    assert report.ok and report.rows >= 4
    with Session(engine) as s:
        victim = s.scalars(select(Audit.id).where(Audit.action == "execution.hold").order_by(Audit.id)).all()[1]
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_rec SET reason = 'nothing to see' WHERE id = :i"), {"i": victim})
    report = verify_audit(engine, auditor, now=NOW)
    assert not report.ok and report.broken_id == victim and "changed" in (report.problem or "")
    # A deleted row breaks the link of the next one.
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_rec SET reason = 'month end checks' WHERE id = :i"), {"i": victim})
        conn.execute(text("DELETE FROM audit_rec WHERE id = :i"), {"i": victim})
    report = verify_audit(engine, auditor, now=NOW)
    assert report.broken_id is not None and report.broken_id > victim and "link" in (report.problem or "")


def test_a_restore_keeps_the_audit_rows_written_since_the_backup_and_is_audited(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    settings = engine_settings(db_url, tmp_path)
    ann = user(engine, "ann", "admin")
    console = Actor.console()
    taken = backup_now(engine, settings, console, now=NOW, dest_dir=tmp_path / "backups", verify=False)
    # After the backup, work is done and audited
    _job(engine, "GL_NOOP", "GL")
    eid = _execution(engine, "GL_NOOP", ExecutionState.QUEUED, "after")
    svc = JobSchedulerService(engine, settings=settings, actor=ann)
    assert svc.hold_execution(eid, "auditors in")[0]
    with Session(engine) as s:
        before = [(a.action, a.actor, a.reason) for a in s.scalars(select(Audit).order_by(Audit.id))]
    # A named administrator's restore needs a second user's approval
    with pytest.raises(ApprovalRequired):
        restore(engine, settings, ann, taken.info.path, force=True, now=NOW, reason="disk failure drill")
    # The console restores: the execution is gone, the trail is not
    restore(engine, settings, console, taken.info.path, force=True, now=NOW, reason="disk failure drill")
    with Session(engine) as s:
        assert s.get(BatchExecution, eid) is None
        after = [(a.action, a.actor, a.reason) for a in s.scalars(select(Audit).order_by(Audit.id))]
    assert after[: len(before)] == before
    assert after[len(before)][0] == "approval.request"
    assert after[-1][0] == "system.restore" and after[-1][2] == "disk failure drill"
    assert verify_audit(engine, console, now=NOW).ok


#: Reads the faces call with the acting user: (name, permission, call).
Read = Callable[[Engine, Actor], object]
READS: list[tuple[str, Permission, Read]] = [
    ("job list", Permission.JOBS_READ, lambda e, a: catalogue.job_list(e, actor=a, now=NOW)),
    ("job details", Permission.JOBS_READ, lambda e, a: catalogue.job_details(e, "GL_NOOP", actor=a, now=NOW)),
    (
        "job order",
        Permission.JOBS_READ,
        lambda e, a: catalogue.job_order(e, _settings(e), date(2026, 12, 1), actor=a, now=NOW),
    ),
    ("job version", Permission.JOBS_READ, lambda e, a: editing.job_version(e, "GL_NOOP", actor=a, now=NOW)),
    ("schedule version", Permission.JOBS_READ, lambda e, a: editing.schedule_version(e, _sid(e), actor=a, now=NOW)),
    ("schedule list", Permission.JOBS_READ, lambda e, a: schedules.schedule_summaries(e, actor=a, now=NOW)),
    (
        "forecast",
        Permission.JOBS_READ,
        lambda e, a: schedules.forecast(e, _settings(e), date(2026, 12, 1), date(2026, 12, 2), actor=a, now=NOW),
    ),
    (
        "next runs",
        Permission.JOBS_READ,
        lambda e, a: schedules.next_runs(e, _settings(e), "GL_NOOP", after=NOW, count=2, actor=a, now=NOW),
    ),
    ("log lines", Permission.LOGS_READ, lambda e, a: log_viewer.view_logs(e, {}, actor=a, now=NOW)),
    ("log patterns", Permission.LOGS_READ, lambda e, a: log_viewer.log_patterns(e, {}, actor=a, now=NOW)),
    (
        "log stream",
        Permission.LOGS_EXPORT,
        lambda e, a: list(log_stream.stream_logs(e, {}, ExportFormat.JSON, actor=a, now=NOW)),
    ),
    ("alert", Permission.ALERTS_READ, lambda e, a: monitoring_alerts.alert_by_id(e, 1, actor=a, now=NOW)),
    ("outbox status", Permission.ALERTS_READ, lambda e, a: alerting.outbox_status(e, actor=a, now=NOW)),
    ("outbox list", Permission.ALERTS_READ, lambda e, a: alerting.outbox_list(e, actor=a, now=NOW)),
    ("backup register", Permission.EXECUTIONS_READ, lambda e, a: system.backups(e, actor=a, now=NOW)),
]


def _settings(engine: Engine) -> Any:
    return engine_settings(str(engine.url.render_as_string(False)), Path("."))


def _sid(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalars(select(BatchSchedule.id).limit(1)).one())


@pytest.mark.parametrize(("name", "permission", "call"), READS, ids=[r[0] for r in READS])
def test_each_read_of_the_faces_is_checked_in_its_service(
    engine: Engine, name: str, permission: Permission, call: Read
) -> None:
    # Given a GL job with a schedule, a user of the operator role and one whose role lacks just the permission
    _job(engine, "GL_NOOP", "GL")
    with transaction(engine, write=True) as s:
        create_schedule(s, "GL_NOOP", now=NOW, kind="daily", rule={"at": "18:00"})
    holder = user(engine, "o_reader", "operator")
    lacking = Actor("no_" + name.replace(" ", "_"), "custom", holder.permissions - {permission.value}, None, "python")
    before = _counts(engine)
    # When the one lacking it reads: refused, naming the permission, and only the refusal audited
    with pytest.raises(PermissionDenied, match=f"missing permission {permission.value}"):
        call(engine, lacking)
    assert _counts(engine) == before | {"audit": before["audit"] + 1}
    with Session(engine) as s:
        last = s.scalars(select(Audit).order_by(Audit.id.desc()).limit(1)).one()
    assert last.action.startswith("denied:") and last.actor == lacking.username
    # Then one who holds it reads, and nothing is written
    call(engine, holder)
    assert _counts(engine) == before | {"audit": before["audit"] + 1}


def test_only_an_administrator_rotates_the_secret_key_or_generates_the_demo(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # Given an operator (no settings:write) and an administrator
    settings = engine_settings(db_url, tmp_path)
    operator = user(engine, "o_settings", "operator")
    before = _counts(engine)
    # When the operator rotates the key or generates the demo: refused, only the refusals audited
    with pytest.raises(PermissionDenied, match="missing permission settings:write"):
        rotate_secret_key(engine, settings, actor=operator, now=NOW)
    with pytest.raises(PermissionDenied, match="missing permission settings:write"):
        generate_demo(
            engine, DemoSize.scaled(1), end=date(2026, 11, 30), seed=1, actor=operator, now=NOW, if_empty=True
        )
    assert _counts(engine) == before | {"audit": before["audit"] + 2}
    # Then the administrator rotates it, audited as the rotation
    admin = user(engine, "a_settings", "admin")
    rotate_secret_key(engine, settings, actor=admin, now=NOW)
    with Session(engine) as s:
        last = s.scalars(select(Audit).order_by(Audit.id.desc()).limit(1)).one()
    assert (last.action, last.actor) == ("secrets.rotate_key", "a_settings")


def test_sending_the_outbox_by_hand_needs_alerts_manage_and_is_audited(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # Given a viewer (who may read alerts and the outbox) and an operator
    settings = engine_settings(db_url, tmp_path)
    viewer = user(engine, "v_outbox", "viewer")
    operator = user(engine, "o_outbox", "operator")
    alerting.outbox_status(engine, actor=viewer, now=NOW)
    before = _counts(engine)
    # When the viewer asks the outbox to send now: refused, naming the permission; only the refusal audited
    with pytest.raises(PermissionDenied, match="missing permission alerts:manage"):
        alerting.deliver_outbox(engine, settings, actor=viewer, now=NOW)
    assert _counts(engine) == before | {"audit": before["audit"] + 1}
    # Then the operator may, and the sending is audited with what it did
    sent = alerting.deliver_outbox(engine, settings, actor=operator, now=NOW)
    with Session(engine) as s:
        last = s.scalars(select(Audit).order_by(Audit.id.desc()).limit(1)).one()
    assert (last.action, last.actor) == ("outbox.deliver", "o_outbox")
    assert last.details is not None and last.details["delivered"] == sent["delivered"]


def test_an_operator_sets_a_jobs_recovery_policy_from_the_command_line(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an installation from before the payment run resumed by itself: its policy is still hold
    with transaction(engine, write=True) as s:
        install_catalogue(s, now=NOW, with_schedules=False)
        s.execute(update(BatchJob).where(BatchJob.name == "PL_PAYMENT_RUN").values(recovery_policy=RecoveryPolicy.HOLD))

    def policy() -> RecoveryPolicy:
        with Session(engine) as s:
            return s.scalars(select(BatchJob.recovery_policy).where(BatchJob.name == "PL_PAYMENT_RUN")).one()

    def edit(role: str, value: str) -> tuple[int, str, int]:
        """The command's exit code, what it wrote to stderr, and how many audit rows it added."""
        token, _view = create_token(engine, user(engine, f"rp_{role}", role), name="cli", now=NOW)
        monkeypatch.setenv("ACAS_TOKEN", token)
        audits = _counts(engine)["audit"]
        try:
            main(["jobs", "edit", "PL_PAYMENT_RUN", "--recovery-policy", value, "--database-url", db_url])
            code = 0
        except SystemExit as ended:
            code = int(ended.code or 0)
        return code, capsys.readouterr().err, _counts(engine)["audit"] - audits

    # When a viewer tries: refused, and the refusal audited
    code, err, audited = edit("viewer", "retry")
    assert code == 77 and "missing permission jobs:write" in err
    assert policy() is RecoveryPolicy.HOLD and audited == 1
    # A value that is no policy: one line, nothing changed
    code, err, _ = edit("admin", "sometimes")
    assert code != 0
    assert err.strip().splitlines() == ["error: recovery policy must be one of retry, fail, hold, not 'sometimes'"]
    assert policy() is RecoveryPolicy.HOLD
    # An administrator sets retry: changed, and audited with who and what
    code, err, audited = edit("admin", "retry")
    assert code == 0 and audited == 1, err
    assert policy() is RecoveryPolicy.RETRY
    with Session(engine) as s:
        row = s.scalars(select(Audit).where(Audit.action == "job.update").order_by(Audit.id.desc())).first()
    assert row is not None and row.actor == "rp_admin" and row.details == {"recovery_policy": "retry"}


def test_waiting_for_a_run_needs_executions_read_and_a_refusal_is_audited(engine: Engine, tmp_path: Path) -> None:
    # Given a run of a GL job and a user whose role lacks only executions:read
    _job(engine, "GL_NOOP", "GL")
    holder = user(engine, "o_waiter", "operator")
    settings = engine_settings(str(engine.url.render_as_string(False)), tmp_path)
    ok, execution_id = JobSchedulerService(engine, settings=settings, actor=holder).execute_job_now("GL_NOOP")
    assert ok, execution_id
    lacking = Actor("no_wait", "custom", holder.permissions - {Permission.EXECUTIONS_READ.value}, None, "python")
    before = _counts(engine)
    # When that user waits for the run: refused before anything runs, and the refusal audited
    with pytest.raises(PermissionDenied, match="missing permission executions:read"):
        JobSchedulerService(engine, settings=settings, actor=lacking).wait_for(execution_id, run_inline=False)
    assert _counts(engine) == before | {"audit": before["audit"] + 1}
    with Session(engine) as s:
        last = s.scalars(select(Audit).order_by(Audit.id.desc()).limit(1)).one()
    assert last.action.startswith("denied:") and last.actor == "no_wait"

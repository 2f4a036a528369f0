"""The spec's Python API: thin facades over the engine that return ``(success, result)``.

``JobSchedulerService(db)`` runs jobs now, starts and stops the scheduler and its
workers in this process, and manages jobs, schedules and dependencies. Errors the user
can act on come back as ``(False, message)``; bugs still raise.
"""

from __future__ import annotations

import atexit
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.batch import definitions, operations
from acas_batch.batch.dependencies import add_dependency, dependency_impact, remove_dependency
from acas_batch.batch.events import ExecutionEvent, Observers
from acas_batch.batch.executions import get_execution, job_by_name
from acas_batch.batch.outage import Outage, patiently
from acas_batch.batch.status import (
    dashboard,
    execution_detail,
    list_executions,
    live_workers,
    run_outcome,
    schedule_list,
)
from acas_batch.clock import Clock, FileClock, SystemClock
from acas_batch.config import Settings, load_settings
from acas_batch.db import make_engine, transaction
from acas_batch.errors import AcasBatchError, ApprovalRequired, Conflict, ValidationError
from acas_batch.models.batch import BatchExecution
from acas_batch.models.company import Company
from acas_batch.models.enums import DependencyCondition, DependencyKind, ExecutionState, WorkerRole
from acas_batch.models.security import Approval
from acas_batch.secretbox import SecretBox
from acas_batch.security.actor import Actor
from acas_batch.security.policy import CLOSE_JOBS, Permission
from acas_batch.services import approvals, door, inputs
from acas_batch.services.base import resolve_actor
from acas_batch.services.guards import check_handler_change, execution_module, job_module, schedule_module

if TYPE_CHECKING:
    # The scheduler, the worker and the monitor are imported where they run: a command that
    # only reads (``status``, ``executions list``) starts without them.
    from acas_batch.batch.scheduler import Scheduler
    from acas_batch.batch.worker import Worker

_log = logging.getLogger(__name__)

T = TypeVar("T")
Outcome = tuple[bool, Any]


class JobSchedulerService:
    """Run jobs, drive the scheduler, manage jobs, schedules and dependencies."""

    def __init__(
        self,
        db: Engine | str | None = None,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
        actor: Actor | str | None = None,
        current_user: object = None,
        observers: Observers | None = None,
        job_code: bool = True,
    ) -> None:
        """``job_code=False`` for a caller that only reads: the jobs' code is not imported."""
        if settings is None:
            url = db if isinstance(db, str) else (db.url.render_as_string(hide_password=False) if db else None)
            settings = load_settings(database_url=url)
        self.settings = settings
        self.engine = (
            db
            if isinstance(db, Engine)
            else make_engine(settings.database_url, busy_timeout=settings.busy_timeout_seconds)
        )
        self.clock: Clock = clock or (FileClock(settings.clock_file) if settings.clock_file else SystemClock())
        #: Who acts through this facade (None: the local administrator console).
        self.actor: Actor = resolve_actor(self.engine, actor if actor is not None else current_user)
        self.observers = observers or Observers()
        self._scheduler: Scheduler | None = None
        self._worker: Worker | None = None
        self._threads: list[threading.Thread] = []
        #: The error behind the last ``(False, message)``, for callers that map it (the CLI's exit code).
        self.last_error: AcasBatchError | None = None
        if job_code:
            from acas_batch.batch.worker import load_job_modules

            load_job_modules(settings)

    # --- helpers ---------------------------------------------------------------------
    def _failed(self, exc: AcasBatchError) -> tuple[bool, str]:
        self.last_error = exc
        return False, str(exc)

    def _guard(
        self,
        permission: Permission,
        action: str,
        target: tuple[str, object],
        fn: Callable[[Session], T],
        *,
        module: door.ModuleOf = None,
        reason: str | None = None,
        extra: tuple[Permission, ...] = (),
        details: Any = None,
    ) -> tuple[bool, T | str]:
        """Through the door: check the actor's permission, act and audit in one transaction."""
        try:
            return True, door.perform(
                self.engine,
                self.actor,
                permission,
                action,
                target,
                fn,
                now=self.clock.now(),
                reason=reason,
                module=module,
                extra=extra,
                details=details,
            )
        except AcasBatchError as exc:
            return self._failed(exc)

    def _allowed(self, permission: Permission, what: str) -> str | None:
        """None when the actor may; else the refusal's message (audited)."""
        try:
            door.allowed(self.engine, self.actor, permission, what=what, now=self.clock.now())
        except AcasBatchError as exc:
            return self._failed(exc)[1]
        return None

    @property
    def _wait_default(self) -> int:
        return self.settings.dependency_wait_seconds

    def business_date(self, value: object | None) -> date:
        if value is None:
            return operations.local_date(self.clock.now(), self.settings.timezone)
        return operations.parse_business_date(value)

    # --- running -----------------------------------------------------------------------
    def start_scheduler(self, workers: int | None = None) -> Outcome:
        """Start a scheduler and a worker with ``workers`` job processes in this process."""
        if (refused := self._allowed(Permission.SCHEDULER_CONTROL, "start the scheduler")) is not None:
            return False, refused
        from acas_batch.batch.scheduler import Scheduler
        from acas_batch.batch.worker import Worker

        if self._scheduler is not None:
            return False, "the scheduler is already running in this process"
        self._scheduler = Scheduler(self.settings, self.engine, clock=self.clock, observers=self.observers)
        self._worker = Worker(
            self.settings,
            clock=self.clock,
            slots=workers or self.settings.workers,
            observers=self.observers,
            engine=self.engine,
        )
        self._worker.start()
        # the dashboard shows it running as soon as this returns
        patiently(self._scheduler.register, _log, self._scheduler.scheduler_id, "registering")
        self._threads = [
            threading.Thread(target=self._scheduler.run, name="acas-scheduler", daemon=True),
            threading.Thread(target=self._worker.run, name="acas-worker", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        # A script that ends without stop_scheduler() must not leave a scheduler that looks alive:
        # at exit (before its daemon threads die) it stops and records itself stopped.
        atexit.register(self._stop_at_exit)
        return True, {"scheduler_id": self._scheduler.scheduler_id, "worker_id": self._worker.worker_id}

    def serve(self, *, scheduler: bool = True, workers: int = 0) -> None:
        """Run a scheduler and/or a worker in the foreground until SIGTERM or SIGINT.

        On the signal: stop claiming, let running jobs finish within the grace period,
        then interrupt them and record it (see ``Worker.shutdown``).
        """
        door.allowed(
            self.engine, self.actor, Permission.SCHEDULER_CONTROL, what="run the scheduler", now=self.clock.now()
        )
        from acas_batch.batch.scheduler import Scheduler
        from acas_batch.batch.worker import Worker

        sched = Scheduler(self.settings, self.engine, clock=self.clock, observers=self.observers) if scheduler else None
        worker = (
            Worker(self.settings, clock=self.clock, slots=workers, observers=self.observers, engine=self.engine)
            if workers > 0
            else None
        )

        stopping = threading.Event()

        def stop(_signum: int, _frame: object) -> None:
            stopping.set()
            if sched is not None:
                sched.request_stop()
            if worker is not None:
                worker.request_stop()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        thread = threading.Thread(target=sched.run, name="acas-scheduler", daemon=True) if sched else None
        monitor = (
            threading.Thread(target=self._monitor, args=(stopping,), name="acas-monitor", daemon=True)
            if sched is not None and self.settings.monitor_interval_seconds > 0
            else None
        )
        try:
            if thread is not None:
                thread.start()
            if monitor is not None:
                monitor.start()
            if worker is not None:
                worker.run()
            elif sched is not None:
                while thread is not None and thread.is_alive():
                    thread.join(timeout=0.5)
        finally:
            stopping.set()
            if sched is not None:
                sched.request_stop()
            if thread is not None:
                thread.join(timeout=30)
            if monitor is not None:
                monitor.join(timeout=30)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _monitor(self, stopping: threading.Event) -> None:
        """Beside a running scheduler: every ``monitor_interval_seconds`` raise and resolve alerts,
        e-mail new ones and send the run notices jobs asked for. A failed pass is logged and the
        next one tries again: a database away or busy once per outage, on one line; anything
        else (a bug) with its traceback."""
        from acas_batch.monitoring import monitor_pass

        outage = Outage(_log, "monitor")
        while not stopping.wait(self.settings.monitor_interval_seconds):
            try:
                monitor_pass(self.engine, self.settings, now=self.clock.now(), send=True)
            except Exception as exc:  # the monitor outlives any one bad pass
                outage.failed(exc, "monitoring")
            else:
                outage.ok()

    def simulate(self, start: date, end: date, *, workers: int = 2, confirm_live: bool = False) -> Outcome:
        """Run every schedule from ``start`` to ``end`` (inclusive, local dates) on a virtual clock.

        The jobs post to the ledger (daily closes, payment runs): a company that is not demo
        data is refused unless ``confirm_live`` says the database is a copy meant for it.
        """
        with transaction(self.engine) as s:
            company = s.execute(select(Company.name, Company.demo_seed).limit(1)).first()
        if company is not None and company.demo_seed is None and not confirm_live:
            return self._failed(
                Conflict(
                    f"the database holds the live ledger of {company.name}: a simulation posts closes and payments "
                    "into it; simulate on a scratch copy and confirm it with --confirm-live"
                )
            )
        from acas_batch.batch.simulate import simulate

        zone = ZoneInfo(self.settings.timezone)
        begin = datetime.combine(start, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        finish = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(UTC)
        if finish <= begin:
            return self._failed(ValidationError(f"--to {end} is before --from {start}"))
        if (refused := self._allowed(Permission.SCHEDULER_CONTROL, "simulate")) is not None:
            return False, refused
        report = simulate(
            # A simulation's statements and letters are never e-mailed: its customers are real addresses.
            self.settings.model_copy(update={"mail_documents": False}),
            self.engine,
            begin,
            finish - timedelta(microseconds=1),
            slots=workers,
            observers=self.observers,
        )
        return True, report.as_dict()

    def _stop_at_exit(self) -> None:
        if self._scheduler is not None:
            self.stop_scheduler(timeout=min(5.0, self.settings.shutdown_grace_seconds + 1))

    def stop_scheduler(self, timeout: float | None = None) -> Outcome:
        """Stop claiming, let running jobs finish within the grace period, then stop."""
        if (refused := self._allowed(Permission.SCHEDULER_CONTROL, "stop the scheduler")) is not None:
            return False, refused
        if self._scheduler is None or self._worker is None:
            return False, "the scheduler is not running in this process"
        self._scheduler.request_stop()
        self._worker.request_stop()
        limit = timeout if timeout is not None else self.settings.shutdown_grace_seconds + 30
        for thread in self._threads:
            thread.join(timeout=limit)
        self._scheduler, self._worker, self._threads = None, None, []
        atexit.unregister(self._stop_at_exit)
        return True, {"stopped": True}

    def execute_job_now(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        business_date: object | None = None,
        force_reason: str | None = None,
    ) -> Outcome:
        """Create an execution of ``name`` now: ``(True, execution_id)`` or ``(False, error)``.

        Needs ``jobs:run`` for the job's module (and ``periods:close`` for a close,
        ``executions:force`` to force work that succeeded already).
        """
        try:
            params = inputs.check_params(params)
            raw_date = params.pop("business_date", business_date)
            inputs.check_name("job", name)
            inputs.check_recipients(self.settings, params)
            inputs.check_actor(self.actor.username)
            force_reason = inputs.check_reason(force_reason)
            when = self.business_date(raw_date)
        except AcasBatchError as exc:
            return self._failed(exc)
        now = self.clock.now()

        def checked_enqueue(session: Session) -> BatchExecution:
            inputs.check_business_date(session, when)
            return operations.enqueue(
                session,
                name,
                params,
                now=now,
                business_date=when,
                actor=self.actor.username,
                force_reason=force_reason,
                wait_default_seconds=self._wait_default,
                seal=lambda clear: SecretBox.for_settings(self.settings).seal(clear),
            )

        extra: tuple[Permission, ...] = (Permission.PERIODS_CLOSE,) if name.upper() in CLOSE_JOBS else ()
        if force_reason:
            extra += (Permission.EXECUTIONS_FORCE,)
        ok, row = self._guard(
            Permission.JOBS_RUN,
            "job.run",
            ("job", name),
            checked_enqueue,
            module=job_module(name),
            extra=extra,
            details=lambda r: {"execution_id": r.id, "business_date": when.isoformat(), "params": dict(params)},
        )
        if not ok or isinstance(row, str):
            return False, row
        self.observers.emit("on_created", ExecutionEvent(row.id, name, row.state, now, reason=row.reason))
        return True, row.id

    def wait_for(
        self,
        execution_id: int,
        *,
        timeout: float | None = None,
        run_inline: bool = True,
        on_poll: Callable[[dict[str, Any]], None] | None = None,
    ) -> Outcome:
        """Wait until the run (the execution and its retries) finishes; return its last attempt.

        With no live worker and ``run_inline``, runs a worker in this process meanwhile.
        ``on_poll`` is told at every look what is awaited (:meth:`_waiting`), for a face
        that shows it.
        """
        door.may_read(
            self.engine, self.actor, Permission.EXECUTIONS_READ, what="wait for an execution", now=self.clock.now()
        )
        began = time.monotonic()
        deadline = None if timeout is None else time.monotonic() + timeout
        started_here = False
        if run_inline and not self._has_live_worker() and self._scheduler is None:
            self._start_inline()
            started_here = True
        try:
            while True:
                with transaction(self.engine) as s:
                    latest = run_outcome(s, execution_id)
                    if latest.state.is_terminal:
                        return True, execution_detail(s, latest.id)
                    if on_poll is not None:
                        on_poll(self._waiting(s, latest, time.monotonic() - began))
                if deadline is not None and time.monotonic() > deadline:
                    return False, f"execution {execution_id} still {latest.state.value} after {timeout}s"
                time.sleep(min(self.settings.poll_seconds, 0.2))
        finally:
            if started_here:
                self.stop_scheduler()

    @staticmethod
    def _waiting(session: Any, execution: Any, waited: float) -> dict[str, Any]:
        """What a wait is waiting for: the execution's state and progress, and for a pending one
        each upstream job it waits on with the state of that job's latest run of the business date."""
        from sqlalchemy import select

        from acas_batch.batch.dependencies import wait_status
        from acas_batch.models.batch import BatchExecution, BatchJob

        upstream: list[dict[str, Any]] = []
        if execution.state is ExecutionState.PENDING:
            for name in wait_status(session, execution).waiting_for:
                state = session.scalar(
                    select(BatchExecution.state)
                    .join(BatchJob, BatchJob.id == BatchExecution.job_id)
                    .where(BatchJob.name == name, BatchExecution.business_date <= execution.business_date)
                    .order_by(BatchExecution.business_date.desc(), BatchExecution.id.desc())
                    .limit(1)
                )
                upstream.append({"job": name, "state": state.value if state is not None else "not started"})
        return {
            "id": execution.id,
            "state": execution.state.value,
            "attempt": execution.attempt,
            "waited_seconds": round(waited, 1),
            "progress": [execution.progress_done, execution.progress_total]
            if execution.progress_done is not None
            else None,
            "waiting_for": upstream,
        }

    def _has_live_worker(self) -> bool:
        with transaction(self.engine) as s:
            stale = timedelta(seconds=max(3 * self.settings.lease_seconds, 30))
            workers = live_workers(s, now=self.clock.now(), stale_after=stale)
        return any(w.role is WorkerRole.WORKER for w in workers)

    def _start_inline(self) -> None:
        from acas_batch.batch.scheduler import Scheduler
        from acas_batch.batch.worker import Worker

        self._scheduler = Scheduler(
            self.settings, self.engine, clock=self.clock, observers=self.observers, fire_schedules=False
        )
        self._worker = Worker(self.settings, clock=self.clock, slots=1, observers=self.observers, engine=self.engine)
        self._worker.start()
        self._threads = [
            threading.Thread(target=self._scheduler.run, daemon=True),
            threading.Thread(target=self._worker.run, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def get_scheduler_dashboard(self) -> dict[str, Any]:
        """Counts by state, running executions with progress, next runs, recent failures, processes.

        Raises:
            PermissionDenied: the actor may not read executions.
        """
        stale = timedelta(seconds=max(3 * self.settings.lease_seconds, 30))
        return door.read(
            self.engine,
            self.actor,
            Permission.EXECUTIONS_READ,
            lambda s: dashboard(s, now=self.clock.now(), stale_after=stale),
            what="read the dashboard",
            now=self.clock.now(),
        )

    # --- executions ----------------------------------------------------------------------
    def _read(self, permission: Permission, what: str, fn: Callable[[Session], T]) -> tuple[bool, T | str]:
        try:
            return True, door.read(self.engine, self.actor, permission, fn, what=what, now=self.clock.now())
        except AcasBatchError as exc:
            return self._failed(exc)

    def list_executions(self, *, state: str | None = None, job: str | None = None, limit: int = 50) -> Outcome:
        return self._read(
            Permission.EXECUTIONS_READ,
            "list executions",
            lambda s: list_executions(s, state=state, job=job, limit=limit),
        )

    def get_execution(self, execution_id: int) -> Outcome:
        try:
            inputs.check_id("execution id", execution_id)
        except AcasBatchError as exc:
            return self._failed(exc)
        return self._read(Permission.EXECUTIONS_READ, "read an execution", lambda s: execution_detail(s, execution_id))

    def _act(
        self,
        action: Callable[..., Any],
        name: str,
        execution_id: int,
        permission: Permission = Permission.EXECUTIONS_CONTROL,
        **kwargs: Any,
    ) -> Outcome:
        try:
            inputs.check_id("execution id", execution_id)
            required = action is operations.mark_succeeded or bool(kwargs.get("force"))
            kwargs["reason"] = inputs.check_reason(kwargs.get("reason"), required=required)
        except AcasBatchError as exc:
            return self._failed(exc)
        reason = kwargs.get("reason")
        now = self.clock.now()

        def act(s: Session) -> Any:
            if approvals.required(self.settings, self.actor, name, approvals.job_of_execution(s, execution_id)):
                return approvals.request(
                    s, self.actor, name, ("execution", execution_id), params={}, reason=reason, now=now
                )
            return action(s, execution_id, actor=self.actor.username, now=now, **kwargs)

        ok, row = self._guard(
            permission, name, ("execution", execution_id), act, module=execution_module(execution_id), reason=reason
        )
        if not ok:
            return False, row
        if isinstance(row, Approval):
            message = (
                f"{name} of execution {execution_id} needs a second user's approval: request {row.id} recorded "
                f"(acas-batch approvals approve {row.id})"
            )
            self.last_error = ApprovalRequired(message, approval_id=row.id)
            return False, message
        return True, {"id": row.id, "state": row.state.value}  # type: ignore[union-attr]

    def hold_execution(self, execution_id: int, reason: str | None = None) -> Outcome:
        return self._act(operations.hold, "execution.hold", execution_id, reason=reason)

    def release_execution(self, execution_id: int, reason: str | None = None) -> Outcome:
        return self._act(operations.release, "execution.release", execution_id, reason=reason)

    def cancel_execution(self, execution_id: int, reason: str | None = None) -> Outcome:
        return self._act(operations.cancel, "execution.cancel", execution_id, reason=reason)

    def rerun_execution(self, execution_id: int, reason: str | None = None, *, force: bool = False) -> Outcome:
        return self._act(
            operations.rerun,
            "execution.force_rerun" if force else "execution.rerun",
            execution_id,
            Permission.EXECUTIONS_FORCE if force else Permission.EXECUTIONS_CONTROL,
            reason=reason,
            force=force,
            wait_default_seconds=self._wait_default,
        )

    def mark_succeeded(self, execution_id: int, reason: str) -> Outcome:
        return self._act(
            operations.mark_succeeded,
            "execution.mark_succeeded",
            execution_id,
            Permission.EXECUTIONS_FORCE,
            reason=reason,
            wait_default_seconds=self._wait_default,
        )

    def get_dependency_impact(self, execution_id: int) -> Outcome:
        try:
            inputs.check_id("execution id", execution_id)
        except AcasBatchError as exc:
            return self._failed(exc)
        return self._read(
            Permission.EXECUTIONS_READ,
            "read a dependency impact",
            lambda s: dependency_impact(s, get_execution(s, execution_id)).as_dict(),
        )

    # --- jobs ----------------------------------------------------------------------------
    def create_job(self, name: str, module: str, handler: str | None = None, **values: Any) -> Outcome:
        try:
            inputs.check_name("job", name)
            if "default_params" in values:
                inputs.check_params(values["default_params"])
        except AcasBatchError as exc:
            return self._failed(exc)
        ok, job = self._guard(
            Permission.JOBS_WRITE,
            "job.create",
            ("job", name),
            lambda s: definitions.create_job(
                s, name, now=self.clock.now(), module=module, handler=handler, actor=self.actor.username, **values
            ),
            module=str(module).upper(),
        )
        return (True, job.id) if ok and not isinstance(job, str) else (False, job)

    def update_job(self, name: str, **values: Any) -> Outcome:
        """Change a job's settings. Its code (``handler``) stays: pointing a job at other code is
        refused, except for an administrator choosing registered code of the same module."""

        def act(s: Session) -> Any:
            if "handler" in values:
                check_handler_change(s, self.actor, name, str(values["handler"]))
            return definitions.update_job(s, name, now=self.clock.now(), actor=self.actor.username, **values)

        ok, job = self._guard(Permission.JOBS_WRITE, "job.update", ("job", name), act, module=job_module(name))
        return (True, job.id) if ok and not isinstance(job, str) else (False, job)

    def _enable(self, name: str, enabled: bool) -> Outcome:
        ok, job = self._guard(
            Permission.JOBS_WRITE,
            "job.enable" if enabled else "job.disable",
            ("job", name),
            lambda s: definitions.set_job_enabled(s, name, enabled, now=self.clock.now(), actor=self.actor.username),
            module=job_module(name),
        )
        return (True, job.id) if ok and not isinstance(job, str) else (False, job)

    def enable_job(self, name: str) -> Outcome:
        return self._enable(name, True)

    def disable_job(self, name: str) -> Outcome:
        return self._enable(name, False)

    # --- schedules -------------------------------------------------------------------------
    def create_schedule(
        self, job_name: str, kind: str, rule: dict[str, Any], *, reason: str | None = None, **values: Any
    ) -> Outcome:
        ok, row = self._guard(
            Permission.SCHEDULES_WRITE,
            "schedule.create",
            ("job", job_name),
            lambda s: definitions.create_schedule(
                s, job_name, now=self.clock.now(), kind=kind, rule=rule, actor=self.actor.username, **values
            ),
            module=job_module(job_name),
            reason=reason or "schedule created through the Python API",
        )
        return (True, row.id) if ok and not isinstance(row, str) else (False, row)

    def update_schedule(self, schedule_id: int, *, reason: str | None = None, **values: Any) -> Outcome:
        ok, row = self._guard(
            Permission.SCHEDULES_WRITE,
            "schedule.update",
            ("schedule", schedule_id),
            lambda s: definitions.update_schedule(
                s, schedule_id, now=self.clock.now(), actor=self.actor.username, **values
            ),
            module=schedule_module(schedule_id),
            reason=reason or "schedule changed through the Python API",
        )
        return (True, row.id) if ok and not isinstance(row, str) else (False, row)

    def delete_schedule(self, schedule_id: int, *, reason: str | None = None) -> Outcome:
        ok, err = self._guard(
            Permission.SCHEDULES_WRITE,
            "schedule.delete",
            ("schedule", schedule_id),
            lambda s: definitions.delete_schedule(s, schedule_id, now=self.clock.now(), actor=self.actor.username),
            module=schedule_module(schedule_id),
            reason=reason or "schedule deleted through the Python API",
        )
        return (True, schedule_id) if ok else (False, err)

    def list_schedules(self) -> Outcome:
        return self._read(Permission.JOBS_READ, "list schedules", schedule_list)

    # --- dependencies ------------------------------------------------------------------------
    def add_dependency(
        self,
        job_name: str,
        depends_on: str,
        *,
        kind: str = DependencyKind.WAIT.value,
        condition: str = DependencyCondition.SUCCESS.value,
        lookback_days: int = 0,
    ) -> Outcome:
        def act(s: Session) -> int:
            edge = add_dependency(
                s,
                job_by_name(s, job_name),
                job_by_name(s, depends_on),
                now=self.clock.now(),
                kind=DependencyKind(kind),
                condition=DependencyCondition(condition),
                lookback_days=lookback_days,
            )
            return edge.id

        return self._guard(
            Permission.JOBS_WRITE,
            "dependency.add",
            ("job", job_name),
            act,
            module=job_module(job_name),
            details={"depends_on": depends_on, "kind": kind, "condition": condition, "lookback_days": lookback_days},
        )

    def remove_dependency(self, job_name: str, depends_on: str, *, kind: str = DependencyKind.WAIT.value) -> Outcome:
        return self._guard(
            Permission.JOBS_WRITE,
            "dependency.remove",
            ("job", job_name),
            lambda s: remove_dependency(s, job_by_name(s, job_name), job_by_name(s, depends_on), DependencyKind(kind)),
            module=job_module(job_name),
            details={"depends_on": depends_on, "kind": kind},
        )


#: Exit status of ``acas-batch run --wait`` per final state (0 only for a success).
RESULT_EXIT_CODES = {
    ExecutionState.SUCCEEDED: 0,
    ExecutionState.WARNING: 10,
    ExecutionState.FAILED: 11,
    ExecutionState.TIMED_OUT: 12,
    ExecutionState.CANCELLED: 13,
    ExecutionState.SKIPPED: 14,
}

"""The worker: claims executions and runs each in a child process.

A worker owns a few long-lived child processes (``spawn`` context: no inherited
connections or locks). It claims work for its idle children, renews their leases, kills a
child whose job passes its timeout (TIMED_OUT) or is cancelled (CANCELLED), replaces a
child that crashed, and on shutdown stops claiming, lets running jobs finish within a
grace period, then interrupts them and records it. A hung or crashing job therefore
never takes the worker down. Children die with their worker (``PR_SET_PDEATHSIG``), and
whatever they held is recovered by a scheduler when the lease expires.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.engine import make_url

from acas_batch import __version__
from acas_batch.batch.events import Observers
from acas_batch.batch.queue import Claim, ClaimLimits, Events, claim, finish_failure, release_claim, renew
from acas_batch.batch.registry import REGISTRY
from acas_batch.batch.retry import CHILD_DIED
from acas_batch.batch.runner import Outcome, run_execution
from acas_batch.clock import Clock
from acas_batch.config import Settings
from acas_batch.db import make_engine, transaction
from acas_batch.errors import LeaseLost
from acas_batch.models import BatchWorker
from acas_batch.models.enums import ExecutionState, WorkerRole, WorkerState

log = logging.getLogger("acas_batch.worker")

_PR_SET_PDEATHSIG = 1


def load_job_modules(settings: Settings) -> None:
    """Import the modules whose ``@job`` declarations fill the registry.

    A package that lists its job modules in ``JOB_MODULES`` (as ``acas_batch.jobs`` does)
    has those imported too.
    """
    for name in settings.job_module_names:
        module = importlib.import_module(name)
        for sub in getattr(module, "JOB_MODULES", ()):
            importlib.import_module(sub)


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _child_main(conn: Connection, settings_data: dict[str, Any], parent_pid: int) -> None:
    """A child's life: run what the worker sends until it sends ``None``."""
    _die_with_parent()
    if os.getppid() != parent_pid:  # the worker died before we could ask to follow it
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when we stop
    settings = Settings(**settings_data)
    load_job_modules(settings)
    engine = make_engine(settings.database_url, pool_size=2)
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message is None:
                return
            claim, start = message
            outcome = run_execution(engine, settings, REGISTRY, claim, start)
            conn.send(outcome)
    finally:
        engine.dispose()


@dataclass
class _Slot:
    process: BaseProcess
    conn: Connection
    claim: Claim | None = None
    deadline: float | None = None  # monotonic instant of the timeout

    @property
    def busy(self) -> bool:
        return self.claim is not None


class Worker:
    """Claims and runs executions with ``slots`` child processes."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock,
        slots: int = 1,
        observers: Observers | None = None,
        engine: Engine | None = None,
        worker_id: str | None = None,
        prefetch: int | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.slots_wanted = slots
        self.observers = observers or Observers()
        self.engine = engine or make_engine(settings.database_url)
        self.worker_id = worker_id or f"worker:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.limits = ClaimLimits(max_running=settings.max_running, slot_capacity=settings.slot_capacity)
        self._ctx = multiprocessing.get_context("spawn")
        self._slots: list[_Slot] = []
        # Claimed ahead, waiting here for a free child: bounded by ``prefetch``, renewed by the
        # heartbeat like the running ones, released back to the queue on shutdown.
        self._ready: deque[tuple[Claim, datetime]] = deque()
        self.prefetch = settings.prefetch if prefetch is None else prefetch
        self._stop = threading.Event()
        self._listener: Any = None
        self._last_beat = 0.0

    # --- lifecycle -----------------------------------------------------------------
    def request_stop(self) -> None:
        """Stop claiming; running jobs get the grace period (see :meth:`run`)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        load_job_modules(self.settings)
        self._register()
        self._listen()
        self._slots = [self._spawn() for _ in range(self.slots_wanted)]

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Work until :meth:`request_stop` (or ``until()`` is true), then shut down gracefully."""
        if not self._slots:
            self.start()
        try:
            while not self._stop.is_set() and not (until and until()):
                try:
                    self.step()
                except Exception:  # the database went away, say: keep the children, try again
                    log.exception("worker step failed; retrying")
                    time.sleep(self.settings.poll_seconds)
        finally:
            self.shutdown()

    def step(self, timeout: float | None = None) -> int:
        """One turn of the loop: heartbeat, timeouts, results, claims, then wait. Returns claims made."""
        self._maintain()
        claimed = 0 if self._stop.is_set() else self._claim()
        if not claimed:
            self._wait(self.settings.poll_seconds if timeout is None else timeout)
        self._collect()
        return claimed

    def shutdown(self) -> None:
        """Graceful stop: no new claims; wait for running jobs, then interrupt and record them."""
        self._stop.set()
        self._release_ready()
        deadline = time.monotonic() + self.settings.shutdown_grace_seconds
        while any(s.busy for s in self._slots) and time.monotonic() < deadline:
            self._maintain()
            self._wait(min(self.settings.poll_seconds, max(0.0, deadline - time.monotonic())))
            self._collect()
        for slot in self._slots:
            if slot.busy and slot.claim is not None:
                self._kill(slot)
                self._record(
                    slot.claim,
                    ExecutionState.FAILED,
                    "WorkerShutdown",
                    f"interrupted: worker {self.worker_id} shut down after a "
                    f"{self.settings.shutdown_grace_seconds:g}s grace period",
                    retry=True,
                )
                slot.claim = None
        for slot in self._slots:
            with contextlib.suppress(OSError, BrokenPipeError):
                slot.conn.send(None)
        for slot in self._slots:
            slot.process.join(timeout=5)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.conn.close()
        self._slots = []
        if self._listener is not None:
            with contextlib.suppress(Exception):
                self._listener.close()
            self._listener = None
        self._unregister()

    @property
    def busy_count(self) -> int:
        return sum(1 for s in self._slots if s.busy)

    # --- internals -----------------------------------------------------------------
    def _spawn(self) -> _Slot:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_child_main,
            args=(child, self.settings.model_dump(), os.getpid()),
            name="acas-batch-job",
            daemon=True,
        )
        process.start()
        child.close()
        return _Slot(process, parent)

    def _listen(self) -> None:
        if self.engine.dialect.name != "postgresql":
            return
        import psycopg

        url = make_url(self.settings.database_url).set(drivername="postgresql")
        self._listener = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        self._listener.execute("LISTEN acas_batch_queued")

    def _register(self) -> None:
        now = self.clock.now()
        with transaction(self.engine, write=True) as s:
            s.merge(
                BatchWorker(
                    id=self.worker_id,
                    role=WorkerRole.WORKER,
                    state=WorkerState.RUNNING,
                    hostname=socket.gethostname(),
                    pid=os.getpid(),
                    started_at=now,
                    heartbeat_at=now,
                    version=__version__,
                    info={"slots": self.slots_wanted},
                )
            )

    def _unregister(self) -> None:
        now = self.clock.now()
        with transaction(self.engine, write=True) as s:
            s.execute(
                update(BatchWorker)
                .where(BatchWorker.id == self.worker_id)
                .values(state=WorkerState.STOPPED, stopped_at=now, heartbeat_at=now)
            )

    def _claim(self) -> int:
        idle = [s for s in self._slots if not s.busy]
        while idle and self._ready:
            self._dispatch(idle.pop(0), *self._ready.popleft())
        want = len(idle) + (self.prefetch - len(self._ready) if idle else 0)
        if want <= 0:
            return 0
        events: Events = []
        with transaction(self.engine, write=True) as s:
            s.connection()  # begins the transaction: on SQLite, BEGIN IMMEDIATE waits for the write lock
            now = self.clock.now()  # read once the lock is ours: what we claim is at least this recent
            claims = claim(
                s,
                worker_id=self.worker_id,
                now=now,
                lease_seconds=self.settings.lease_seconds,
                limit=want,
                limits=self.limits,
                worker_pid=os.getpid(),
                events=events,
            )
        for c in claims:
            if idle:
                self._dispatch(idle.pop(0), c, now)
            else:
                self._ready.append((c, now))
        self._emit(events)
        return len(claims)

    def _dispatch(self, slot: _Slot, c: Claim, _claimed_at: datetime) -> None:
        slot.claim = c
        slot.deadline = time.monotonic() + c.timeout_seconds if c.timeout_seconds else None
        slot.conn.send((c, self.clock.now()))

    def _release_ready(self) -> None:
        """Give claimed-ahead executions back to the queue (fenced: only if still ours)."""
        if not self._ready:
            return
        held = [c for c, _ in self._ready]
        self._ready.clear()
        try:
            with transaction(self.engine, write=True) as s:
                for c in held:
                    release_claim(s, c)
        except Exception:  # their leases expire and a scheduler recovers them
            log.warning("could not release claimed-ahead executions", exc_info=True)

    def _maintain(self) -> None:
        """Heartbeat when due (learning of lost leases and cancellations) and enforce timeouts."""
        mono = time.monotonic()
        for slot in self._slots:
            if not slot.busy and not slot.process.is_alive():
                self._replace(slot)
        interval = min(self.settings.lease_seconds / 3, 10.0)
        if mono - self._last_beat >= interval:
            self._last_beat = mono
            self._heartbeat()
        for slot in self._slots:
            if slot.busy and slot.deadline is not None and mono >= slot.deadline and slot.claim is not None:
                c = slot.claim
                self._kill(slot)
                self._record(
                    c, ExecutionState.TIMED_OUT, "Timeout", f"killed at its time limit of {c.timeout_seconds}s"
                )
                self._replace(slot)

    def _heartbeat(self) -> None:
        held = {s.claim.execution_id: s.claim.token for s in self._slots if s.claim is not None}
        held |= {c.execution_id: c.token for c, _ in self._ready}
        now = self.clock.now()
        try:
            with transaction(self.engine, write=True) as s:
                renewal = renew(
                    s, worker_id=self.worker_id, held=held, now=now, lease_seconds=self.settings.lease_seconds
                )
                s.execute(update(BatchWorker).where(BatchWorker.id == self.worker_id).values(heartbeat_at=now))
        except Exception:  # a busy or unreachable database: try again at the next beat
            log.warning("heartbeat failed", exc_info=True)
            return
        for c, at in list(self._ready):
            if c.execution_id in renewal.lost | renewal.cancel_requested:
                self._ready.remove((c, at))
                if c.execution_id in renewal.cancel_requested:
                    self._record(c, ExecutionState.CANCELLED, "Cancelled", "cancelled by an operator", retry=False)
        for slot in self._slots:
            if slot.claim is None:
                continue
            if slot.claim.execution_id in renewal.lost:
                log.warning("lease of execution %s lost; stopping its job", slot.claim.execution_id)
                self._kill(slot)
                self._replace(slot)
            elif slot.claim.execution_id in renewal.cancel_requested:
                c = slot.claim
                self._kill(slot)
                self._record(c, ExecutionState.CANCELLED, "Cancelled", "cancelled by an operator", retry=False)
                self._replace(slot)

    def _wait(self, timeout: float) -> None:
        waitables: list[Any] = [s.conn for s in self._slots if s.busy]
        waitables += [s.process.sentinel for s in self._slots if s.busy]
        if self._listener is not None and not self._stop.is_set():
            waitables.append(self._listener.pgconn.socket)
        if not waitables:
            time.sleep(timeout)
            return
        ready = wait(waitables, timeout=timeout)
        if self._listener is not None and self._listener.pgconn.socket in ready:
            pg = self._listener.pgconn
            pg.consume_input()
            while pg.notifies() is not None:
                pass

    def _collect(self) -> None:
        for slot in self._slots:
            if not slot.busy or slot.claim is None:
                continue
            c = slot.claim
            if slot.conn.poll():
                try:
                    outcome: Outcome = slot.conn.recv()
                except (EOFError, OSError):
                    outcome = None  # type: ignore[assignment]
                if outcome is not None:
                    slot.claim, slot.deadline = None, None
                    self._emit(list(outcome.events))
                    continue
            if not slot.process.is_alive():
                code = slot.process.exitcode
                self._record(c, ExecutionState.FAILED, CHILD_DIED, f"the job's process exited with code {code}")
                self._replace(slot)

    def _kill(self, slot: _Slot) -> None:
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join(timeout=5)

    def _replace(self, slot: _Slot) -> None:
        slot.conn.close()
        fresh = self._spawn()
        slot.process, slot.conn, slot.claim, slot.deadline = fresh.process, fresh.conn, None, None

    def _record(self, c: Claim, state: ExecutionState, error_type: str, message: str, *, retry: bool = True) -> None:
        events: Events = []
        try:
            with transaction(self.engine, write=True) as s:
                finish_failure(
                    s,
                    c.execution_id,
                    c.token,
                    now=self.clock.now(),
                    error_type=error_type,
                    error_message=message,
                    state=state,
                    retry=retry,
                    wait_default_seconds=self.settings.dependency_wait_seconds,
                    events=events,
                )
        except LeaseLost:
            log.warning("execution %s: lease lost before %s could be recorded", c.execution_id, state.value)
            return
        self._emit(events)

    def _emit(self, events: Events) -> None:
        for hook, event in events:
            self.observers.emit(hook, event)

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
import gc
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
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.engine import make_url

from acas_batch import __version__
from acas_batch.batch.events import Observers
from acas_batch.batch.liveness import mark_lost, this_process
from acas_batch.batch.outage import Outage, one_line, patiently
from acas_batch.batch.outputs import database_id
from acas_batch.batch.queue import Claim, ClaimLimits, Events, claim, finish_failure, release_claim, renew
from acas_batch.batch.registry import REGISTRY
from acas_batch.batch.registry import load_job_modules as load_registered_modules
from acas_batch.batch.retry import CHILD_DIED, WORKER_SHUTDOWN
from acas_batch.batch.runner import RAN, DeferredSuccess, Outcome, finish_deferred, run_execution
from acas_batch.clock import Clock
from acas_batch.config import Settings
from acas_batch.db import make_engine, transaction
from acas_batch.errors import LeaseLost
from acas_batch.models.batch import BatchWorker
from acas_batch.models.enums import ExecutionState, WorkerRole, WorkerState

log = logging.getLogger("acas_batch.worker")

_PR_SET_PDEATHSIG = 1


def load_job_modules(settings: Settings) -> None:
    """Import the job code the settings name (``job_modules``) into the registry."""
    load_registered_modules(settings.job_module_names)


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


#: A worker's or job process's pooled connection is pinged before use only after this long unused (s).
PING_AFTER_IDLE = 2.0


def job_process_engine(url: str) -> Engine:
    """The engine a job process runs its jobs on: two pooled connections, pinged only after
    :data:`PING_AFTER_IDLE` unused (a job's transactions follow each other closely)."""
    return make_engine(url, pool_size=2, ping_after_idle=PING_AFTER_IDLE)


#: Deferred successes recorded together at most this many at a time ...
GROUP_MAX = 64
#: ... and none waits longer than this (seconds) for the next job to finish.
GROUP_WAIT = 0.05


def _child_main(conn: Connection, settings_data: dict[str, Any], parent_pid: int, draining: Any, handback: Any) -> None:
    """A child's life: run what the worker sends, in order, until it sends ``None``.

    The worker may queue several claims here (``prefetch``); each is run in turn and
    reported: its outcome, or ``"ran"`` for a write-free success whose recording is
    deferred, then recorded with the others that finish close together in one
    transaction (:func:`finish_deferred`) as soon as no claim is waiting, or the group is
    full or old. Once ``draining`` is set (shutdown), a claim sent ahead (behind another)
    and not yet started is handed back (``"skipped"``) instead of run. ``handback`` holds,
    under its lock, the number of the last claim started here and the number up to which
    the worker took back what was not started: those are passed over without a word (the
    worker has already given them to another process or back to the queue).
    """
    _die_with_parent()
    if os.getppid() != parent_pid:  # the worker died before we could ask to follow it
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when we stop
    settings = Settings(**settings_data)
    load_job_modules(settings)
    engine = job_process_engine(settings.database_url)
    # What is loaded now lives as long as the process: out of the garbage collector's scans,
    # which otherwise walk these ~150,000 objects in every full collection a job triggers.
    gc.freeze()
    group: list[DeferredSuccess] = []
    database: str | None = None  # the database's uuid (its outputs' folder), read at the first claim

    def record_group() -> None:
        # Kept until it lands: the worker renews these leases meanwhile, and a success
        # recorded after its lease was lost is refused by the fencing token.
        outcomes = patiently(
            lambda: finish_deferred(engine, settings, group), log, "job process", "recording successes"
        )
        for outcome in outcomes:
            conn.send(outcome)
        group.clear()

    try:
        while True:
            if group and (
                not conn.poll() or len(group) >= GROUP_MAX or time.monotonic() - group[0].ran_at >= GROUP_WAIT
            ):
                record_group()
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the worker is gone (a reset pipe comes before our own SIGKILL)
                return
            if message is None:
                record_group()
                return
            claim, start, sent, ahead, number = message
            if ahead and draining.is_set():
                conn.send(Outcome(claim.execution_id, SKIPPED))
                continue
            with handback.get_lock():
                if number <= handback[TAKEN_BACK]:
                    continue
                handback[STARTED] = number
            start += timedelta(seconds=max(0.0, time.monotonic() - sent))  # it waited here since
            began = time.monotonic()
            if database is None:
                with contextlib.suppress(Exception):  # the database is down: run_execution records it
                    database = database_id(engine)
            outcome = run_execution(engine, settings, REGISTRY, claim, start, deferred=group, database=database)
            conn.send(Ran(outcome, time.monotonic() - began))
    except (BrokenPipeError, ConnectionResetError):
        # the worker died while we reported: what ran is recorded, or recovered with its lease
        return
    finally:
        engine.dispose()


#: The state of an :class:`Outcome` for a claim handed back unstarted.
SKIPPED = "skipped"


@dataclass(frozen=True)
class Ran:
    """What a job process reports after running a claim: the outcome and how long the job took."""

    outcome: Outcome
    seconds: float


#: The two numbers a worker and its job process share (see :func:`_child_main`).
STARTED, TAKEN_BACK = 0, 1
#: Weight of a job's latest run in its typical time (this worker's view).
RECENT_WEIGHT = 0.5


@dataclass
class _Slot:
    """A job process and the claims sent to it, in order: the first not yet ``ran`` is running."""

    process: BaseProcess
    conn: Connection
    handback: Any  # the numbers shared with the process: the last claim started, the last taken back
    queue: deque[Claim] = field(default_factory=deque)
    ran: set[int] = field(default_factory=set)  # run, success not yet recorded
    running_id: int | None = None
    deadline: float | None = None  # monotonic instant of the running claim's timeout
    since: float = 0.0  # monotonic instant the running claim started, as the worker saw it
    sent: int = 0  # claims sent to this process, numbered from 1
    numbers: dict[int, int] = field(default_factory=dict)  # execution id -> its number here

    @property
    def busy(self) -> bool:
        return bool(self.queue)

    @property
    def claim(self) -> Claim | None:
        """The claim the process is running (or about to), if any."""
        return next((c for c in self.queue if c.execution_id not in self.ran), None)

    def track(self) -> None:
        """Start the running claim's timeout when the process moves on to it."""
        c = self.claim
        if c is None:
            self.running_id, self.deadline = None, None
        elif c.execution_id != self.running_id:
            self.running_id = c.execution_id
            self.since = time.monotonic()
            self.deadline = self.since + c.timeout_seconds if c.timeout_seconds else None


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
        mark_lost: bool = True,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.slots_wanted = slots
        self.observers = observers or Observers()
        self.engine = engine or make_engine(settings.database_url, ping_after_idle=PING_AFTER_IDLE)
        self.worker_id = worker_id or f"worker:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.limits = ClaimLimits(max_running=settings.max_running, slot_capacity=settings.slot_capacity)
        self._ctx = multiprocessing.get_context("spawn")
        self._draining = self._ctx.Event()
        self._slots: list[_Slot] = []
        # Claimed but given back by a process that died or was stopped before starting them:
        # they go to the next free process. Renewed by the heartbeat like the others and
        # released back to the queue on shutdown.
        self._ready: deque[Claim] = deque()
        self.prefetch = settings.prefetch if prefetch is None else prefetch
        # Each process holds its running claim and up to ``ahead`` claimed ahead ...
        self._ahead = -(-self.prefetch // max(1, slots))
        # ... but only behind jobs seen to take less than this; one that runs longer hands
        # back what waits behind it. Unknown jobs count as long. 0: behind any job.
        self._short = settings.short_job_seconds
        self._took: dict[int, float] = {}  # job id -> its typical run time (s), as this worker saw it
        self._stop = threading.Event()
        self._listener: Any = None
        self._listen_failures = 0
        self._listen_retry_at = 0.0  # monotonic: when to try the LISTEN connection again
        self._last_beat = 0.0
        self.outage = Outage(log, self.worker_id)
        self.mark_lost = mark_lost  # off on a simulated clock (see Scheduler)

    # --- lifecycle -----------------------------------------------------------------
    def request_stop(self) -> None:
        """Stop claiming; running jobs get the grace period (see :meth:`run`)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        load_job_modules(self.settings)
        # A busy SQLite file (another scheduler writing) or a database not up yet is waited out.
        patiently(self._register, log, self.worker_id, "registering")
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
                except Exception as exc:  # the database went away, say: keep the children, try again
                    self._stop.wait(max(self.settings.poll_seconds, self.outage.failed(exc, "claiming work")))
        finally:
            self.shutdown()

    def step(self, timeout: float | None = None) -> int:
        """One turn of the loop: heartbeat, timeouts, results, claims, then wait. Returns claims made."""
        self._maintain()
        try:
            claimed = 0 if self._stop.is_set() else self._claim()
            if not claimed:
                self._wait(self.settings.poll_seconds if timeout is None else timeout)
        finally:  # what the job processes report is taken in even while the database is away
            self._collect()
        return claimed

    def shutdown(self) -> None:
        """Graceful stop: no new claims; wait for running jobs, then interrupt and record them.

        Claims not yet started go back to the queue: the processes hand back the ones
        queued with them instead of starting them.
        """
        self._stop.set()
        self._draining.set()
        self._release(list(self._ready))
        self._ready.clear()
        deadline = time.monotonic() + self.settings.shutdown_grace_seconds
        while any(s.busy for s in self._slots) and time.monotonic() < deadline:
            self._maintain()
            self._wait(min(self.settings.poll_seconds, max(0.0, deadline - time.monotonic())))
            self._collect()
        for slot in self._slots:
            if slot.busy:
                self._stop_child(
                    slot,
                    ExecutionState.FAILED,
                    WORKER_SHUTDOWN,
                    f"interrupted: worker {self.worker_id} shut down after a "
                    f"{self.settings.shutdown_grace_seconds:g}s grace period",
                    retry=True,
                    replace=False,
                )
        self._release(list(self._ready))
        self._ready.clear()
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
        try:
            self._unregister()
        except Exception as exc:  # the row stays running; a live process marks it lost later
            self.outage.failed(exc, "recording its stop")

    @property
    def busy_count(self) -> int:
        return sum(1 for s in self._slots if s.busy)

    # --- internals -----------------------------------------------------------------
    def _spawn(self) -> _Slot:
        parent, child = self._ctx.Pipe()
        handback = self._ctx.Array("q", 2)
        process = self._ctx.Process(
            target=_child_main,
            args=(child, self.settings.model_dump(), os.getpid(), self._draining, handback),
            name="acas-batch-job",
            daemon=True,
        )
        process.start()
        child.close()
        return _Slot(process, parent, handback)

    def _listen(self) -> None:
        if self.engine.dialect.name != "postgresql":
            return
        import psycopg

        url = make_url(self.settings.database_url).set(drivername="postgresql")
        listener = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5)
        try:
            listener.execute("LISTEN acas_batch_queued")
        except Exception:
            listener.close()
            raise
        self._listener = listener

    def _listener_socket(self) -> int | None:
        """The LISTEN connection's socket; None while it is lost (the worker polls meanwhile).

        A lost connection is dropped and opened again with a growing pause between tries.
        """
        if self.engine.dialect.name != "postgresql" or self._stop.is_set():
            return None
        if self._listener is None:
            if time.monotonic() < self._listen_retry_at:
                return None
            try:
                self._listen()
            except Exception as exc:
                self._listener_lost(exc)
                return None
            self._listen_failures = 0
            log.info("%s: listening for new work again", self.worker_id)
        try:
            return int(self._listener.pgconn.socket)
        except Exception as exc:
            self._listener_lost(exc)
            return None

    def _listener_lost(self, exc: BaseException) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                self._listener.close()
            self._listener = None
        self._listen_failures += 1
        # Until it is back the worker polls every ``poll_seconds``.
        self._listen_retry_at = time.monotonic() + self.outage.failed(exc, "listening for new work")

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
                    info={"slots": self.slots_wanted, **this_process()},
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

    def _short_job(self, c: Claim) -> bool:
        return self._took.get(c.job_id, float("inf")) < self._short

    def _room(self, slot: _Slot) -> int:
        """How many more claims the process may queue: none behind a job that is, or may be, long."""
        if slot.queue and self._short > 0:
            waiting = [c for c in slot.queue if c.execution_id not in slot.ran]
            if not all(self._short_job(c) for c in waiting) or time.monotonic() - slot.since >= self._short:
                return 0
        return 1 + self._ahead - len(slot.queue)

    def _free_slot(self) -> _Slot | None:
        """The process with the fewest claims, among those with room for one more."""
        return min((s for s in self._slots if self._room(s) > 0), key=lambda s: len(s.queue), default=None)

    def _claim(self) -> int:
        while self._ready and (slot := self._free_slot()) is not None:
            self._dispatch(slot, self._ready.popleft())
        if self._ready:  # no process may take them now: another worker may
            self._release(list(self._ready))
            self._ready.clear()
        room = sum(max(0, self._room(s)) for s in self._slots)
        # Claim when a process is idle, or when at least half the claimed-ahead room is free:
        # one claim transaction then serves several jobs.
        if room <= 0 or (all(s.busy for s in self._slots) and room < max(1, (self._ahead * len(self._slots) + 1) // 2)):
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
                limit=room,
                limits=self.limits,
                worker_pid=os.getpid(),
                events=events,
                clock=self.clock.now,
            )
        self.outage.ok()
        # The room counted every claim as short: the short ones go first, and what cannot be
        # queued behind another (a job not known to be short) goes back to the queue at once.
        unplaced: list[Claim] = []
        for c in sorted(claims, key=lambda c: not self._short_job(c)):
            slot = self._free_slot()
            if slot is None:
                unplaced.append(c)
            else:
                self._dispatch(slot, c)
        self._emit(events)
        self._release(unplaced)
        return len(claims) - len(unplaced)

    def _dispatch(self, slot: _Slot, c: Claim) -> None:
        slot.queue.append(c)
        slot.track()
        slot.sent += 1
        slot.numbers[c.execution_id] = slot.sent
        slot.conn.send((c, self.clock.now(), time.monotonic(), len(slot.queue) > 1, slot.sent))

    def _hand_back_from_long(self) -> None:
        """Take back the claims waiting behind a job that has run ``short_job_seconds`` or more.

        Under the lock the process checks before it starts a claim: what it has not started
        by then it never will, so each is given to another process, or back to the queue.
        """
        if self._short <= 0:
            return
        mono = time.monotonic()
        for slot in self._slots:
            if len(slot.queue) - len(slot.ran) < 2 or mono - slot.since < self._short:
                continue
            with slot.handback.get_lock():
                started = slot.handback[STARTED]
                slot.handback[TAKEN_BACK] = slot.sent
            back = [c for c in slot.queue if slot.numbers.get(c.execution_id, 0) > started]
            for c in back:
                slot.queue.remove(c)
                slot.numbers.pop(c.execution_id, None)
            slot.track()
            self._ready.extend(back)

    def _release(self, claims: list[Claim]) -> None:
        """Give claimed executions that never started back to the queue (fenced: only if still ours)."""
        if not claims:
            return

        def release() -> None:
            with transaction(self.engine, write=True) as s:
                for c in claims:
                    release_claim(s, c)

        # A busy or restarting database is waited out (the release is fenced, so a repeat changes
        # nothing): given up, the runs would sit "running" until their leases expired.
        try:
            patiently(release, log, self.worker_id, "handing back claimed-ahead executions", give_up_after=60.0)
        except Exception as exc:  # their leases expire and a scheduler recovers them
            log.warning(
                "%s: could not hand back %d claimed-ahead execution(s): %s", self.worker_id, len(claims), one_line(exc)
            )

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
        self._hand_back_from_long()
        for slot in self._slots:
            c = slot.claim
            if c is not None and slot.deadline is not None and mono >= slot.deadline:
                self._stop_child(
                    slot, ExecutionState.TIMED_OUT, "Timeout", f"killed at its time limit of {c.timeout_seconds}s"
                )

    def _heartbeat(self) -> None:
        held = {c.execution_id: c.token for s in self._slots for c in s.queue}
        held |= {c.execution_id: c.token for c in self._ready}
        now = self.clock.now()
        try:
            with transaction(self.engine, write=True) as s:
                renewal = renew(
                    s, worker_id=self.worker_id, held=held, now=now, lease_seconds=self.settings.lease_seconds
                )
                # Running again if it was marked lost while stalled: its leases were recovered meanwhile.
                s.execute(
                    update(BatchWorker)
                    .where(BatchWorker.id == self.worker_id)
                    .values(heartbeat_at=now, state=WorkerState.RUNNING, stopped_at=None)
                )
        except Exception as exc:  # a busy or unreachable database: try again at the next beat
            self.outage.failed(exc, "renewing its leases")
            return
        self.outage.ok()
        if self.mark_lost:  # in a transaction of its own, not holding its own row: see ``mark_lost``
            try:
                with transaction(self.engine, write=True) as s:
                    mark_lost(
                        s,
                        now=now,
                        lease_seconds=self.settings.lease_seconds,
                        margin_seconds=self.settings.lost_margin_seconds,
                        by=self.worker_id,
                    )
            except Exception as exc:
                self.outage.failed(exc, "looking for lost processes")
        gone = renewal.lost | renewal.cancel_requested
        for c in list(self._ready):
            if c.execution_id in gone:
                self._ready.remove(c)
                if c.execution_id in renewal.cancel_requested:
                    self._record(c, ExecutionState.CANCELLED, "Cancelled", "cancelled by an operator", retry=False)
        for slot in self._slots:
            # A run whose success waits to be recorded needs nothing: its fenced record either
            # lands first or is refused.
            hit = [c for c in slot.queue if c.execution_id in gone and c.execution_id not in slot.ran]
            if not hit:
                continue
            # A claim queued in a process cannot be taken back from it: stop the process (the
            # running job is recorded as the cancelled or lost one only if it is one of them).
            self._collect_slot(slot)
            running = slot.claim
            for c in hit:
                if c.execution_id in renewal.lost:
                    log.warning("lease of execution %s lost; stopping its job", c.execution_id)
            self._kill(slot)
            self._drain(slot)
            for c in hit:
                if c in slot.queue:
                    slot.queue.remove(c)
                    slot.ran.discard(c.execution_id)
                    if c.execution_id in renewal.cancel_requested:
                        self._record(c, ExecutionState.CANCELLED, "Cancelled", "cancelled by an operator", retry=False)
            self._orphans(slot, running, "the job's process was stopped to cancel work queued with it")
            self._replace(slot)

    def _wait(self, timeout: float) -> None:
        waitables: list[Any] = [s.conn for s in self._slots if s.busy]
        waitables += [s.process.sentinel for s in self._slots if s.busy]
        sock = self._listener_socket()
        if sock is not None:
            waitables.append(sock)
        if not waitables:
            self._stop.wait(timeout)
            return
        ready = wait(waitables, timeout=timeout)
        if sock is not None and sock in ready and self._listener is not None:
            try:
                pg = self._listener.pgconn
                pg.consume_input()
                while pg.notifies() is not None:
                    pass
            except Exception as exc:  # the server closed it: restarted, or our backend was terminated
                self._listener_lost(exc)

    def _collect(self) -> None:
        for slot in self._slots:
            if not slot.busy:
                continue
            self._collect_slot(slot)
            if slot.busy and not slot.process.is_alive():
                self._drain(slot)
                code = slot.process.exitcode
                running = slot.claim
                self._orphans(slot, running, f"the job's process exited with code {code}")
                self._replace(slot)

    def _collect_slot(self, slot: _Slot) -> None:
        """Take in what the process has reported so far."""
        skipped: list[Claim] = []
        with contextlib.suppress(EOFError, OSError):
            while slot.busy and slot.conn.poll():
                message: Outcome | Ran = slot.conn.recv()
                if isinstance(message, Ran):
                    self._learn(slot, message)
                    message = message.outcome
                self._take(slot, message, skipped)
        slot.track()
        self._release(skipped)

    def _drain(self, slot: _Slot) -> None:
        """After the process ended: what it reported before it ended still counts."""
        self._collect_slot(slot)

    def _learn(self, slot: _Slot, ran: Ran) -> None:
        """Count a run's time into its job's typical time."""
        job_id = next((c.job_id for c in slot.queue if c.execution_id == ran.outcome.execution_id), None)
        if job_id is not None:
            before = self._took.get(job_id)
            mixed = ran.seconds if before is None else RECENT_WEIGHT * ran.seconds + (1 - RECENT_WEIGHT) * before
            self._took[job_id] = mixed

    def _take(self, slot: _Slot, outcome: Outcome, skipped: list[Claim]) -> None:
        eid = outcome.execution_id
        c = next((c for c in slot.queue if c.execution_id == eid), None)
        if c is None:
            return
        if outcome.state == RAN:
            slot.ran.add(eid)
            slot.track()
            return
        slot.queue.remove(c)
        slot.numbers.pop(eid, None)
        slot.ran.discard(eid)
        if outcome.state == SKIPPED:
            skipped.append(c)
            return
        self._emit(list(outcome.events))

    def _orphans(self, slot: _Slot, running: Claim | None, died: str) -> None:
        """A process is gone: record what it ran or was running (``died`` says why), and queue
        again what it never started."""
        for c in list(slot.queue):
            if c.execution_id in slot.ran:
                self._record(
                    c, ExecutionState.FAILED, CHILD_DIED, "the job's process ended before its result was recorded"
                )
            elif c is running:
                self._record(c, ExecutionState.FAILED, CHILD_DIED, died)
            else:
                self._ready.append(c)
        slot.queue.clear()
        slot.ran.clear()
        slot.track()

    def _stop_child(
        self,
        slot: _Slot,
        state: ExecutionState,
        error_type: str,
        message: str,
        *,
        retry: bool = False,
        replace: bool = True,
    ) -> None:
        """Kill the process over its running claim, record that claim as ``state``, and deal with the rest."""
        c = slot.claim
        self._kill(slot)
        self._drain(slot)
        running = slot.claim
        if running is not None and running is c:
            slot.queue.remove(running)
            self._record(running, state, error_type, message, retry=retry)
        self._orphans(slot, running if running is not c else None, "the job's process was stopped")
        if replace:
            self._replace(slot)

    def _kill(self, slot: _Slot) -> None:
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join(timeout=5)

    def _replace(self, slot: _Slot) -> None:
        slot.conn.close()
        fresh = self._spawn()
        slot.process, slot.conn, slot.handback = fresh.process, fresh.conn, fresh.handback
        slot.queue.clear()
        slot.ran.clear()
        slot.numbers.clear()
        slot.sent = 0
        slot.track()

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
        except Exception as exc:  # the database is away: the lease expires and a scheduler recovers it
            self.outage.failed(exc, f"recording execution {c.execution_id} as {state.value}")
            return
        self._emit(events)

    def _emit(self, events: Events) -> None:
        for hook, event in events:
            self.observers.emit(hook, event)

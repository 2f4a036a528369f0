"""Which registered schedulers and workers are alive, and which are lost.

Each process heartbeats in ``batch_worker_rec``. One that dies without a word (SIGKILL, a
power cut, a host gone) cannot say so itself: whichever live process notices first that
its heartbeat is older than its lease plus a margin (``lost_margin_seconds``) marks it
LOST. The mark is one ``UPDATE ... WHERE state IN ('running', 'stopping')``, which only
one process can win, so each loss is recorded, logged and alerted once; the health check
then counts only the living. A process marked lost that was only stalled (a long pause,
a cut network) marks itself running again at its next heartbeat; the leases it held were
recovered meanwhile and its fencing tokens refuse its late writes.

A process on this very machine need not be waited for: each records at registration the
machine's boot, its pid namespace and its own start time (:func:`this_process`), and a live
process that shares boot and namespace and finds that pid gone (or now another process's, or
a zombie) marks it lost at once and ends its leases, without waiting for lease and margin to
run out. The same look keeps a process that surely still runs here from being marked lost
because its heartbeat is late (a machine under heavy load, a long pause): it is not lost, and
marking it so only raised a false alert, and a second when it beat again. Its leases are not
kept by this: a lease it fails to renew expires and is recovered as ever, and the health check
reports its silence. A process that cannot be seen this surely (another machine, another
container, another boot) is only ever judged by its heartbeat, so no lease is taken from a live
worker.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psutil  # type: ignore[import-untyped]
from sqlalchemy import select, true, update
from sqlalchemy.orm import Session

from acas_batch.models import BatchExecution, BatchWorker
from acas_batch.models.enums import ExecutionState, WorkerRole, WorkerState

log = logging.getLogger("acas_batch.liveness")

#: States of a process that is presumed alive.
LIVING = (WorkerState.RUNNING, WorkerState.STOPPING)


@dataclass(frozen=True)
class LostProcess:
    """A process just marked lost."""

    id: str
    role: WorkerRole
    hostname: str
    pid: int
    heartbeat_at: datetime


def silent_before(now: datetime, *, lease_seconds: float, margin_seconds: float) -> datetime:
    """A living process whose last heartbeat is older than this is lost."""
    return now - timedelta(seconds=lease_seconds + margin_seconds)


def mark_lost(
    session: Session, *, now: datetime, lease_seconds: float, margin_seconds: float, by: str
) -> list[LostProcess]:
    """Mark LOST every living process silent for longer than its lease plus the margin.

    In the caller's transaction; returns only the rows this call changed (a concurrent
    caller that marked them first gets nothing back). The rows are locked in id order, and
    the transaction must hold no other process row (its caller's own heartbeat committed
    before): two processes that each beat their own row and then marked the other lost in
    one transaction deadlocked on PostgreSQL, each holding the row the other wanted.
    """
    cutoff = silent_before(now, lease_seconds=lease_seconds, margin_seconds=margin_seconds)
    me = this_process()
    silent, gone = [], []
    for process in session.execute(
        select(BatchWorker.id, BatchWorker.pid, BatchWorker.info, BatchWorker.heartbeat_at).where(
            BatchWorker.state.in_(LIVING)
        )
    ):
        alive = _alive_here(process.pid, process.info, me)
        if alive is False:
            gone.append(process.id)
        elif alive is None and process.heartbeat_at < cutoff:
            silent.append(process.id)
    lost: list[LostProcess] = []
    for pid in sorted({*silent, *gone}):
        seen_gone = pid in gone
        row = session.execute(
            update(BatchWorker)
            .where(
                BatchWorker.id == pid,
                BatchWorker.state.in_(LIVING),
                true() if seen_gone else BatchWorker.heartbeat_at < cutoff,
            )
            .values(state=WorkerState.LOST, stopped_at=now)
            .returning(
                BatchWorker.id, BatchWorker.role, BatchWorker.hostname, BatchWorker.pid, BatchWorker.heartbeat_at
            )
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if row is None:
            continue
        found = LostProcess(row.id, row.role, row.hostname, row.pid, row.heartbeat_at)
        session.execute(
            update(BatchWorker)
            .where(BatchWorker.id == pid)
            .values(info=_with_loss(session, pid, by, now))
            .execution_options(synchronize_session=False)
        )
        if seen_gone:  # its leases end now: the scheduler's next tick recovers them (fenced)
            session.execute(
                update(BatchExecution)
                .where(
                    BatchExecution.lease_owner == pid,
                    BatchExecution.state == ExecutionState.RUNNING,
                    BatchExecution.lease_expires_at > now,
                )
                .values(lease_expires_at=now)
                .execution_options(synchronize_session=False)
            )
        log.warning(
            "%s %s (host %s, pid %s) marked lost by %s: %s",
            found.role.value,
            found.id,
            found.hostname,
            found.pid,
            by,
            "its process is gone from this machine"
            if seen_gone
            else f"no heartbeat since {found.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC",
        )
        lost.append(found)
    return lost


def this_process() -> dict[str, Any]:
    """What tells this process apart on its machine: the machine's boot, the pid namespace and
    the process's own start time; recorded in ``batch_worker_rec.info`` at registration."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            boot: str | None = fh.read().strip()
        pidns: int | None = os.stat("/proc/self/ns/pid").st_ino
        started: float | None = psutil.Process().create_time()
    except (OSError, psutil.Error):  # not Linux, or /proc hidden: judged by heartbeat only
        boot = pidns = started = None
    return {"boot": boot, "pidns": pidns, "proc_start": started}


def _alive_here(pid: int, info: dict[str, Any] | None, me: dict[str, Any]) -> bool | None:
    """Whether process ``pid``, registered with ``info``, surely runs (True) or surely no longer
    runs (False: its pid is gone, a zombie, or another process's), seen from this machine; None
    when it cannot be seen so surely (another machine, container or boot, or no /proc), and its
    heartbeat must tell."""
    info = info or {}
    if me["boot"] is None or info.get("boot") != me["boot"] or info.get("pidns") != me["pidns"]:
        return None
    if info.get("proc_start") is None:
        return None
    try:
        proc = psutil.Process(pid)
        return not (proc.status() == psutil.STATUS_ZOMBIE or abs(proc.create_time() - float(info["proc_start"])) > 0.5)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # cannot look at it
        return None


def _with_loss(session: Session, pid: str, by: str, now: datetime) -> dict[str, object]:
    info = session.scalar(select(BatchWorker.info).where(BatchWorker.id == pid)) or {}
    return {**info, "lost_by": by, "lost_at": now.isoformat()}


def living(session: Session, role: WorkerRole) -> list[BatchWorker]:
    """The processes of ``role`` presumed alive (running or stopping), fresh or silent."""
    return list(session.scalars(select(BatchWorker).where(BatchWorker.role == role, BatchWorker.state.in_(LIVING))))

"""Which registered schedulers and workers are alive, and which are lost.

Each process heartbeats in ``batch_worker_rec``. One that dies without a word (SIGKILL, a
power cut, a host gone) cannot say so itself: whichever live process notices first that
its heartbeat is older than its lease plus a margin (``lost_margin_seconds``) marks it
LOST. The mark is one ``UPDATE ... WHERE state IN ('running', 'stopping')``, which only
one process can win, so each loss is recorded, logged and alerted once; the health check
then counts only the living. A process marked lost that was only stalled (a long pause,
a cut network) marks itself running again at its next heartbeat; the leases it held were
recovered meanwhile and its fencing tokens refuse its late writes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from acas_batch.models import BatchWorker
from acas_batch.models.enums import WorkerRole, WorkerState

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
    caller that marked them first gets nothing back).
    """
    cutoff = silent_before(now, lease_seconds=lease_seconds, margin_seconds=margin_seconds)
    silent = list(
        session.scalars(select(BatchWorker.id).where(BatchWorker.state.in_(LIVING), BatchWorker.heartbeat_at < cutoff))
    )
    lost: list[LostProcess] = []
    for pid in silent:
        row = session.execute(
            update(BatchWorker)
            .where(BatchWorker.id == pid, BatchWorker.state.in_(LIVING), BatchWorker.heartbeat_at < cutoff)
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
        log.warning(
            "%s %s (host %s, pid %s) marked lost by %s: no heartbeat since %s UTC",
            found.role.value,
            found.id,
            found.hostname,
            found.pid,
            by,
            f"{found.heartbeat_at:%Y-%m-%d %H:%M:%S}",
        )
        lost.append(found)
    return lost


def _with_loss(session: Session, pid: str, by: str, now: datetime) -> dict[str, object]:
    info = session.scalar(select(BatchWorker.info).where(BatchWorker.id == pid)) or {}
    return {**info, "lost_by": by, "lost_at": now.isoformat()}


def living(session: Session, role: WorkerRole) -> list[BatchWorker]:
    """The processes of ``role`` presumed alive (running or stopping), fresh or silent."""
    return list(session.scalars(select(BatchWorker).where(BatchWorker.role == role, BatchWorker.state.in_(LIVING))))

"""Housekeeping: execution logs and output files past their retention, expired sessions.

Deletes run in chunks of ids, each chunk committed by the caller's ``on_chunk`` (the job's
checkpoint), so a huge backlog never makes one giant transaction and an interrupted run
resumes where it stopped: what is deleted stays deleted, what is left is found again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, func, or_, select, update
from sqlalchemy.orm import Session

from acas_batch.db import rowcount, write_engine, yield_write_lock
from acas_batch.models import BatchLog, LogLevel, UserSession

#: Log levels grouped by retention parameter; errors and criticals are kept longest.
RETENTION_GROUPS: Mapping[str, tuple[LogLevel, ...]] = {
    "debug": (LogLevel.DEBUG,),
    "info": (LogLevel.INFO,),
    "warning": (LogLevel.WARNING,),
    "error": (LogLevel.ERROR, LogLevel.CRITICAL),
}


@dataclass
class LogPurge:
    """Log lines deleted, per level."""

    deleted: dict[str, int] = field(default_factory=dict)
    chunks: int = 0

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def purge_logs(
    session: Session,
    *,
    cutoffs: Mapping[LogLevel, datetime],
    chunk_size: int = 5000,
    on_chunk: Callable[[LogPurge], None] | None = None,
) -> LogPurge:
    """Delete log lines logged before their level's cutoff, ``chunk_size`` at a time.

    ``on_chunk`` commits each chunk (the job's checkpoint); after it, on SQLite, the write lock
    stays free for a moment (:func:`~acas_batch.db.yield_write_lock`) so that the scheduler and
    the workers, waiting to write, are not kept out for the whole clean-up.
    """
    result = LogPurge()
    for level, cutoff in cutoffs.items():
        while True:
            # Oldest first along the (level, logged_at) index: each chunk reads only what it deletes.
            ids = list(
                session.scalars(
                    select(BatchLog.id)
                    .where(BatchLog.level == level, BatchLog.logged_at < cutoff)
                    .order_by(BatchLog.logged_at)
                    .limit(chunk_size)
                )
            )
            if not ids:
                break
            session.execute(delete(BatchLog).where(BatchLog.id.in_(ids)).execution_options(synchronize_session=False))
            result.deleted[level.value] = result.deleted.get(level.value, 0) + len(ids)
            result.chunks += 1
            if on_chunk is not None:
                on_chunk(result)
                yield_write_lock(session)
            if len(ids) < chunk_size:
                break
    return result


def purge_log_chunks(engine: Engine, *, cutoffs: Mapping[LogLevel, datetime], chunk_size: int = 1000) -> LogPurge:
    """:func:`purge_logs` with each chunk in its own write transaction.

    Between chunks the write lock is free for a moment (SQLite), so the scheduler's tick and the
    workers' claims wait for at most one chunk, never for the whole clean-up.
    """
    with Session(write_engine(engine), expire_on_commit=False) as session:
        try:
            purge = purge_logs(session, cutoffs=cutoffs, chunk_size=chunk_size, on_chunk=lambda _: session.commit())
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return purge


def log_cutoffs(now: datetime, days: Mapping[str, int]) -> dict[LogLevel, datetime]:
    """Cutoff instant per level from retention days per group (``debug``, ``info``, ``warning``, ``error``)."""
    return {level: now - timedelta(days=days[group]) for group, levels in RETENTION_GROUPS.items() for level in levels}


@dataclass(frozen=True)
class FilePurge:
    """Output files deleted and the space they took."""

    files: int
    bytes_freed: int
    dirs_removed: int


def purge_output_files(
    root: Path, *, older_than: datetime, keep: Path | None = None, only: Callable[[Path], bool] | None = None
) -> FilePurge:
    """Delete files under ``root`` last modified before ``older_than``; then empty folders.

    ``keep`` (the running execution's own folder) is never touched; with ``only``, nothing
    is either below an entry of ``root`` for which it answers false.
    """
    if not root.is_dir():
        return FilePurge(0, 0, 0)
    limit = older_than.timestamp()
    files = freed = dirs = 0
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if keep is not None and (path == keep or keep in path.parents):
            continue
        if only is not None and not only(root / path.relative_to(root).parts[0]):
            continue
        if path.is_file() and not path.is_symlink():
            stat = path.stat()
            if stat.st_mtime < limit:
                path.unlink()
                files += 1
                freed += stat.st_size
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
            dirs += 1
    return FilePurge(files, freed, dirs)


@dataclass(frozen=True)
class SessionPurge:
    """Sessions and tokens expired for idleness, and rows deleted per kind."""

    expired_idle: int
    deleted: dict[str, int]


def purge_sessions(session: Session, *, now: datetime, idle: timedelta, keep_expired: timedelta) -> SessionPurge:
    """Expire login sessions idle longer than ``idle``; delete sessions and API tokens that
    expired or were revoked more than ``keep_expired`` ago (kept that long for the audit view)."""
    last_seen = func.coalesce(UserSession.last_used_at, UserSession.created_at)
    expired = rowcount(
        session.execute(
            update(UserSession)
            .where(
                UserSession.kind == "session",
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
                last_seen < now - idle,
            )
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    horizon = now - keep_expired
    gone = or_(UserSession.expires_at <= horizon, UserSession.revoked_at <= horizon)
    counts = {
        str(kind): int(n)
        for kind, n in session.execute(
            select(UserSession.kind, func.count()).where(gone).group_by(UserSession.kind)
        ).all()
    }
    session.execute(delete(UserSession).where(gone).execution_options(synchronize_session=False))
    session.flush()
    return SessionPurge(int(expired or 0), counts)

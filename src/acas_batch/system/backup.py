"""Online database backups: make one, verify it by a test restore, restore it.

SQLite: ``sqlite3.Connection.backup`` copies the database in one step, inside one read
transaction, so the copy is a snapshot even while other processes write (WAL lets them
go on). The copy is counted, then gzip-compressed.

PostgreSQL: a REPEATABLE READ transaction exports its snapshot; the row counts are taken
in that transaction and ``pg_dump --snapshot`` dumps exactly the same state (custom
format, compressed by pg_dump).

Every file gets a ``.sha256`` sidecar (``sha256sum -c`` reads it) and a
``.manifest.json`` with the snapshot's row counts. A restore checks the checksum before it
touches anything, and the counts after.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url

from acas_batch.config import normalise_database_url
from acas_batch.db import make_engine
from acas_batch.errors import BackupError, Conflict
from acas_batch.fileperms import private_dir, private_file

SQLITE_SUFFIX = ".sqlite.gz"
PG_SUFFIX = ".pgdump"
_GZIP_MAGIC = b"\x1f\x8b"
_PG_MAGIC = b"PGDMP"
_CHUNK = 1 << 20
PG_DUMP = os.environ.get("ACAS_PG_DUMP", "pg_dump")
PG_RESTORE = os.environ.get("ACAS_PG_RESTORE", "pg_restore")


@dataclass(frozen=True)
class BackupInfo:
    """A backup file and what it holds."""

    path: Path
    backend: str
    size_bytes: int
    sha256: str
    started_at: datetime
    finished_at: datetime
    row_counts: dict[str, int]


@dataclass(frozen=True)
class RestoreReport:
    """What a restore wrote into its target."""

    target: str
    backend: str
    row_counts: dict[str, int]
    replaced: bool


# ---- small helpers ---------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password (it goes in PGPASSWORD, not on a command line)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{Path(args[0]).name} failed (exit {done.returncode}): {reason}")


def sqlite_row_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {n: int(conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names}
    finally:
        conn.close()


def _pg_row_counts(conn: Any) -> dict[str, int]:
    names = [
        r[0]
        for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"))
    ]
    return {n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one()) for n in names}


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table of a live database (both backends)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            names = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            return {n: int(conn.exec_driver_sql(f'SELECT count(*) FROM "{n}"').scalar_one()) for n in names}
    with engine.connect() as conn:
        return _pg_row_counts(conn)


def _finish(path: Path, backend: str, started: datetime, elapsed: float, counts: dict[str, int]) -> BackupInfo:
    digest = sha256_of(path)
    checksum_path(path).write_text(f"{digest}  {path.name}\n")
    private_file(checksum_path(path))
    finished = started + timedelta(seconds=elapsed)
    manifest = {
        "backend": backend,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "sha256": digest,
        "row_counts": counts,
    }
    manifest_path(path).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    private_file(manifest_path(path))
    return BackupInfo(path, backend, path.stat().st_size, digest, started, finished, counts)


def _unique_path(dest_dir: Path, stem: str, suffix: str) -> Path:
    path = dest_dir / f"{stem}{suffix}"
    n = 1
    while path.exists():
        n += 1
        path = dest_dir / f"{stem}-{n}{suffix}"
    return path


# ---- backup ------------------------------------------------------------------------------


def create_backup(engine: Engine, dest_dir: Path, now: datetime) -> BackupInfo:
    """Write a consistent, compressed, checksummed backup of ``engine``'s database.

    ``now`` names the file and is recorded as the snapshot's start; the duration is
    measured, never read from the wall clock.
    """
    private_dir(dest_dir)
    stem = f"acas-{engine.dialect.name}-{now.strftime('%Y%m%dT%H%M%SZ')}"
    began = time.monotonic()
    if engine.dialect.name == "sqlite":
        path = _unique_path(dest_dir, stem, SQLITE_SUFFIX)
        counts = _backup_sqlite(engine, path)
    else:
        path = _unique_path(dest_dir, stem, PG_SUFFIX)
        counts = _backup_postgresql(engine, path)
    return _finish(path, engine.dialect.name, now, time.monotonic() - began, counts)


def _backup_sqlite(engine: Engine, path: Path) -> dict[str, int]:
    source = engine.url.database
    if not source or source == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    partial = path.with_name(path.name + ".part")
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".snapshot-") as tmp:
        snapshot = Path(tmp) / "snapshot.db"
        src = sqlite3.connect(source, timeout=30)
        dst = sqlite3.connect(snapshot)
        try:
            src.backup(dst)  # pages=-1: the whole database in one step, one read transaction
        finally:
            dst.close()
            src.close()
        counts = sqlite_row_counts(snapshot)
        with snapshot.open("rb") as raw, gzip.open(partial, "wb", compresslevel=6) as packed:
            shutil.copyfileobj(raw, packed, _CHUNK)
    private_file(partial)
    partial.replace(path)
    return counts


def _backup_postgresql(engine: Engine, path: Path) -> dict[str, int]:
    uri, env = _libpq(engine.url)
    partial = path.with_name(path.name + ".part")
    snap_engine = engine.execution_options(isolation_level="REPEATABLE READ")
    with snap_engine.connect() as conn:
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        counts = _pg_row_counts(conn)
        # The snapshot lives as long as this transaction: pg_dump must run inside it.
        _run(
            [PG_DUMP, "--format=custom", "--compress=6", "--no-owner", "--no-privileges",
             f"--snapshot={snapshot}", f"--file={partial}", f"--dbname={uri}"],
            env,
        )  # fmt: skip
        conn.rollback()
    private_file(partial)
    partial.replace(path)
    return counts


# ---- verification and restore ----------------------------------------------------------


def check_checksum(path: Path) -> str:
    """The file's SHA-256 if it matches its ``.sha256`` sidecar.

    Raises:
        BackupError: the file or its sidecar is missing, or they disagree.
    """
    if not path.is_file():
        raise BackupError(f"backup file {str(path)!r} does not exist")
    sidecar = checksum_path(path)
    if not sidecar.is_file():
        raise BackupError(f"backup file {str(path)!r} has no checksum file {sidecar.name!r}")
    expected = (sidecar.read_text().split() or [""])[0].lower()
    actual = sha256_of(path)
    if actual != expected:
        raise BackupError(
            f"backup file {str(path)!r} is corrupt: SHA-256 {actual[:12]}... != recorded {expected[:12]}..."
        )
    return actual


def backup_backend(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(5)
    if head.startswith(_GZIP_MAGIC):
        return "sqlite"
    if head == _PG_MAGIC:
        return "postgresql"
    raise BackupError(f"{str(path)!r} is not an acas-batch backup (neither gzip SQLite nor pg_dump custom format)")


def read_manifest(path: Path) -> dict[str, Any] | None:
    file = manifest_path(path)
    if not file.is_file():
        return None
    data: dict[str, Any] = json.loads(file.read_text())
    return data


@contextlib.contextmanager
def _unpacked_sqlite(path: Path, work_dir: Path) -> Iterator[Path]:
    """The backup decompressed into ``work_dir`` and integrity-checked."""
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".restore-") as tmp:
        plain = Path(tmp) / "restore.db"
        try:
            with gzip.open(path, "rb") as packed, plain.open("wb") as raw:
                shutil.copyfileobj(packed, raw, _CHUNK)
            conn = sqlite3.connect(plain)
            try:
                status = conn.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                conn.close()
        except (OSError, EOFError, sqlite3.DatabaseError) as exc:
            raise BackupError(f"backup file {str(path)!r} cannot be read: {exc}") from exc
        if status != "ok":
            raise BackupError(f"backup file {str(path)!r} fails the SQLite integrity check: {status}")
        yield plain


def restore_backup(path: Path, target_url: str, *, force: bool = False) -> RestoreReport:
    """Restore a backup into the database at ``target_url``.

    The checksum is checked first and the file is fully read before the target is
    touched, so a corrupt file changes nothing.

    Raises:
        BackupError: corrupt or foreign file, wrong kind of target, a tool failed, or the
            restored row counts differ from the backup's manifest.
        Conflict: the target holds data and ``force`` is not set.
    """
    check_checksum(path)
    kind = backup_backend(path)
    url = make_url(normalise_database_url(target_url))
    if url.get_backend_name() != kind:
        raise BackupError(f"{str(path)!r} is a {kind} backup; it cannot be restored into {url.get_backend_name()}")
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        existing = row_counts(engine)
        holding = sorted(t for t, n in existing.items() if n)
        if holding and not force:
            raise Conflict(
                f"target database {url.render_as_string(hide_password=True)} is not empty "
                f"({len(holding)} tables hold rows); use --force to replace it"
            )
        if kind == "sqlite":
            _restore_sqlite(path, engine)
        else:
            _restore_postgresql(path, engine)
        counts = row_counts(engine)
    finally:
        engine.dispose()
    manifest = read_manifest(path)
    if manifest is not None and manifest.get("row_counts") != counts:
        raise BackupError(f"restored row counts differ from the backup's manifest: {_difference(manifest, counts)}")
    return RestoreReport(url.render_as_string(hide_password=True), kind, counts, replaced=bool(existing))


def _difference(manifest: dict[str, Any], counts: dict[str, int]) -> str:
    recorded: dict[str, int] = manifest.get("row_counts") or {}
    tables = sorted(set(recorded) | set(counts))
    diffs = [f"{t} {recorded.get(t)}!={counts.get(t)}" for t in tables if recorded.get(t) != counts.get(t)]
    return ", ".join(diffs[:5])


def _restore_sqlite(path: Path, engine: Engine) -> None:
    target = engine.url.database
    if not target or target == ":memory:":
        raise BackupError("cannot restore into an in-memory SQLite database")
    engine.dispose()
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    with _unpacked_sqlite(path, Path(target).parent) as plain:
        src = sqlite3.connect(plain)
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)  # replaces every page of the target, WAL included
        finally:
            dst.close()
            src.close()


def _restore_postgresql(path: Path, engine: Engine) -> None:
    uri, env = _libpq(engine.url)
    _run([PG_RESTORE, "--list", str(path)], env)  # reads the whole table of contents first
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    _run(
        [PG_RESTORE, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
         f"--dbname={uri}", str(path)],
        env,
    )  # fmt: skip


def verify_backup(info: BackupInfo, engine: Engine, work_dir: Path) -> dict[str, int]:
    """Restore ``info`` into a scratch database and check it reproduces the snapshot's counts.

    SQLite restores into a file under ``work_dir``; PostgreSQL into a throw-away database
    on the same server. Returns the restored counts.

    Raises:
        BackupError: the restore failed or a count differs.
    """
    if info.backend == "sqlite":
        with tempfile.TemporaryDirectory(dir=work_dir, prefix=".verify-") as tmp:
            report = restore_backup(info.path, f"sqlite:///{Path(tmp) / 'verify.db'}")
    else:
        name = f"acas_verify_{uuid.uuid4().hex[:12]}"
        admin = engine.execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            report = restore_backup(info.path, engine.url.set(database=name).render_as_string(hide_password=False))
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if report.row_counts != info.row_counts:
        raise BackupError(f"verification of {info.path.name} failed: {_difference(info.__dict__, report.row_counts)}")
    return report.row_counts

"""A full disk or a read-only output folder: the job fails cleanly, saying why.

The output folder is a small file system of the test's own (a tmpfs of 64 KiB, mounted by
root), filled by the report or remounted read-only, and a worker runs the job. Where no file
system can be mounted (not root, or a sandbox that refuses), the job runs in this process
instead, its writes going through a size-limited writer (no space past 64 KiB) or refused as
on a read-only file system: the same errors from the operating system's calls, the same
checks, never skipped (``FAULT_NO_MOUNT=1`` takes that way where a file system could be
mounted). The job's rows are rolled back, nothing is left under the report's
final name nor under its temporary one, and the execution's error names the file and the
system's reason, not a database outage.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import Engine, func, select

from acas_batch.batch.operations import enqueue
from acas_batch.db import transaction
from acas_batch.models import BatchExecution, BatchMetric
from acas_batch.models.enums import ExecutionState
from acas_batch.reports import files
from tests.engine_helpers import NOW, Running, define, engine_settings, wait_until
from tests.support.context import run_job

SIZE = 64 * 1024


@dataclass
class SmallDisk:
    """The output folder: a real 64 KiB tmpfs (``mounted``), or a folder whose writes go
    through a size-limited writer in this process."""

    path: Path
    mounted: bool


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 64 KiB tmpfs at ``tmp_path/out``, unmounted afterwards; the plain folder where none can be mounted."""
    mount = tmp_path / "out"
    mount.mkdir()
    if (
        os.environ.get("FAULT_NO_MOUNT")
        or os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(mount)], check=False
        ).returncode
    ):
        yield SmallDisk(mount, mounted=False)
        return
    try:
        yield SmallDisk(mount, mounted=True)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


class _LimitedWriter:
    """A file whose writes fail with ENOSPC once the folder's ``left`` bytes are used up."""

    def __init__(self, fh: IO[Any], budget: list[int]) -> None:
        self._fh, self._budget = fh, budget

    def write(self, data: Any) -> int:
        size = len(data.encode() if isinstance(data, str) else data)
        if size > self._budget[0]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._budget[0] -= size
        return int(self._fh.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> _LimitedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


def _limit_writes(monkeypatch: pytest.MonkeyPatch, folder: Path, fault: str) -> None:
    """Writes under ``folder`` as on a full 64 KiB file system, or one mounted read-only."""
    opened, fdopen, budget = os.open, os.fdopen, [SIZE]

    def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if fault == "read-only folder" and flags & os.O_CREAT and Path(path).is_relative_to(folder):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return opened(path, flags, *args, **kwargs)

    def fdopen_(fd: int, *args: Any, **kwargs: Any) -> Any:
        fh = fdopen(fd, *args, **kwargs)
        inside = Path(os.readlink(f"/proc/self/fd/{fd}")).is_relative_to(folder)
        return _LimitedWriter(fh, budget) if inside else fh

    monkeypatch.setattr(files.os, "open", open_)
    monkeypatch.setattr(files.os, "fdopen", fdopen_)


def _failed(engine: Engine, eid: int) -> BatchExecution | None:
    with transaction(engine) as s:
        row = s.get_one(BatchExecution, eid)
    return row if row.state in (ExecutionState.FAILED, ExecutionState.SUCCEEDED) else None


@pytest.mark.parametrize("fault", ["disk full", "read-only folder"])
def test_a_report_that_cannot_be_written_fails_the_job_cleanly(
    engine: Engine, db_url: str, tmp_path: Path, small_disk: SmallDisk, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job that writes rows and then a report of ~600 KiB into a 64 KiB file system
    # (a lease long enough that a loaded machine's late renewal cannot fail the run first: not under test here)
    settings = engine_settings(db_url, tmp_path, output_dir=small_disk.path, lease_seconds=30)
    define(engine, "TEST_REPORT", max_attempts=1)
    params = {"rows": 5, "lines": 20_000}
    if small_disk.mounted:
        if fault == "read-only folder":
            subprocess.run(["mount", "-o", "remount,ro", str(small_disk.path)], check=True)
        with transaction(engine, write=True) as s:
            eid = enqueue(s, "TEST_REPORT", params, now=NOW, business_date=NOW.date()).id
        # When a worker runs it
        with Running(settings, engine, slots=1):
            wait_until(lambda: _failed(engine, eid) is not None, timeout=60)
    else:  # When it runs here, through the size-limited writer
        _limit_writes(monkeypatch, small_disk.path, fault)
        eid = run_job(engine, settings, "TEST_REPORT", now=NOW, params=params).execution_id
    row = _failed(engine, eid)
    # Then it failed, once, with the file and the reason on one line
    assert row is not None and row.state is ExecutionState.FAILED
    reason = "No space left on device" if fault == "disk full" else "Read-only file system"
    assert row.error_type == "OutputError", (row.error_type, row.error_message)
    assert row.error_message is not None and reason in row.error_message and "\n" not in row.error_message
    assert row.error_message.startswith("cannot ") and str(small_disk.path) in row.error_message
    assert f"/{eid}" in row.error_message  # the execution's own folder, or its report in it
    assert row.infra_failures == 0  # the disk is not the database: no outage, no retry of its own
    # ... its rows were rolled back with it
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(BatchMetric)) == 0
    # ... and the folder holds neither the report nor a part of it
    leftovers = sorted(str(p.relative_to(small_disk.path)) for p in small_disk.path.rglob("*") if p.is_file())
    assert leftovers == []

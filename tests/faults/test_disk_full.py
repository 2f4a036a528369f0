"""A full disk or a read-only output folder: the job fails cleanly, saying why.

The output folder is a small file system of the test's own (a tmpfs of 64 KiB, mounted by
root), filled by the report or remounted read-only. The job's rows are rolled back, nothing
is left under the report's final name nor under its temporary one, and the execution's error
names the file and the system's reason, not a database outage.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from acas_batch.batch.operations import enqueue
from acas_batch.db import transaction
from acas_batch.models import BatchExecution, BatchMetric
from acas_batch.models.enums import ExecutionState
from tests.engine_helpers import NOW, Running, define, engine_settings, wait_until


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs at ``tmp_path/out``, unmounted afterwards."""
    mount = tmp_path / "out"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount)], check=False)
    if done.returncode != 0:
        pytest.skip("this sandbox cannot mount a tmpfs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _failed(engine: Engine, eid: int) -> BatchExecution | None:
    with transaction(engine) as s:
        row = s.get_one(BatchExecution, eid)
    return row if row.state in (ExecutionState.FAILED, ExecutionState.SUCCEEDED) else None


@pytest.mark.parametrize("fault", ["disk full", "read-only folder"])
def test_a_report_that_cannot_be_written_fails_the_job_cleanly(
    engine: Engine, db_url: str, tmp_path: Path, small_disk: Path, fault: str
) -> None:
    # Given a job that writes rows and then a report of ~600 KiB into a 64 KiB file system
    settings = engine_settings(db_url, tmp_path, output_dir=small_disk)
    define(engine, "TEST_REPORT", max_attempts=1)
    if fault == "read-only folder":
        subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with transaction(engine, write=True) as s:
        eid = enqueue(s, "TEST_REPORT", {"rows": 5, "lines": 20_000}, now=NOW, business_date=NOW.date()).id
    # When a worker runs it
    with Running(settings, engine, slots=1):
        wait_until(lambda: _failed(engine, eid) is not None, timeout=60)
    row = _failed(engine, eid)
    # Then it failed, once, with the file and the reason on one line
    assert row is not None and row.state is ExecutionState.FAILED
    reason = "No space left on device" if fault == "disk full" else "Read-only file system"
    assert row.error_type == "OutputError", (row.error_type, row.error_message)
    assert row.error_message is not None and reason in row.error_message and "\n" not in row.error_message
    assert row.error_message.startswith("cannot ") and str(small_disk) in row.error_message
    assert f"/{eid}" in row.error_message  # the execution's own folder, or its report in it
    assert row.infra_failures == 0  # the disk is not the database: no outage, no retry of its own
    # ... its rows were rolled back with it
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(BatchMetric)) == 0
    # ... and the folder holds neither the report nor a part of it
    leftovers = sorted(str(p.relative_to(small_disk)) for p in small_disk.rglob("*") if p.is_file())
    assert leftovers == []

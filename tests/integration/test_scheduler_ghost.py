"""A scheduler that is gone is not shown running: a script that forgot to stop it, or one killed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from acas_batch.db import transaction
from acas_batch.models.batch import BatchWorker
from acas_batch.models.enums import WorkerRole, WorkerState
from acas_batch.services import JobSchedulerService

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from acas_batch.services import JobSchedulerService
scheduler = JobSchedulerService(sys.argv[1])
ok, _ = scheduler.start_scheduler(workers=1)
assert ok
print(scheduler.get_scheduler_dashboard()["scheduler_running"])
# the script ends here without scheduler.stop_scheduler()
"""


def test_a_script_that_ends_without_stopping_its_scheduler_leaves_no_ghost(engine: Engine, db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACAS_")}
    env.update(
        {
            "ACAS_JOB_MODULES": "tests.jobs_fixture",
            "ACAS_POLL_SECONDS": "0.05",
            "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, db_url], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"  # it was running while the script ran
    with transaction(engine) as s:
        schedulers = s.scalars(select(BatchWorker).where(BatchWorker.role == WorkerRole.SCHEDULER)).all()
        assert [w.state for w in schedulers] == [WorkerState.STOPPED]
    assert JobSchedulerService(engine, job_code=False).get_scheduler_dashboard()["scheduler_running"] is False


def test_a_killed_scheduler_on_this_host_is_not_running(engine: Engine) -> None:
    # Given a scheduler row whose process on this host is gone (its heartbeat still fresh)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    now = datetime.now(UTC)
    with transaction(engine, write=True) as s:
        s.add(
            BatchWorker(
                id="sched-killed",
                role=WorkerRole.SCHEDULER,
                state=WorkerState.RUNNING,
                hostname=socket.gethostname(),
                pid=int(gone.stdout),
                started_at=now,
                heartbeat_at=now,
                version="0.1.0",
            )
        )
    # Then the dashboard does not show it running
    assert JobSchedulerService(engine, job_code=False).get_scheduler_dashboard()["scheduler_running"] is False

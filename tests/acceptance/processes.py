"""Real ``acas-batch`` processes for acceptance tests: started, signalled and always cleaned up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]


def engine_env(db_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACAS_")}
    env.update(
        {
            "ACAS_DATABASE_URL": db_url,
            "ACAS_DATA_DIR": str(tmp_path),
            "ACAS_JOB_MODULES": "tests.jobs_fixture",
            "ACAS_POLL_SECONDS": "0.05",
            "ACAS_LEASE_SECONDS": "2",
            "ACAS_SHUTDOWN_GRACE_SECONDS": "2",
            "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        }
    )
    env.update(extra)
    return env


class Processes:
    """Started processes, each killed (and waited for) when the test ends."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.logs / f"proc{len(self.started)}.log").open("wb")
        self._logs.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "acas_batch", *args], env=env or self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.started.append(proc)
        return proc

    def log_of(self, proc: subprocess.Popen[bytes]) -> Path:
        """The file the process writes its output to."""
        return self.logs / f"proc{self.started.index(proc)}.log"

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self._logs:
            log.close()


@contextmanager
def processes(env: dict[str, str], logs: Path) -> Iterator[Processes]:
    procs = Processes(env, logs)
    try:
        yield procs
    finally:
        procs.stop_all()

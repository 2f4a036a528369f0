"""The command line's start-up: CPU time of each command a person waits for, median of 7 runs.

Yardsticks printed in the same run: ``python -c pass`` (the interpreter alone) and the
targets of 0.3 s for ``--help``/``version`` and 0.5 s for read commands. Read commands run
on a small demo company in a scratch SQLite file (``ACAS_BENCH_CLI_DATABASE_URL`` to use
another database, which must already hold a company).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RUNS = int(os.environ.get("ACAS_BENCH_CLI_RUNS", "7"))
COMMANDS: list[tuple[list[str], float]] = [
    (["--help"], 0.3),
    (["version"], 0.3),
    (["status"], 0.5),
    (["jobs", "list"], 0.5),
    (["executions", "list"], 0.5),
]


def _cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    """CPU time (user + system) of one child process, read from its own rusage."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {stderr.strip()}")
    return usage.ru_utime + usage.ru_stime


def _median(argv: list[str], env: dict[str, str]) -> float:
    return statistics.median(_cpu_seconds(argv, env) for _ in range(RUNS))


def _cli() -> list[str]:
    return [sys.executable, "-m", "acas_batch"]


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="acas-bench-cli-") as tmp:
        env = dict(os.environ)
        url = os.environ.get("ACAS_BENCH_CLI_DATABASE_URL")
        if url is None:
            url = f"sqlite:///{Path(tmp) / 'demo.db'}"
            env["ACAS_DATABASE_URL"] = url
            env["ACAS_DATA_DIR"] = tmp
            subprocess.run([*_cli(), "init"], env=env, check=True, capture_output=True)
            subprocess.run(
                [*_cli(), "demo", "generate", "--scale", "1", "--months", "3"], env=env, check=True, capture_output=True
            )
        else:
            env["ACAS_DATABASE_URL"] = url
        rows = [(f"python -c pass, CPU s (median of {RUNS})", f"{_median([sys.executable, '-c', 'pass'], env):.3f}")]
        for args, target in COMMANDS:
            seconds = _median([*_cli(), *args], env)
            verdict = "ok" if seconds < target else "OVER"
            rows.append((f"acas-batch {' '.join(args)}, CPU s (target < {target})", f"{seconds:.3f} {verdict}"))
        return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")

"""What a command line run imports: run it in a fresh interpreter and list ``sys.modules`` after."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
from acas_batch.cli import main
sys.argv = ["acas-batch", *json.loads(sys.argv[1])]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""

#: Never loaded by a command that does not run jobs, render reports or migrate: job code,
#: the report renderer (WeasyPrint), numpy, Alembic and its Mako templates, the ledger.
HEAVY = (
    "numpy",
    "pandas",
    "alembic",
    "mako",
    "weasyprint",
    "acas_batch.reports",
    "acas_batch.ledger",
    "acas_batch.analysis",
    "acas_batch.jobs.gl",
    "acas_batch.jobs.sl",
    "acas_batch.jobs.pl",
    "acas_batch.jobs.stock",
    "acas_batch.jobs.system",
    "acas_batch.models.migrate",
    "acas_batch.batch.worker",
    "acas_batch.batch.scheduler",
    "holidays",
)
#: The ledger's tables: the engine's commands read only the engine's.
LEDGER_MODELS = tuple(
    f"acas_batch.models.{m}"
    for m in ("gl", "sl", "pl", "stock", "vat", "results_gl", "results_pl", "results_sl", "results_st")
)


def modules_after(*args: str, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    """The exit status of ``acas-batch ARGS`` and every module it had imported when it ended."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ACAS_")}
    full_env["PYTHONPATH"] = f"{ROOT / 'src'}{os.pathsep}{ROOT}"
    full_env.update(env or {})
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return int(report["exit"]), set(report["modules"])


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` (or modules below them) are among ``modules``."""
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))

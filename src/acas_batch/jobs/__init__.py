"""The 32 standard jobs, one module per ledger; ``standard`` holds the catalogue as data."""

from __future__ import annotations

import importlib

#: Modules whose ``@job`` functions make up the standard jobs' code.
JOB_MODULES = (
    "acas_batch.jobs.system",
    "acas_batch.jobs.gl_daily",
    "acas_batch.jobs.gl_close",
    "acas_batch.jobs.gl_reports",
    "acas_batch.jobs.gl_reconcile",
)


def load_standard_jobs() -> None:
    """Import every job module, registering its code in the registry (idempotent)."""
    for name in JOB_MODULES:
        importlib.import_module(name)

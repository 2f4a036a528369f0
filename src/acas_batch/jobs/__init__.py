"""The 32 standard jobs, one module per ledger; ``standard`` holds the catalogue as data.

Importing this package registers the job code (the workers import it: the
``job_modules`` setting defaults to ``acas_batch.jobs``).
"""

from __future__ import annotations

import importlib

#: Modules whose ``@job`` functions make up the standard jobs' code.
JOB_MODULES: tuple[str, ...] = (
    "acas_batch.jobs.system",
    "acas_batch.jobs.pl",
    "acas_batch.jobs.pl_payments",
    "acas_batch.jobs.pl_remittance",
    "acas_batch.jobs.pl_period",
    "acas_batch.jobs.stock_analysis",
    "acas_batch.jobs.stock_forecast",
    "acas_batch.jobs.stock_reorder",
    "acas_batch.jobs.stock_dead",
    "acas_batch.jobs.stock_expiry",
    "acas_batch.jobs.stock_counting",
    "acas_batch.jobs.stock_replenishment",
    "acas_batch.jobs.sl",
    "acas_batch.jobs.gl_daily",
    "acas_batch.jobs.gl_close",
    "acas_batch.jobs.gl_reports",
    "acas_batch.jobs.gl_reconcile",
)


def load_standard_jobs() -> None:
    """Import every job module, registering its code in the registry (idempotent)."""
    for name in JOB_MODULES:
        importlib.import_module(name)


load_standard_jobs()

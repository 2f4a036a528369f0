"""The 32 standard jobs, by ledger: ``gl``, ``sl``, ``pl``, ``stock`` and ``system``.

Each job is one module named after it (``jobs/sl/aged_debtors.py`` is SL_AGED_DEBTORS);
queries a ledger's jobs share sit beside them (``jobs/sl/queries.py``). ``catalogue``
holds the standard definitions, schedules and dependencies as data, and their installer;
``params`` the parameter types the jobs share.

Importing this package registers nothing: the worker's loader imports a package with every
module below it (:func:`acas_batch.batch.registry.load_job_modules`), so the ``job_modules``
setting ``acas_batch.jobs`` (the default) loads every standard job and ``acas_batch.jobs.sl``
the sales ledger's.
"""

from __future__ import annotations

from acas_batch.batch.registry import load_job_modules


def load_standard_jobs() -> None:
    """Register the code of every standard job (idempotent)."""
    load_job_modules(("acas_batch.jobs",))

"""The spec's Python API: thin facades returning ``(success, result)``.

The module names follow the spec's layout: ``job_scheduler``, ``job_definitions``,
``monitoring_alerts``, ``log_viewer``. The facades are imported on first use (PEP 562), so
that a command importing one service module does not load the engine, the monitor and
the backups behind every facade.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acas_batch.services.job_definitions import BatchJobDefinitionsService
    from acas_batch.services.job_scheduler import RESULT_EXIT_CODES, JobSchedulerService
    from acas_batch.services.log_viewer import BatchLogViewerService
    from acas_batch.services.monitoring_alerts import BatchMonitoringService

_WHERE = {
    "RESULT_EXIT_CODES": "acas_batch.services.job_scheduler",
    "BatchJobDefinitionsService": "acas_batch.services.job_definitions",
    "BatchLogViewerService": "acas_batch.services.log_viewer",
    "BatchMonitoringService": "acas_batch.services.monitoring_alerts",
    "JobSchedulerService": "acas_batch.services.job_scheduler",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "RESULT_EXIT_CODES",
    "BatchJobDefinitionsService",
    "BatchLogViewerService",
    "BatchMonitoringService",
    "JobSchedulerService",
]

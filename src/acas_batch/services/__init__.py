"""The spec's Python API: thin facades returning ``(success, result)``.

The module names follow the spec's layout: ``job_scheduler``, ``job_definitions``,
``monitoring_alerts``, ``log_viewer``.
"""

from __future__ import annotations

from acas_batch.services.job_definitions import BatchJobDefinitionsService
from acas_batch.services.job_scheduler import RESULT_EXIT_CODES, JobSchedulerService
from acas_batch.services.log_viewer import BatchLogViewerService
from acas_batch.services.monitoring_alerts import BatchMonitoringService

__all__ = [
    "RESULT_EXIT_CODES",
    "BatchJobDefinitionsService",
    "BatchLogViewerService",
    "BatchMonitoringService",
    "JobSchedulerService",
]

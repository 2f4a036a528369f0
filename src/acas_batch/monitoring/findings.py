"""A finding: what a monitoring rule saw, before it becomes (or refreshes) an alert."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from acas_batch.models import AlertSeverity


@dataclass(frozen=True)
class Finding:
    """One problem, with the key that makes repeated sightings one alert."""

    rule: str  # failure, slow_run, running_long, late, missed
    severity: AlertSeverity
    dedup_key: str
    title: str
    message: str
    job_id: int | None = None
    execution_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

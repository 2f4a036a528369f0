"""The engine: calendar, registry, scheduler, queue, worker and the job context."""

from __future__ import annotations

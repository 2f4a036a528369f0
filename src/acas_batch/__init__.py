"""acas-batch: the batch processing system of the ACAS accounting suite."""

from __future__ import annotations

__version__ = "0.1.0"

"""A job that runs for minutes and reports progress, for the browser tests to cancel (``E2E_LONG``)."""

from __future__ import annotations

import time
from typing import Any

from acas_batch.batch.context import JobContext
from acas_batch.batch.registry import job
from acas_batch.models import Module


@job("E2E_LONG", module=Module.SYS, timeout_seconds=900, max_attempts=1)
def long_run(ctx: JobContext[Any]) -> None:
    """Count to 6,000 slowly (ten minutes), reporting progress."""
    ctx.log.info("counting slowly", event="long_started")
    for i in range(6000):
        time.sleep(0.1)
        if i % 10 == 0:
            ctx.progress(i, 6000)

"""Retry policy: which errors are retried, and how long to wait before the next attempt.

The delay grows exponentially from the job's base (``retry_backoff_seconds``) and is
capped (``retry_backoff_max_seconds``); "full jitter" of up to half the delay spreads
retries of many executions that failed together. Retries live in the database, as new
execution rows, so they survive restarts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

#: The error type recorded when a worker child process dies under a job.
CHILD_DIED = "WorkerChildDied"
#: The error type recorded when a worker stops renewing its lease.
LEASE_EXPIRED = "LeaseExpired"
#: The error type recorded when the database went away under a running job.
DATABASE_LOST = "DatabaseUnavailable"
#: The error type recorded when a worker stopped and interrupted a job after its grace period.
WORKER_SHUTDOWN = "WorkerShutdown"
#: Failures of the infrastructure, not of the job's code. They say nothing about the job, so
#: they spend their own budget (:data:`INFRA_RETRY`), not the job's ``max_attempts``, and the
#: job's recovery policy (retry from the checkpoint, hold for an operator, or fail) decides
#: what follows, whichever process died.
INFRASTRUCTURE = frozenset({CHILD_DIED, LEASE_EXPIRED, DATABASE_LOST, WORKER_SHUTDOWN})


@dataclass(frozen=True)
class RetryPolicy:
    """A job's retry settings."""

    max_attempts: int = 3
    base_seconds: float = 30
    cap_seconds: float = 3600
    retry_on: tuple[str, ...] | None = None  # None: every error is retryable

    def retryable(self, error_type: str) -> bool:
        """Whether an error of ``error_type`` (a class name) may be retried.

        A crash of the child process is always retryable: it says nothing about the job.
        """
        if self.retry_on is None or error_type == CHILD_DIED:
            return True
        return error_type in self.retry_on

    def next_delay(self, failed_attempt: int, rng: random.Random | None = None) -> timedelta:
        """Delay before the attempt that follows ``failed_attempt`` (1-based).

        ``base * 2**(failed_attempt-1)``, capped, then jittered into ``[d/2, d]``.
        """
        raw = min(self.cap_seconds, self.base_seconds * (2 ** (failed_attempt - 1)))
        jitter = (rng or random).uniform(0.5, 1.0)
        return timedelta(seconds=raw * jitter)

    def attempts_left(self, attempt: int) -> bool:
        return attempt < self.max_attempts


def policy_of(
    max_attempts: int, base_seconds: float, cap_seconds: float, retry_on: Sequence[str] | None
) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=max_attempts,
        base_seconds=base_seconds,
        cap_seconds=cap_seconds,
        retry_on=tuple(retry_on) if retry_on is not None else None,
    )


#: The budget and backoff of infrastructure failures in one chain of attempts: ten, the first
#: retried at once (a crash is usually over by the time it is noticed), the next after 5 s,
#: doubling to at most 5 minutes, so a machine that keeps crashing is not hammered.
INFRA_RETRY = RetryPolicy(max_attempts=10, base_seconds=5, cap_seconds=300)


def is_infrastructure(error_type: str | None) -> bool:
    """Whether a failure recorded with ``error_type`` was the infrastructure's, not the job's."""
    return error_type in INFRASTRUCTURE


def infra_delay(failures_before: int, rng: random.Random | None = None) -> timedelta | None:
    """Delay before the attempt that follows infrastructure failure number ``failures_before + 1``.

    None once :data:`INFRA_RETRY` is spent.
    """
    n = failures_before + 1
    if n > INFRA_RETRY.max_attempts:
        return None
    return timedelta(0) if n == 1 else INFRA_RETRY.next_delay(n - 1, rng)

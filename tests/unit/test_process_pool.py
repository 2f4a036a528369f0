"""reports.pool: calls run in worker subprocesses, answers and errors come back to the caller."""

from __future__ import annotations

import os

import pytest

from acas_batch.reports.pool import ProcessPool


def test_calls_run_in_other_processes_and_their_answers_and_errors_come_back() -> None:
    with ProcessPool(2) as pool:
        pids = {pool.submit(os.getpid).result() for _ in range(4)}
        assert [f.result() for f in [pool.submit(abs, -n) for n in range(5)]] == [0, 1, 2, 3, 4]
        with pytest.raises(ValueError, match="invalid literal"):
            pool.submit(int, "x").result()
        assert pool.submit(abs, -7).result() == 7  # a worker survives an error
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least one worker"):
        ProcessPool(0)

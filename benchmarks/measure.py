"""How the benchmarks measure: wall time by one stopwatch, repeated timings by their median or
best, peak memory as the kernel's peak RSS.

Wall time is ``time.perf_counter``. Peak RSS is ``getrusage``'s ``ru_maxrss`` (kB on Linux): of
this process, or of the largest child it has waited for; a benchmark that wants a figure of its
own measures in a fresh process (:func:`in_child`), whose peak does not start from its parent's.
"""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Timer:
    """The wall time since the timer started; fixed when its ``with timed()`` block ends."""

    def __init__(self) -> None:
        self._began = time.perf_counter()
        self._ended: float | None = None

    @property
    def seconds(self) -> float:
        return (self._ended if self._ended is not None else time.perf_counter()) - self._began

    @property
    def ms(self) -> float:
        return self.seconds * 1000

    def stop(self) -> None:
        self._ended = time.perf_counter()


@contextmanager
def timed() -> Iterator[Timer]:
    """Time the block: ``with timed() as t: ...``, then ``t.seconds`` (or ``t.ms``)."""
    timer = Timer()
    try:
        yield timer
    finally:
        timer.stop()


def median_ms(action: Callable[[], object], repeats: int) -> float:
    """The median of ``repeats`` timings of ``action``, in milliseconds."""
    times = []
    for _ in range(repeats):
        with timed() as t:
            action()
        times.append(t.ms)
    return statistics.median(times)


def best_seconds(action: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` timings of ``action``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        with timed() as t:
            action()
        best = min(best, t.seconds)
    return best


def peak_rss_mb() -> float:
    """This process's peak RSS so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mb() -> float:
    """The peak RSS of the largest child this process has waited for, in MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``fn(*args)`` in a fresh process from the forkserver, so its peak memory is its own."""
    with multiprocessing.get_context("forkserver").Pool(1, maxtasksperchild=1) as pool:
        result: dict[str, Any] = pool.apply(fn, args)
    return result

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from acas_batch.clock import SimulatedClock, SystemClock


def test_simulated_clock_moves_only_when_told() -> None:
    start = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    clock = SimulatedClock(start)
    assert clock.now() == start
    clock.sleep(90)
    assert clock.now() == start + timedelta(seconds=90)
    clock.advance(timedelta(hours=1))
    assert clock.now() == start + timedelta(seconds=90, hours=1)


def test_simulated_clock_normalises_to_utc_and_refuses_naive() -> None:
    clock = SimulatedClock(datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=1))))
    assert clock.now() == datetime(2026, 7, 1, 11, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        SimulatedClock(datetime(2026, 7, 1, 12, 0))
    with pytest.raises(ValueError, match="naive"):
        clock.set(datetime(2026, 7, 1, 12, 0))


def test_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().tzinfo is UTC


def test_a_flowing_simulated_clock_keeps_pace_with_the_wall_clock_then_stands_still() -> None:
    start = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    clock = SimulatedClock(start)
    clock.flow(True)
    wall = time.perf_counter()
    time.sleep(0.05)
    flowed = clock.now() - start
    assert timedelta(seconds=0.05) <= flowed <= timedelta(seconds=time.perf_counter() - wall)
    clock.flow(False)
    stopped = clock.now()
    time.sleep(0.02)
    assert clock.now() == stopped  # standing still again
    clock.flow(True)
    clock.set(datetime(2026, 11, 1, 1, 0, tzinfo=UTC))  # a jump while flowing flows on from the new instant
    assert clock.now() >= datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
    assert clock.now() - datetime(2026, 11, 1, 1, 0, tzinfo=UTC) < timedelta(seconds=5)

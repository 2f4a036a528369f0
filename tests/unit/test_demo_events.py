"""The demo generator's planned events: read back on their day, in the order they were planned."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from acas_batch.ledger.demo_events import PlannedEvents

START = date(2026, 1, 5)


def _run(plans: list[tuple[int, int]], queue: PlannedEvents | None) -> list[tuple[int, str, int]]:
    """Run 25 days; each planned event plans a follow-up ``later`` days on. With no queue, a plain heap."""
    heap: list[tuple[date, int, str, tuple[int, ...]]] = []
    seq = 0

    def at(day: date, kind: str, payload: tuple[int, ...]) -> None:
        nonlocal seq
        seq += 1
        if queue is None:
            heapq.heappush(heap, (day, seq, kind, payload))
        else:
            queue.at(day, kind, payload)

    def due(day: date) -> Iterator[tuple[str, tuple[int, ...]]]:
        if queue is not None:
            yield from queue.due(day)
            return
        while heap and heap[0][0] <= day:
            yield heapq.heappop(heap)[2:]

    for n, (offset, _) in enumerate(plans):
        at(START + timedelta(days=offset), "plan", (n,))
    seen = []
    for d in range(25):
        day = START + timedelta(days=d)
        for kind, (n,) in due(day):
            seen.append((d, kind, n))
            if kind == "plan":
                at(day + timedelta(days=plans[n][1]), "follow", (n,))
    return seen


@given(plans=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 3)), max_size=60), batch=st.integers(1, 8))
def test_events_come_back_on_their_day_in_planning_order(plans: list[tuple[int, int]], batch: int) -> None:
    # Given events planned ahead, each planning a follow-up the same day or a few days on, written to disk in batches
    queue = PlannedEvents(batch=batch)
    try:
        # When the days are run in order, through the queue and through a plain in-memory heap
        on_disk = _run(plans, queue)
    finally:
        queue.close()
    # Then both give the same events on the same days in the same order
    assert on_disk == _run(plans, None)
    assert len(on_disk) == 2 * len(plans) - sum(1 for off, later in plans if off + later >= 25)


def test_a_payment_run_takes_its_day_by_supplier_in_planning_order() -> None:
    q = PlannedEvents(batch=2)
    friday = date(2026, 1, 9)
    q.pay(friday, 7, 101, 500, 0)
    q.pay(friday, 3, 102, 900, 10)
    q.pay(friday + timedelta(days=7), 3, 103, 100, 0)
    q.pay(friday, 7, 104, 200, 0)
    assert q.payment_run(friday) == {3: [(102, 900, 10)], 7: [(101, 500, 0), (104, 200, 0)]}
    assert q.payment_run(friday) == {}  # taken once
    assert q.payment_run(friday + timedelta(days=7)) == {3: [(103, 100, 0)]}
    q.close()

"""Forecasts: every occurrence of many schedules in a window, in one time order."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from acas_batch.batch.business_days import BusinessCalendar
from acas_batch.batch.calendar import Occurrence, ScheduleSpec, next_occurrences, occurrences

K = TypeVar("K")

# Every zone's offset from UTC is under a day, so instants this far outside a range of
# dates cover every occurrence whose local business date lies inside it.
_DAY_MARGIN = timedelta(days=2)


def _tagged(key: K, found: Iterable[Occurrence]) -> Iterator[tuple[K, Occurrence]]:
    for occurrence in found:
        yield key, occurrence


def _merge(streams: list[Iterator[tuple[K, Occurrence]]]) -> Iterator[tuple[K, Occurrence]]:
    # Ties (two schedules at one instant) keep the order of the entries: heapq.merge is stable.
    return heapq.merge(*streams, key=lambda row: row[1].nominal)


def forecast(
    entries: Iterable[tuple[K, ScheduleSpec]], calendar: BusinessCalendar, after: datetime, until: datetime
) -> list[tuple[K, Occurrence]]:
    """Every occurrence with ``after`` < nominal <= ``until`` of every entry, by nominal time.

    ``entries`` are (key, spec) pairs, the key usually the job name; rows at the same
    instant keep the order of ``entries``.
    """
    return list(_merge([_tagged(key, occurrences(spec, calendar, after, until)) for key, spec in entries]))


def forecast_days(
    entries: Iterable[tuple[K, ScheduleSpec]], calendar: BusinessCalendar, first: date, last: date
) -> list[tuple[K, Occurrence]]:
    """Every occurrence whose business date lies from ``first`` to ``last`` inclusive, by nominal time.

    Business dates are local to each schedule's zone, so a London and a New York
    schedule are both included for the whole of ``first``, whatever their offsets.
    """
    after = datetime.combine(first - _DAY_MARGIN, time(), tzinfo=UTC)
    until = datetime.combine(last + _DAY_MARGIN, time(), tzinfo=UTC)
    return [row for row in forecast(entries, calendar, after, until) if first <= row[1].business_date <= last]


def next_across(
    entries: Iterable[tuple[K, ScheduleSpec]], calendar: BusinessCalendar, after: datetime, n: int
) -> list[tuple[K, Occurrence]]:
    """The first ``n`` occurrences strictly after ``after`` across all entries, by nominal time."""
    streams = [_tagged(key, next_occurrences(spec, calendar, after, n)) for key, spec in entries]
    return list(_merge(streams))[: max(n, 0)]

"""Ageing of open items into day buckets (aged debtors and aged creditors).

Buckets are given by their inclusive upper bounds in days. The default
``(0, 30, 60, 90, 120)`` gives ``current`` (not yet overdue), ``1-30``, ``31-60``,
``61-90``, ``91-120`` and ``121+``. ACAS ages by invoice date with ``(29, 59, 89)``:
``0-29``, ``30-59``, ``60-89``, ``90+``.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, TypeVar

from acas_batch.errors import ValidationError

K = TypeVar("K", bound=Hashable)

DEFAULT_BOUNDS: tuple[int, ...] = (0, 30, 60, 90, 120)
ACAS_BOUNDS: tuple[int, ...] = (29, 59, 89)


def check_bounds(bounds: Sequence[int]) -> tuple[int, ...]:
    """Validate bucket bounds: at least one, non-negative, strictly increasing."""
    if not bounds:
        raise ValidationError("ageing bounds: at least one bound is needed")
    if bounds[0] < 0 or any(b <= a for a, b in itertools.pairwise(bounds)):
        raise ValidationError(f"ageing bounds {list(bounds)} must be non-negative and strictly increasing")
    return tuple(bounds)


def bucket_labels(bounds: Sequence[int]) -> list[str]:
    """The label of each bucket, oldest last."""
    bounds = check_bounds(bounds)
    labels = ["current" if bounds[0] == 0 else f"0-{bounds[0]}"]
    labels += [f"{lo + 1}-{hi}" for lo, hi in itertools.pairwise(bounds)]
    labels.append(f"{bounds[-1] + 1}+")
    return labels


def bucket_index(days: int, bounds: Sequence[int]) -> int:
    """Index of the bucket for an item ``days`` old (negative: not yet due → first bucket)."""
    return bisect_left(bounds, days)


def days_between(start: date, end: date) -> int:
    return (end - start).days


@dataclass
class AgedBalance(Generic[K]):
    """One account's outstanding amount split into buckets (pence)."""

    key: K
    buckets: list[int]
    total: int = 0
    items: int = 0


@dataclass
class AgeingReport(Generic[K]):
    """Aged balances per account and the bucket totals."""

    labels: list[str]
    balances: dict[K, AgedBalance[K]] = field(default_factory=dict)
    totals: list[int] = field(default_factory=list)

    @property
    def grand_total(self) -> int:
        return sum(self.totals)


def age_items(items: Iterable[tuple[K, int, int]], bounds: Sequence[int] = DEFAULT_BOUNDS) -> AgeingReport[K]:
    """Age ``(account, outstanding_pence, days)`` items.

    ``days`` is days past the ageing date (due date or invoice date). Credits
    (unallocated receipts, credit notes) are negative amounts and age like any item.
    """
    bounds = check_bounds(bounds)
    labels = bucket_labels(bounds)
    report: AgeingReport[K] = AgeingReport(labels=labels, totals=[0] * len(labels))
    for key, amount, days in items:
        bal = report.balances.get(key)
        if bal is None:
            bal = report.balances[key] = AgedBalance(key=key, buckets=[0] * len(labels))
        idx = bucket_index(days, bounds)
        bal.buckets[idx] += amount
        bal.total += amount
        bal.items += 1
        report.totals[idx] += amount
    return report

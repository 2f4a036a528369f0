"""Stock maths: demand statistics, safety stock, reorder point, EOQ, ABC classes.

Quantities are in the item's base unit. Statistics (means, deviations, EOQ) are real
numbers; what is ordered is rounded up to whole supplier packs.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from statistics import NormalDist
from typing import TypeVar

from acas_batch.errors import ValidationError

K = TypeVar("K", bound=Hashable)


def z_for_service_level(level: float) -> float:
    """Standard normal quantile for a cycle service level (0.95 → 1.645)."""
    if not 0.5 <= level < 1:
        raise ValidationError(f"service_level {level} must be at least 0.5 and below 1")
    return NormalDist().inv_cdf(level)


@dataclass(frozen=True)
class DemandStats:
    """Daily demand over a history window, zero-demand days included."""

    days: int
    mean: float
    stdev: float

    @property
    def annual(self) -> float:
        return self.mean * 365


def demand_stats(days: int, total: float, sum_squares: float) -> DemandStats:
    """Mean and sample standard deviation of daily demand from sums (set-based friendly).

    ``total`` and ``sum_squares`` are over the days that had demand; the other days
    count as zero, so the database only needs ``SUM(qty)`` and ``SUM(qty*qty)`` per day.
    """
    if days < 2:
        raise ValidationError(f"history_days {days} must be at least 2")
    mean = total / days
    variance = max(0.0, (sum_squares - days * mean * mean) / (days - 1))
    return DemandStats(days=days, mean=mean, stdev=math.sqrt(variance))


def safety_stock(stats: DemandStats, lead_time_days: float, z: float) -> float:
    """z · σ_daily · √L."""
    return z * stats.stdev * math.sqrt(max(lead_time_days, 0.0))


def reorder_point(stats: DemandStats, lead_time_days: float, z: float) -> float:
    """d · L + safety stock."""
    return stats.mean * lead_time_days + safety_stock(stats, lead_time_days, z)


def eoq(annual_demand: float, order_cost_pence: int, unit_cost_pence: int, holding_rate: Decimal) -> float:
    """Economic order quantity √(2DS/H), H = holding rate × unit cost (per unit per year).

    Returns 0 when there is no demand; refuses a zero holding cost (EOQ undefined).
    """
    if annual_demand <= 0:
        return 0.0
    holding = float(holding_rate) * unit_cost_pence
    if holding <= 0:
        raise ValidationError(
            f"EOQ needs a positive holding cost (holding_rate {holding_rate} × unit cost {unit_cost_pence}p)"
        )
    return math.sqrt(2 * annual_demand * order_cost_pence / holding)


def round_up_to_pack(quantity: float, pack_size: int) -> int:
    """The smallest whole number of packs covering ``quantity`` (at least one pack if positive)."""
    if pack_size < 1:
        raise ValidationError(f"pack size {pack_size} must be at least 1")
    if quantity <= 0:
        return 0
    return math.ceil(quantity / pack_size - 1e-9) * pack_size


@dataclass(frozen=True)
class ReorderSuggestion:
    """What to order for one item, and why."""

    reorder_point: float
    safety_stock: float
    eoq: float
    available: int
    quantity: int


def suggest_order(
    stats: DemandStats,
    *,
    lead_time_days: float,
    z: float,
    available: int,
    order_cost_pence: int,
    unit_cost_pence: int,
    holding_rate: Decimal,
    pack_size: int = 1,
    max_stock: int | None = None,
) -> ReorderSuggestion | None:
    """A suggestion when available stock is at or below the reorder point, else None.

    Orders the larger of the EOQ and the shortfall to the reorder point, rounded up to
    whole packs; with ``max_stock`` it never orders above that level.
    """
    rop = reorder_point(stats, lead_time_days, z)
    if available > rop:
        return None
    q_eoq = eoq(stats.annual, order_cost_pence, unit_cost_pence, holding_rate) if unit_cost_pence > 0 else 0.0
    need = max(q_eoq, rop - available, 1.0 if stats.mean > 0 else 0.0)
    if max_stock is not None:
        need = min(need, max(max_stock - available, 0))
    qty = round_up_to_pack(need, pack_size)
    if qty == 0:
        return None
    return ReorderSuggestion(
        reorder_point=rop,
        safety_stock=safety_stock(stats, lead_time_days, z),
        eoq=q_eoq,
        available=available,
        quantity=qty,
    )


class AbcClass(StrEnum):
    """Pareto class of an item by annual consumption value."""

    A = "A"  # the few items that make up the first a_pct of consumption value
    B = "B"  # the next items, up to b_pct
    C = "C"  # the rest, and every item with no consumption


def abc_classify(values: Iterable[tuple[K, int]], a_pct: int = 80, b_pct: int = 95) -> dict[K, AbcClass]:
    """Classify items by consumption value (pence).

    Items are ranked by value (descending, ties by key). An item whose cumulative share
    *before* it is below ``a_pct`` is A (so the item that crosses the line is A and A
    covers at least a_pct of the value); likewise B up to ``b_pct``; the rest C. Items
    with zero or negative value are C. Exact integer arithmetic.
    """
    if not 0 < a_pct < b_pct <= 100:
        raise ValidationError(f"need 0 < a_pct ({a_pct}) < b_pct ({b_pct}) <= 100")
    rows = sorted(values, key=lambda kv: (-kv[1], str(kv[0])))
    total = sum(v for _, v in rows if v > 0)
    result: dict[K, AbcClass] = {}
    cumulative = 0
    for key, value in rows:
        if value <= 0 or total == 0:
            result[key] = AbcClass.C
            continue
        if cumulative * 100 < a_pct * total:
            result[key] = AbcClass.A
        elif cumulative * 100 < b_pct * total:
            result[key] = AbcClass.B
        else:
            result[key] = AbcClass.C
        cumulative += value
    return result

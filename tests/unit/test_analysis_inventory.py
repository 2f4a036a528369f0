from __future__ import annotations

import math
import statistics
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acas_batch.analysis.inventory import (
    AbcClass,
    abc_classify,
    demand_stats,
    eoq,
    reorder_point,
    round_up_to_pack,
    safety_stock,
    suggest_order,
    z_for_service_level,
)
from acas_batch.errors import ValidationError


def test_z_and_safety_stock() -> None:
    assert z_for_service_level(0.95) == pytest.approx(1.6449, abs=1e-4)
    with pytest.raises(ValidationError):
        z_for_service_level(1.0)
    stats = demand_stats(days=4, total=20, sum_squares=4**2 + 6**2 + 10**2)  # demand 4, 6, 10, 0
    assert stats.mean == 5
    assert stats.stdev == pytest.approx(statistics.stdev([4, 6, 10, 0]))
    assert safety_stock(stats, 9, 2.0) == pytest.approx(2.0 * stats.stdev * 3)
    assert reorder_point(stats, 9, 2.0) == pytest.approx(45 + 6 * stats.stdev)


def test_eoq_textbook_case() -> None:
    # D = 1,000 a year, S = £50 an order, H = 25% of £10 = £2.50: EOQ = sqrt(2*1000*50/2.5) = 200
    assert eoq(1_000, 5_000, 1_000, Decimal("0.25")) == pytest.approx(200)
    assert eoq(0, 5_000, 1_000, Decimal("0.25")) == 0
    with pytest.raises(ValidationError, match="holding cost"):
        eoq(100, 5_000, 0, Decimal("0.25"))


def test_pack_rounding() -> None:
    assert round_up_to_pack(1, 12) == 12
    assert round_up_to_pack(24, 12) == 24
    assert round_up_to_pack(24.2, 12) == 36
    assert round_up_to_pack(0, 12) == 0


def test_suggestion_only_at_or_below_reorder_point() -> None:
    stats = demand_stats(days=365, total=3_650, sum_squares=3_650 * 10)  # 10 a day, no variation
    common = {"lead_time_days": 7, "z": 1.645, "order_cost_pence": 5_000, "unit_cost_pence": 1_000}
    assert suggest_order(stats, available=71, holding_rate=Decimal("0.25"), **common) is None
    s = suggest_order(stats, available=70, holding_rate=Decimal("0.25"), pack_size=50, **common)
    assert s is not None
    assert s.reorder_point == pytest.approx(70)
    assert s.eoq == pytest.approx(math.sqrt(2 * 3_650 * 5_000 / 250))  # 382.1
    assert s.quantity == 400  # EOQ rounded up to packs of 50


def test_abc_hand_example() -> None:
    # Values 50, 25, 10, 8, 4, 2, 1, 0 (total 100): cumulative before each: 0, 50, 75, 85, 93, 97, 99
    values = [("I1", 50), ("I2", 25), ("I3", 10), ("I4", 8), ("I5", 4), ("I6", 2), ("I7", 1), ("I8", 0)]
    classes = abc_classify(values, 80, 95)
    assert classes == {
        "I1": AbcClass.A,
        "I2": AbcClass.A,
        "I3": AbcClass.A,  # crosses 80%: still A
        "I4": AbcClass.B,
        "I5": AbcClass.B,  # crosses 95%: still B
        "I6": AbcClass.C,
        "I7": AbcClass.C,
        "I8": AbcClass.C,  # no consumption
    }
    with pytest.raises(ValidationError):
        abc_classify(values, 95, 80)


@given(st.dictionaries(st.text(min_size=1, max_size=4), st.integers(0, 10**9), max_size=40))
def test_abc_covers_the_thresholds_and_follows_value(values: dict[str, int]) -> None:
    classes = abc_classify(values.items(), 80, 95)
    total = sum(values.values())
    a_value = sum(v for k, v in values.items() if classes[k] is AbcClass.A)
    ab_value = a_value + sum(v for k, v in values.items() if classes[k] is AbcClass.B)
    if total:
        assert a_value * 100 >= 80 * total
        assert ab_value * 100 >= 95 * total
    rank = {AbcClass.A: 0, AbcClass.B: 1, AbcClass.C: 2}
    for k1, v1 in values.items():
        for k2, v2 in values.items():
            if v1 > v2:
                assert rank[classes[k1]] <= rank[classes[k2]]

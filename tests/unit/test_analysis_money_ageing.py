from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acas_batch.analysis.ageing import ACAS_BOUNDS, DEFAULT_BOUNDS, age_items, bucket_labels
from acas_batch.analysis.money import apply_rate, format_pounds, pounds, round_half_up, whole_pounds_truncated
from acas_batch.errors import ValidationError


def test_half_up_to_the_penny() -> None:
    assert apply_rate(1_002, Decimal("0.20")) == 200  # 200.4p -> 200p
    assert apply_rate(1_003, Decimal("0.20")) == 201  # 200.6p -> 201p
    assert apply_rate(1_025, Decimal("0.20")) == 205  # exactly 205p
    assert apply_rate(1_010, Decimal("0.05")) == 51  # 50.5p -> 51p (half goes up)
    assert round_half_up(Decimal("-50.5")) == -51  # half away from zero on credits


def test_pounds_conversions() -> None:
    assert pounds(123_456) == Decimal("1234.56")
    assert whole_pounds_truncated(123_499) == 1234
    assert whole_pounds_truncated(-123_499) == -1234
    assert format_pounds(-123_456_789) == "-1,234,567.89"


def test_default_buckets_and_acas_buckets() -> None:
    assert bucket_labels(DEFAULT_BOUNDS) == ["current", "1-30", "31-60", "61-90", "91-120", "121+"]
    assert bucket_labels(ACAS_BOUNDS) == ["0-29", "30-59", "60-89", "90+"]


def test_items_fall_in_the_right_bucket_and_credits_reduce_it() -> None:
    # Given a customer with items 10 days before due, due today, 1, 30, 31, 120 and 121 days late
    items = [("C1", 100, -10), ("C1", 200, 0), ("C1", 300, 1), ("C1", 400, 30), ("C1", 500, 31)]
    items += [("C1", 600, 120), ("C1", 700, 121), ("C1", -150, 45), ("C2", 1_000, 61)]
    report = age_items(items)
    assert report.balances["C1"].buckets == [300, 700, 350, 0, 600, 700]
    assert report.balances["C1"].total == 2_650
    assert report.balances["C2"].buckets == [0, 0, 0, 1_000, 0, 0]
    assert report.totals == [300, 700, 350, 1_000, 600, 700]
    assert report.grand_total == 3_650


@pytest.mark.parametrize("bounds", [(), (30, 30), (-1, 10), (60, 30)])
def test_bad_bounds_are_refused(bounds: tuple[int, ...]) -> None:
    with pytest.raises(ValidationError):
        bucket_labels(bounds)


@given(st.lists(st.tuples(st.sampled_from("ABC"), st.integers(-(10**9), 10**9), st.integers(-400, 400)), max_size=60))
def test_ageing_conserves_every_penny(items: list[tuple[str, int, int]]) -> None:
    report = age_items(items, ACAS_BOUNDS)
    assert report.grand_total == sum(a for _, a, _ in items)
    for key, bal in report.balances.items():
        assert sum(bal.buckets) == bal.total == sum(a for k, a, _ in items if k == key)

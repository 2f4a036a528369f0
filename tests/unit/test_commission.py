"""Commission arithmetic: marginal tiers, clawbacks, rounding once per salesperson."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acas_batch.analysis.commission import Tier, check_tiers, commission_due, effective_rate
from acas_batch.errors import ValidationError

BASE = Decimal("0.0250")
TIERS = (Tier(100_000, Decimal("0.0400")), Tier(500_000, Decimal("0.0500")))


def test_flat_rate_rounds_half_up_once() -> None:
    assert commission_due(45_001, Decimal("0.0500")) == 2_250  # 2,250.05
    assert commission_due(45_010, Decimal("0.0500")) == 2_251  # 2,250.5 -> up
    assert commission_due(0, Decimal("0.0500")) == 0


def test_tiers_are_marginal_bands() -> None:
    # £1,000 at 2.5% = £25; £4,000 at 4% = £160; £1,000 at 5% = £50
    assert commission_due(600_000, BASE, TIERS) == 2_500 + 16_000 + 5_000
    assert commission_due(150_000, BASE, TIERS) == 2_500 + 2_000
    assert commission_due(100_000, BASE, TIERS) == 2_500  # nothing above the first threshold yet
    assert commission_due(90_000, BASE, TIERS[::-1]) == 2_250  # order of the tiers does not matter


def test_negative_net_sales_are_a_clawback_at_the_base_rate() -> None:
    assert commission_due(-2_000, Decimal("0.0300"), TIERS) == -60
    assert commission_due(-50, Decimal("0.0300")) == -2  # -1.5 -> away from zero


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_tiers_never_pay_less_than_the_base_rate_and_never_more_than_the_top_rate(net: int) -> None:
    tiered = commission_due(net, BASE, TIERS)
    flat = commission_due(net, BASE)
    top = commission_due(net, Decimal("0.0500"))
    if net >= 0:
        assert flat <= tiered <= top
    else:
        assert tiered == flat


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ((Tier(0, Decimal("0.01")),), "threshold 0"),
        ((Tier(10, Decimal("1")),), "rate 1"),
        ((Tier(10, Decimal("0.01")), Tier(10, Decimal("0.02"))), "repeat"),
    ],
)
def test_bad_tiers_are_refused(tiers: tuple[Tier, ...], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        check_tiers(tiers)


def test_effective_rate() -> None:
    assert effective_rate(150_000, 4_500) == Decimal("0.0300")
    assert effective_rate(0, 0) == Decimal("0.0000")

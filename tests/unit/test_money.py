"""Money: VAT per line half-up to the penny, pro-rata shares, formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acas_batch.ledger.money import format_pence, percent_of, pro_rata, round_pence, vat_for

TWENTY, FIVE = Decimal("0.2000"), Decimal("0.0500")


@pytest.mark.parametrize(
    ("net", "rate", "vat"),
    [
        (1234, TWENTY, 247),  # 246.8p -> 247p
        (1232, TWENTY, 246),  # 246.4p -> 246p
        (10, FIVE, 1),  # exactly 0.5p -> up
        (9, FIVE, 0),  # 0.45p -> down
        (0, TWENTY, 0),
        (-10, FIVE, -1),  # a credit rounds symmetrically
        (99_999_999, TWENTY, 20_000_000),  # 19,999,999.8p
    ],
)
def test_vat_is_rounded_half_up_per_line(net: int, rate: Decimal, vat: int) -> None:
    assert vat_for(net, rate) == vat


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from([TWENTY, FIVE, Decimal("0.175")]))
def test_vat_is_within_half_a_penny_of_the_exact_figure(net: int, rate: Decimal) -> None:
    exact = Decimal(net) * rate
    vat = vat_for(net, rate)
    assert abs(Decimal(vat) - exact) <= Decimal("0.5")
    assert Decimal(vat) - exact != Decimal("-0.5")  # a half penny always goes up


def test_round_pence_takes_halves_away_from_zero() -> None:
    assert [round_pence(Decimal(x)) for x in ("2.5", "3.5", "-2.5", "2.4999")] == [3, 4, -3, 2]


def test_percent_of_is_half_up() -> None:
    assert percent_of(12345, Decimal("2.5")) == 309  # 308.625
    assert percent_of(200, Decimal("0.25")) == 1  # 0.5


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=10**6), st.data())
def test_pro_rata_shares_add_up_when_the_last_takes_the_rest(total: int, whole: int, data: st.DataObject) -> None:
    part = data.draw(st.integers(min_value=0, max_value=whole))
    first = pro_rata(total, part, whole)
    rest = pro_rata(total - first, whole - part, whole - part) if part < whole else 0
    assert first + rest == total
    assert pro_rata(total, whole, whole) == total


def test_pro_rata_refuses_a_part_larger_than_the_whole() -> None:
    with pytest.raises(ValueError, match="part <= whole"):
        pro_rata(100, 3, 2)


def test_format_pence() -> None:
    assert [format_pence(p) for p in (0, 5, 123456, -1)] == ["0.00", "0.05", "1234.56", "-0.01"]

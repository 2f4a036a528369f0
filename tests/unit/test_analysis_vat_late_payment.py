from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from acas_batch.analysis.late_payment import compensation, reference_rate, statutory_claim
from acas_batch.analysis.vat_return import VatBoxesPence, build_return
from acas_batch.errors import ValidationError


def test_nine_boxes_rounding_and_box_five() -> None:
    figures = VatBoxesPence(
        vat_due_sales=1_234_567,
        vat_due_acquisitions=0,
        vat_reclaimed=2_000_001,
        sales_ex_vat=6_172_899,
        purchases_ex_vat=-99,  # a quarter of net credits
        goods_supplied_ex_vat=0,
        acquisitions_ex_vat=150,
    )
    ret = build_return("26A1", figures)
    assert (ret.box1, ret.box3, ret.box4) == (Decimal("12345.67"), Decimal("12345.67"), Decimal("20000.01"))
    assert ret.box5 == Decimal("7654.34")  # |12345.67 - 20000.01|, never negative
    assert (ret.box6, ret.box7, ret.box9) == (61_728, 0, 1)  # pence truncated toward zero
    body = ret.mtd_json()
    assert body["periodKey"] == "26A1"
    assert body["netVatDue"] == 7654.34
    assert body["totalValueSalesExVAT"] == 61_728
    assert set(body) == {
        "periodKey",
        "vatDueSales",
        "vatDueAcquisitions",
        "totalVatDue",
        "vatReclaimedCurrPeriod",
        "netVatDue",
        "totalValueSalesExVAT",
        "totalValuePurchasesExVAT",
        "totalValueGoodsSuppliedExVAT",
        "totalAcquisitionsExVAT",
        "finalised",
    }


def test_compensation_bands() -> None:
    assert compensation(99_999) == 4_000
    assert compensation(100_000) == 7_000
    assert compensation(999_999) == 7_000
    assert compensation(1_000_000) == 10_000


def test_interest_within_one_half_year() -> None:
    # £1,000 due 31 Jan 2025, paid 2 Mar 2025: 30 days at 8% + 4.75% = 12.75%
    claim = statutory_claim(100_000, date(2025, 1, 31), date(2025, 3, 2))
    assert claim.days_late == 30
    assert claim.interest_pence == 1_048  # 100000 * 0.1275 * 30 / 365 = 1047.9p
    assert claim.compensation_pence == 7_000


def test_interest_across_the_july_rate_change() -> None:
    # 10 days in June at 12.75%, 10 days in July at 12.25%: 100000 * 2.5 / 365 = 684.9p
    claim = statutory_claim(100_000, date(2025, 6, 20), date(2025, 7, 10))
    assert claim.interest_pence == 685


def test_not_late_and_unknown_rate() -> None:
    assert statutory_claim(100_000, date(2025, 3, 1), date(2025, 3, 1)).total_pence == 0
    with pytest.raises(ValidationError, match="2019-01-01"):
        reference_rate(date(2019, 3, 1))


def test_the_rate_for_the_first_half_of_2026_is_the_base_rate_of_31_december_2025() -> None:
    assert reference_rate(date(2026, 3, 1)) == Decimal("3.75")
    with pytest.raises(ValidationError, match="2026-07-01"):
        reference_rate(date(2026, 7, 1))  # the rate of 30 June 2026 is added when it is known

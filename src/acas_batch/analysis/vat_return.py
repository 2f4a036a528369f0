"""The UK nine-box VAT return and its Making Tax Digital JSON.

Boxes 1-5 are pounds and pence; box 5 is |box 3 − box 4|, never negative; boxes 6-9 are
whole pounds. HMRC's API does not say how to round boxes 6-9: we truncate the pence
(toward zero) and say so in the return's notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from acas_batch.analysis.money import pounds, whole_pounds_truncated

ROUNDING_NOTE = "Boxes 6-9 are whole pounds with the pence truncated toward zero."


@dataclass(frozen=True)
class VatBoxesPence:
    """The raw figures, in pence, before rounding for submission."""

    vat_due_sales: int  # box 1
    vat_due_acquisitions: int  # box 2
    vat_reclaimed: int  # box 4
    sales_ex_vat: int  # box 6
    purchases_ex_vat: int  # box 7
    goods_supplied_ex_vat: int  # box 8 (EU, Northern Ireland only)
    acquisitions_ex_vat: int  # box 9


@dataclass(frozen=True)
class VatReturn:
    """The nine boxes as submitted."""

    period_key: str
    box1: Decimal
    box2: Decimal
    box3: Decimal
    box4: Decimal
    box5: Decimal
    box6: int
    box7: int
    box8: int
    box9: int

    def mtd_json(self, *, finalised: bool = False) -> dict[str, Any]:
        """The body of HMRC's MTD VAT 'submit return' call."""
        return {
            "periodKey": self.period_key,
            "vatDueSales": float(self.box1),
            "vatDueAcquisitions": float(self.box2),
            "totalVatDue": float(self.box3),
            "vatReclaimedCurrPeriod": float(self.box4),
            "netVatDue": float(self.box5),
            "totalValueSalesExVAT": self.box6,
            "totalValuePurchasesExVAT": self.box7,
            "totalValueGoodsSuppliedExVAT": self.box8,
            "totalAcquisitionsExVAT": self.box9,
            "finalised": finalised,
        }


def build_return(period_key: str, figures: VatBoxesPence) -> VatReturn:
    """Round and complete the nine boxes (box 3 = 1 + 2, box 5 = |3 − 4|)."""
    box3 = figures.vat_due_sales + figures.vat_due_acquisitions
    return VatReturn(
        period_key=period_key,
        box1=pounds(figures.vat_due_sales),
        box2=pounds(figures.vat_due_acquisitions),
        box3=pounds(box3),
        box4=pounds(figures.vat_reclaimed),
        box5=pounds(abs(box3 - figures.vat_reclaimed)),
        box6=whole_pounds_truncated(figures.sales_ex_vat),
        box7=whole_pounds_truncated(figures.purchases_ex_vat),
        box8=whole_pounds_truncated(figures.goods_supplied_ex_vat),
        box9=whole_pounds_truncated(figures.acquisitions_ex_vat),
    )

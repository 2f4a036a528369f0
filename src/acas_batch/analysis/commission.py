"""Sales commission: a salesperson's rate, optionally tiered, applied to a period's net sales.

Tiers are marginal, as tax bands are: the salesperson's own rate applies from the first
penny, and each tier's rate to the part of the net sales above its threshold (up to the
next threshold). A period whose credit notes exceed its sales has negative net sales; the
base rate then applies to the whole (a clawback), never a tier rate. The commission is
rounded half-up to the penny once, on the salesperson's total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from acas_batch.analysis.money import round_half_up
from acas_batch.errors import ValidationError


@dataclass(frozen=True)
class Tier:
    """Net sales above ``from_pence`` earn ``rate`` (0.0300 for 3%)."""

    from_pence: int
    rate: Decimal


def check_tiers(tiers: Sequence[Tier]) -> tuple[Tier, ...]:
    """Tiers sorted by threshold; thresholds positive and distinct, rates in [0, 1)."""
    ordered = tuple(sorted(tiers, key=lambda t: t.from_pence))
    for t in ordered:
        if t.from_pence <= 0:
            raise ValidationError(f"commission tier threshold {t.from_pence} pence must be positive")
        if not Decimal(0) <= t.rate < Decimal(1):
            raise ValidationError(f"commission tier rate {t.rate} must be at least 0 and below 1")
    thresholds = [t.from_pence for t in ordered]
    if len(set(thresholds)) != len(thresholds):
        raise ValidationError(f"commission tier thresholds repeat: {thresholds}")
    return ordered


def commission_exact(net_pence: int, rate: Decimal, tiers: Sequence[Tier] = ()) -> Decimal:
    """The commission on ``net_pence`` before rounding (pence, exact)."""
    if net_pence <= 0 or not tiers:
        return Decimal(net_pence) * rate
    bands = [(0, rate), *((t.from_pence, t.rate) for t in check_tiers(tiers))]
    total = Decimal(0)
    for (start, band_rate), (end, _) in zip(bands, [*bands[1:], (net_pence, rate)], strict=True):
        top = min(end, net_pence)
        if top > start:
            total += Decimal(top - start) * band_rate
    return total


def commission_due(net_pence: int, rate: Decimal, tiers: Sequence[Tier] = ()) -> int:
    """The commission on a period's net sales, rounded half-up to the penny."""
    return round_half_up(commission_exact(net_pence, rate, tiers))


def effective_rate(net_pence: int, commission_pence: int) -> Decimal:
    """Commission as a share of net sales, to four places (0 when there are no net sales)."""
    if net_pence == 0:
        return Decimal("0.0000")
    return (Decimal(commission_pence) / Decimal(net_pence)).quantize(Decimal("0.0001"))

"""Money arithmetic for the posting rules: integer pence, Decimal rates.

The rounding itself (half-up to the penny) is :func:`acas_batch.analysis.money.round_half_up`,
the one rounding function of the package; this module names the ledger's uses of it.
"""

from __future__ import annotations

from decimal import Decimal

from acas_batch.analysis.money import apply_rate, round_half_up


def round_pence(amount: Decimal) -> int:
    """Round an exact amount of pence to a whole penny, half away from zero (0.5p up)."""
    return round_half_up(amount)


def vat_for(net_pence: int, rate: Decimal) -> int:
    """VAT on one line: ``net * rate`` rounded half-up to the penny (HMRC: under 0.5p down, 0.5p or more up)."""
    return apply_rate(net_pence, rate)


def percent_of(amount_pence: int, pct: Decimal) -> int:
    """``pct`` per cent of an amount (settlement discount, commission), rounded half-up."""
    return round_pence(Decimal(amount_pence) * pct / 100)


def pro_rata(total_pence: int, part: int, whole: int) -> int:
    """The share ``part / whole`` of ``total_pence`` (average cost of an issue), rounded half-up.

    The whole of it when ``part == whole``, so the last issue takes the rounding remainder.
    """
    if whole <= 0 or not 0 <= part <= whole:
        raise ValueError(f"pro_rata needs 0 <= part <= whole and whole > 0, got {part}/{whole}")
    if part == whole:
        return total_pence
    return round_pence(Decimal(total_pence) * part / whole)


def line_net(quantity: int, unit_price_pence: int) -> int:
    """Net amount of a line: quantity times unit price (both exact)."""
    return quantity * unit_price_pence


def format_pence(pence: int) -> str:
    """``123456`` → ``'1234.56'`` (negative with a leading minus)."""
    sign = "-" if pence < 0 else ""
    whole, frac = divmod(abs(pence), 100)
    return f"{sign}{whole}.{frac:02d}"

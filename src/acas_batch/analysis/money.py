"""Pence and pounds: the one place where rounding happens."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

PENNY = Decimal("0.01")


def round_half_up(value: Decimal) -> int:
    """Round a Decimal amount of pence to whole pence, half away from zero (0.5p up)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def apply_rate(pence: int, rate: Decimal) -> int:
    """``pence × rate`` rounded half-up to the penny (VAT per line, commission, interest)."""
    return round_half_up(Decimal(pence) * rate)


def pounds(pence: int) -> Decimal:
    """Pence as pounds with two decimals, exactly."""
    return (Decimal(pence) / 100).quantize(PENNY)


def whole_pounds_truncated(pence: int) -> int:
    """Whole pounds, pence dropped toward zero (MTD boxes 6-9)."""
    return int((Decimal(pence) / 100).to_integral_value(rounding=ROUND_DOWN))


def format_pounds(pence: int) -> str:
    """``123456`` → ``'1,234.56'``; negative amounts get a leading minus."""
    sign = "-" if pence < 0 else ""
    whole, frac = divmod(abs(pence), 100)
    return f"{sign}{whole:,}.{frac:02d}"

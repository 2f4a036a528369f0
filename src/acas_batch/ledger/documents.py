"""What sales and purchase documents share: priced lines and guarded allocation updates."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from acas_batch.errors import InvalidQuantity, UnknownDocument
from acas_batch.ledger.money import line_net, vat_for
from acas_batch.models import DocumentStatus, VatCode


@dataclass(frozen=True)
class PricedLine:
    """A document line with its net and its VAT, rounded on the line."""

    quantity: int
    unit_price_pence: int
    vat_code_id: int
    net_pence: int
    vat_pence: int


def price_line(quantity: int, unit_price_pence: int, vat_code_id: int, rate: Decimal) -> PricedLine:
    """Net = quantity * price; VAT half-up on the line's net."""
    if quantity <= 0:
        raise InvalidQuantity(f"line quantity {quantity} must be positive")
    if unit_price_pence < 0:
        raise InvalidQuantity(f"line unit price {unit_price_pence} pence must not be negative")
    net = line_net(quantity, unit_price_pence)
    return PricedLine(quantity, unit_price_pence, vat_code_id, net, vat_for(net, rate))


def vat_rates(session: Session) -> dict[int, Decimal]:
    """Every VAT code's rate by id."""
    return {vid: Decimal(rate) for vid, rate in session.execute(select(VatCode.id, VatCode.rate))}


def rate_of(rates: dict[int, Decimal], vat_code_id: int) -> Decimal:
    try:
        return rates[vat_code_id]
    except KeyError:
        raise UnknownDocument(f"VAT code {vat_code_id} does not exist") from None


def decrement_open(session: Session, table: type, column: str, row_id: int, amount: int) -> bool:
    """Take ``amount`` off a document's open figure in one guarded UPDATE; False if not enough is open.

    The WHERE clause and the table's CHECK both refuse to go below zero, so two concurrent
    allocations can never take the same money twice.
    """
    col = getattr(table, column)
    values: dict[str, object] = {column: col - amount}
    if hasattr(table, "status") and column == "outstanding_pence":
        gross = table.gross_pence  # type: ignore[attr-defined]
        values["status"] = case(
            (col - amount == 0, DocumentStatus.PAID.value),
            (col - amount == gross, DocumentStatus.OPEN.value),
            else_=DocumentStatus.PART_PAID.value,
        )
    result = session.execute(
        update(table).where(table.id == row_id, col >= amount).values(**values)  # type: ignore[attr-defined]
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]

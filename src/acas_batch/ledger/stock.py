"""Stock postings: receipts into lots, issues by cost method, adjustments; each with its journal.

Stock value moves only here, always with a journal to the stock control account of the
same amount, so stock control equals the valuation (the sum of ``st_stock_rec.value_pence``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from acas_batch.errors import InsufficientStock, InvalidQuantity, UnknownDocument
from acas_batch.ledger.money import pro_rata
from acas_batch.ledger.posting import JournalDraft, atomic, control_account, cr, dr, post_journal
from acas_batch.models import (
    ControlKind,
    CostMethod,
    Item,
    JournalSource,
    Lot,
    MovementKind,
    StockLevel,
    StockMovement,
    Warehouse,
)


@dataclass(frozen=True)
class Take:
    """Part of an issue drawn from one lot."""

    lot_id: int
    quantity: int
    unit_cost_pence: int


@dataclass(frozen=True)
class IssuePlan:
    """What an issue will consume and what it costs."""

    takes: tuple[Take, ...]
    value_pence: int


def get_item(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise UnknownDocument(f"item {item_id} does not exist")
    return item


def _level(session: Session, item_id: int, warehouse_id: int) -> StockLevel:
    level = session.scalars(
        select(StockLevel)
        .where(StockLevel.item_id == item_id, StockLevel.warehouse_id == warehouse_id)
        .execution_options(populate_existing=True)
    ).first()
    if level is None:
        if session.get(Warehouse, warehouse_id) is None:
            raise UnknownDocument(f"warehouse {warehouse_id} does not exist")
        level = StockLevel(item_id=item_id, warehouse_id=warehouse_id, quantity=0, value_pence=0, allocated_qty=0)
        session.add(level)
        session.flush()
    return level


def receipt_cost(item: Item, unit_price_pence: int) -> int:
    """The unit cost stock is carried at: the standard cost for standard items, else the price paid."""
    return item.standard_cost_pence if item.cost_method == CostMethod.STANDARD else unit_price_pence


def add_stock(
    session: Session,
    *,
    item: Item,
    warehouse_id: int,
    quantity: int,
    unit_cost_pence: int,
    on: date,
    kind: MovementKind,
    reference: str,
    lot_number: str,
    journal_id: int | None,
    expiry_date: date | None = None,
    location_id: int | None = None,
) -> int:
    """Put ``quantity`` into a new lot at ``unit_cost_pence``; returns the lot id. No journal here."""
    if quantity <= 0:
        raise InvalidQuantity(f"cannot receive {quantity} of item {item.code}: quantity must be positive")
    if expiry_date is None and item.shelf_life_days:
        expiry_date = on + timedelta(days=item.shelf_life_days)
    lot = Lot(
        item_id=item.id,
        warehouse_id=warehouse_id,
        location_id=location_id,
        lot_number=lot_number[:24],
        received_on=on,
        expiry_date=expiry_date,
        unit_cost_pence=unit_cost_pence,
        quantity_received=quantity,
        quantity_on_hand=quantity,
        quarantined=False,
    )
    session.add(lot)
    session.flush()
    value = quantity * unit_cost_pence
    level = _level(session, item.id, warehouse_id)
    session.execute(
        update(StockLevel)
        .where(StockLevel.id == level.id)
        .values(quantity=StockLevel.quantity + quantity, value_pence=StockLevel.value_pence + value)
    )
    session.execute(
        insert(StockMovement).values(
            item_id=item.id,
            warehouse_id=warehouse_id,
            lot_id=lot.id,
            kind=kind,
            movement_date=on,
            quantity=quantity,
            unit_cost_pence=unit_cost_pence,
            value_pence=value,
            reference=reference[:32],
            journal_id=journal_id,
        )
    )
    session.expire(level)
    return lot.id


def plan_issue(session: Session, item: Item, warehouse_id: int, quantity: int) -> IssuePlan:
    """Which lots an issue draws (oldest first, quarantined lots never) and its cost by the item's method."""
    if quantity <= 0:
        raise InvalidQuantity(f"cannot issue {quantity} of item {item.code}: quantity must be positive")
    level = _level(session, item.id, warehouse_id)
    lots = session.execute(
        select(Lot.id, Lot.quantity_on_hand, Lot.unit_cost_pence)
        .where(
            Lot.item_id == item.id,
            Lot.warehouse_id == warehouse_id,
            Lot.quantity_on_hand > 0,
            Lot.quarantined.is_(False),
        )
        .order_by(Lot.received_on, Lot.id)
    ).all()
    takes: list[Take] = []
    left = quantity
    for lot_id, on_hand, cost in lots:
        if left == 0:
            break
        n = min(left, on_hand)
        takes.append(Take(lot_id, n, cost))
        left -= n
    if left:
        available = quantity - left
        raise InsufficientStock(
            f"cannot issue {quantity} of item {item.code} from warehouse {warehouse_id}: {available} pickable"
        )
    if item.cost_method == CostMethod.FIFO:
        value = sum(t.quantity * t.unit_cost_pence for t in takes)
    else:
        value = pro_rata(level.value_pence, quantity, level.quantity)
    return IssuePlan(tuple(takes), value)


def apply_issue(
    session: Session,
    *,
    item: Item,
    warehouse_id: int,
    plan: IssuePlan,
    on: date,
    kind: MovementKind,
    reference: str,
    journal_id: int | None,
) -> None:
    """Write an issue planned by :func:`plan_issue`: lots, stock level, one movement per lot."""
    remaining_value = plan.value_pence
    total_qty = sum(t.quantity for t in plan.takes)
    for n, take in enumerate(plan.takes):
        if item.cost_method == CostMethod.FIFO:
            value = take.quantity * take.unit_cost_pence
        elif n == len(plan.takes) - 1:
            value = remaining_value
        else:
            value = pro_rata(plan.value_pence, take.quantity, total_qty)
        remaining_value -= value
        session.execute(
            update(Lot).where(Lot.id == take.lot_id).values(quantity_on_hand=Lot.quantity_on_hand - take.quantity)
        )
        session.execute(
            insert(StockMovement).values(
                item_id=item.id,
                warehouse_id=warehouse_id,
                lot_id=take.lot_id,
                kind=kind,
                movement_date=on,
                quantity=-take.quantity,
                unit_cost_pence=value // take.quantity,
                value_pence=-value,
                reference=reference[:32],
                journal_id=journal_id,
            )
        )
    session.execute(
        update(StockLevel)
        .where(StockLevel.item_id == item.id, StockLevel.warehouse_id == warehouse_id)
        .values(quantity=StockLevel.quantity - total_qty, value_pence=StockLevel.value_pence - plan.value_pence)
    )


@atomic
def issue_stock(
    session: Session,
    *,
    item_id: int,
    warehouse_id: int,
    quantity: int,
    on: date,
    reference: str,
    expense_kind: ControlKind = ControlKind.COST_OF_SALES,
) -> int | None:
    """Issue stock (a sale or consumption): DR cost of sales, CR stock. Returns the pending journal id.

    Returns None when the issue has no value (free stock), since a journal needs a non-zero line.
    """
    item = get_item(session, item_id)
    plan = plan_issue(session, item, warehouse_id, quantity)
    journal_id = None
    if plan.value_pence:
        draft = JournalDraft(
            journal_date=on,
            source=JournalSource.ST,
            reference=reference,
            description=f"Issue {quantity} x {item.code}",
            lines=(
                dr(control_account(session, expense_kind), plan.value_pence),
                cr(control_account(session, ControlKind.STOCK), plan.value_pence),
            ),
        )
        journal_id = post_journal(session, draft)
    apply_issue(
        session,
        item=item,
        warehouse_id=warehouse_id,
        plan=plan,
        on=on,
        kind=MovementKind.ISSUE,
        reference=reference,
        journal_id=journal_id,
    )
    session.flush()
    return journal_id


@atomic
def adjust_stock(
    session: Session,
    *,
    item_id: int,
    warehouse_id: int,
    quantity: int,
    on: date,
    reference: str,
    unit_cost_pence: int | None = None,
    kind: MovementKind = MovementKind.ADJUSTMENT,
) -> int | None:
    """Adjust stock by a signed quantity (a count difference, a write-off, found stock).

    Found stock enters at ``unit_cost_pence`` (default: the item's current average or standard
    cost); lost stock leaves at its issue cost. The other side goes to stock adjustments.
    """
    if quantity == 0:
        raise InvalidQuantity("a stock adjustment of zero changes nothing")
    item = get_item(session, item_id)
    stock = control_account(session, ControlKind.STOCK)
    adjustments = control_account(session, ControlKind.STOCK_ADJUSTMENT)
    if quantity < 0:
        plan = plan_issue(session, item, warehouse_id, -quantity)
        journal_id = None
        if plan.value_pence:
            lines = (dr(adjustments, plan.value_pence), cr(stock, plan.value_pence))
            journal_id = post_journal(
                session, JournalDraft(on, JournalSource.ST, reference, lines, "Stock written off")
            )
        apply_issue(
            session,
            item=item,
            warehouse_id=warehouse_id,
            plan=plan,
            on=on,
            kind=kind,
            reference=reference,
            journal_id=journal_id,
        )
        return journal_id
    if unit_cost_pence is None:
        level = _level(session, item.id, warehouse_id)
        if item.cost_method == CostMethod.STANDARD or level.quantity == 0:
            unit_cost_pence = item.standard_cost_pence
        else:
            unit_cost_pence = level.value_pence // level.quantity
    cost = receipt_cost(item, unit_cost_pence)
    value = quantity * cost
    journal_id = None
    if value:
        lines = (dr(stock, value), cr(adjustments, value))
        journal_id = post_journal(session, JournalDraft(on, JournalSource.ST, reference, lines, "Stock found"))
    add_stock(
        session,
        item=item,
        warehouse_id=warehouse_id,
        quantity=quantity,
        unit_cost_pence=cost,
        on=on,
        kind=kind,
        reference=reference,
        lot_number=f"ADJ-{reference}",
        journal_id=journal_id,
    )
    return journal_id


@atomic
def transfer_stock(
    session: Session,
    *,
    item_id: int,
    from_warehouse_id: int,
    to_warehouse_id: int,
    quantity: int,
    on: date,
    reference: str,
) -> None:
    """Move stock between warehouses at its cost: out of the oldest lots, into new lots.

    Value moves with the goods, so the stock account does not change and no journal is written.
    """
    if from_warehouse_id == to_warehouse_id:
        raise InvalidQuantity(f"transfer {reference}: source and destination are both warehouse {to_warehouse_id}")
    item = get_item(session, item_id)
    _level(session, item.id, to_warehouse_id)  # the destination must exist before anything moves
    plan = plan_issue(session, item, from_warehouse_id, quantity)
    apply_issue(
        session,
        item=item,
        warehouse_id=from_warehouse_id,
        plan=plan,
        on=on,
        kind=MovementKind.TRANSFER_OUT,
        reference=reference,
        journal_id=None,
    )
    layers = (
        [(t.quantity, t.unit_cost_pence) for t in plan.takes]
        if item.cost_method == CostMethod.FIFO
        else [(quantity, plan.value_pence // quantity)]
    )
    for n, (qty, cost) in enumerate(layers, start=1):
        add_stock(
            session,
            item=item,
            warehouse_id=to_warehouse_id,
            quantity=qty,
            unit_cost_pence=cost,
            on=on,
            kind=MovementKind.TRANSFER_IN,
            reference=reference,
            lot_number=f"{reference}-{n}",
            journal_id=None,
        )
    # Average and standard costs may not divide evenly: the destination gets the exact value.
    moved_in = sum(q * c for q, c in layers)
    if moved_in != plan.value_pence:
        session.execute(
            update(StockLevel)
            .where(StockLevel.item_id == item.id, StockLevel.warehouse_id == to_warehouse_id)
            .values(value_pence=StockLevel.value_pence + plan.value_pence - moved_in)
        )
    session.flush()

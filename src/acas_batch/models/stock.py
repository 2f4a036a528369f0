"""Stock control: items, warehouses and bins, lots, stock levels, movements and counts.

Quantities are integers in the item's base unit. ``st_stock_rec`` holds the quantity and the
value on hand per item and warehouse under CHECKs (never negative, no value without
quantity): the stock control account equals the sum of its values. Lots are also the FIFO
cost layers: a receipt creates a lot at its unit cost, an issue consumes lots oldest first.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, Pence, enum_column


class CostMethod(StrEnum):
    """How an item's stock is valued and its issues costed."""

    FIFO = "fifo"  # receipt layers (lots) consumed oldest first
    AVERAGE = "average"  # moving weighted average per warehouse
    STANDARD = "standard"  # the item's standard cost; differences go to purchase variance


class LocationKind(StrEnum):
    """What a bin location is for."""

    PICK = "pick"  # orders are picked from it; replenished between min and max
    BULK = "bulk"  # reserve stock that refills the pick bins


class MovementKind(StrEnum):
    """Why stock moved. Quantity is signed: positive in, negative out."""

    RECEIPT = "receipt"  # goods received from a supplier (positive)
    ISSUE = "issue"  # goods sent to a customer or consumed (negative)
    TRANSFER_IN = "transfer_in"  # arrived from another warehouse (positive)
    TRANSFER_OUT = "transfer_out"  # sent to another warehouse (negative)
    ADJUSTMENT = "adjustment"  # write-off, damage, found stock (either sign)
    COUNT = "count"  # difference found by a stock count (either sign)


class AbcClass(StrEnum):
    """Share of annual consumption value (ST_ABC_ANALYSIS)."""

    A = "A"  # the items making up the first 80% of consumption value
    B = "B"  # the next 15%
    C = "C"  # the rest, and items with no consumption


class CountStatus(StrEnum):
    """A stock count task's progress."""

    SCHEDULED = "scheduled"  # planned by ST_CYCLE_COUNT_SCHEDULE
    COUNTED = "counted"  # a quantity was entered
    POSTED = "posted"  # the difference was posted as a count movement
    CANCELLED = "cancelled"  # not done


class Warehouse(Base):
    """A warehouse (stock location of its own, with its own stock levels)."""

    __tablename__ = "st_warehouse_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(64))


class Item(Base):
    """A stock item: costing, reordering and shelf-life settings."""

    __tablename__ = "st_item_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    description: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(32), default="")
    unit: Mapped[str] = mapped_column(String(8), default="EA")
    cost_method: Mapped[CostMethod] = mapped_column(enum_column(CostMethod, "cost_method"))
    standard_cost_pence: Mapped[int] = mapped_column(Pence, default=0)
    sell_price_pence: Mapped[int] = mapped_column(Pence, default=0)
    vat_code_id: Mapped[int] = mapped_column(ForeignKey("vat_code_rec.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("pl_supplier_rec.id"), doc="Preferred supplier.")
    lead_time_days: Mapped[int] = mapped_column(Integer, default=7)
    reorder_point: Mapped[int] = mapped_column(Integer, default=0)
    reorder_qty: Mapped[int] = mapped_column(Integer, default=0)
    pack_size: Mapped[int] = mapped_column(Integer, default=1, doc="Orders are rounded up to whole packs.")
    shelf_life_days: Mapped[int | None] = mapped_column(Integer, doc="Lots expire this long after receipt.")
    abc_class: Mapped[AbcClass | None] = mapped_column(enum_column(AbcClass, "abc_class"))
    last_counted_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        CheckConstraint("standard_cost_pence >= 0 AND sell_price_pence >= 0", name="prices_non_negative"),
        CheckConstraint("lead_time_days >= 0 AND reorder_point >= 0 AND reorder_qty >= 0", name="reorder_range"),
        CheckConstraint("pack_size >= 1", name="pack_positive"),
        CheckConstraint("shelf_life_days IS NULL OR shelf_life_days > 0", name="shelf_life_positive"),
        Index("ix_st_item_rec_supplier", "supplier_id"),
    )


class Location(Base):
    """A bin in a warehouse: pick bins hold one item between min and max."""

    __tablename__ = "st_location_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("st_warehouse_rec.id"))
    code: Mapped[str] = mapped_column(String(16))
    kind: Mapped[LocationKind] = mapped_column(enum_column(LocationKind, "location_kind"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("st_item_rec.id"), doc="Pick bins: the item held.")
    min_qty: Mapped[int] = mapped_column(Integer, default=0)
    max_qty: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("warehouse_id", "code"),
        CheckConstraint("min_qty >= 0 AND max_qty >= min_qty", name="min_max_ordered"),
        Index("ix_st_location_rec_item", "item_id"),
    )


class StockLevel(Base):
    """Quantity and value on hand of an item in a warehouse."""

    __tablename__ = "st_stock_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("st_warehouse_rec.id"))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    value_pence: Mapped[int] = mapped_column(Pence, default=0)
    allocated_qty: Mapped[int] = mapped_column(Integer, default=0, doc="Promised to open sales orders.")

    __table_args__ = (
        UniqueConstraint("item_id", "warehouse_id"),
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
        CheckConstraint("value_pence >= 0 AND (quantity > 0 OR value_pence = 0)", name="value_with_quantity"),
        CheckConstraint("allocated_qty >= 0", name="allocated_non_negative"),
        Index("ix_st_stock_rec_warehouse", "warehouse_id"),
    )


class Lot(Base):
    """A lot (batch) received at one cost: the FIFO layer, the expiry date, the bin it sits in."""

    __tablename__ = "st_lot_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("st_warehouse_rec.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("st_location_rec.id"))
    lot_number: Mapped[str] = mapped_column(String(24))
    received_on: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    unit_cost_pence: Mapped[int] = mapped_column(Pence)
    quantity_received: Mapped[int] = mapped_column(Integer)
    quantity_on_hand: Mapped[int] = mapped_column(Integer)
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False, doc="Expired or blocked: not pickable.")

    __table_args__ = (
        UniqueConstraint("item_id", "warehouse_id", "lot_number"),
        CheckConstraint("quantity_on_hand >= 0", name="on_hand_non_negative"),
        CheckConstraint("unit_cost_pence >= 0", name="cost_non_negative"),
        Index("ix_st_lot_rec_fifo", "item_id", "warehouse_id", "received_on"),
        Index("ix_st_lot_rec_expiry", "expiry_date"),
        Index("ix_st_lot_rec_location", "location_id"),
    )


class StockMovement(Base):
    """One movement of stock, valued: the stock account moves by ``value_pence``."""

    __tablename__ = "st_movement_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("st_warehouse_rec.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("st_lot_rec.id"))
    kind: Mapped[MovementKind] = mapped_column(enum_column(MovementKind, "movement_kind"))
    movement_date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_cost_pence: Mapped[int] = mapped_column(Pence)
    value_pence: Mapped[int] = mapped_column(Pence, doc="Signed, like the quantity.")
    reference: Mapped[str] = mapped_column(String(32), default="")
    journal_id: Mapped[int | None] = mapped_column(ForeignKey("gl_journal_rec.id"))

    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_non_zero"),
        CheckConstraint(
            "(kind NOT IN ('receipt', 'transfer_in') OR quantity > 0)"
            " AND (kind NOT IN ('issue', 'transfer_out') OR quantity < 0)",
            name="sign_matches_kind",
        ),
        Index("ix_st_movement_rec_item_date", "item_id", "movement_date"),
        Index("ix_st_movement_rec_date_kind", "movement_date", "kind"),
        Index("ix_st_movement_rec_lot", "lot_id"),
    )


class StockCount(Base):
    """A count task: an item in a warehouse (or bin) to be counted on a day."""

    __tablename__ = "st_count_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("st_warehouse_rec.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("st_location_rec.id"))
    scheduled_on: Mapped[date] = mapped_column(Date)
    status: Mapped[CountStatus] = mapped_column(enum_column(CountStatus, "count_status"))
    expected_qty: Mapped[int | None] = mapped_column(Integer)
    counted_qty: Mapped[int | None] = mapped_column(Integer)
    counted_on: Mapped[date | None] = mapped_column(Date)
    execution_id: Mapped[int | None] = mapped_column(
        ForeignKey("batch_execution_rec.id", ondelete="SET NULL"),
        doc="The ST_CYCLE_COUNT_SCHEDULE execution that planned it (None: planned by hand).",
    )

    __table_args__ = (
        UniqueConstraint("item_id", "warehouse_id", "scheduled_on"),
        CheckConstraint("counted_qty IS NULL OR counted_qty >= 0", name="counted_non_negative"),
        Index("ix_st_count_rec_date", "scheduled_on"),
        Index("ix_st_count_rec_execution", "execution_id"),
    )

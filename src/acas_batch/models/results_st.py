"""Result snapshots of the stock control jobs, one row per item (and warehouse), keyed by execution.

A rerun of the same run key replaces the snapshot of the earlier execution, so a user
always finds one answer per run key.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, Pence, enum_column
from acas_batch.models.stock import AbcClass, CostMethod

#: Snapshot tables whose execution is checked by triggers (migration ``0017_snapshot_checks``)
#: instead of a foreign key: one check per statement on PostgreSQL, where the key cost a
#: lookup and a lock per row (150-300 ms of an ABC run at 32,000 items). As the key did, a row
#: naming no execution is refused (a foreign-key violation) and deleting an execution deletes
#: its rows.
SNAPSHOT_CHECKS = ("st_abc_result_rec", "st_forecast_result_rec")

_EXECUTION_ID = BigInteger().with_variant(Integer, "sqlite")
_EXECUTION_DOC = "batch_execution_rec.id, checked by trigger (SNAPSHOT_CHECKS)."


class AbcResult(Base):
    """ST_ABC_ANALYSIS: an item's consumption over the last 12 months and its class.

    Keyed by (execution, item), with no surrogate id. No foreign key to the item: the rows are
    written by one ``INSERT ... SELECT`` whose item ids come from ``st_item_rec`` in the same
    transaction, so a check per row would only cost time (items are deactivated, never deleted).
    The execution is checked once per statement, not by a foreign key (:data:`SNAPSHOT_CHECKS`).
    """

    __tablename__ = "st_abc_result_rec"

    execution_id: Mapped[int] = mapped_column(_EXECUTION_ID, primary_key=True, doc=_EXECUTION_DOC)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True, doc="st_item_rec.id (not a foreign key).")
    rank: Mapped[int] = mapped_column(Integer, doc="1 = the largest consumption value.")
    consumption_qty: Mapped[int] = mapped_column(Integer)
    consumption_value_pence: Mapped[int] = mapped_column(Pence)
    cumulative_before_pence: Mapped[int] = mapped_column(Pence, doc="Value of the items ranked above it.")
    abc_class: Mapped[AbcClass] = mapped_column(enum_column(AbcClass, "abc_class"))


class ValuationResult(Base):
    """ST_STOCK_VALUATION: an item's stock in a warehouse, valued by its cost method, beside the books."""

    __tablename__ = "st_valuation_result_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("st_warehouse_rec.id"))
    cost_method: Mapped[CostMethod] = mapped_column(enum_column(CostMethod, "cost_method"))
    quantity: Mapped[int] = mapped_column(Integer)
    value_pence: Mapped[int] = mapped_column(Pence, doc="By the cost method.")
    book_value_pence: Mapped[int] = mapped_column(Pence, doc="st_stock_rec.value_pence.")
    difference_pence: Mapped[int] = mapped_column(Pence, doc="value - book value.")

    __table_args__ = (UniqueConstraint("execution_id", "item_id", "warehouse_id"),)


class ForecastResult(Base):
    """ST_DEMAND_FORECAST: one item's forecast for the next months, the method chosen and its hold-out error.

    One row per item and execution (the horizon's quantities as one JSON list), keyed by
    (execution, item) with no surrogate id: a run at full size writes one narrow row per item
    rather than one per item and month. No foreign key to the item: the job takes the item ids
    from ``st_item_rec`` in its own transaction (items are deactivated, never deleted), so a
    check per row would only cost time. The execution is checked once per statement, not by a
    foreign key (:data:`SNAPSHOT_CHECKS`).
    """

    __tablename__ = "st_forecast_result_rec"

    execution_id: Mapped[int] = mapped_column(_EXECUTION_ID, primary_key=True, doc=_EXECUTION_DOC)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True, doc="st_item_rec.id (not a foreign key).")
    method: Mapped[str] = mapped_column(String(16))
    history_months: Mapped[int] = mapped_column(Integer)
    holdout_months: Mapped[int] = mapped_column(Integer)
    adi: Mapped[float | None] = mapped_column(Float, doc="Average demand interval (None: no demand).")
    mae: Mapped[float | None] = mapped_column(Float)
    mape: Mapped[float | None] = mapped_column(Float)
    mase: Mapped[float | None] = mapped_column(Float)
    first_month: Mapped[date] = mapped_column(Date, doc="First day of the first forecast month.")
    # Plain JSON, not the JSONB of the other tables: written far more often than searched, and
    # JSON is stored as it is sent (JSONB parses every list into its binary form).
    quantities: Mapped[list[float]] = mapped_column(
        JSON, doc="Units forecast for first_month and each month after it; statistics, not money."
    )

    def months(self) -> list[date]:
        """The first day of each month of ``quantities``, in order."""
        first = self.first_month.year * 12 + self.first_month.month - 1
        return [date((first + k) // 12, (first + k) % 12 + 1, 1) for k in range(len(self.quantities))]


class ReorderResult(Base):
    """ST_REORDER_CALCULATION: an item's demand, reorder point and EOQ in a warehouse, and what to order."""

    __tablename__ = "st_reorder_result_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("st_warehouse_rec.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("pl_supplier_rec.id"))
    mean_daily: Mapped[float] = mapped_column(Float, doc="Units a day; a statistic.")
    stdev_daily: Mapped[float] = mapped_column(Float)
    lead_time_days: Mapped[int] = mapped_column(Integer)
    safety_stock: Mapped[float] = mapped_column(Float)
    reorder_point: Mapped[float] = mapped_column(Float)
    eoq: Mapped[float] = mapped_column(Float)
    available: Mapped[int] = mapped_column(Integer, doc="On hand + on order - allocated.")
    suggested_qty: Mapped[int] = mapped_column(Integer, doc="0: no order needed.")
    unit_cost_pence: Mapped[int] = mapped_column(Pence)
    order_value_pence: Mapped[int] = mapped_column(Pence)

    __table_args__ = (UniqueConstraint("execution_id", "item_id", "warehouse_id"),)


class StockAge(StrEnum):
    """How long stock has sat without an issue (ST_DEAD_STOCK_ANALYSIS)."""

    DEAD = "dead"  # no issue for dead_days (180) or more
    SLOW = "slow"  # no issue for slow_days (90) or more, but less than dead_days


class DeadStockResult(Base):
    """ST_DEAD_STOCK_ANALYSIS: a stock line (item in a warehouse) with no issue for a while, and its value."""

    __tablename__ = "st_dead_stock_result_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("st_warehouse_rec.id"))
    status: Mapped[StockAge] = mapped_column(enum_column(StockAge, "stock_age"))
    quantity: Mapped[int] = mapped_column(Integer)
    value_pence: Mapped[int] = mapped_column(Pence, doc="Book value tied up (st_stock_rec.value_pence).")
    last_issue_on: Mapped[date | None] = mapped_column(Date, doc="None: never issued from this warehouse.")
    last_movement_on: Mapped[date | None] = mapped_column(Date, doc="Any movement, receipts and transfers too.")
    idle_since: Mapped[date] = mapped_column(Date, doc="The last issue, else the oldest lot on hand's receipt.")
    idle_days: Mapped[int] = mapped_column(Integer)
    oldest_lot_on: Mapped[date | None] = mapped_column(Date, doc="Receipt date of the oldest lot on hand.")
    average_age_days: Mapped[int] = mapped_column(Integer, doc="Age of the lots on hand, weighted by quantity.")

    __table_args__ = (UniqueConstraint("execution_id", "item_id", "warehouse_id"),)


class ExpiryResult(Base):
    """ST_EXPIRY_MONITORING: a lot with stock that has expired (quarantined) or expires within the warning days."""

    __tablename__ = "st_expiry_result_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("st_lot_rec.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("st_warehouse_rec.id"))
    expiry_date: Mapped[date] = mapped_column(Date)
    days_left: Mapped[int] = mapped_column(Integer, doc="expiry_date - business date; negative once expired.")
    band_days: Mapped[int] = mapped_column(
        Integer, doc="0: expired; else the first warning band (30, 60, 90) it falls in."
    )
    quantity: Mapped[int] = mapped_column(Integer)
    value_pence: Mapped[int] = mapped_column(Pence, doc="Value at risk, at the cost the stock is carried at.")
    quarantined: Mapped[bool] = mapped_column(Boolean, doc="The lot is quarantined (expired lots always are).")

    __table_args__ = (UniqueConstraint("execution_id", "lot_id"),)


class ReplenishmentTask(Base):
    """ST_LOCATION_REPLENISHMENT: move ``quantity`` of a bulk lot into a pick bin (no lot: bulk has nothing)."""

    __tablename__ = "st_replenishment_task_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    pick_location_id: Mapped[int] = mapped_column(ForeignKey("st_location_rec.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("st_warehouse_rec.id"))
    bin_quantity: Mapped[int] = mapped_column(Integer, doc="Pickable stock in the bin before the move.")
    bin_need: Mapped[int] = mapped_column(Integer, doc="max - bin quantity: what filling it takes.")
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("st_lot_rec.id"))
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("st_location_rec.id"))
    expiry_date: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer, doc="To move; 0 when bulk holds none of the item.")

    __table_args__ = (
        UniqueConstraint("execution_id", "pick_location_id", "lot_id"),
        CheckConstraint("quantity >= 0 AND quantity <= bin_need", name="quantity_within_need"),
    )

"""Result snapshots of the stock control jobs, one row per item (and warehouse), keyed by execution.

A rerun of the same run key replaces the snapshot of the earlier execution, so a user
always finds one answer per run key.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, Pence, enum_column
from acas_batch.models.stock import AbcClass, CostMethod


class AbcResult(Base):
    """ST_ABC_ANALYSIS: an item's consumption over the last 12 months and its class."""

    __tablename__ = "st_abc_result_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    rank: Mapped[int] = mapped_column(Integer, doc="1 = the largest consumption value.")
    consumption_qty: Mapped[int] = mapped_column(Integer)
    consumption_value_pence: Mapped[int] = mapped_column(Pence)
    cumulative_before_pence: Mapped[int] = mapped_column(Pence, doc="Value of the items ranked above it.")
    abc_class: Mapped[AbcClass] = mapped_column(enum_column(AbcClass, "abc_class"))

    __table_args__ = (UniqueConstraint("execution_id", "item_id"),)


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
    """ST_DEMAND_FORECAST: forecast demand of an item in one future month."""

    __tablename__ = "st_forecast_result_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    month: Mapped[date] = mapped_column(Date, doc="First day of the forecast month.")
    quantity: Mapped[float] = mapped_column(Float, doc="Units; a statistic, not money.")

    __table_args__ = (UniqueConstraint("execution_id", "item_id", "month"),)


class ForecastAccuracy(Base):
    """ST_DEMAND_FORECAST: the method chosen for an item and its hold-out error."""

    __tablename__ = "st_forecast_accuracy_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("st_item_rec.id"))
    method: Mapped[str] = mapped_column(String(16))
    history_months: Mapped[int] = mapped_column(Integer)
    holdout_months: Mapped[int] = mapped_column(Integer)
    adi: Mapped[float | None] = mapped_column(Float, doc="Average demand interval (None: no demand).")
    mae: Mapped[float | None] = mapped_column(Float)
    mape: Mapped[float | None] = mapped_column(Float)
    mase: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("execution_id", "item_id"), Index("ix_st_forecast_accuracy_item", "item_id"))


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

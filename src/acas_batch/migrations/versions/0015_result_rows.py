"""result rows: one forecast row per item (months as a JSON list, accuracy merged in), ABC and
forecast snapshots keyed by (execution, item) with no surrogate id and no foreign key to the item

Revision ID: 0015_result_rows
Revises: 0014_vat_stagger
Create Date: 2026-11-24 19:45:00

Each table is rebuilt: the old one is set aside under another name, the new one created under
its name, the rows carried over and the old one dropped. The forecast's per-month rows are
grouped into one list per item by a Python loop over them (one-off; streamed, written a batch
at a time); the downgrade spreads the lists back into one row per month.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0015_result_rows"
down_revision: str | None = "0014_vat_stagger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EXECUTION_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ABC_CLASS = sa.Enum("A", "B", "C", name="abc_class", native_enum=False, create_constraint=True)
_ABC_COLUMNS = (
    "execution_id",
    "item_id",
    "rank",
    "consumption_qty",
    "consumption_value_pence",
    "cumulative_before_pence",
    "abc_class",
)
_ACCURACY_COLUMNS = ("method", "history_months", "holdout_months", "adi", "mae", "mape", "mase")
_BATCH = 5_000

# Lightweight views of the tables, for the rows carried over.
_month_rows = sa.table(
    "st_forecast_month_0013",
    sa.column("execution_id", sa.Integer),
    sa.column("item_id", sa.Integer),
    sa.column("month", sa.Date),
    sa.column("quantity", sa.Float),
)
_accuracy_rows = sa.table(
    "st_forecast_accuracy_rec",
    sa.column("execution_id", sa.Integer),
    sa.column("item_id", sa.Integer),
    *(sa.column(c) for c in _ACCURACY_COLUMNS),
)
_forecast_rows = sa.table(
    "st_forecast_result_rec",
    sa.column("execution_id", sa.Integer),
    sa.column("item_id", sa.Integer),
    *(sa.column(c) for c in _ACCURACY_COLUMNS),
    sa.column("first_month", sa.Date),
    sa.column("quantities", sa.JSON),
)


def upgrade() -> None:
    _set_aside("st_abc_result_rec", "st_abc_result_0013")
    _create_abc(keyed_by_item=True)
    _copy("st_abc_result_0013", "st_abc_result_rec", _ABC_COLUMNS)
    op.drop_table("st_abc_result_0013")

    _set_aside("st_forecast_result_rec", "st_forecast_month_0013")
    _create_forecast()
    _group_months()
    op.drop_table("st_forecast_month_0013")
    with op.batch_alter_table("st_forecast_accuracy_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_st_forecast_accuracy_item")
    op.drop_table("st_forecast_accuracy_rec")


def downgrade() -> None:
    _set_aside("st_abc_result_rec", "st_abc_result_0014")
    _create_abc(keyed_by_item=False)
    _copy("st_abc_result_0014", "st_abc_result_rec", _ABC_COLUMNS, order_by="execution_id, rank")
    op.drop_table("st_abc_result_0014")

    _set_aside("st_forecast_result_rec", "st_forecast_result_0014")
    _create_accuracy_0013()
    _create_months_0013()
    _copy("st_forecast_result_0014", "st_forecast_accuracy_rec", ("execution_id", "item_id", *_ACCURACY_COLUMNS))
    _spread_months()
    op.drop_table("st_forecast_result_0014")


def _set_aside(table: str, aside: str) -> None:
    """Rename ``table`` to ``aside``, and on PostgreSQL its primary key too: index names are
    unique in a schema, and the table built under the old name takes the old key's name."""
    op.rename_table(table, aside)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {aside} RENAME CONSTRAINT pk_{table} TO pk_{aside}")


def _copy(source: str, target: str, columns: Sequence[str], order_by: str | None = None) -> None:
    names = ", ".join(columns)
    order = f" ORDER BY {order_by}" if order_by else ""
    op.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM {source}{order}")


def _execution_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["execution_id"],
        ["batch_execution_rec.id"],
        name=op.f(f"fk_{table}_execution_id_batch_execution_rec"),
        ondelete="CASCADE",
    )


def _accuracy_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("history_months", sa.Integer(), nullable=False),
        sa.Column("holdout_months", sa.Integer(), nullable=False),
        sa.Column("adi", sa.Float(), nullable=True),
        sa.Column("mae", sa.Float(), nullable=True),
        sa.Column("mape", sa.Float(), nullable=True),
        sa.Column("mase", sa.Float(), nullable=True),
    ]


def _create_abc(*, keyed_by_item: bool) -> None:
    table = "st_abc_result_rec"
    values = [
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("consumption_qty", sa.Integer(), nullable=False),
        sa.Column("consumption_value_pence", sa.BigInteger(), nullable=False),
        sa.Column("cumulative_before_pence", sa.BigInteger(), nullable=False),
        sa.Column("abc_class", _ABC_CLASS, nullable=False),
    ]
    if keyed_by_item:
        op.create_table(
            table,
            sa.Column("execution_id", _EXECUTION_ID, nullable=False),
            sa.Column("item_id", sa.Integer(), nullable=False),
            *values,
            _execution_fk(table),
            sa.PrimaryKeyConstraint("execution_id", "item_id", name=op.f(f"pk_{table}")),
        )
        return
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", _EXECUTION_ID, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        *values,
        _execution_fk(table),
        sa.ForeignKeyConstraint(["item_id"], ["st_item_rec.id"], name=op.f(f"fk_{table}_item_id_st_item_rec")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("execution_id", "item_id", name=op.f(f"uq_{table}_execution_id_item_id")),
    )


def _create_forecast() -> None:
    table = "st_forecast_result_rec"
    op.create_table(
        table,
        sa.Column("execution_id", _EXECUTION_ID, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        *_accuracy_columns(),
        sa.Column("first_month", sa.Date(), nullable=False),
        sa.Column("quantities", sa.JSON(), nullable=False),
        _execution_fk(table),
        sa.PrimaryKeyConstraint("execution_id", "item_id", name=op.f(f"pk_{table}")),
    )


def _create_accuracy_0013() -> None:
    table = "st_forecast_accuracy_rec"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", _EXECUTION_ID, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        *_accuracy_columns(),
        _execution_fk(table),
        sa.ForeignKeyConstraint(["item_id"], ["st_item_rec.id"], name=op.f(f"fk_{table}_item_id_st_item_rec")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("execution_id", "item_id", name=op.f(f"uq_{table}_execution_id_item_id")),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index("ix_st_forecast_accuracy_item", ["item_id"], unique=False)


def _create_months_0013() -> None:
    table = "st_forecast_result_rec"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", _EXECUTION_ID, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        _execution_fk(table),
        sa.ForeignKeyConstraint(["item_id"], ["st_item_rec.id"], name=op.f(f"fk_{table}_item_id_st_item_rec")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("execution_id", "item_id", "month", name=op.f(f"uq_{table}_execution_id_item_id_month")),
    )


def _month_number(day: date) -> int:
    return day.year * 12 + day.month - 1


def _group_months() -> None:
    """One row per (execution, item): its accuracy row and its months' quantities, in month order.

    Every accuracy row was written with its months in one transaction (and the months of an
    item are consecutive), so an item without months, or with a gap, is a damaged snapshot:
    the upgrade stops rather than guess.
    """
    conn = op.get_bind()
    a, m = _accuracy_rows, _month_rows
    q = (
        sa.select(a.c.execution_id, a.c.item_id, *(a.c[c] for c in _ACCURACY_COLUMNS), m.c.month, m.c.quantity)
        .select_from(a.outerjoin(m, (m.c.execution_id == a.c.execution_id) & (m.c.item_id == a.c.item_id)))
        .order_by(a.c.execution_id, a.c.item_id, m.c.month)
    )

    def rows() -> Iterator[dict[str, Any]]:
        for (execution_id, item_id), group in groupby(
            conn.execute(q.execution_options(yield_per=_BATCH)), key=lambda r: (r[0], r[1])
        ):
            months = list(group)
            first = months[0].month
            if first is None or [_month_number(r.month) for r in months] != list(
                range(_month_number(first), _month_number(first) + len(months))
            ):
                raise RuntimeError(
                    f"st_forecast_result_rec: execution {execution_id}, item {item_id}: months missing or not"
                    " consecutive; repair or delete that execution's forecast before upgrading"
                )
            yield {
                "execution_id": execution_id,
                "item_id": item_id,
                **{c: months[0]._mapping[c] for c in _ACCURACY_COLUMNS},
                "first_month": first,
                "quantities": [r.quantity for r in months],
            }

    _insert_batches(conn, sa.insert(_forecast_rows), rows())


def _spread_months() -> None:
    """One row per (execution, item, month) from each item's list, ids in that order."""
    conn = op.get_bind()
    old = sa.table(
        "st_forecast_result_0014",
        sa.column("execution_id", sa.Integer),
        sa.column("item_id", sa.Integer),
        sa.column("first_month", sa.Date),
        sa.column("quantities", sa.JSON),
    )
    target = sa.table(
        "st_forecast_result_rec",
        sa.column("execution_id", sa.Integer),
        sa.column("item_id", sa.Integer),
        sa.column("month", sa.Date),
        sa.column("quantity", sa.Float),
    )
    q = sa.select(old.c.execution_id, old.c.item_id, old.c.first_month, old.c.quantities).order_by(
        old.c.execution_id, old.c.item_id
    )

    def rows() -> Iterator[dict[str, Any]]:
        for execution_id, item_id, first, quantities in conn.execute(q.execution_options(yield_per=_BATCH)):
            start = _month_number(first)
            for k, quantity in enumerate(quantities):
                n = start + k
                yield {
                    "execution_id": execution_id,
                    "item_id": item_id,
                    "month": date(n // 12, n % 12 + 1, 1),
                    "quantity": quantity,
                }

    _insert_batches(conn, sa.insert(target), rows())


def _insert_batches(conn: sa.Connection, statement: Any, rows: Iterable[dict[str, Any]]) -> None:
    """``rows`` read from an open cursor go out ``_BATCH`` at a time (memory stays flat), on a
    second connection-level cursor of the same transaction."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == _BATCH:
            conn.execute(statement, batch)
            batch = []
    if batch:
        conn.execute(statement, batch)

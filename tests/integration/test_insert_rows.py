"""``insert_rows``: rows written by COPY (PostgreSQL) or executemany (SQLite) inside the caller's transaction.

Every column type a result table uses is written through ``insert_rows`` into one table and
through ``session.execute(insert(table), rows)`` into a twin; both are read back raw (no type
processing) and through the types, and must agree with each other and with the input.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Engine,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session

from acas_batch.db import insert_rows, reserve_ids, transaction
from acas_batch.models import AgedDebtorLine
from acas_batch.models.base import JSONType, Pence, UTCDateTime, enum_column


class Colour(StrEnum):
    RED = "red"
    DEEP_BLUE = "deep blue"


def _probe(name: str, metadata: MetaData) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("label", String(40)),
        Column("amount_pence", Pence),
        Column("on", Date),
        Column("at", UTCDateTime),
        Column("doc", JSONType),
        Column("colour", enum_column(Colour, f"{name}_colour")),
        Column("flag", Boolean),
        Column("ratio", Float),
        Column("rate", Numeric(9, 4)),
        Column("note", String(80)),
        Column("source", String(10), default="job"),
    )


@pytest.fixture
def tables(engine: Engine) -> Iterator[tuple[Table, Table]]:
    metadata = MetaData()
    pair = (_probe("probe_copy_rec", metadata), _probe("probe_core_rec", metadata))
    metadata.create_all(engine)
    try:
        yield pair
    finally:
        metadata.drop_all(engine)


ROWS: list[dict[str, Any]] = [
    {
        "label": "plain",
        "amount_pence": 123_456_789_012,
        "on": date(2026, 2, 28),
        "at": datetime(2026, 11, 23, 22, 0, 1, 250_000, tzinfo=UTC),
        "doc": {"buckets": [0, -150, 2_000_000_000_000], "labels": ["current", "1-30"], "nested": {"x": None}},
        "colour": Colour.DEEP_BLUE,
        "flag": True,
        "ratio": 0.1 + 0.2,
        "rate": Decimal("12.3456"),
        "note": "tab\there, quote ' \" and back\\slash; newline\nend",
    },
    {
        "label": "nulls",
        "amount_pence": -1,
        "on": None,
        "at": None,
        "doc": [],
        "colour": None,
        "flag": False,
        "ratio": None,
        "rate": None,
        "note": None,
    },
    {
        "label": "other zone",
        "amount_pence": 0,
        "on": date(1999, 12, 31),
        "at": datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=1))),
        "doc": "just a string, é and ☃",
        "colour": Colour.RED,
        "flag": None,
        "ratio": -1e-300,
        "rate": Decimal("-0.0001"),
        "note": "",
    },
]


def _raw(session: Session, table: Table) -> list[tuple[Any, ...]]:
    names = ", ".join(f'"{c.name}"' for c in table.columns if c.name != "id")
    return [tuple(r) for r in session.execute(text(f"SELECT {names} FROM {table.name} ORDER BY id"))]


def _typed(session: Session, table: Table) -> list[dict[str, Any]]:
    cols = [c for c in table.columns if c.name != "id"]
    return [dict(r._mapping) for r in session.execute(select(*cols).order_by(table.c.id))]


def test_every_type_round_trips_as_insert_stores_it(engine: Engine, tables: tuple[Table, Table]) -> None:
    copied, core = tables
    with transaction(engine) as s:
        assert insert_rows(s, copied, ROWS) == 3
        s.execute(insert(core), ROWS)
    with transaction(engine) as s:
        assert _raw(s, copied) == _raw(s, core)
        got = _typed(s, copied)
    expected = [{"source": "job"} | row for row in ROWS]
    expected[2]["at"] = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the same instant, read back in UTC
    assert got == expected
    assert [type(r["colour"]) for r in got] == [Colour, type(None), Colour]
    assert isinstance(got[0]["amount_pence"], int)


def test_an_iterable_is_streamed_and_counted(engine: Engine, tables: tuple[Table, Table]) -> None:
    copied, _ = tables
    rows = (
        {"label": f"r{i}", "amount_pence": i * 1000, "flag": i % 2 == 0} | ({"source": "late"} if i == 7 else {})
        for i in range(2500)
    )
    with transaction(engine) as s:
        assert insert_rows(s, copied, rows) == 2500
    with transaction(engine) as s:
        total, evens = s.execute(select(func.sum(copied.c.amount_pence), func.count().filter(copied.c.flag))).one()
        sources = dict(s.execute(select(copied.c.source, func.count()).group_by(copied.c.source)).all())
    assert (total, evens) == (sum(range(2500)) * 1000, 1250)
    assert sources == {"job": 2499, "late": 1}  # the default, unless a row gives its own value


def test_rows_roll_back_with_the_transaction(engine: Engine, tables: tuple[Table, Table]) -> None:
    copied, _ = tables

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction(engine) as s:
        assert insert_rows(s, copied, ROWS) == 3
        assert s.scalar(select(func.count()).select_from(copied)) == 3  # visible inside the transaction
        raise Abandon
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(copied)) == 0


def test_an_empty_list_writes_nothing(engine: Engine, tables: tuple[Table, Table]) -> None:
    copied, _ = tables
    with transaction(engine) as s:
        assert insert_rows(s, copied, []) == 0
        assert insert_rows(s, copied, iter(())) == 0
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(copied)) == 0


def test_an_unknown_column_is_named_and_nothing_is_written(engine: Engine, tables: tuple[Table, Table]) -> None:
    copied, _ = tables
    with transaction(engine) as s:
        with pytest.raises(ValueError, match="probe_copy_rec has no column 'colour_name'"):
            insert_rows(s, copied, [{"label": "fine"}, {"label": "bad", "colour_name": "red"}])
        assert s.scalar(select(func.count()).select_from(copied)) == 0
    # A streamed row is checked when it is reached: the error ends the transaction, which rolls back.
    with pytest.raises(ValueError, match=r"'note'.*first row lacks"), transaction(engine) as s:
        insert_rows(s, copied, iter([{"label": "a"}, {"label": "b", "note": "late"}]))
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(copied)) == 0


def test_a_plain_connection_commits_with_its_transaction(engine: Engine, tables: tuple[Table, Table]) -> None:
    copied, _ = tables
    with engine.connect() as conn:
        assert insert_rows(conn, copied, ROWS[:2]) == 2
        conn.rollback()
        assert insert_rows(conn, copied, ROWS[2:]) == 1
        conn.commit()
    with transaction(engine) as s:
        assert [r["label"] for r in _typed(s, copied)] == ["other zone"]


def test_a_mapped_class_names_its_table() -> None:
    with pytest.raises(ValueError, match="sl_aged_debtor_rec has no column 'customer'"):
        insert_rows(Session(), AgedDebtorLine, [{"customer": 1}])


def test_reserved_ids_are_new_and_rows_written_with_them_follow_on(engine: Engine, tables: tuple[Table, Table]) -> None:
    # Given two rows written the usual way
    copied, _ = tables
    with transaction(engine, write=True) as s:
        s.execute(insert(copied), [{"label": "a"}, {"label": "b"}])
    # When three ids are reserved and rows written with them
    with transaction(engine, write=True) as s:
        ids = reserve_ids(s, copied, 3)
        assert reserve_ids(s, copied, 0) == []
        insert_rows(s, copied, [{"id": i, "label": f"r{i}"} for i in ids])
    # Then they are distinct and above every id taken, and the next usual insert gets a new id
    with transaction(engine, write=True) as s:
        s.execute(insert(copied), [{"label": "after"}])
        taken = list(s.scalars(select(copied.c.id).order_by(copied.c.id)))
    assert len(set(ids)) == 3 and min(ids) > 2
    assert len(set(taken)) == 6 and set(ids) < set(taken) and taken[-1] > max(ids)

"""``db.stream_partitions``: every row, in lists of the size asked, values written into the SQL intact."""

from __future__ import annotations

from sqlalchemy import Engine, Integer, String, literal, select, union_all

from acas_batch.db import stream_partitions

TEXTS = ["plain", "100%", "%%", "%(name)s", "it's", 'say "hi"', "back\\slash", "ünïcödé £12.50", "", "line\nbreak"]


def test_rows_come_in_partitions_with_their_strings_intact(engine: Engine) -> None:
    """On PostgreSQL the statement goes with its values written into the text: a % the dialect
    doubled for the driver must arrive as one %, quotes and backslashes as they are."""
    rows = union_all(
        *(select(literal(n, Integer).label("n"), literal(t, String).label("t")) for n, t in enumerate(TEXTS))
    ).subquery()
    q = select(rows.c.n, rows.c.t, (rows.c.t + literal("%")).label("pct")).order_by(rows.c.n)
    with engine.connect() as conn:
        parts = list(stream_partitions(conn, q, 4))
    assert [len(p) for p in parts] == [4, 4, 2]
    assert [tuple(r) for p in parts for r in p] == [(n, t, t + "%") for n, t in enumerate(TEXTS)]

"""``db.copy_csv``: PostgreSQL's COPY writes a CSV that reads back as the csv module's own file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import BigInteger, Engine, Integer, String, literal, select, union_all

from acas_batch.db import copy_csv
from acas_batch.reports import write_csv, write_csv_blocks

TEXTS = [
    "plain",
    "a,b",
    'say "hi"',
    '"',
    "line\nbreak",
    "carriage\rreturn",
    "both\r\nends",
    "",
    " spaced ",
    "100%",
    "%%",
    "%(name)s",
    "back\\slash",
    "\\.",
    "ünïcödé £12.50",
]
HEADER = ["n", "text", "pence"]


def _rows_query() -> object:
    rows = union_all(
        *(
            select(
                literal(n, Integer).label("n"),
                literal(t, String).label("t"),
                literal(-(n * 10**15) - 1, BigInteger).label("p"),
            )
            for n, t in enumerate(TEXTS * 40)
        )
    ).subquery()
    return select(rows.c.n, rows.c.t, rows.c.p).order_by(rows.c.n)


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_copy_gives_the_file_the_csv_module_gives(engine: Engine, tmp_path: Path) -> None:
    """Every line ends CRLF, quotes, commas, CR and LF inside a field survive, blocks end on
    whole lines: the file reads back row for row as ``write_csv``'s, and is the same bytes but
    for the empty text, which COPY quotes."""
    expected = [(n, t, -(n * 10**15) - 1) for n, t in enumerate(TEXTS * 40)]
    by_module = write_csv(tmp_path / "module.csv", HEADER, expected)
    with engine.connect() as conn:
        if engine.dialect.name != "postgresql":
            with pytest.raises(NotImplementedError, match="COPY is PostgreSQL's"):
                next(copy_csv(conn, _rows_query()))
            return
        blocks = list(copy_csv(conn, _rows_query(), block_bytes=256))
    assert len(blocks) > 10 and all(b.endswith(b"\r\n") for b in blocks)
    write_csv_blocks(tmp_path / "copy.csv", HEADER, blocks)
    assert by_module == len(expected)
    assert _read(tmp_path / "copy.csv") == _read(tmp_path / "module.csv")
    assert _read(tmp_path / "copy.csv")[1:] == [[str(v) for v in row] for row in expected]
    copied = (tmp_path / "copy.csv").read_bytes()
    assert copied.replace(b',"",', b",,") == (tmp_path / "module.csv").read_bytes()
    assert b"\r\nend" not in copied.replace(b"both\r\nends", b"")  # the LF inside a field was not touched


@pytest.mark.parametrize("backend", ["postgresql"])  # COPY is PostgreSQL's: SQLite is refused above
def test_a_failed_copy_leaves_no_file(engine: Engine, tmp_path: Path) -> None:
    """An error while the rows come (here a division by zero at row 5) leaves no file behind."""
    rows = union_all(*(select(literal(n, Integer).label("n")) for n in range(10))).subquery()
    q = select(rows.c.n, literal(1, Integer) / (rows.c.n - 5)).order_by(rows.c.n)
    target = tmp_path / "never.csv"
    with engine.connect() as conn, pytest.raises(Exception, match="division by zero"):
        write_csv_blocks(target, ["n", "x"], copy_csv(conn, q, block_bytes=1))
    assert list(tmp_path.iterdir()) == []

"""Which job errors a retry would only repeat."""

from __future__ import annotations

import pytest

from acas_batch.errors import (
    ArchiveRefused,
    CloseRefused,
    DatabaseError,
    InsufficientStock,
    StaleDocuments,
    ValidationError,
    never_retried,
)


@pytest.mark.parametrize(
    "exc",
    [
        CloseRefused("earlier periods open"),
        InsufficientStock("no stock"),
        ValidationError("bad"),
        ArchiveRefused("x"),
        OverflowError("date value out of range"),  # 0001-01-01 less a day: the same every time
        ZeroDivisionError(),
        TypeError("unsupported operand"),
    ],
)
def test_refusals_are_never_retried(exc: Exception) -> None:
    assert never_retried(exc)


@pytest.mark.parametrize(
    "exc",
    [StaleDocuments("paid meanwhile", frozenset({1})), DatabaseError("gone"), OSError("disk"), ValueError()],
)
def test_races_and_outages_are_retried(exc: Exception) -> None:
    assert not never_retried(exc)

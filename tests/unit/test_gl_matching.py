"""Bank matching rules: reference first, then amount within the window, closest date, one to one."""

from __future__ import annotations

from datetime import date, timedelta

from acas_batch.jobs.gl.account_reconciliation import Item, match

D = date(2026, 4, 10)


def st(i: int, days: int, amount: int, ref: str = "") -> Item:
    return Item(i, D + timedelta(days=days), amount, ref)


def test_reference_beats_a_closer_date_and_each_line_pairs_once() -> None:
    statement = [st(1, 0, -500, "CHQ 7"), st(2, 0, -500, "CHQ 8")]
    cashbook = [st(10, 0, -500, "CHQ 8"), st(11, -2, -500, "chq 7")]

    pairs = match(statement, cashbook, window=3)

    assert sorted((s.id, c.id, rule) for s, c, rule in pairs) == [(1, 11, "reference"), (2, 10, "reference")]


def test_amount_within_the_window_takes_the_closest_date_and_leaves_the_rest_open() -> None:
    statement = [st(1, 0, 2_000), st(2, 1, 2_000), st(3, 0, 7_000)]
    cashbook = [st(10, -3, 2_000), st(11, 1, 2_000), st(12, -4, 7_000)]

    pairs = match(statement, cashbook, window=3)

    # 1 takes the line one day away (11), 2 is left the line four days away: outside the window
    assert [(s.id, c.id, rule) for s, c, rule in pairs] == [(1, 11, "date_window")]


def test_an_empty_reference_never_matches_by_reference() -> None:
    pairs = match([st(1, 0, 100, "")], [st(10, 9, 100, "")], window=3)
    assert pairs == []

"""The demo generator's column state: stock lots chained through one pool of slots, and dunning by customer."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from acas_batch.ledger.demo_books import NEVER, Dunning
from acas_batch.ledger.demo_masters import StockBook

# An operation on a book of 3 items in 2 warehouses: receive a lot, or issue from the oldest lots.
_ops = st.lists(
    st.tuples(st.sampled_from(["receive", "issue"]), st.integers(0, 5), st.integers(1, 40), st.integers(1, 900)),
    max_size=120,
)


@given(_ops)
def test_the_stock_book_keeps_lots_oldest_first_as_a_list_would(
    ops: list[tuple[str, int, int, int]],
) -> None:
    # Given a stock book and, beside it, each stock's lots as a plain list of [lot id, quantity, cost]
    book = StockBook(items=3, warehouses=2)
    model: list[list[list[int]]] = [[] for _ in range(6)]
    next_lot = most_on_hand = 0
    for op, k, qty, cost in ops:
        if op == "receive":
            # When a lot is received, it goes to the newest end
            next_lot += 1
            book.add_lot(k, next_lot, qty, cost)
            model[k].append([next_lot, qty, cost])
            most_on_hand = max(most_on_hand, sum(map(len, model)))
            continue
        # When stock is issued, the FIFO value is that of the oldest units, and used-up lots go
        on_hand = sum(q for _, q, _ in model[k])
        take = min(qty, on_hand)
        expected, left = 0, take
        for lot in model[k]:
            part = min(left, lot[1])
            expected += part * lot[2]
            left -= part
        assert book.fifo_value(k, take) == expected
        left = take
        while left:
            slot = book.head[k]
            part = min(left, book.lot_qty[slot])
            left -= part
            if part == book.lot_qty[slot]:
                book.drop_oldest(k)
            else:
                book.lot_qty[slot] -= part
        left = take
        while left:
            part = min(left, model[k][0][1])
            left -= part
            if part == model[k][0][1]:
                model[k].pop(0)
            else:
                model[k][0][1] -= part
    # Then every stock holds the model's lots, oldest first, and its newest lot is the model's last
    for k in range(6):
        assert list(book.lots(k)) == [(lot, q) for lot, q, _ in model[k]]
        assert book.newest_lot(k) == (model[k][-1][0] if model[k] else None)
    # And the pool holds no more slots than lots were ever on hand at once: used-up slots are reused
    assert len(book.next) == most_on_hand


def test_a_used_up_lots_slot_is_reused_by_the_next_lot() -> None:
    book = StockBook(items=1, warehouses=1)
    book.add_lot(0, 1, 5, 100)
    book.drop_oldest(0)
    book.add_lot(0, 2, 7, 110)
    assert len(book.next) == 1 and list(book.lots(0)) == [(2, 7)] and book.newest_lot(0) == 2


def test_the_demos_dunning_follows_the_reminder_rules() -> None:
    dunning = Dunning(4)
    open_ = NEVER
    # Customer 3: levels 1 and 2 about an open invoice, then a level 1 about a newer one: the floor keeps it at 2
    assert dunning.letter(3, 1, date(2026, 3, 8), open_) == 1
    assert dunning.letter(3, 2, date(2026, 3, 31), open_) == 2
    assert dunning.letter(3, 1, date(2026, 4, 30), open_) == 2
    # ... and within 14 days of a level-2 letter no level 1 or 2 goes out
    assert dunning.letter(3, 1, date(2026, 5, 10), open_) == 0
    # Customer 1: a level 3 about an invoice paid on 20/05; a new invoice afterwards starts at its own level
    assert dunning.letter(1, 3, date(2026, 5, 2), date(2026, 5, 20).toordinal()) == 3
    assert dunning.letter(1, 3, date(2026, 5, 12), open_) == 0
    assert dunning.letter(1, 1, date(2026, 6, 2), date(2026, 6, 9).toordinal()) == 1
    # At the end, customer 1 has paid everything it was reminded about: back to level 0
    assert list(dunning.reminded(date(2026, 6, 30))) == [(1, 0, date(2026, 6, 2)), (3, 2, date(2026, 4, 30))]

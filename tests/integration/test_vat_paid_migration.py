"""Migration 0016_vat_paid: the settled marker of VAT returns, the demo's payments found, both ways, both databases."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.ledger import JournalDraft, balances, cr, dr, post_journal
from acas_batch.models import JournalSource, VatReturn
from acas_batch.models.migrate import current_revision, downgrade, upgrade
from tests.books import Books

BEFORE = "0015_result_rows"
RETURNS = "SELECT period_key, status, box3_pence, box4_pence, box5_pence FROM vat_return_rec ORDER BY period_key"


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("vat_return_rec")}


def _pay(engine: Engine, reference: str, on: date, output: int, input_: int) -> int:
    """A GL journal as the demo generator pays HMRC: DR VAT output, CR VAT input, CR bank the rest."""
    with Session(engine) as s:
        b = Books(s)
        draft = JournalDraft(
            on, JournalSource.GL, reference, (dr(b.acc("2200"), output), cr(b.acc("2201"), input_),
                                              cr(b.acc("1200"), output - input_)),
        )  # fmt: skip
        journal_id = post_journal(s, draft)
        s.commit()
        return journal_id


def test_returns_are_kept_on_upgrade_the_demo_paid_ones_settled_and_the_marker_goes_on_downgrade(
    old_engine: Engine,
) -> None:
    # Given a 0015 database with three returns: Q2 submitted and paid as the demo pays (100.00),
    # Q1 submitted with a journal of its reference that does not move its boxes, Q3 a draft
    with Session(old_engine) as s:
        Books.open(s)
        s.commit()
    paid = _pay(old_engine, "HMRC VAT 2026-06", date(2026, 8, 7), 18_000, 8_000)
    _pay(old_engine, "HMRC VAT 2026-03", date(2026, 5, 7), 9_000, 1_000)
    with old_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO vat_return_rec (period_key, start_date, end_date, status, box1_pence, box2_pence,"
                " box3_pence, box4_pence, box5_pence, box6_pence, box7_pence, box8_pence, box9_pence, created_at)"
                " VALUES (:k, :s, :e, :st, :b3, 0, :b3, :b4, :b5, 0, 0, 0, 0, '2026-07-20 10:00:00+00:00')"
            ),
            [
                dict(zip(("k", "s", "e", "st", "b3", "b4", "b5"), row, strict=True))
                for row in (
                    ("26C1", date(2026, 1, 1), date(2026, 3, 31), "submitted", 9_500, 1_000, 8_500),
                    ("26C2", date(2026, 4, 1), date(2026, 6, 30), "submitted", 18_000, 8_000, 10_000),
                    ("26C3", date(2026, 7, 1), date(2026, 9, 30), "draft", 500, 0, 500),
                )
            ],
        )
        before = [tuple(r) for r in conn.execute(text(RETURNS))]

    # When it is upgraded to head
    upgrade(old_engine)

    # Then the returns are there, the one the demo paid settled by its journal, the others not
    assert {"paid_on", "payment_journal_id"} <= _columns(old_engine)
    with old_engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(RETURNS))] == before
    with Session(old_engine) as s:
        settled = {r.period_key: (r.paid_on, r.payment_journal_id) for r in s.scalars(select(VatReturn))}
        assert settled == {"26C1": (None, None), "26C2": (date(2026, 8, 7), paid), "26C3": (None, None)}
        # ... so the VAT line reconciles but for the journal of 26C1, which no settled return explains
        (vat,) = [r for r in balances.reconcile(s) if r.name == "vat"]
        assert vat.difference_pence == -8_000
    # ... and the schema refuses a draft marked paid
    with pytest.raises(IntegrityError), old_engine.begin() as conn:
        conn.execute(text("UPDATE vat_return_rec SET paid_on = :d WHERE period_key = '26C3'"), {"d": date(2026, 11, 7)})

    # And the downgrade drops the marker and keeps the returns, row for row; upgrading again works
    downgrade(old_engine, BEFORE)
    assert current_revision(old_engine) == BEFORE
    assert not {"paid_on", "payment_journal_id"} & _columns(old_engine)
    with old_engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(RETURNS))] == before
    upgrade(old_engine, "0016_vat_paid")
    assert current_revision(old_engine) == "0016_vat_paid"

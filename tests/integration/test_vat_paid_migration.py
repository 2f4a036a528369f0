"""Migration 0016_vat_paid adds the settled marker to the VAT returns, both ways, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from acas_batch.db import make_engine
from acas_batch.models.migrate import current_revision, downgrade, upgrade

BEFORE = "0015_result_rows"
RETURNS = "SELECT period_key, status, box3_pence, box4_pence, box5_pence FROM vat_return_rec ORDER BY period_key"


@pytest.fixture
def old_engine(empty_db_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_db_url)
    upgrade(engine, BEFORE)
    yield engine
    engine.dispose()


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("vat_return_rec")}


def test_returns_are_kept_unsettled_on_upgrade_and_the_marker_goes_on_downgrade(old_engine: Engine) -> None:
    # Given a 0015 database with a submitted return and a draft one
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
                    ("26C2", date(2026, 4, 1), date(2026, 6, 30), "submitted", 18_000, 8_000, 10_000),
                    ("26C3", date(2026, 7, 1), date(2026, 9, 30), "draft", 500, 0, 500),
                )
            ],
        )
        before = [tuple(r) for r in conn.execute(text(RETURNS))]

    # When it is upgraded to head
    upgrade(old_engine)

    # Then both returns are there, neither settled, and the schema refuses a draft marked paid
    assert {"paid_on", "payment_journal_id"} <= _columns(old_engine)
    with old_engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(RETURNS))] == before
        assert conn.execute(text("SELECT count(*) FROM vat_return_rec WHERE paid_on IS NOT NULL")).scalar() == 0
    with pytest.raises(IntegrityError), old_engine.begin() as conn:
        conn.execute(text("UPDATE vat_return_rec SET paid_on = :d WHERE period_key = '26C3'"), {"d": date(2026, 11, 7)})
    with old_engine.begin() as conn:
        conn.execute(text("UPDATE vat_return_rec SET paid_on = :d WHERE period_key = '26C2'"), {"d": date(2026, 8, 7)})

    # And the downgrade drops the marker and keeps the returns, row for row; upgrading again works
    downgrade(old_engine, BEFORE)
    assert current_revision(old_engine) == BEFORE
    assert not {"paid_on", "payment_journal_id"} & _columns(old_engine)
    with old_engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(RETURNS))] == before
    upgrade(old_engine)
    assert current_revision(old_engine) == "0016_vat_paid"

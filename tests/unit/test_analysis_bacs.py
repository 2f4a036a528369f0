from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acas_batch.analysis.bacs import (
    BacsPayment,
    Originator,
    bank_csv,
    clean_text,
    julian,
    parse_data_records,
    standard18,
)
from acas_batch.errors import ValidationError

ORIGIN = Originator(service_user_number="123456", name="Acme Wholesale Ltd", sort_code="40-47-84", account="12345678")


def test_julian_and_cleaning() -> None:
    assert julian(date(2026, 12, 31)) == "26365"
    assert julian(date(2028, 12, 31)) == "28366"
    assert clean_text("O'Brien & Sons (UK) Ltd") == "O BRIEN & SONS  UK"
    assert len(clean_text("x")) == 18


def test_file_layout_totals_and_contra() -> None:
    payments = [
        BacsPayment("20-00-00", "55779911", "Widgets Ltd", 123_456, "INV 1001/1002"),
        BacsPayment("309634", "00012345", "Bolt & Nut Co", 99, "PAY-7"),
    ]
    text = standard18(ORIGIN, payments, date(2026, 11, 26))
    lines = text.split("\r\n")[:-1]
    assert all(len(line) == 100 for line in lines)
    assert [line[:4] for line in lines[:4]] == ["VOL1", "HDR1", "HDR2", "UHL1"]
    assert lines[3][5:10] == "26330"  # 26 November 2026 is day 330
    parsed = parse_data_records(text)
    assert [(p.sort_code, p.account, p.code, p.amount_pence) for p in parsed] == [
        ("200000", "55779911", "99", 123_456),
        ("309634", "00012345", "99", 99),
        ("404784", "12345678", "17", 123_555),  # the contra debits the originator with the total
    ]
    assert parsed[0].reference == "INV 1001/1002"
    assert parsed[1].name == "BOLT & NUT CO"
    utl = lines[-1]
    assert utl.startswith("UTL1") and int(utl[4:17]) == 123_555 and int(utl[17:30]) == 123_555
    assert int(utl[37:44]) == 2  # two credit records


@pytest.mark.parametrize(
    ("payment", "fragment"),
    [
        (BacsPayment("2000", "55779911", "Short", 100, "R"), "must be 6 digits"),
        (BacsPayment("200000", "5577991", "Short", 100, "R"), "must be 8 digits"),
        (BacsPayment("200000", "55779911", "Zero", 0, "R"), "out of range"),
    ],
)
def test_invalid_payments_are_refused(payment: BacsPayment, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        standard18(ORIGIN, [payment], date(2026, 11, 26))


def test_bank_csv() -> None:
    csv_text = bank_csv([BacsPayment("20-00-00", "55779911", "Widgets, Ltd", 123_456, "INV 1")])
    assert csv_text == "200000,WIDGETS  LTD,55779911,1234.56,INV 1,99\r\n"


@given(st.lists(st.integers(1, 10**8), min_size=1, max_size=30))
def test_contra_always_balances(amounts: list[int]) -> None:
    payments = [BacsPayment("200000", f"{i:08d}", f"S{i}", a, f"R{i}") for i, a in enumerate(amounts)]
    parsed = parse_data_records(standard18(ORIGIN, payments, date(2027, 1, 4)))
    credits = [p.amount_pence for p in parsed if p.code == "99"]
    contra = [p.amount_pence for p in parsed if p.code == "17"]
    assert credits == amounts
    assert contra == [sum(amounts)]

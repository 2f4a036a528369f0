from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acas_batch.masking import mask_any, mask_text, mask_value


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("paying 20-00-00 55779911 for INV1", "paying **-**-00 ****11 for INV1"),
        ("bank 200000/55779911", "bank **-**-00/****11"),
        ("login password=hunter2 ok", "login password=**** ok"),
        ('config {"api_key": "abcd1234efgh"}', 'config {"api_key": "****"}'),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x.y", "Authorization: Bearer ****"),
        ("card 4111 1111 1111 1111 declined", "card ****1111 declined"),
        ("IBAN GB29 NWBK 6016 1331 9268 19", "IBAN GB29****6819"),
        ("postgresql+psycopg://acas:s3cret@db/acas", "postgresql+psycopg://acas:****@db/acas"),
    ],
)
def test_secrets_in_text_are_masked(raw: str, masked: str) -> None:
    assert mask_text(raw) == masked


def test_ordinary_text_and_numbers_survive() -> None:
    text = "posted 1234 journals totalling 55779911 pence on 2026-11-24; invoice 4111111111111112"
    assert mask_text(text) == text  # no sort code before the 8 digits; card number fails Luhn


def test_sensitive_keys_are_masked_recursively() -> None:
    params = {
        "period": "CURRENT",
        "supplier": {"name": "Widgets Ltd", "sort_code": "200000", "account_number": "55779911"},
        "smtp_password": "x",
        "notes": ["token=abc123456"],
    }
    assert mask_any(params) == {
        "period": "CURRENT",
        "supplier": {"name": "Widgets Ltd", "sort_code": "****", "account_number": "****11"},
        "smtp_password": "****",
        "notes": ["token=****"],
    }
    assert mask_value("password", "") == ""


@given(st.from_regex(r"[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{8}", fullmatch=True))
def test_no_sort_code_and_account_pair_survives(pair: str) -> None:
    masked = mask_text(f"pay {pair} now")
    assert pair not in masked
    assert pair[-2:] in masked

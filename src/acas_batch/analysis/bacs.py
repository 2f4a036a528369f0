"""Bacs Standard 18 direct-credit files and the banks' simple CSV alternative.

Every record is 100 characters. The file is VOL1, HDR1, HDR2, UHL1, one data record
per payment (transaction code 99 = credit), one contra record (code 17) debiting the
originator's account with the total, then EOF1, EOF2 and UTL1 with the totals.

Data record layout (1-based columns): 1-6 destination sort code, 7-14 destination
account, 15 account type ``0``, 16-17 transaction code, 18-23 originating sort code,
24-31 originating account, 32-35 free (``0000``), 36-46 amount in pence zero-filled,
47-64 originator's name, 65-82 reference, 83-100 destination account name.
Text fields hold only ``A-Z 0-9 space . / - &`` (other characters become spaces,
letters are upper-cased) and are cut to 18 characters.

The processing date is a Julian ``YYDDD`` in UHL1: on the three-day cycle money sent
for day D is submitted two working days before D (the caller computes it with the
business calendar).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from acas_batch.errors import ValidationError

RECORD_LENGTH = 100
CREDIT = "99"
CONTRA_DEBIT = "17"
_ALLOWED = re.compile(r"[^A-Z0-9 ./&-]")
MAX_AMOUNT = 99_999_999_999


def clean_text(value: str, width: int = 18) -> str:
    """Upper-case, replace characters Bacs does not allow by spaces, cut and pad to ``width``."""
    return _ALLOWED.sub(" ", value.upper())[:width].ljust(width)


def check_sort_code(value: str, what: str = "sort code") -> str:
    digits = value.replace("-", "").replace(" ", "")
    if not re.fullmatch(r"\d{6}", digits):
        raise ValidationError(f"{what} {value!r} must be 6 digits")
    return digits


def check_account(value: str, what: str = "account number") -> str:
    digits = value.replace(" ", "")
    if not re.fullmatch(r"\d{8}", digits):
        raise ValidationError(f"{what} {value!r} must be 8 digits")
    return digits


def julian(day: date) -> str:
    """``YYDDD``: two-digit year and day of the year."""
    return f"{day:%y}{day.timetuple().tm_yday:03d}"


@dataclass(frozen=True)
class Originator:
    """The paying company: its Bacs service user number and bank account."""

    service_user_number: str
    name: str
    sort_code: str
    account: str


@dataclass(frozen=True)
class BacsPayment:
    """One credit to a supplier."""

    sort_code: str
    account: str
    name: str
    amount_pence: int
    reference: str


def _record(text: str) -> str:
    if len(text) > RECORD_LENGTH:
        raise AssertionError(f"record longer than {RECORD_LENGTH}: {text!r}")
    return text.ljust(RECORD_LENGTH)


def _data_record(  # noqa: PLR0917 - the record's fields, in file order
    dest_sort: str, dest_acc: str, code: str, orig: Originator, amount: int, ref: str, name: str
) -> str:
    return _record(
        f"{dest_sort}{dest_acc}0{code}{orig.sort_code}{orig.account}0000{amount:011d}"
        f"{clean_text(orig.name)}{clean_text(ref)}{clean_text(name)}"
    )


def standard18(
    originator: Originator,
    payments: Sequence[BacsPayment],
    processing_date: date,
    *,
    file_number: int = 1,
    created: date | None = None,
) -> str:
    """The whole file as text, records separated by CRLF.

    Raises:
        ValidationError: a sort code, account, amount or service user number is invalid;
            nothing is produced.
    """
    sun = originator.service_user_number
    if not re.fullmatch(r"\d{6}", sun):
        raise ValidationError(f"service user number {sun!r} must be 6 digits")
    orig = Originator(
        service_user_number=sun,
        name=originator.name,
        sort_code=check_sort_code(originator.sort_code, "originating sort code"),
        account=check_account(originator.account, "originating account number"),
    )
    if not payments:
        raise ValidationError("a Bacs file needs at least one payment")
    data: list[str] = []
    total = 0
    for p in payments:
        if not 0 < p.amount_pence <= MAX_AMOUNT:
            raise ValidationError(f"payment to {p.name!r}: amount {p.amount_pence}p out of range")
        data.append(
            _data_record(
                check_sort_code(p.sort_code, f"sort code of {p.name!r}"),
                check_account(p.account, f"account number of {p.name!r}"),
                CREDIT,
                orig,
                p.amount_pence,
                p.reference,
                p.name,
            )
        )
        total += p.amount_pence
    if total > MAX_AMOUNT:
        raise ValidationError(f"file total {total}p exceeds the 11-digit amount field")
    contra = _data_record(orig.sort_code, orig.account, CONTRA_DEBIT, orig, total, "CONTRA", orig.name)
    made = julian(created or processing_date)
    proc = julian(processing_date)
    fno = f"{file_number:03d}"
    records = [
        _record(f"VOL1{fno.zfill(6)}{' ' * 31}{sun}{' ' * 4}1"),
        _record(f"HDR1A{sun}S  1{sun}{fno.zfill(6)}0001{' ' * 6}0001 {made} {proc} 000000{' ' * 20}"),
        _record(f"HDR2F0200000100{' ' * 35}00"),
        _record(f"UHL1 {proc}999999    000000001 DAILY  {fno}"),
        *data,
        contra,
        _record(f"EOF1A{sun}S  1{sun}{fno.zfill(6)}0001{' ' * 6}0001 {made} {proc} 000000{' ' * 20}"),
        _record(f"EOF2F0200000100{' ' * 35}00"),
        _record(f"UTL1{total:013d}{total:013d}{1:07d}{len(data):07d}"),
    ]
    return "\r\n".join(records) + "\r\n"


@dataclass(frozen=True)
class ParsedPayment:
    sort_code: str
    account: str
    code: str
    amount_pence: int
    reference: str
    name: str


def parse_data_records(text: str) -> list[ParsedPayment]:
    """Read back the data and contra records of a Standard 18 file (for checks and tests)."""
    out: list[ParsedPayment] = []
    for line in text.splitlines():
        if len(line) != RECORD_LENGTH:
            raise ValidationError(f"record of {len(line)} characters (Standard 18 records are {RECORD_LENGTH})")
        if line[:4] in ("VOL1", "HDR1", "HDR2", "UHL1", "EOF1", "EOF2", "UTL1"):
            continue
        out.append(
            ParsedPayment(
                sort_code=line[0:6],
                account=line[6:14],
                code=line[15:17],
                amount_pence=int(line[35:46]),
                reference=line[64:82].rstrip(),
                name=line[82:100].rstrip(),
            )
        )
    return out


def bank_csv(payments: Sequence[BacsPayment]) -> str:
    """The simple bank CSV: ``sortcode,name,account,amount,reference,99`` (amount in pounds)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for p in payments:
        if p.amount_pence <= 0:
            raise ValidationError(f"payment to {p.name!r}: amount {p.amount_pence}p must be positive")
        whole, frac = divmod(p.amount_pence, 100)
        writer.writerow(
            [
                check_sort_code(p.sort_code, f"sort code of {p.name!r}"),
                clean_text(p.name).rstrip(),
                check_account(p.account, f"account number of {p.name!r}"),
                f"{whole}.{frac:02d}",
                clean_text(p.reference).rstrip(),
                CREDIT,
            ]
        )
    return buf.getvalue()

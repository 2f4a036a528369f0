"""A corpus to measure masking on: sensitive strings (with the parts that must not survive) and
harmless look-alikes that must pass unchanged. The figures go in docs/security.md."""

from __future__ import annotations

import random


def iban(country: str, bban: str) -> str:
    """A valid IBAN for ``bban`` (check digits computed by ISO 13616 mod 97)."""
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def spaced(code: str) -> str:
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    """A Luhn-valid number of ``length`` digits starting with ``prefix``."""
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        candidate = body + check
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def group(number: str, sep: str, sizes: tuple[int, ...] = (4, 4, 4, 4)) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(number[i : i + size])
        i += size
    if i < len(number):
        parts.append(number[i:])
    return sep.join(p for p in parts if p)


def _bank_details() -> list[tuple[str, tuple[str, ...]]]:
    rows: list[tuple[str, tuple[str, ...]]] = []
    pairs = [("20-00-00", "12345678"), ("40-47-84", "70872490"), ("30-94-57", "43921805"), ("60-16-13", "31926819")]
    for sc, acc in pairs:
        bare = sc.replace("-", "")
        rows += [
            (f"sort code {sc} account {acc}", (acc, bare[:4])),
            (f"paying {sc} {acc} for INV-1021", (acc,)),
            (f"Sort Code: {sc}, Account Number: {acc}", (acc,)),
            (f"bank {bare}/{acc}", (acc,)),
            (f"s/c {sc} a/c {acc}", (acc,)),
            (f"{sc.replace('-', ' ')} {acc} (supplier bank details)", (acc,)),
            (f"acct no. {acc} sort code {sc}", (acc,)),
            (f"{acc} {sc} per remittance", (acc,)),
        ]
    rows += [
        ("sort code 20-00-00", ("20-00",)),
        ("account number: 55779911", ("55779911",)),
        ('{"sort_code": "200000", "account_number": "55779911"}', ("200000", "557799")),
        ("supplier_iban=GB29NWBK60161331926819", ("NWBK6016",)),
        ("sortCode=401276 accountNumber=41234567", ("401276", "412345")),
    ]
    return rows


def _ibans() -> list[tuple[str, tuple[str, ...]]]:
    codes = [
        iban("GB", "NWBK60161331926819"),
        iban("GB", "BARC20035344128712"),
        iban("DE", "370400440532013000"),
        iban("FR", "20041010050500013M02606"),
        iban("IE", "AIBK93115212345678"),
        iban("NL", "ABNA0417164300"),
        iban("ES", "21000418450200051332"),
        iban("IT", "X0542811101000000123456"),
    ]
    rows: list[tuple[str, tuple[str, ...]]] = []
    for code in codes:
        body = code[4:12]
        rows += [
            (f"IBAN {spaced(code)}", (spaced(code)[5:14],)),
            (f"refund to {code} today", (body,)),
            (f"iban: {spaced(code).lower()} (customer typed it)", (spaced(code).lower()[5:14],)),
        ]
    return rows


def _cards() -> list[tuple[str, tuple[str, ...]]]:
    rng = random.Random(17)
    rows: list[tuple[str, tuple[str, ...]]] = []
    prefixes = [("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16), ("4", 13)]
    for prefix, length in prefixes:
        number = luhn_complete(prefix, length, rng)
        sizes = (4, 6, 5) if length == 15 else (4, 4, 4, 4)
        rows += [
            (f"card {group(number, ' ', sizes)} declined", (number[:8], group(number, " ", sizes)[:9])),
            (f"paid with {group(number, '-', sizes)} exp 12/27", (group(number, "-", sizes)[:9],)),
            (f"Visa card number {number} refused", (number[:8],)),
        ]
    return rows


def _secrets() -> list[tuple[str, tuple[str, ...]]]:
    jwt = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
        ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    )
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq98ffK\nq0nX3mHdrVs9w==\n-----END RSA PRIVATE KEY-----"
    return [
        ("login password=hunter2 ok", ("hunter2",)),
        ("db_password=Tr0ub4dor&3", ("Tr0ub4dor",)),
        ("DB_PASSWORD='correct horse battery'", ("correct horse",)),
        ("access_token=ya29.A0ARrdaM-abc123def456", ("ya29.A0ARrdaM",)),
        ("refresh_token: 1//0gXyZ-abcdefghij", ("1//0gXyZ",)),
        ("client_secret=9f8e7d6c5b4a39281706", ("9f8e7d6c5b4a",)),
        ("smtp.password = 'mail pass 42'", ("mail pass",)),
        ("PGPASSWORD=s3cretpg psql -h db", ("s3cretpg",)),
        ("connect: Server=db;Database=acas;Uid=acas;Pwd=Winter2026!;", ("Winter2026",)),
        ("export ACAS_SECRET_KEY=Zm9vYmFyYmF6cXV4", ("Zm9vYmFyYmF6",)),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ("wJalrXUtnFEMI",)),
        ("using AKIAIOSFODNN7EXAMPLE in eu-west-2", ("AKIAIOSFODNN7EXAMPLE",)),
        ("key ASIAY34FZKBOKMUTVV7A expired", ("ASIAY34FZKBOKMUTVV7A",)),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", ("dXNlcjpwYXNzd29yZA",)),
        ("authorization: bearer abcdef0123456789abcdef", ("abcdef0123456789",)),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x.y", ("eyJhbGciOiJIUzI1NiJ9",)),
        ("header Authorization=Token 6f1ed002ab5595859014ebf0951522d9", ("6f1ed002ab55",)),
        ("X-Api-Key: 0a1b2c3d4e5f60718293", ("0a1b2c3d4e5f",)),
        ("sent with Bearer mF_9.B5f-4.1JqM", ("mF_9.B5f-4.1JqM",)),
        (f"token {jwt}", (jwt[:40], jwt[-20:])),
        (f"jwt={jwt}", (jwt[:40],)),
        (f"Cookie: session={jwt}", (jwt[:40],)),
        (pem, ("MIIEpAIBAAKCAQEA7bq98ffK", "q0nX3mHdrVs9w")),
        (
            "key: -----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0B\\n-----END PRIVATE KEY-----",
            ("MIIEvQIBADANBgkqhkiG9w0B",),
        ),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", ("b3BlbnNzaC1rZXktdjEAAAAA",)),
        ("postgresql+psycopg://acas:s3cret@db/acas", ("s3cret",)),
        ("https://bob:pa55w0rd@files.example.com/x.csv", ("pa55w0rd",)),
        ("smtp://alerts:Mail-Pass-9@smtp.example.co.uk:587", ("Mail-Pass-9",)),
        ("redis://:r3d1sPass@cache:6379/0", ("r3d1sPass",)),
        ('config {"api_key": "abcd1234efgh"}', ("abcd1234efgh",)),
        ('{"smtp": {"host": "mail", "password": "p w d 1"}}', ("p w d 1",)),
        ('{"bank": {"credentials": {"user": "acme", "pin": "4821"}}}', ("acme", "4821")),
        ('{"data": [{"name": "x", "accessToken": "tok_98a7s6d5"}]}', ("tok_98a7s6d5",)),
        ("{'secret': 'It is a secret'}", ("It is a secret",)),
        ("--password hunter22 --user admin", ("hunter22",)),
        ("ghp_1234567890abcdefghijABCDEFGHIJ123456 pushed", ("ghp_1234567890abcdef",)),
        ("slack xoxb-123456789012-abcdefABCDEF", ("xoxb-123456789012",)),
        ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", ("4eC39HqLyjWDarjtT1zdp7dc",)),
        ("cvv=123 expiry 12/27", ("cvv=123",)),
        ("api-key: QWERTY-7788-ZXCV", ("QWERTY-7788",)),
        ("passphrase=open sesame", ("open",)),
        ("session_key => 'a8f5f167f44f4964e6c998dee827110c'", ("a8f5f167f44f",)),
        ("auth=Zx9y8W7v", ("Zx9y8W7v",)),
        ("private_key: MIICWwIBAAKBgQDx", ("MIICWwIBAAKBgQDx",)),
    ]


def sensitive() -> list[tuple[str, tuple[str, ...]]]:
    """Each text with the fragments of it that must not appear in the masked text."""
    return _bank_details() + _ibans() + _cards() + _secrets()


def harmless() -> list[str]:
    """Texts that must come out of masking unchanged."""
    rng = random.Random(2026)
    ids: list[str] = []
    while len(ids) < 10:  # bare 16-digit ids, Luhn-valid or not, with no card word nearby
        ids.append("".join(str(rng.randrange(10)) for _ in range(16)))
    return [
        "posted 1234 journals totalling 55779911 pence on 2026-11-24",
        "invoice INV-20261124 for £12,345.67 due 2026-12-24",
        "invoice 4111111111111112 raised",
        "2026-11-24 12345678 pence posted",
        "24/11/2026 1234567.89 GBP",
        "on 2026-11-24 paid 12345678",
        "period 2026-11 closed; 20 journals, 12345678 pence",
        "amount 1,234,567.89 on 24-11-2026",
        "1234.56 1234.56 1234.56",
        "call +44 20 7946 0958 or 020 7946 0958",
        "mobile 07700 900123",
        "phone: +1 415 555 2671",
        "fax 0161 496 0000",
        "pwd=/var/lib/acas",
        "PWD=/home/acas/batch",
        "bank_account_id=42",
        "author=Jane Smith",
        "tests_passed=412 tests_failed=0",
        "token_expiry=2026-12-01T00:00:00Z",
        "password_hint=first pet",
        "secret_file=/etc/acas/secret.key",
        "tokens_used=1200",
        "passed: 12, failed: 0",
        "keyboard: uk",
        "https://www.example.com:8443/reports/trial-balance.pdf",
        "https://example.com/path@v2",
        "mailto:accounts@example.co.uk",
        "user fd@example.co.uk signed in",
        "GL_TRIAL_BALANCE finished in 12.5 s (run key GL_TRIAL_BALANCE:2026-11-24)",
        "execution 18446744 attempt 2 of 3",
        "reference PO-4000123456 received",
        "stock item ABC-12345678 reordered",
        "nominal account 4000 debited 125000",
        "VAT registration GB123456789",
        "company number 01234567",
        "batch 20 00 00 finished",
        "basic salary 2500.00",
        "Basic information about the run",
        "bearer of the cheque",
        "the token bucket refilled",
        "12:30:45 level: INFO event: execution_started",
        '{"job": "GL_DAILY_CLOSE", "period": "CURRENT", "rows": 1234567}',
        '{"bank_account_id": 7, "supplier_id": 99}',
        "eyJ is how a JSON object begins in base64",
        "AKIA followed by too few chars AKIA1234",
        "GB29 is not an IBAN by itself",
        "DE89 3704 0044 0532 0130 01 is missing a digit",
        "ISBN 978-0-306-40615-7",
        "size 4 4 4 4 items",
        *ids,
    ]

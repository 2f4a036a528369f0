"""Masking of sensitive data before it reaches a log line, an export or an alert.

Masked: values under sensitive keys (passwords, tokens, secrets, bank details), and in
free text: UK sort code + account pairs, IBANs, payment card numbers (Luhn-checked),
``key=value`` secrets and bearer tokens. What remains identifies the thing without
revealing it: the last 2-4 characters stay visible.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "****"

SECRET_KEYS = re.compile(
    r"pass(word|wd)?|secret|token|api[_-]?key|auth|credential|private[_-]?key|cvv|\bpin\b", re.IGNORECASE
)
IDENTIFIER_KEYS = re.compile(
    r"sort[_-]?code|account[_-]?(no|number)|bank[_-]?account|iban|card[_-]?(no|number)", re.IGNORECASE
)

_KEY_VALUE = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret)\b)"
    r"(?P<kq>['\"]?)(?P<sep>\s*[=:]\s*)(?P<quote>['\"]?)(?P<value>[^\s'\",;&]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<prefix>\bBearer\s+)(?P<value>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
_SORT_ACCOUNT = re.compile(r"\b(\d{2})[- ]?(\d{2})[- ]?(\d{2})([ ,/;]+)(\d{6})(\d{2})\b")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2})((?:\s?[A-Z0-9]){10,30})\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_URL_PASSWORD = re.compile(r"(?P<prefix>[a-z][a-z0-9+.-]*://[^:/\s@]+:)(?P<value>[^@\s]+)(?=@)", re.IGNORECASE)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = re.sub(r"\D", "", raw)
    if 13 <= len(digits) <= 19 and _luhn_ok(digits):
        return f"{MASK}{digits[-4:]}"
    return raw


def _last4(text: str) -> str:
    return re.sub(r"\s", "", text)[-4:]


def mask_text(text: str) -> str:
    """Mask every sensitive value found in free text."""
    if not text:
        return text
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('prefix')}{MASK}", text)
    text = _KEY_VALUE.sub(lambda m: f"{m.group('key')}{m.group('kq')}{m.group('sep')}{m.group('quote')}{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m.group('prefix')}{MASK}", text)
    text = _SORT_ACCOUNT.sub(lambda m: f"**-**-{m.group(3)}{m.group(4)}{MASK}{m.group(6)}", text)
    text = _IBAN.sub(lambda m: f"{m.group(1)}{MASK}{_last4(m.group(2))}", text)
    return _CARD.sub(_mask_card, text)


def mask_value(key: str, value: Any) -> Any:
    """Mask ``value`` if ``key`` names a secret (wholly) or a bank identifier (all but the
    last two characters of a long one); otherwise mask what its text contains."""
    if value is None or value == "":
        return value
    if SECRET_KEYS.search(key):
        return MASK
    if IDENTIFIER_KEYS.search(key):
        text = str(value)
        return f"{MASK}{text[-2:]}" if len(text) > 6 else MASK
    return mask_any(value)


def mask_any(value: Any) -> Any:
    """Mask strings, and mappings and lists recursively; other values pass unchanged."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_any(v) for v in value]
    return value

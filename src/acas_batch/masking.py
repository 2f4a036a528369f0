"""Masking of sensitive data: one function applied wherever text leaves or is stored.

``mask_text`` masks free text; ``mask_any`` masks mappings (by key) and lists recursively.
What is masked, and why a harmless look-alike is not (the rules are measured on a corpus in
``tests/unit/masking_corpus.py``; figures in docs/security.md):

- values under a key that names a secret, matched by whole key *tokens* (``db_password``,
  ``accessToken``, ``X-Api-Key``, ``PGPASSWORD``) and never by substring (``author``,
  ``tests_passed`` and ``bank_account_id`` are not secrets). A key whose last token says the
  value only describes the secret (``token_expiry``, ``password_hint``, ``secret_file``) is not
  masked. ``pwd`` is a password (ODBC's ``PWD=``) unless its value is a path (``pwd=/var/lib/acas``
  is the shell's working directory and stays);
- bank identifiers under their keys (``sort_code``, ``account_number``, ``iban``, ``card_number``,
  ``bank_account``): all but the last two characters;
- in free text: sort code and account number pairs in their usual spellings, a sort code or an
  8-digit account number after its name, IBANs (checked by their mod-97 check digits, any case,
  with or without spaces), card numbers that pass Luhn *and* are grouped (``4111 1111 ...``) or
  follow a card word (a bare 16-digit id is an id), PEM private keys, JWTs, AWS access key ids
  and well-known token prefixes, ``Authorization:`` credentials, ``Bearer`` tokens and passwords
  in URLs.

Every pattern is linear: quantifiers are bounded, candidates start only at a token boundary and
the checks (Luhn, mod 97, key tokens) are plain Python on a bounded span. A 1 MB line is masked
in a fraction of a second (``make bench BENCH=masking``).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Mapping
from typing import Any

MASK = "****"
SECRET_SHOWN = "••••"  # how a secret parameter is shown everywhere (it is never decrypted for display)

# Whole key tokens (or two adjacent tokens joined) that name a secret.
_SECRET_WORDS = frozenset(
    {
        "password", "passwd", "passphrase", "pass", "pwd", "secret", "secrets", "token", "credential", "credentials",
        "auth", "authorization", "apikey", "accesskey", "privatekey", "secretkey", "signingkey", "encryptionkey",
        "masterkey", "sessionkey", "clientsecret", "cookie", "sessionid", "pin", "cvv", "cvc", "cvv2", "otp",
        "signature", "sig", "salt",
    }
)  # fmt: skip
# A single-word key ending so (``pgpassword``, ``githubtoken``) names a secret too.
_SECRET_SUFFIXES = ("password", "passwd", "passphrase", "secret", "token", "apikey")
# A last token that says the value only describes the secret, not the secret itself.
_DESCRIPTIVE_TAILS = frozenset(
    {
        "id", "ids", "count", "hint", "type", "kind", "method", "mode", "expiry", "expires", "expired", "expiration",
        "at", "policy", "length", "len", "url", "uri", "endpoint", "name", "file", "path", "dir", "env", "prefix",
        "required", "changed", "age", "rotated", "version", "enabled", "source", "algorithm", "algo", "scheme",
        "header", "field", "ttl", "timeout", "store", "used", "last", "valid", "set",
    }
)  # fmt: skip
# Key token sequences naming a bank identifier (matched at the end of the key).
_IDENTIFIER_ENDINGS = (
    ("sort", "code"), ("sortcode",), ("account", "number"), ("account", "no"), ("acct", "no"), ("accountnumber",),
    ("iban",), ("card", "number"), ("cardnumber",), ("card", "no"), ("pan",), ("bank", "account"),
)  # fmt: skip

_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@functools.lru_cache(maxsize=4096)
def key_tokens(key: str) -> tuple[str, ...]:
    """``"dbPassword"`` → ``("db", "password")``; ``"X-Api-Key"`` → ``("x", "api", "key")``."""
    return tuple(t.lower() for t in _TOKEN.findall(key[:128]))


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Whether the value under ``key`` is a secret (whole-token match, see the module docstring)."""
    tokens = key_tokens(key)
    if not tokens or tokens[-1] in _DESCRIPTIVE_TAILS:
        return False
    if any(t in _SECRET_WORDS for t in tokens):
        return True
    if any(a + b in _SECRET_WORDS for a, b in itertools.pairwise(tokens)):
        return True
    return len(tokens) == 1 and tokens[0].endswith(_SECRET_SUFFIXES)


@functools.lru_cache(maxsize=4096)
def is_identifier_key(key: str) -> bool:
    """Whether ``key`` names a bank or card identifier (``sort_code``, ``supplierIban``...)."""
    tokens = key_tokens(key)
    return any(tokens[-len(e) :] == e for e in _IDENTIFIER_ENDINGS if len(tokens) >= len(e))


def _mask_identifier(value: Any) -> str:
    text = str(value)
    return f"{MASK}{text[-2:]}" if len(text) > 6 else MASK


def _looks_like_path(value: str) -> bool:
    return value.startswith(("/", "~", "./", "../")) or bool(re.match(r"[A-Za-z]:[\\/]", value))


# --- free-text patterns -----------------------------------------------------------------------------------------

_SEALED = re.compile(r"enc:v1:[A-Za-z0-9_\-=]{0,65536}")
_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY(?: BLOCK)?-----")

# A key, its optional closing quote and a separator; the value is read by ``_value_end``.
# The key scanner looks for these words (a fast search), then reads the whole key around the hit and
# lets ``is_secret_key``/``is_identifier_key`` decide by whole tokens.
_HINTS = r"pass|pwd|secret|token|key|auth|cred|cookie|session|pin|cvv|cvc|otp|sig|salt|iban|sort|account|acct|card|pan"
_KEY_HINT = re.compile(_HINTS)
_KEY_HINT_ANY_CASE = re.compile(_HINTS, re.IGNORECASE)
_KEY_CHAR = re.compile(r"[A-Za-z0-9_.\-]")
_KEY_REST = re.compile(r"[A-Za-z0-9_.\-]{0,64}")
_KEY_WORD_END = re.compile(r"[^A-Za-z0-9_.\-]")
_SEPARATOR = re.compile(r"[\"']?[ \t]{0,4}(?:=>|[=:])[ \t]{0,4}")
_KEY_MAX = 64
_FLAG = re.compile(r"-(?<![\w-]-)-(?P<key>[A-Za-z][A-Za-z0-9-]{0,40})[ \t]{1,4}(?P<value>[^\s\"'-][^\s\"']{0,511})")
_AUTH_SCHEME = re.compile(r"(?i)(?:basic|bearer|token|negotiate|ntlm|aws4-hmac-sha256)[ \t]{1,4}")
_DIGEST_SCHEME = re.compile(r"(?i)digest[ \t]")
_BEARER = re.compile(r"(?<![A-Za-z0-9])(?P<p>[Bb]earer[ \t]{1,4})(?P<v>[A-Za-z0-9._~+/=-]{8,4096})")
_URL_CREDENTIALS = re.compile(
    r"(?<![A-Za-z0-9+.\-])(?P<p>[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s:/@\"'<>]{0,256}:)(?P<v>[^\s@/\"'<>]{1,256})(?=@)"
)
_JWT = re.compile(r"e(?<![A-Za-z0-9_\-]e)yJ[A-Za-z0-9_\-]{4,8192}\.eyJ[A-Za-z0-9_\-]{4,16384}\.[A-Za-z0-9_\-]{0,4096}")
_KNOWN_TOKENS = re.compile(  # the boundary before a token is checked by ``_mask_known``
    r"(?:"
    r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{30,255}"  # GitHub
    r"|xox[abprs]-[A-Za-z0-9-]{10,255}"  # Slack
    r"|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,255}"  # Stripe
    r"|AIza[A-Za-z0-9_\-]{35}"  # Google API keys
    r"|acas_[A-Za-z0-9_\-]{16,255}"  # acas-batch API tokens
    r")(?![A-Za-z0-9])"
)
_IBAN = re.compile(r"[A-Za-z](?<![A-Za-z0-9][A-Za-z])[A-Za-z]\d{2}(?:[ ]?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])")
# Each pattern starts with a character class and checks the boundary just after it: the regex engine
# then skips ahead to candidate characters instead of trying a look-behind at every position.
_SC = r"\d\d(?P<s>[- ]?)\d{2}(?P=s)\d{2}"
_ACC = r"\d{8}(?![\d]|[.,]\d)"
_SC_FIRST = r"\d(?<![\w-]\d)\d(?P<s>[- ]?)\d{2}(?P=s)\d{2}"
_ACC_FIRST = r"\d(?<![\w-]\d)\d{7}(?![\d]|[.,]\d)"
_ACCOUNT_WORD = r"(?:ccount|cct|cc|/c)(?:[ \t]{0,2}(?:number|num|no\.?|#))?[ \t]{0,2}[:=#]?[ \t]{0,2}"
_SORT_WORD = r"(?:sort[ _-]?code|s/c)[ \t]{0,2}[:=#]?[ \t]{0,2}"
# sort code then account number, bare or with the account's name between them
_SC_ACC = re.compile(
    rf"(?P<sc>{_SC_FIRST})(?:[ \t]{{0,2}}[,/;:][ \t]{{0,2}}|[ \t]{{1,3}})(?i:a{_ACCOUNT_WORD})?(?P<acc>{_ACC})"
)
# account number then sort code
_ACC_SC = re.compile(
    rf"(?P<acc>{_ACC_FIRST})(?:[ \t]{{0,2}}[,/;:][ \t]{{0,2}}|[ \t]{{1,3}})(?i:{_SORT_WORD})?(?P<sc>{_SC})(?![\w-])"
)
_NAMED_SC = re.compile(rf"(?i:{_SORT_WORD})(?P<sc>{_SC})(?![\w-])")
_NAMED_ACC = re.compile(rf"[Aa](?<![A-Za-z][Aa])(?i:{_ACCOUNT_WORD})(?P<acc>{_ACC})")
# bare 13-19 digits (a card only after a card word), fours (the last group may be short, a fifth of up to
# three digits may follow) or 4-6-5 / 4-6-4
_CARD = re.compile(
    r"\d(?<![\d.,-]\d)(?:\d{12,18}"
    r"|\d{3}(?P<s>[ -])\d{4}(?P=s)\d{4}(?P=s)\d{1,4}(?:(?P=s)\d{1,3})?"
    r"|\d{3}(?P<a>[ -])\d{6}(?P=a)\d{4,5})(?![\d])"
)
# IBANs, sort codes, accounts and cards all hold at least six digits, at most one separator apart.
_SIX_DIGITS = re.compile(r"\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d")
_IBAN_HEAD = re.compile(r"(?<![a-z0-9])[a-z]{2}\d{2}[ -]\Z")
_CARD_SEPARATOR = re.compile(r"[ -]")
_CARD_WORDS = ("card", "visa", "mastercard", "amex", "maestro", "pan", "cc ", "cc:", "cc=", "cc#")


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


def _iban_ok(compact: str) -> bool:
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _cuts(raw: str) -> list[int]:
    """Where a candidate may end: at each separator and at its end, longest first."""
    return [len(raw)] + [i for i in range(len(raw) - 1, 0, -1) if raw[i] in " -"]


def _mask_iban(m: re.Match[str]) -> str:
    raw = m.group(0)
    named = "iban" in m.string[max(0, m.start() - 16) : m.start()].lower()
    for cut in _cuts(raw):
        compact = raw[:cut].replace(" ", "").upper()
        if _iban_ok(compact):
            return f"{raw[:4].upper()}{MASK}{compact[-4:]}{raw[cut:]}"
    if named:  # after the word IBAN, a mistyped one is masked too
        return f"{raw[:4].upper()}{MASK}"
    return raw


def _card_grouping(sizes: list[int]) -> bool:
    """Groups as cards print them: fours (the last may be shorter), or 4-6-5 / 4-6-4."""
    if len(sizes) < 2:
        return False
    return (all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4) or sizes in ([4, 6, 5], [4, 6, 4])


def _mask_card(m: re.Match[str]) -> str:
    raw = m.group(0)
    before = m.string[max(0, m.start() - 24) : m.start()].lower()
    if _IBAN_HEAD.search(before):
        return raw  # the rest of an IBAN whose check digits failed, not a card
    named = any(w in before for w in _CARD_WORDS)
    groups = _CARD_SEPARATOR.split(raw)
    for k in range(len(groups), 0, -1):
        sizes = [len(g) for g in groups[:k]]
        if not 13 <= sum(sizes) <= 19 or not (named or _card_grouping(sizes)):
            continue
        digits = "".join(groups[:k])
        if _luhn_ok(digits):
            end = sum(sizes) + k - 1
            return f"{MASK}{digits[-4:]}{raw[end:]}"
    return raw


def _mask_sc(sc: str) -> str:
    return f"**-**-{sc[-2:]}"


def _mask_acc(acc: str) -> str:
    return f"{MASK}{acc[-2:]}"


def _sub_groups(m: re.Match[str], masks: dict[str, Callable[[str], str]]) -> str:
    """The match with each named group replaced by its mask (groups do not overlap)."""
    out, pos = [], m.start()
    for name, start in sorted(((n, m.start(n)) for n in masks), key=lambda p: p[1]):
        out += [m.string[pos:start], masks[name](m.group(name))]
        pos = m.end(name)
    out.append(m.string[pos : m.end()])
    return "".join(out)


_SC_ACC_MASKS: dict[str, Callable[[str], str]] = {"sc": _mask_sc, "acc": _mask_acc}


def _mask_pem(text: str) -> str:
    if "PRIVATE KEY" not in text:
        return text
    out, pos = [], 0
    while (begin := _PEM_BEGIN.search(text, pos)) is not None:
        end = _PEM_END.search(text, begin.end())
        out += [text[pos : begin.end()], MASK]
        if end is None:  # a key cut short is still a key: mask to the end
            return "".join(out)
        out.append(end.group(0))
        pos = end.end()
    out.append(text[pos:])
    return "".join(out)


def _bracket_end(text: str, start: int, limit: int) -> int:
    """End of the JSON-ish object or list opening at ``start`` (or ``limit`` if it is not closed)."""
    depth, quote, i = 0, "", start
    while i < limit:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return limit


_VALUE_STOP = re.compile(r"[\s,;&\"'<>)}\]]")


def _value_span(text: str, start: int, quoted: str) -> tuple[int, int]:
    """The span of the value starting at ``start`` (after an optional opening quote ``quoted``)."""
    n = len(text)
    limit = min(n, start + 65536)
    if quoted:
        i = start
        while i < limit and text[i] != quoted and text[i] != "\n":
            i += 2 if text[i] == "\\" else 1
        return start, min(i, limit)
    if start < n and text[start] in "{[":
        return start, _bracket_end(text, start, limit)
    stop = _VALUE_STOP.search(text, start, min(n, start + 4096))
    return start, stop.start() if stop else min(n, start + 4096)


def _key_start(text: str, hit_start: int, end: int) -> int:
    """Where the key word holding a hint begins (``end`` when the word is too long to be a key)."""
    start = hit_start
    floor = max(0, end - _KEY_MAX)
    while start > floor and _KEY_CHAR.match(text, start - 1):
        start -= 1
    if start == floor and start > 0 and _KEY_CHAR.match(text, start - 1):
        return end
    return start


def _mask_key_values(text: str) -> str:
    """Mask the value after each secret key (``key=value``, ``"key": "value"``, ``Key: value``)."""
    # The hint search runs on a lower-cased copy when lower-casing keeps every offset (it does for ASCII).
    lowered = text.lower()
    haystack, hints = (lowered, _KEY_HINT) if len(lowered) == len(text) else (text, _KEY_HINT_ANY_CASE)
    out: list[str] = []
    pos = 0  # text before pos is in ``out`` already
    search_from = 0
    while (hit := hints.search(haystack, search_from)) is not None:
        rest = _KEY_REST.match(text, hit.end())
        kend = rest.end() if rest else hit.end()
        search_from = kend
        sep = _SEPARATOR.match(text, kend)
        if sep is None:
            if kend - hit.end() >= _KEY_MAX:  # a long word: skip it whole
                stop = _KEY_WORD_END.search(text, kend)
                search_from = stop.start() if stop else len(text)
            continue
        kstart = _key_start(text, hit.start(), kend)
        key = text[kstart:kend]
        secret = is_secret_key(key)
        if not key or (not secret and not is_identifier_key(key)):
            continue
        start = sep.end()
        quote = text[start] if start < len(text) and text[start] in "\"'" else ""
        if not secret and not quote:
            continue  # an unquoted bank identifier is left to the patterns below, which know its spellings
        start += len(quote)
        if secret and not quote:
            if (scheme := _AUTH_SCHEME.match(text, start)) is not None:
                start = scheme.end()
            elif _DIGEST_SCHEME.match(text, start) is not None:
                eol = text.find("\n", start)
                end = eol if eol >= 0 else len(text)
                out += [text[pos : start + 7], MASK]
                pos = search_from = end
                continue
        vstart, vend = _value_span(text, start, quote)
        value = text[vstart:vend]
        if not value or value.startswith(MASK) or (key_tokens(key)[-1:] == ("pwd",) and _looks_like_path(value)):
            continue
        out += [text[pos:vstart], MASK if secret else _mask_identifier(value)]
        pos = search_from = vend
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _mask_known(m: re.Match[str]) -> str:
    start = m.start()
    return m.group(0) if start > 0 and m.string[start - 1].isalnum() else MASK


def _mask_flag(m: re.Match[str]) -> str:
    if not is_secret_key(m.group("key")):
        return m.group(0)
    return m.group(0)[: m.start("value") - m.start()] + MASK


def mask_text(text: str) -> str:
    """Mask every sensitive value found in free text (linear in the length of ``text``)."""
    if not text:
        return text
    # Each pass runs only when the text holds what its pattern starts with (a plain substring test).
    if "enc:v1:" in text:  # a sealed secret parameter: not even its ciphertext is shown
        text = _SEALED.sub(SECRET_SHOWN, text)
    text = _mask_pem(text)
    if ":" in text or "=" in text:
        text = _mask_key_values(text)
    if "--" in text:
        text = _FLAG.sub(_mask_flag, text)
    if "://" in text:
        text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('p')}{MASK}", text)
    if "earer" in text:
        text = _BEARER.sub(lambda m: f"{m.group('p')}{MASK}", text)
    if "eyJ" in text:
        text = _JWT.sub(MASK, text)
    text = _KNOWN_TOKENS.sub(_mask_known, text)
    if _SIX_DIGITS.search(text) is None:
        return text
    text = _IBAN.sub(_mask_iban, text)
    text = _SC_ACC.sub(lambda m: _sub_groups(m, _SC_ACC_MASKS), text)
    text = _ACC_SC.sub(lambda m: _sub_groups(m, _SC_ACC_MASKS), text)
    text = _NAMED_SC.sub(lambda m: _sub_groups(m, {"sc": _mask_sc}), text)
    text = _NAMED_ACC.sub(lambda m: _sub_groups(m, {"acc": _mask_acc}), text)
    return _CARD.sub(_mask_card, text)


def mask_value(key: str, value: Any) -> Any:
    """Mask ``value`` if ``key`` names a secret (wholly) or a bank identifier (all but the
    last two characters of a long one); otherwise mask what its text contains."""
    if value is None or value == "":
        return value
    if isinstance(value, str) and value.startswith("enc:v1:"):
        return SECRET_SHOWN
    if is_secret_key(key):
        if isinstance(value, str) and key_tokens(key)[-1:] == ("pwd",) and _looks_like_path(value):
            return value
        return MASK
    if is_identifier_key(key) and not isinstance(value, Mapping | list | tuple | bool):
        return _mask_identifier(value)
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

"""Masking a 1 MB line: a realistic log line and the shapes that make naive patterns quadratic."""

from __future__ import annotations

from acas_batch.masking import mask_text
from benchmarks.measure import best_seconds

MB = 1 << 20

SHAPES = {
    "ordinary log text": (
        "posted 1234 journals for INV-20261124 £12,345.67 on 2026-11-24 to nominal 4000 (author=Jane, "
        "tests_passed=12); GL_TRIAL_BALANCE finished in 12.5 s; "
    ),
    "log text, a secret every 160 characters": (
        "posted 1234 journals for INV-20261124 £12,345.67 paying 20-00-00 12345678 password=hunter2 "
        "card 4111 1111 1111 1111 https://bob:pw@example.com/x author=Jane "
    ),
    "one long word": "a",
    "digits": "1",
    "digits and spaces": "1 ",
    "letters and colons": "ab:",
    "scheme-like": "ab+",
    "eyJ repeated": "eyJ",
    "password=x pairs (95,000 secrets)": "password=x ",
    "unclosed JSON under a secret key": '"secret": {"a": ',
    "PEM begin without end": "-----BEGIN PRIVATE KEY-----",
}


def _line(unit: str, size: int = MB) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _best(line: str) -> float:
    return best_seconds(lambda: mask_text(line), 3)


def run() -> list[tuple[str, str]]:
    figures = []
    for name, unit in SHAPES.items():
        figures.append((f"mask a 1 MB line: {name}", f"{_best(_line(unit)) * 1000:.0f} ms"))
    for name in ("ordinary log text", "digits and spaces"):  # linear: 4x the text, about 4x the time
        small, large = _best(_line(SHAPES[name], MB // 4)), _best(_line(SHAPES[name], MB))
        figures.append((f"time(1 MB) / time(256 KB): {name}", f"{large / small:.1f}"))
    return figures

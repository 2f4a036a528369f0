"""Run every ``benchmarks/bench_*.py`` module (or those named on the command line) and print a table."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def modules(selected: list[str]) -> list[str]:
    found = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if not selected:
        return found
    return [m for m in found if m in selected or m.removeprefix("bench_") in selected]


def main(argv: list[str]) -> int:
    rows: list[tuple[str, str, str]] = []
    print(f"{'benchmark':<12} {'figure':<60} value", flush=True)
    for name in modules(argv):
        module = importlib.import_module(f"benchmarks.{name}")
        for figure, value in module.run():
            rows.append((name.removeprefix("bench_"), figure, value))
            print(f"{rows[-1][0]:<12} {figure:<60} {value}", flush=True)
    if not rows:
        print("no benchmarks matched", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

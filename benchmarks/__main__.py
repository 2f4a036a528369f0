"""Run every ``benchmarks/bench_*.py`` (each exposes ``run() -> list[tuple[str, str]]``) and print the figures."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def main(selected: list[str]) -> None:
    here = Path(__file__).resolve().parent
    names = sorted(p.stem for p in here.glob("bench_*.py"))
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        for label, value in module.run():
            print(f"{label}: {value}", flush=True)
        print(f"({name} took {time.perf_counter() - start:.1f}s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

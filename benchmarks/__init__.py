"""Speed figures, run by ``make bench`` (``python -m benchmarks``).

Each module ``benchmarks/bench_*.py`` exposes ``run() -> list[tuple[str, str]]``: the
figures it measured, as (name, value) rows. They print figures; they never assert.
"""

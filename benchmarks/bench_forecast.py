"""Demand forecasting for many items: the vectorised selection and refit."""

from __future__ import annotations

import os

import numpy as np

from acas_batch.analysis.forecast import forecast_many
from benchmarks.measure import timed


def _history(items: int, months: int, seed: int = 11) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    base = rng.lognormal(3, 1, size=(items, 1))
    season = 1 + 0.3 * np.sin(2 * np.pi * (t[None, :] + rng.integers(0, 12, size=(items, 1))) / 12)
    trend = 1 + rng.normal(0, 0.01, size=(items, 1)) * t[None, :]
    demand = rng.poisson(np.maximum(base * season * trend, 0.1))
    lumpy = rng.random(items) < 0.3
    demand[lumpy] = demand[lumpy] * (rng.random((int(lumpy.sum()), months)) < 0.25)
    return demand.astype(np.float64)


def run() -> list[tuple[str, str]]:
    items = int(os.environ.get("ACAS_BENCH_FORECAST_ITEMS", "20000"))
    months = 24
    history = _history(items, months)
    with timed() as t:
        batch = forecast_many(history, horizon=12)
    elapsed = t.seconds
    counts = {m.value: batch.methods.count(m) for m in set(batch.methods)}
    return [
        (f"forecast {items} items x {months} months (s)", f"{elapsed:.2f}"),
        ("forecast items per second", f"{items / elapsed:,.0f}"),
        ("methods chosen", ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))),
    ]


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")

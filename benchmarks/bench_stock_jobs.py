"""Stock jobs on a demo company: ABC, valuation, forecast, each beside one hand-written computation.

Size from ``ACAS_BENCH_STOCK_SCALE`` (demo scale, default 1: 50 items, 24 months) and
``ACAS_BENCH_STOCK_URL`` (default: a fresh SQLite file). Wall time and peak Python memory
(tracemalloc) of each job run through a real job context (execution row, logs, CSV included), and of
the baseline: the best single
SQL statement (ABC, valuation) or a SQL read plus vectorised numpy (forecast) with no writes.
"""

from __future__ import annotations

import os
import tempfile
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, text
from tests.support.context import run_job

from acas_batch.analysis.forecast import forecast_many
from acas_batch.config import load_settings
from acas_batch.db import make_engine
from acas_batch.jobs import load_standard_jobs
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models.migrate import upgrade
from benchmarks.measure import timed

END = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)

ABC_SQL = """
WITH used AS (
  SELECT item_id, CAST(SUM(-quantity) AS BIGINT) AS q, CAST(SUM(-value_pence) AS BIGINT) AS v
  FROM st_movement_rec
  WHERE kind = 'issue' AND movement_date > :since AND movement_date <= :until GROUP BY item_id
), base AS (
  SELECT i.id, i.code, COALESCE(u.q, 0) AS q, COALESCE(u.v, 0) AS v, CASE WHEN u.v > 0 THEN u.v ELSE 0 END AS p
  FROM st_item_rec i LEFT JOIN used u ON u.item_id = i.id WHERE i.active
), ranked AS (
  SELECT id, q, v, ROW_NUMBER() OVER (ORDER BY v DESC, code ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS rank,
    SUM(p) OVER (ORDER BY v DESC, code ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - p AS before,
    SUM(p) OVER () AS total FROM base
)
SELECT id, rank, q, v, CAST(before AS BIGINT), CASE WHEN v <= 0 THEN 'C' WHEN before * 100 < 80 * total THEN 'A'
  WHEN before * 100 < 95 * total THEN 'B' ELSE 'C' END FROM ranked
"""

VALUATION_SQL = """
SELECT s.item_id, s.warehouse_id, CASE i.cost_method
  WHEN 'fifo' THEN (SELECT COALESCE(SUM(l.quantity_on_hand * l.unit_cost_pence), 0) FROM st_lot_rec l
                    WHERE l.item_id = s.item_id AND l.warehouse_id = s.warehouse_id)
  WHEN 'average' THEN (SELECT COALESCE(SUM(m.value_pence), 0) FROM st_movement_rec m
                       WHERE m.item_id = s.item_id AND m.warehouse_id = s.warehouse_id)
  ELSE s.quantity * i.standard_cost_pence END
FROM st_stock_rec s JOIN st_item_rec i ON i.id = s.item_id WHERE s.quantity <> 0 OR s.value_pence <> 0
"""

MONTHLY_SQL = """
SELECT item_id, {month}, SUM(-quantity)
FROM st_movement_rec WHERE kind = 'issue' AND movement_date >= :first AND movement_date <= :last
GROUP BY 1, 2
"""
MONTH_PG = "CAST(EXTRACT(YEAR FROM movement_date) * 12 + EXTRACT(MONTH FROM movement_date) - 1 AS INTEGER)"
MONTH_SQLITE = "CAST(substr(movement_date, 1, 4) AS INTEGER) * 12 + CAST(substr(movement_date, 6, 2) AS INTEGER) - 1"


def monthly_demand(engine: Engine, first: date, last: date) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Active item ids (ascending) and their items × months matrix of issued quantity, ``first`` to ``last``.

    The month comes as one integer and the rows straight into a flat numpy array
    (``np.array`` over result rows would probe each row object).
    """
    sql = MONTHLY_SQL.format(month=MONTH_SQLITE if engine.dialect.name == "sqlite" else MONTH_PG)
    bind = {"first": first, "last": last}
    if engine.dialect.name == "sqlite":
        bind = {k: v.isoformat() for k, v in bind.items()}
    with engine.connect() as conn:
        items = np.fromiter(
            (r[0] for r in conn.exec_driver_sql("SELECT id FROM st_item_rec WHERE active ORDER BY id")), dtype=np.int64
        )
        rows = np.fromiter(chain.from_iterable(conn.execute(text(sql), bind)), dtype=np.int64).reshape(-1, 3)
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    y = np.zeros((len(items), months))
    pos = np.minimum(np.searchsorted(items, rows[:, 0]), max(len(items) - 1, 0))
    rows = rows[items[pos] == rows[:, 0]] if len(items) else rows[:0]  # issues of inactive items left out
    y[np.searchsorted(items, rows[:, 0]), rows[:, 1] - (first.year * 12 + first.month - 1)] = rows[:, 2]
    return items, y


def _measure(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    tracemalloc.start()
    with timed() as t:
        out = fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return t.seconds, peak, out


def _forecast_numpy(engine: Engine) -> int:
    _items, y = monthly_demand(engine, date(2024, 11, 1), date(2026, 10, 31))
    return len(forecast_many(y, 12).methods)


def run() -> list[tuple[str, str]]:
    scale = float(os.environ.get("ACAS_BENCH_STOCK_SCALE", "1"))
    folder = Path(tempfile.mkdtemp(prefix="acas-bench-stock-"))
    url = os.environ.get("ACAS_BENCH_STOCK_URL", f"sqlite:///{folder / 'bench.db'}")
    load_standard_jobs()  # imports first, so the figures time the work only
    engine = make_engine(url)
    upgrade(engine)
    size = DemoSize.scaled(scale)
    generate(engine, size=size, end=END, seed=1)
    settings = load_settings(environ={}, database_url=url, data_dir=folder)
    out: list[tuple[str, str]] = [("demo", f"{engine.dialect.name}, scale {scale}: {size.items} items, 24 months")]
    since, until = date(2025, 11, 23), END
    cases: list[tuple[str, dict[str, Any], Callable[[], Any]]] = [
        (
            "ST_ABC_ANALYSIS",
            {},
            lambda: _rows(engine, ABC_SQL, {"since": since, "until": until}),
        ),
        ("ST_STOCK_VALUATION", {"output_format": "csv"}, lambda: _rows(engine, VALUATION_SQL, {})),
        ("ST_DEMAND_FORECAST", {"period": "PREVIOUS"}, lambda: _forecast_numpy(engine)),
    ]
    for name, params, baseline in cases:
        job_s, job_mb, result = _measure(
            lambda name=name, params=params: run_job(engine, settings, name, now=NOW, business_date=END, params=params)
        )
        if result.error is not None:
            raise result.error
        base_s, base_mb, count = _measure(baseline)
        out.append((f"{name} job: wall s / peak MiB", f"{job_s:.3f} / {job_mb:.1f}"))
        out.append((f"{name} hand-written ({count} rows): wall s / peak MiB", f"{base_s:.3f} / {base_mb:.1f}"))
    engine.dispose()
    return out


def _rows(engine: Engine, sql: str, params: dict[str, Any]) -> int:
    with engine.connect() as conn:
        return len(list(conn.execute(text(sql), params)))


if __name__ == "__main__":
    for figure, value in run():
        print(f"{figure}: {value}")

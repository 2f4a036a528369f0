"""The whole month-end of a demo company, run by the real scheduler and workers, as a Gantt table.

A demo company is generated at ``ACAS_BENCH_MONTH_END_SCALE`` (default 2; scale 1 is about
2,000 sales invoices, 650 about 1,000,000) with its history ending on 30 November 2026, into
an empty database set up by ``acas-batch init``. The month-end's jobs are then asked for with
``acas-batch run JOB --business-date 2026-11-30`` (as an operator would on the day; the
catalogue's own schedules are disabled so the wall clock fires nothing else):

- GL_DAILY_CLOSE, PL_ACCRUALS_CALCULATION, ST_STOCK_VALUATION, then GL_PERIOD_CLOSE (waits for the three);
- GL_TRIAL_BALANCE and GL_BUDGET_VARIANCE (triggered by the period close),
  GL_ACCOUNT_RECONCILIATION (triggered by the daily close);
- SL_STATEMENT_GENERATION with one PDF per customer and the combined file (the catalogue's defaults);
- PL_THREE_WAY_MATCHING, then PL_PAYMENT_RUN (waits for it; ``lookahead_days`` 30, since the
  demo's suppliers are paid to date) and PL_REMITTANCE_ADVICE (triggered by the payment run).

``acas-batch scheduler start`` (shipped defaults: two worker processes, each job in a child
process) then runs them with their waits, triggers and resource locks. The benchmark watches the
executions until every one has finished, stops the scheduler, and prints per job its start
offset from the scheduler's start, its duration and a bar, and the chain's wall time. It fails
if any job did not succeed or a job started before an upstream it depends on had finished.

Environment: ``ACAS_BENCH_MONTH_END_SCALE``; ``ACAS_BENCH_MONTH_END_URL``: one empty database to
run on (default: both, a fresh SQLite file and a fresh PostgreSQL database on ``ACAS_BENCH_PG_URL``'s
server, each dropped afterwards); ``ACAS_BENCH_MONTH_END_TIMEOUT``: seconds allowed for the chain
(default 7200); ``ACAS_BENCH_MONTH_END_LEASE_SECONDS``: the workers' lease (default: the shipped 60 s).

On SQLite the worker renews its children's leases by writing, so a job that kept the database's
write lock past the lease made every running job of that worker lose its lease. A job's
transaction used to hold the lock from its first statement (SL_STATEMENT_GENERATION read each
chunk's lines and kept the lock while the PDFs were laid out), and at scale 1 on a loaded machine
the run reported jobs failed unless the lease was raised. It now holds the lock only from its
first write to its commit (``docs/engine.md``, "A job's transaction on SQLite"): the short test
runs at the shipped lease.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from acas_batch.db import make_engine
from acas_batch.jobs.catalogue.definitions import JOBS_BY_NAME
from acas_batch.ledger.demo import DemoSize, generate
from benchmarks.measure import timed

MONTH_END = date(2026, 11, 30)
ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get(
    "ACAS_BENCH_PG_URL", os.environ.get("ACAS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
)
ASKED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GL_DAILY_CLOSE", ()),
    ("PL_ACCRUALS_CALCULATION", ()),
    ("ST_STOCK_VALUATION", ()),
    ("GL_PERIOD_CLOSE", ()),
    ("SL_STATEMENT_GENERATION", ()),
    ("PL_THREE_WAY_MATCHING", ()),
    ("PL_PAYMENT_RUN", ("lookahead_days=30",)),
)
TRIGGERED = ("GL_TRIAL_BALANCE", "GL_BUDGET_VARIANCE", "GL_ACCOUNT_RECONCILIATION", "PL_REMITTANCE_ADVICE")
CHAIN = tuple(name for name, _ in ASKED) + TRIGGERED
BAR = 40


@dataclass(frozen=True)
class Run:
    """One execution of the month-end as the database recorded it."""

    job: str
    state: str
    started: datetime | None
    finished: datetime | None
    error: str | None = None


@dataclass(frozen=True)
class MonthEnd:
    """What one month-end run measured."""

    backend: str
    counts: dict[str, int]
    generate_seconds: float
    origin: datetime  # the scheduler process's start
    runs: list[Run]


def edges() -> list[tuple[str, str]]:
    """(job, upstream) for every wait or trigger between two jobs of the chain."""
    return [(n, d.upstream) for n in CHAIN for d in JOBS_BY_NAME[n].depends_on if d.upstream in CHAIN]


def order_problems(runs: list[Run]) -> list[str]:
    """Each job of the chain without exactly one success, or whose success started before an
    upstream's success had finished. A failed attempt that a retry made good is no problem (the
    table shows it); one that nothing made good is."""
    done: dict[str, list[Run]] = {}
    for r in runs:
        if r.state == "succeeded":
            done.setdefault(r.job, []).append(r)
    problems = [f"{n}: {len(done.get(n, []))} successes, not 1" for n in CHAIN if len(done.get(n, [])) != 1]
    problems += [
        f"{r.job}: {r.state} {r.error or ''}".strip() for r in runs if r.state != "succeeded" and r.job not in done
    ]
    for job, upstream in edges():
        if len(done.get(job, [])) == 1 and len(done.get(upstream, [])) == 1:
            down, up = done[job][0], done[upstream][0]
            if down.started is None or up.finished is None or down.started < up.finished:
                problems.append(f"{job} started {down.started} before {upstream} finished {up.finished}")
    return problems


def _env(url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACAS_")}
    env |= {"ACAS_DATABASE_URL": url, "ACAS_DATA_DIR": str(data_dir), "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "acas_batch", *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"acas-batch {' '.join(args)}: exit {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _utc(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _runs(url: str) -> list[Run]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT j.name, e.state, e.started_at, e.finished_at, e.error_message FROM batch_execution_rec e"
                    " JOIN batch_job_rec j ON j.id = e.job_id WHERE e.business_date = :day ORDER BY e.id"
                ),
                {"day": MONTH_END.isoformat() if engine.dialect.name == "sqlite" else MONTH_END},
            ).all()
    finally:
        engine.dispose()
    return [Run(str(n), str(s), _utc(a), _utc(b), e) for n, s, a, b, e in rows]


def _company(url: str, scale: float) -> tuple[dict[str, int], float]:
    engine = make_engine(url)
    try:
        with timed() as t:
            generate(engine, size=DemoSize.scaled(scale), end=MONTH_END, seed=1)
        seconds = t.seconds
        counts = {}
        with engine.begin() as conn:
            for table in ("sl_invoice_rec", "gl_journal_line_rec", "sl_customer_rec", "pl_supplier_rec", "st_item_rec"):
                counts[table] = int(conn.scalar(text(f"SELECT COUNT(*) FROM {table}")) or 0)
            # The month-end is asked for by hand below: nothing fires by the wall clock meanwhile.
            conn.execute(text("UPDATE batch_schedule_rec SET enabled = :no"), {"no": False})
            if engine.dialect.name == "postgresql":
                conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return counts, seconds


def month_end(
    url: str, scale: float, data_dir: Path, *, timeout: float = 7200.0, lease_seconds: float | None = None
) -> MonthEnd:
    """Set up the company in the empty database at ``url`` and run its month-end (see the module
    docstring); ``lease_seconds`` overrides the shipped lease (``ACAS_LEASE_SECONDS``)."""
    env = _env(url, data_dir)
    if lease_seconds is not None:
        env["ACAS_LEASE_SECONDS"] = f"{lease_seconds:g}"
    _cli(env, "init")
    counts, generate_seconds = _company(url, scale)
    print(
        f"# {make_url(url).get_backend_name()}: company generated in {generate_seconds:.1f} s: {counts}",
        file=sys.stderr,
    )
    for name, params in ASKED:
        _cli(env, "run", name, "--business-date", MONTH_END.isoformat(), *(a for p in params for a in ("-p", p)))
    origin = datetime.now(UTC)
    with (data_dir / "scheduler.log").open("wb") as log:
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "acas_batch", "scheduler", "start"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                runs = _runs(url)
                done = [r for r in runs if r.finished is not None]
                if {r.job for r in done} >= set(CHAIN) and len(done) == len(runs):
                    break
                live = {"pending", "queued", "running", "retry_wait", "held"}
                if not any(r.state in live for r in runs) and {r.job for r in runs} >= set(CHAIN):
                    break  # nothing left to run: what did not succeed never will
                if any(r.state in ("timed_out", "cancelled") for r in runs):
                    break  # the chain will not complete: report what happened
                if scheduler.poll() is not None:
                    raise RuntimeError(f"the scheduler exited with {scheduler.returncode}; see {log.name}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the month-end did not finish within {timeout:g} s: {runs}")
                time.sleep(0.5)
        finally:
            scheduler.send_signal(signal.SIGTERM)
            try:
                scheduler.wait(timeout=60)
            except subprocess.TimeoutExpired:
                scheduler.kill()
                scheduler.wait()
    return MonthEnd(make_url(url).get_backend_name(), counts, generate_seconds, origin, _runs(url))


def gantt(result: MonthEnd) -> list[str]:
    """The month-end as a text table: each job's start offset, duration and a bar on one time axis."""
    timed = [r for r in result.runs if r.started is not None and r.finished is not None]
    if not timed:
        return ["(nothing ran)"]
    first = min(r.started for r in timed if r.started is not None)
    last = max(r.finished for r in timed if r.finished is not None)
    span = max((last - result.origin).total_seconds(), 1e-9)
    lines = [f"{'job':<26} {'state':<9} {'start s':>8} {'secs':>8}  |{'time →':<{BAR}}|"]
    for r in sorted(timed, key=lambda r: (r.started, r.job)):
        assert r.started is not None and r.finished is not None
        start = (r.started - result.origin).total_seconds()
        seconds = (r.finished - r.started).total_seconds()
        left = round(start / span * BAR)
        width = max(1, round(seconds / span * BAR))
        bar = (" " * left + "#" * width)[:BAR]
        lines.append(f"{r.job:<26} {r.state:<9} {start:>8.1f} {seconds:>8.1f}  |{bar:<{BAR}}|")
    chain = (last - first).total_seconds()
    lines.append(
        f"{'chain':<26} {'':<9} {(first - result.origin).total_seconds():>8.1f} {chain:>8.1f}"
        f"  (first start to last finish; {span:.1f} s from the scheduler's start)"
    )
    return lines


@contextmanager
def _databases() -> Iterator[list[str]]:
    """The databases to run on: ``ACAS_BENCH_MONTH_END_URL``, or a fresh SQLite file and PostgreSQL database."""
    given = os.environ.get("ACAS_BENCH_MONTH_END_URL")
    if given:
        yield [given]
        return
    folder = Path(tempfile.mkdtemp(prefix="acas-bench-month-end-"))
    name = f"acas_bench_month_end_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield [f"sqlite:///{folder / 'month_end.db'}", make_url(PG_URL).set(database=name).render_as_string(False)]
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run() -> list[tuple[str, str]]:
    scale = float(os.environ.get("ACAS_BENCH_MONTH_END_SCALE", "2"))
    timeout = float(os.environ.get("ACAS_BENCH_MONTH_END_TIMEOUT", "7200"))
    lease = os.environ.get("ACAS_BENCH_MONTH_END_LEASE_SECONDS")
    out: list[tuple[str, str]] = []
    problems: list[str] = []
    with _databases() as urls:
        for url in urls:
            with tempfile.TemporaryDirectory(prefix="acas-bench-month-end-data-") as data_dir:
                load = _load()
                result = month_end(
                    url, scale, Path(data_dir), timeout=timeout, lease_seconds=float(lease) if lease else None
                )
            c = result.counts
            label = f"month-end {result.backend} scale {scale:g}"
            out.append(
                (
                    f"{label}: company",
                    f"{c['sl_invoice_rec']:,} sales invoices, {c['gl_journal_line_rec']:,} journal lines,"
                    f" {c['sl_customer_rec']:,} customers, {c['pl_supplier_rec']:,} suppliers,"
                    f" {c['st_item_rec']:,} items; generated in {result.generate_seconds:.1f} s",
                )
            )
            for line in gantt(result):
                out.append((f"{label} (load {load})", line))
                print(f"# {label}: {line}", file=sys.stderr, flush=True)
            retried = [f"{r.job} ({r.state}: {r.error})" for r in result.runs if r.state != "succeeded"]
            if retried:
                out.append((f"{label}: attempts that did not succeed", "; ".join(retried)))
            problems += [f"{result.backend}: {p}" for p in order_problems(result.runs)]
    if problems:
        raise AssertionError("the month-end did not complete in order:\n" + "\n".join(problems))
    return out


if __name__ == "__main__":
    for figure, value in run():
        print(f"{figure}: {value}")

"""The General Ledger jobs on a demo company: daily close throughput, period close, trial balance, reconciliation.

The demo company (``ACAS_BENCH_GL_SCALE``, default 2; SQLite, or ``ACAS_BENCH_GL_URL``) is
generated, then every journal of its two open periods is put back to pending (and its
movements taken out of ``gl_balance_rec``), so GL_DAILY_CLOSE has two months to post.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, delete, func, insert, select, update
from tests.support.context import run_job

from acas_batch.config import load_settings
from acas_batch.db import make_engine, transaction
from acas_batch.ledger.demo import DemoSize, generate
from acas_batch.models import (
    AccountingPeriod,
    AccountPeriodBalance,
    Journal,
    JournalLine,
    JournalStatus,
    PeriodStatus,
)
from acas_batch.models.migrate import upgrade
from benchmarks.measure import timed

END = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


def _reopen(engine: Engine) -> tuple[int, int]:
    """Journals of the open periods back to pending; their movements out of the period balances."""
    with transaction(engine, write=True) as s:
        open_ids = list(s.scalars(select(AccountingPeriod.id).where(AccountingPeriod.status == PeriodStatus.OPEN)))
        s.execute(
            update(Journal)
            .where(Journal.period_id.in_(open_ids), Journal.status == JournalStatus.POSTED)
            .values(status=JournalStatus.PENDING, posted_on=None)
        )
        s.execute(delete(AccountPeriodBalance).where(AccountPeriodBalance.period_id.in_(open_ids)))
        still = (
            select(JournalLine.account_id, Journal.period_id, func.sum(JournalLine.debit_pence),
                   func.sum(JournalLine.credit_pence))
            .join(Journal, Journal.id == JournalLine.journal_id)
            .where(Journal.period_id.in_(open_ids), Journal.status != JournalStatus.PENDING)
            .group_by(JournalLine.account_id, Journal.period_id)
        )  # fmt: skip
        s.execute(
            insert(AccountPeriodBalance).from_select(["account_id", "period_id", "debit_pence", "credit_pence"], still)
        )
        journals = s.scalar(select(func.count()).select_from(Journal).where(Journal.status == JournalStatus.PENDING))
        lines = s.scalar(
            select(func.count())
            .select_from(JournalLine)
            .join(Journal, Journal.id == JournalLine.journal_id)
            .where(Journal.status == JournalStatus.PENDING)
        )
    return int(journals or 0), int(lines or 0)


def run() -> list[tuple[str, str]]:
    scale = float(os.environ.get("ACAS_BENCH_GL_SCALE", "2"))
    figures: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("ACAS_BENCH_GL_URL", f"sqlite:///{Path(tmp) / 'gl.db'}")
        backend = url.split(":", 1)[0].split("+")[0]
        engine = make_engine(url)
        upgrade(engine)
        generate(engine, size=DemoSize.scaled(scale, 12), end=END, seed=1)
        journals, lines = _reopen(engine)
        settings = load_settings(environ={}, database_url=url, data_dir=Path(tmp))

        def job_seconds(name: str, params: dict[str, object]) -> float:
            with timed() as t:
                done = run_job(engine, settings, name, now=NOW, business_date=END, params=params)
            if done.error is not None:
                raise RuntimeError(f"{name} failed: {done.error}")
            return t.seconds

        daily = job_seconds("GL_DAILY_CLOSE", {})
        figures.append(
            (f"daily close, {journals} journals / {lines} lines ({backend}, scale {scale:g})",
             f"{daily:.2f} s = {journals / daily:,.0f} journals/s, {lines / daily:,.0f} lines/s")
        )  # fmt: skip
        for name, params in (
            ("GL_PERIOD_CLOSE", {"period": "CURRENT", "output_format": "csv"}),  # the demo closed the rest
            ("GL_TRIAL_BALANCE", {"as_of": END.isoformat(), "output_format": "csv"}),
            ("GL_ACCOUNT_RECONCILIATION", {"output_format": "csv"}),
        ):
            figures.append((f"{name} ({backend}, scale {scale:g})", f"{job_seconds(name, params):.2f} s"))
        engine.dispose()
    return figures

"""The monitor thread beside a scheduler lives through an outage saying so once, without a traceback."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

import acas_batch.monitoring as monitoring
from acas_batch.services import JobSchedulerService
from tests.engine_helpers import engine_settings


class _Passes:
    """A stop event that lets ``count`` passes through, then says stop."""

    def __init__(self, count: int) -> None:
        self.left = count

    def wait(self, _timeout: float | None = None) -> bool:
        self.left -= 1
        return self.left < 0


def test_a_monitor_pass_failing_through_an_outage_is_one_warning_and_a_bug_keeps_its_traceback(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    svc = JobSchedulerService(engine, settings=engine_settings(db_url, tmp_path), job_code=False)
    # Given a database that is away for five passes, back for one, away for three, then a bug
    script = ["down"] * 5 + ["up"] + ["down"] * 3 + ["bug"]

    def monitor_pass(*_args: object, **_kwargs: object) -> None:
        step = script.pop(0)
        if step == "down":
            raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))
        if step == "bug":
            raise KeyError("a bug")

    monkeypatch.setattr(monitoring, "monitor_pass", monitor_pass)
    # When the monitor runs its passes
    with caplog.at_level(logging.DEBUG, logger="acas_batch.services.job_scheduler"):
        svc._monitor(_Passes(10))  # type: ignore[arg-type]
    # Then each outage is one warning line, no traceback; the bug is logged with its traceback
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert script == []
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "database is locked" in warnings[0].getMessage() and warnings[0].exc_info is None
    assert [r.exc_info is not None and r.exc_info[0] is KeyError for r in errors] == [True]

"""Log filtering, search, export and patterns on both databases."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.errors import ValidationError
from acas_batch.logs import ExportFormat, detect_patterns, export_logs, parse_filter, query_logs
from acas_batch.models import BatchExecution, BatchJob, BatchLog, ExecutionState, LogLevel, Module, TriggerKind

T0 = datetime(2024, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def logged(engine: Engine) -> Engine:
    """Two jobs; GL_DAILY_CLOSE logged on 1 and 2 December 2024, SL_AGED_DEBTORS on 2 December."""
    with Session(engine) as s:
        jobs = {}
        for name, module in (("GL_DAILY_CLOSE", Module.GL), ("SL_AGED_DEBTORS", Module.SL)):
            jobs[name] = BatchJob(name=name, module=module, handler=name, created_at=T0, updated_at=T0)
            s.add(jobs[name])
        s.flush()
        lines = [
            ("GL_DAILY_CLOSE", 0, LogLevel.INFO, "execution_started", "started"),
            ("GL_DAILY_CLOSE", 1, LogLevel.ERROR, "job_error", "journal 1234 does not balance by 5p"),
            ("GL_DAILY_CLOSE", 25, LogLevel.ERROR, "job_error", "journal 88 does not balance by 12p"),
            ("GL_DAILY_CLOSE", 26, LogLevel.CRITICAL, "job_error", "paid 20-00-00 55779911 twice"),
            ("SL_AGED_DEBTORS", 27, LogLevel.WARNING, "job_warning", "3 customers over credit limit"),
            ("SL_AGED_DEBTORS", 28, LogLevel.ERROR, "job_error", "journal 7 does not balance by 1p"),
        ]
        for i, (name, hours, level, event, message) in enumerate(lines):
            ex = BatchExecution(
                job_id=jobs[name].id,
                business_date=date(2024, 12, 1),
                state=ExecutionState.FAILED,
                trigger=TriggerKind.MANUAL,
                run_key=f"{name}:{i}",
                created_at=T0,
            )
            s.add(ex)
            s.flush()
            s.add(
                BatchLog(
                    execution_id=ex.id,
                    job_id=jobs[name].id,
                    logged_at=T0 + timedelta(hours=hours),
                    level=level,
                    event=event,
                    message=message,
                    context={"password": "hunter2", "count": i},
                )
            )
        s.commit()
    return engine


def test_filters_use_the_spec_shapes(logged: Engine) -> None:
    with Session(logged) as s:
        entries, total = query_logs(
            s, parse_filter({"job_name": "GL_DAILY_CLOSE", "date_from": 20241201, "log_level": "ERROR"})
        )
        assert total == 3
        assert [e.level for e in entries] == [LogLevel.ERROR, LogLevel.ERROR, LogLevel.CRITICAL]
        entries, total = query_logs(s, parse_filter({"date_from": "2024-12-02", "date_to": 20241202}))
        assert [e.job_name for e in entries] == [
            "GL_DAILY_CLOSE",
            "GL_DAILY_CLOSE",
            "SL_AGED_DEBTORS",
            "SL_AGED_DEBTORS",
        ]
        entries, total = query_logs(s, parse_filter({"search": "BALANCE", "limit": 2}))
        assert total == 3 and len(entries) == 2


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"date_from": 20241341}, "not a date"),
        ({"log_level": "LOUD"}, "LOUD"),
        ({"colour": "red"}, "unknown log filter colour"),
        ({"date_from": 20241202, "date_to": 20241201}, "before"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_filters_are_refused(raw: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        parse_filter(raw)


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_exports_are_complete_and_masked(logged: Engine, tmp_path: Path, fmt: ExportFormat) -> None:
    with Session(logged) as s:
        path, count = export_logs(s, parse_filter({"job_name": "GL_DAILY_CLOSE"}), fmt, tmp_path, T0)
    assert count == 4
    text = path.read_text()
    assert "55779911" not in text and "hunter2" not in text
    assert "journal 88 does not balance by 12p" in text
    if fmt is ExportFormat.CSV:
        with path.open() as fh:
            rows = list(csv.DictReader(fh))
        assert [r["level"] for r in rows] == ["INFO", "ERROR", "ERROR", "CRITICAL"]
        assert json.loads(rows[0]["context"]) == {"count": 0, "password": "****"}
    elif fmt is ExportFormat.JSON:
        data = json.loads(text)
        assert [d["event"] for d in data] == ["execution_started", "job_error", "job_error", "job_error"]
    else:
        assert len(text.splitlines()) == 4 and "GL_DAILY_CLOSE#" in text
    assert not list(tmp_path.glob(".*"))


def test_recurring_errors_form_one_pattern(logged: Engine) -> None:
    with Session(logged) as s:
        patterns = detect_patterns(s, parse_filter({}))
    assert len(patterns) == 1
    top = patterns[0]
    assert top.signature == "journal <n> does not balance by <n>p"
    assert top.count == 3
    assert top.jobs == {"GL_DAILY_CLOSE": 2, "SL_AGED_DEBTORS": 1}


def test_two_exports_in_the_same_second_keep_both_files(logged: Engine, tmp_path: Path) -> None:
    with Session(logged) as s:
        first, _ = export_logs(s, parse_filter({"log_level": "ERROR"}), ExportFormat.TXT, tmp_path, T0)
        second, count = export_logs(s, parse_filter({"log_level": "ERROR"}), ExportFormat.TXT, tmp_path, T0)
    assert first != second and first.exists() and second.exists()
    assert len(second.read_text().splitlines()) == count == 4

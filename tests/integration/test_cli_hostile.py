"""Hostile arguments to every command that takes values: an answer or one line, never a traceback.

Hypothesis draws text (control characters, quotes, SQL wildcards, non-Latin scripts), numbers
past 64 bits either way and dates at the calendar's ends; each command runs in this process
on a real database. A fault of acas-batch itself exits 70 (``errors.EXIT_INTERNAL``) and fails
the test, as does exit status 1 (an error that escaped the mapping).
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acas_batch.cli import main
from acas_batch.errors import EXIT_INTERNAL

TEXT = st.one_of(
    st.text(max_size=24),
    st.sampled_from(["%", "_", "'; DROP TABLE batch_job_rec; --", "\x00", "GL_DAILY_CLOSE", "-1", "--json", " "]),
)
NUMBER = st.one_of(st.integers(min_value=-(2**80), max_value=2**80), st.integers(-3, 3)).map(str)
DAY = st.one_of(
    st.sampled_from(["9999-12-31", "0001-01-01", "2026-02-30", "99991231", "2026-13-01", "", "today"]),
    st.dates().map(lambda d: d.isoformat()),
)
VALUE = st.one_of(TEXT, NUMBER, DAY)

COMMANDS = st.one_of(
    st.tuples(st.just("jobs"), st.just("show"), TEXT),
    st.tuples(st.just("jobs"), st.just("order"), DAY),
    st.tuples(st.just("jobs"), st.just("list"), st.just("--module"), TEXT),
    st.tuples(st.just("executions"), st.just("list"), st.just("--limit"), NUMBER, st.just("--state"), TEXT),
    st.tuples(
        st.just("executions"),
        st.sampled_from(["show", "cancel", "hold", "release", "rerun", "impact"]),
        st.one_of(NUMBER, TEXT),
    ),
    st.tuples(st.just("executions"), st.just("mark-succeeded"), NUMBER, st.just("--reason"), TEXT),
    st.tuples(st.just("schedules"), st.just("forecast"), st.just("--from"), DAY, st.just("--to"), DAY),
    st.tuples(st.just("schedules"), st.just("next"), TEXT, st.just("-n"), NUMBER, st.just("--after"), DAY),
    st.tuples(st.just("schedules"), st.just("preview"), TEXT, TEXT, st.just("--after"), DAY),
    st.tuples(
        st.just("logs"), st.just("view"), st.just("--job"), TEXT, st.just("--level"), TEXT, st.just("--from"), DAY
    ),
    st.tuples(st.just("logs"), st.just("view"), st.just("--limit"), NUMBER, st.just("--execution"), NUMBER),
    st.tuples(st.just("logs"), st.just("search"), TEXT),
    st.tuples(st.just("logs"), st.just("export"), st.just("--format"), TEXT, st.just("--to"), DAY),
    st.tuples(st.just("logs"), st.just("patterns"), st.just("--min-count"), NUMBER),
    st.tuples(st.just("run"), TEXT, st.just("--param"), VALUE, st.just("--business-date"), DAY),
    st.tuples(st.just("alerts"), st.just("list")),
)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argv=COMMANDS)
def test_no_traceback_whatever_the_arguments(
    argv: tuple[str, ...], db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACAS_DATABASE_URL", db_url)
    monkeypatch.setenv("ACAS_DATA_DIR", str(tmp_path))
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    said = err.getvalue()
    assert "Traceback" not in said, (argv, said)
    assert code not in (1, EXIT_INTERNAL), (argv, code, said)
    if code != 0:
        assert said.startswith("error: ") and len(said.strip().splitlines()) == 1, (argv, said)

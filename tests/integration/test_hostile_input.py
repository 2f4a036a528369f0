"""Hostile input gets one clear line and writes nothing: through the Python API and the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from acas_batch.batch.operations import enqueue
from acas_batch.db import transaction
from acas_batch.errors import ValidationError
from acas_batch.models import BatchExecution
from acas_batch.security.actor import Actor
from acas_batch.services import JobSchedulerService
from acas_batch.services.run_actions import RunAction, act_on_run, run_now
from tests.engine_helpers import NOW, define, engine_settings
from tests.integration.test_cli import acas


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _count(engine: Engine) -> int:
    with transaction(engine) as s:
        return int(s.scalar(select(func.count()).select_from(BatchExecution)) or 0)


@pytest.mark.parametrize(
    ("job", "params", "force_reason", "message"),
    [
        ("TEST_NOOP/../x", {}, None, "may hold only letters"),
        ("..", {}, None, "may hold only letters"),
        ("TEST\x00NOOP", {}, None, "may hold only letters"),
        ("J" * 65, {}, None, "at most 64"),
        ("TEST_NOOP", {"tag": _nested(50)}, None, "nested more than 8 levels"),
        ("TEST_NOOP", {"tag": "a\x00b"}, None, "NUL"),
        ("TEST_NOOP", {"tag": 2**70}, None, "beyond a 64-bit integer"),
        ("TEST_NOOP", {"tag": "x" * 70_000}, None, "larger than 64 KB"),
        ("TEST_NOOP", {}, ".", "says nothing"),
        ("TEST_NOOP", {}, " ok ", "says nothing"),
    ],
)
def test_a_hostile_run_request_is_refused_and_writes_nothing(
    engine: Engine, db_url: str, tmp_path: Path, job: str, params: dict[str, Any],
    force_reason: str | None, message: str,
) -> None:  # fmt: skip
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_NOOP")
    with pytest.raises(ValidationError, match=message) as refused:
        run_now(
            engine, settings, job, params, business_date=None, actor=Actor.console(), now=NOW, force_reason=force_reason
        )
    assert "\n" not in str(refused.value)
    assert _count(engine) == 0


def test_recipients_are_limited_to_the_configured_domains(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = engine_settings(db_url, tmp_path, notify_allowed="pennine.test, fd@example.co.uk")
    define(engine, "TEST_FAIL")
    with pytest.raises(ValidationError, match=r"'evil@attacker\.test' is not an allowed recipient"):
        run_now(
            engine, settings, "TEST_FAIL", {"notify": {"recipients": ["ops@pennine.test", "evil@attacker.test"]}},
            business_date=None, actor=Actor.console(), now=NOW,
        )  # fmt: skip
    assert _count(engine) == 0
    eid, created = run_now(
        engine, settings, "TEST_FAIL", {"notify": {"recipients": ["ops@pennine.test", "fd@example.co.uk"]}},
        business_date=None, actor=Actor.console(), now=NOW,
    )  # fmt: skip
    assert created and eid > 0


def test_control_actions_refuse_huge_ids_and_empty_reasons(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_NOOP")
    with transaction(engine, write=True) as s:
        eid = enqueue(s, "TEST_NOOP", {}, now=NOW, business_date=NOW.date()).id
    with pytest.raises(ValidationError, match="is not an id"):
        act_on_run(engine, settings, RunAction.CANCEL, 2**64, actor=Actor.console(), reason="stop it", now=NOW)
    with pytest.raises(ValidationError, match="says nothing"):
        act_on_run(engine, settings, RunAction.CANCEL, eid, actor=Actor.console(), reason=".", now=NOW)
    svc = JobSchedulerService(engine, settings=settings)
    ok, error = svc.cancel_execution(eid, reason="..")
    assert not ok and "says nothing" in str(error)
    ok, error = svc.get_execution(2**70)
    assert not ok and "is not an id" in str(error)
    ok, error = svc.execute_job_now("SL/../../etc")
    assert not ok and "may hold only letters" in str(error)
    with transaction(engine) as s:
        assert s.get_one(BatchExecution, eid).cancel_requested is False
        assert s.get_one(BatchExecution, eid).state.value in ("queued", "pending")


@pytest.mark.parametrize(
    "args",
    [
        ("run", "GL/../X"),
        ("run", "TEST_NOOP", "-p", "tag=" + json.dumps(_nested(40))),
        ("executions", "show", "99999999999999999999999"),
        ("executions", "cancel", "1", "--reason", "."),
        ("executions", "mark-succeeded", "1", "--reason", "-"),
    ],
    ids=["slash-in-name", "deep-json", "huge-id", "dot-reason", "dash-reason"],
)
def test_the_command_line_answers_one_clear_line(db_url: str, tmp_path: Path, args: tuple[str, ...]) -> None:
    env = {"ACAS_JOB_MODULES": "tests.jobs_fixture", "ACAS_DATA_DIR": str(tmp_path)}
    result = acas(*args, "--database-url", db_url, env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr

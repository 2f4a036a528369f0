"""Silences and routes managed through the services and the command line; a silence really keeps
its alerts out of the mail (a real local SMTP server) until it ends, and then they are told."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.errors import ValidationError
from acas_batch.models import AlertRoute, Audit, BatchAlert, Module
from acas_batch.monitoring import MonitorOptions, NotifyPolicy
from acas_batch.services.alert_routes import route_set, silence_create, silence_end, silence_expire, silences_list
from tests.integration.conftest import Inbox
from tests.integration.test_alerting import NOW, Runs
from tests.integration.test_cli import acas
from tests.support.alerting import local_smtp, monitor

OPTIONS = MonitorOptions(send_alerts=True, policy=NotifyPolicy(default_recipients=("ops@acme.test",), repeat=None))


def _bodies(inbox: Inbox) -> list[str]:
    return [m.get_content() for m in inbox.messages]


def test_a_silence_keeps_its_job_out_of_the_mail_until_it_is_expired(engine: Engine, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    with Session(engine, expire_on_commit=False) as s:
        runs = Runs(s)
        runs.job("SL_STATEMENT_GENERATION", Module.SL)
        runs.attempts("GL_DAILY_CLOSE", "FFF", at=NOW - timedelta(minutes=10))
        runs.attempts("SL_STATEMENT_GENERATION", "FFF", at=NOW - timedelta(minutes=10))
        s.commit()
    # Given the statement run is silenced for two hours while its printer is mended
    made = silence_create(engine, reason="printer being mended", ends_at=NOW + timedelta(hours=2),
                          job="SL_STATEMENT_GENERATION", now=NOW)  # fmt: skip
    with Session(engine, expire_on_commit=False) as s:
        # When the monitor passes, then passes again after the silence is lifted
        monitor(s, NOW, OPTIONS, local_smtp(port))
        during = _bodies(inbox)
        muted = s.scalars(select(BatchAlert.muted_reason).where(BatchAlert.muted_reason.is_not(None))).all()
        monitor(s, NOW + timedelta(minutes=5), OPTIONS, local_smtp(port))
        still = len(inbox.messages)
        silence_expire(engine, made["id"], now=NOW + timedelta(minutes=10))
        s.expire_all()
        monitor(s, NOW + timedelta(minutes=15), OPTIONS, local_smtp(port))
    # Then only the general ledger's failure is mailed while the silence holds
    assert len(during) == 1 and "GL_DAILY_CLOSE" in during[0] and "SL_STATEMENT_GENERATION" not in during[0]
    assert muted == [f"silenced #{made['id']} until {made['expires_at']}: printer being mended"]
    assert still == 1
    # Then once it is lifted the statement run's alert, still open, is told once
    assert len(inbox.messages) == 2 and "SL_STATEMENT_GENERATION" in _bodies(inbox)[1]
    assert silences_list(engine, now=NOW + timedelta(minutes=15)) == []
    with Session(engine) as s:
        rows = s.scalars(select(Audit).where(Audit.action.like("alert.%silence")).order_by(Audit.id))
        audit = [(a.action, a.reason) for a in rows]
    assert audit == [("alert.silence", "printer being mended"), ("alert.unsilence", None)]


def test_silences_and_routes_refuse_what_would_hide_or_lose_alerts(engine: Engine) -> None:
    with pytest.raises(ValidationError, match="at least one of --rule, --module and --job"):
        silence_create(engine, reason="quiet", ends_at=NOW + timedelta(hours=1), now=NOW)
    with pytest.raises(ValidationError, match="needs a reason"):
        silence_create(engine, reason=" ", ends_at=NOW + timedelta(hours=1), rule="failure", now=NOW)
    with pytest.raises(ValidationError, match="at most 31 days"):
        silence_end(None, "40d", now=NOW)
    with pytest.raises(ValidationError, match="not in the future"):
        silence_end((NOW - timedelta(minutes=1)).isoformat(), None, now=NOW)
    assert silence_end(None, "90m", now=NOW) == NOW + timedelta(minutes=90)
    with pytest.raises(ValidationError, match="'ops' is not an e-mail address"):
        route_set(engine, name="ops", email_to=["ops"], now=NOW)
    with pytest.raises(ValidationError, match="escalation step 1: after_minutes"):
        route_set(engine, name="ops", email_to=["ops@acme.test"], escalation='[{"email_to": ["a@b.test"]}]', now=NOW)
    route_set(engine, name="a", email_to=["a@acme.test"], is_default=True, now=NOW)
    route_set(engine, name="b", email_to=["b@acme.test"], is_default=True, now=NOW)
    with Session(engine) as s:
        assert {r.name: r.is_default for r in s.scalars(select(AlertRoute))} == {"a": False, "b": True}


def test_silences_and_routes_on_the_command_line(db_url: str) -> None:
    def cli(*args: str) -> tuple[int, str, str]:
        done = acas("alerts", *args, "--database-url", db_url)
        return done.returncode, done.stdout, done.stderr

    # When a route is set and a silence made, listed and expired
    steps = '[{"after_minutes": 30, "email_to": ["md@acme.test"]}]'
    set_route = cli("routes", "set", "ops", "--email", "ops@acme.test", "--email", "fd@acme.test", "--min-severity",
                    "critical", "--escalation", steps, "--json")  # fmt: skip
    routes = cli("routes", "list", "--json")
    made = cli("silence", "create", "--rule", "late", "--module", "sl", "--reason", "month-end cut-off moved",
               "--for", "4h", "--json")  # fmt: skip
    listed = cli("silence", "list", "--json")
    expired = cli("silence", "expire", str(json.loads(made[1])["id"]))
    after = cli("silence", "list", "--all", "--json")
    no_reason = cli("silence", "create", "--rule", "late", "--for", "4h", "--reason", "")
    no_end = cli("silence", "create", "--rule", "late", "--reason", "x")
    gone = cli("routes", "delete", "ops")

    # Then each did what it says, and bad input is one line with nothing written
    assert set_route[0] == 0, set_route[2]
    assert [(r["name"], r["email_to"], r["min_severity"], len(r["escalation"])) for r in json.loads(routes[1])] == [
        ("ops", ["ops@acme.test", "fd@acme.test"], "critical", 1)
    ]
    assert made[0] == 0, made[2]
    (silence,) = json.loads(listed[1])
    assert (silence["rule"], silence["module"], silence["reason"], silence["state"]) == (
        "late", "SL", "month-end cut-off moved", "active"
    )  # fmt: skip
    assert expired[0] == 0 and "ended at" in expired[1]
    assert [r["state"] for r in json.loads(after[1])] == ["ended"]
    for code, _, err in (no_reason, no_end):
        assert code != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "needs a reason" in no_reason[2] and "--until TIME or --for DURATION" in no_end[2]
    assert gone[0] == 0 and "route ops deleted" in gone[1]

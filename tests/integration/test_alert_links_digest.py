"""Acknowledge/resolve links taken from a real mail act once, for a user allowed to; digest routes
hear of non-critical alerts once a day at the digest time (a real local SMTP server, simulated time)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.config import Settings, load_settings
from acas_batch.errors import PermissionDenied, ValidationError
from acas_batch.models import AlertLinkUse, AlertRoute, AlertSeverity, AlertState, Audit, BatchAlert
from acas_batch.monitoring import Finding, MonitorOptions, NotifyPolicy, raise_alert
from acas_batch.monitoring.links import link_maker
from acas_batch.services.alert_links import act_on_link
from acas_batch.services.monitoring_alerts import BatchMonitoringService
from tests.integration.conftest import Inbox
from tests.integration.test_alerting import NOW, Runs
from tests.support.alerting import local_smtp, monitor
from tests.support.users import user

_LINK = re.compile(r"(acknowledge|resolve):\s+https://batch\.acme\.test/alerts/(\d+)/(ack|resolve)\?link=(\S+)")


def test_a_link_from_the_mail_acts_once_for_an_allowed_user(
    engine: Engine, db_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = load_settings(environ={}, database_url=db_url, data_dir=tmp_path,
                             alert_link_base_url="https://batch.acme.test")  # fmt: skip
    policy = NotifyPolicy(default_recipients=("ops@acme.test",), repeat=None, link_for=link_maker(settings))
    with Session(engine, expire_on_commit=False) as s:
        Runs(s).attempts("GL_DAILY_CLOSE", "FFF", at=NOW - timedelta(minutes=10))
        s.commit()
        monitor(s, NOW, MonitorOptions(send_alerts=True, policy=policy), local_smtp(port))
    # Given the mail's two links
    links = {m[3]: m[4] for m in _LINK.finditer(inbox.messages[0].get_content())}
    assert set(links) == {"ack", "resolve"}
    ann, vic = user(engine, "ann", "operator"), user(engine, "vic", "viewer")

    # When a viewer tries the acknowledge link, then Ann uses it twice
    with pytest.raises(PermissionDenied):
        act_on_link(engine, settings, links["ack"], actor=vic, now=NOW + timedelta(minutes=5))
    done = act_on_link(engine, settings, links["ack"], actor=ann, now=NOW + timedelta(minutes=6))
    with pytest.raises(ValidationError, match=r"already been used at .* by ann"):
        act_on_link(engine, settings, links["ack"], actor=ann, now=NOW + timedelta(minutes=7))
    # And an altered link, and the resolve link after it expired (72 hours)
    with pytest.raises(ValidationError, match="signature"):
        act_on_link(engine, settings, links["resolve"][:-2] + "AA", actor=ann, now=NOW + timedelta(minutes=8))
    with pytest.raises(ValidationError, match="expired"):
        act_on_link(engine, settings, links["resolve"], actor=ann, now=NOW + timedelta(hours=73))
    resolved = act_on_link(engine, settings, links["resolve"], actor=ann, now=NOW + timedelta(hours=1))

    # Then the refused viewer used nothing up; Ann's acknowledgement is recorded once, with her name
    assert done == {"id": 1, "action": "ack", "state": "acknowledged", "by": "ann", "acknowledged_by": "ann",
                    "resolved_by": None}  # fmt: skip
    assert (resolved["state"], resolved["resolved_by"]) == ("resolved", "ann")
    with Session(engine) as s:
        assert [(u.action, u.used_by) for u in s.scalars(select(AlertLinkUse).order_by(AlertLinkUse.used_at))] == [
            ("ack", "ann"), ("resolve", "ann")
        ]  # fmt: skip
        trail = [(a.action, a.actor) for a in s.scalars(select(Audit).where(Audit.target_type == "alert"))]
    assert ("alert.acknowledge", "ann") in trail and ("alert.resolve", "ann") in trail
    assert ("denied:alert.acknowledge", "vic") in trail


def test_ack_and_resolve_through_the_services_record_the_acting_user(engine: Engine, settings: Settings) -> None:
    with Session(engine) as s:
        for key in ("a", "b"):
            _warn(s, key, NOW)
    svc = BatchMonitoringService(engine, actor=user(engine, "ann", "operator"), settings=settings)
    # When Ann acknowledges the first alert and resolves the second
    acked, resolved = svc.acknowledge_alert(1), svc.resolve_alert(2)
    # Then each records her name, and only in its own column
    assert acked[0] and resolved[0]
    assert isinstance(acked[1], dict) and isinstance(resolved[1], dict)
    assert (acked[1]["acknowledged_by"], resolved[1]["resolved_by"]) == ("ann", "ann")
    with Session(engine) as s:
        rows = s.scalars(select(BatchAlert).order_by(BatchAlert.id))
        assert [(a.state, a.acknowledged_by, a.resolved_by) for a in rows] == [
            (AlertState.ACKNOWLEDGED, "ann", None), (AlertState.RESOLVED, None, "ann")
        ]  # fmt: skip


def _warn(s: Session, key: str, at: datetime, severity: AlertSeverity = AlertSeverity.WARNING) -> None:
    raise_alert(s, Finding("resource", severity, key, f"{key} is low", f"{key} is below its limit"), at)
    s.commit()


def test_a_digest_route_hears_of_non_critical_alerts_once_a_day_and_of_critical_ones_at_once(
    engine: Engine, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    day1 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # London is on UTC in November
    quiet = MonitorOptions(check_failures=False, check_performance=False, check_schedule=False,
                           check_deadlines=False, use_thresholds=False, send_alerts=True,
                           policy=NotifyPolicy(repeat=None, digest_time=time(8, 0)))  # fmt: skip
    with Session(engine, expire_on_commit=False) as s:
        s.add(AlertRoute(name="office", min_severity="info", email_to=["office@acme.test"], escalation=[], digest=True,
                         is_default=True, created_at=day1))  # fmt: skip
        s.commit()
        # Given two warnings and a critical during the afternoon
        _warn(s, "disk", day1)
        _warn(s, "memory", day1 + timedelta(minutes=30))
        _warn(s, "database", day1 + timedelta(minutes=40), AlertSeverity.CRITICAL)
        for at in (day1 + timedelta(minutes=45), datetime(2026, 11, 25, 7, 59, tzinfo=UTC)):
            monitor(s, at, quiet, local_smtp(port))
        before = [str(m["Subject"]).strip() for m in inbox.messages]
        # When the digest time comes, and a later pass the same morning
        monitor(s, datetime(2026, 11, 25, 8, 0, tzinfo=UTC), quiet, local_smtp(port))
        monitor(s, datetime(2026, 11, 25, 8, 30, tzinfo=UTC), quiet, local_smtp(port))
        states = {a.dedup_key: a.state for a in s.scalars(select(BatchAlert))}

    # Then the critical one was mailed at once and the warnings waited
    assert before == ["[ACAS batch CRITICAL] database is low"]
    # Then one digest at 08:00 with both warnings, and no other
    assert len(inbox.messages) == 2
    digest = inbox.messages[1]
    assert str(digest["Subject"]).strip() == "[ACAS batch digest] 2 alerts, 25/11/2026"
    assert inbox.envelopes[1] == ["office@acme.test"]
    body = digest.get_content()
    assert "2 non-critical alert(s) in the 24 hours to 25/11/2026 08:00" in body
    assert "WARNING: disk is low" in body and "WARNING: memory is low" in body and "database" not in body
    assert states == {"disk": AlertState.OPEN, "memory": AlertState.OPEN, "database": AlertState.OPEN}

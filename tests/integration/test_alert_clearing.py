"""Alerts that can clear: a failure whose work is already done resolves itself, a resolved
alert is not raised again for the same run, and an operator can dismiss one with a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.errors import ValidationError
from acas_batch.models import AlertState, BatchAlert
from acas_batch.models.security import Audit
from acas_batch.monitoring import MonitorOptions, resolve_alert
from acas_batch.services.alerting import alert_dismiss
from tests.integration.conftest import Inbox
from tests.integration.test_alerting import NOW, OPS, Runs
from tests.support.alerting import local_smtp, monitor

CLOSE = "GL_PERIOD_CLOSE"
KEY = "GL_PERIOD_CLOSE:2026-11"
#: Passes over a day: the failure stays inside the monitor's 24-hour window throughout, and
#: the 4-hour repeat of an open alert falls between them.
PASSES = (timedelta(0), timedelta(minutes=5), timedelta(hours=4, minutes=10), timedelta(hours=9))


def _alerts(s: Session) -> list[BatchAlert]:
    s.expire_all()
    return list(s.scalars(select(BatchAlert).where(BatchAlert.rule == "failure").order_by(BatchAlert.id)))


def test_a_refused_second_close_whose_run_key_succeeded_before_resolves_itself_and_stays_resolved(
    engine: Engine, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    options = MonitorOptions(send_alerts=True, policy=OPS)
    with Session(engine) as s:
        runs = Runs(s)
        # Given November closed in the morning, and a second close of it refused in the evening
        runs.attempts(CLOSE, "S", at=NOW - timedelta(hours=12), run_key=KEY)
        runs.attempts(CLOSE, "F", at=NOW - timedelta(hours=1), run_key=KEY)
        s.commit()
        # When the monitor passes through the day
        for offset in PASSES:
            monitor(s, NOW + offset, options, local_smtp(port))
        alerts = _alerts(s)
    # Then one alert, told once, saying its work is done, resolved by itself and never reopened
    assert len(inbox.messages) == 1
    assert "nothing is left to do" in inbox.messages[0].get_content()
    assert [(a.state, a.resolved_by) for a in alerts] == [(AlertState.RESOLVED, None)]
    assert alerts[0].resolution is not None and "succeeded in execution 1" in alerts[0].resolution


def test_a_resolved_failure_is_not_raised_again_for_the_same_run(engine: Engine, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    options = MonitorOptions(send_alerts=True, policy=OPS)
    with Session(engine) as s:
        Runs(s).attempts("GL_TRIAL_BALANCE", "F", at=NOW - timedelta(hours=1))
        s.commit()
        monitor(s, NOW, options, local_smtp(port))
        # Given its alert resolved by an operator
        (alert,) = _alerts(s)
        resolve_alert(s, alert.id, NOW + timedelta(minutes=1))
        s.commit()
        # When the monitor passes again while the failure is still within its window
        for offset in PASSES[1:]:
            monitor(s, NOW + offset, options, local_smtp(port))
        alerts = _alerts(s)
    # Then no new alert and no second message
    assert [a.state for a in alerts] == [AlertState.RESOLVED]
    assert len(inbox.messages) == 1


def test_an_operator_dismisses_an_alert_with_a_reason_that_is_kept_and_audited(
    engine: Engine, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    options = MonitorOptions(send_alerts=True, policy=OPS)
    with Session(engine) as s:
        Runs(s).attempts("GL_TRIAL_BALANCE", "F", at=NOW - timedelta(hours=1))
        s.commit()
        monitor(s, NOW, options, local_smtp(port))
        (alert,) = _alerts(s)
    # When dismissed without a reason, nothing changes
    with pytest.raises(ValidationError, match="needs a reason"):
        alert_dismiss(engine, alert.id, reason="  ", now=NOW + timedelta(minutes=2))
    # and with one, it is resolved with who and why, audited, and not raised again
    done = alert_dismiss(engine, alert.id, reason="re-posted by hand in journal 4411", now=NOW + timedelta(minutes=3))
    with Session(engine) as s:
        for offset in PASSES[1:]:
            monitor(s, NOW + offset, options, local_smtp(port))
        alerts = _alerts(s)
        audit = s.scalars(select(Audit).where(Audit.action == "alert.dismiss")).all()
    assert done["state"] == "resolved" and done["resolution"] == "dismissed: re-posted by hand in journal 4411"
    assert [(a.state, a.resolution) for a in alerts] == [
        (AlertState.RESOLVED, "dismissed: re-posted by hand in journal 4411")
    ]
    assert alerts[0].resolved_by == done["resolved_by"] and done["resolved_by"]
    assert [(a.target_id, a.reason) for a in audit] == [(str(alert.id), "re-posted by hand in journal 4411")]
    assert len(inbox.messages) == 1

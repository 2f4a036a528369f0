"""The mailed acknowledge link on the web: opening it acts on nothing (mail scanners open links);
the signed-in user's POST acts once; an altered or used link is refused on the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.models import AlertState, BatchAlert
from acas_batch.monitoring.links import link_key, sign
from tests.web.conftest import sign_in
from tests.web.test_tokens_and_silences import alert  # noqa: F401 - the open alert fixture


def _state(engine: Engine, alert_id: int) -> tuple[AlertState, str | None]:
    with Session(engine) as s:
        row = s.get(BatchAlert, alert_id)
        assert row is not None
        return row.state, row.acknowledged_by


def test_the_link_page_asks_then_acts_once(
    app_client: TestClient,
    engine: Engine,
    settings: Settings,
    alert: int,  # noqa: F811
) -> None:
    token = sign(link_key(settings), alert, "ack", datetime.now(UTC) + timedelta(hours=1))
    url = f"/alerts/{alert}/ack?link={token}"
    # Given nobody is signed in, the link leads to the sign-in page and back
    assert app_client.get(url).status_code == 303
    csrf = sign_in(app_client, "operator")
    # When the operator opens it
    page = app_client.get(url)
    opened = _state(engine, alert)
    # And confirms, twice, and tries an altered link
    done = app_client.post(f"/alerts/{alert}/ack", data={"csrf": csrf, "link": token})
    again = app_client.post(f"/alerts/{alert}/ack", data={"csrf": csrf, "link": token})
    altered = app_client.get(f"/alerts/{alert}/ack?link={token[:-2]}AA")
    wrong = app_client.get(f"/alerts/{alert + 1}/ack?link={token}")
    # Then opening did nothing, the POST acknowledged it for the operator, once
    assert page.status_code == 200 and "Acknowledge it" in page.text and "SL_AGED_DEBTORS failed" in page.text
    assert opened == (AlertState.OPEN, None)
    assert done.status_code == 303
    assert _state(engine, alert) == (AlertState.ACKNOWLEDGED, "operator")
    assert again.status_code == 422 and "already been used" in again.text
    assert altered.status_code == 422 and "signature" in altered.text
    assert wrong.status_code == 422 and "does not belong to this alert" in wrong.text

"""The account page: a viewer chooses the zone they read times in, and every page then shows it
(the API keeps UTC). Rendered pages on both databases."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.models import Audit, User
from acas_batch.security.actor import Actor
from acas_batch.services.run_actions import run_now
from acas_batch.web.auth import Identities
from tests.web.conftest import sign_in

#: A summer instant: 13:00 BST in London, 08:00 EDT in New York.
SUMMER = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def _run(engine: Engine, settings: Settings) -> int:
    return run_now(
        engine, settings, "SYS_HEALTH_CHECK", {}, business_date=date(2026, 7, 1), actor=Actor.console(), now=SUMMER
    )[0]


def _zone(engine: Engine, name: str) -> str | None:
    with Session(engine) as session:
        return session.scalar(select(User.time_zone).where(User.username == name))


def test_pages_show_times_in_the_zone_the_viewer_chose(
    app_client: TestClient, engine: Engine, settings: Settings, identities: Identities
) -> None:
    # Given a run made at 12:00 UTC on 1 July 2026 and a viewer in the company's zone
    run = _run(engine, settings)
    csrf = sign_in(app_client, "viewer")
    assert "2026-07-01 13:00:00 BST" in app_client.get("/runs").text
    account = app_client.get("/account")
    assert account.status_code == 200 and 'id="shown-zone">Europe/London<' in account.text

    # When they choose New York on their account page
    saved = app_client.post("/account/zone", data={"csrf": csrf, "zone": "America/New_York"})

    # Then the runs list, the run and the account page show New York time, named, and London's is gone
    assert saved.status_code == 303 and saved.headers["location"] == "/account"
    assert _zone(engine, "viewer") == "America/New_York"
    for path in ("/runs", f"/runs/{run}"):
        page = app_client.get(path).text
        assert "2026-07-01 08:00:00 EDT" in page, path
        assert "13:00:00 BST" not in page, path
        assert 'id="header-zone">America/New_York<' in page, path
    assert 'id="shown-zone">America/New_York<' in app_client.get("/account").text
    # htmx's partial refresh of the rows shows the same zone
    rows = app_client.get("/runs?partial=rows", headers={"HX-Request": "true"}).text
    assert "2026-07-01 08:00:00 EDT" in rows and "<html" not in rows
    # The job page's chart is drawn in that zone too
    assert '"zone": "America/New_York"' in app_client.get("/jobs/SYS_HEALTH_CHECK").text.replace("&#34;", '"')

    # And the API keeps ISO 8601 in UTC whatever the viewer's zone
    item = app_client.get("/api/v1/executions?limit=1", headers={"X-CSRF-Token": csrf}).json()["items"][0]
    assert item["created_at"].replace("+00:00", "Z") == "2026-07-01T12:00:00Z"
    # The change was audited as the viewer's own
    with Session(engine) as session:
        row = session.scalars(select(Audit).where(Audit.action == "user.set_time_zone")).one()
    assert row.actor == "viewer" and row.details["after"] == {"time_zone": "America/New_York"}


def test_the_calendar_lays_runs_at_the_viewers_wall_time(
    app_client: TestClient, engine: Engine, settings: Settings, identities: Identities
) -> None:
    run = _run(engine, settings)
    csrf = sign_in(app_client, "viewer")
    entry = re.compile(rf'href="/runs/{run}"[^>]*>(\d\d:\d\d) SYS_HEALTH_CHECK<')
    london = entry.search(app_client.get("/calendar?month=2026-07").text)
    assert london is not None and london.group(1) == "13:00"
    app_client.post("/account/zone", data={"csrf": csrf, "zone": "Asia/Tokyo"})
    page = app_client.get("/calendar?month=2026-07").text
    tokyo = entry.search(page)
    assert tokyo is not None and tokyo.group(1) == "21:00"
    assert "Times in Asia/Tokyo" in page
    api = app_client.get("/api/v1/calendar?month=2026-07").json()
    [item] = [e for w in api["weeks"] for d in w for e in d["entries"] if e["execution_id"] == run]
    assert (api["timezone"], item["time"], item["at"]) == ("Asia/Tokyo", "21:00", "2026-07-01T12:00:00Z")


def test_an_unknown_zone_is_a_field_error_and_nothing_changes(
    app_client: TestClient, engine: Engine, settings: Settings, identities: Identities
) -> None:
    _run(engine, settings)
    csrf = sign_in(app_client, "viewer")
    app_client.post("/account/zone", data={"csrf": csrf, "zone": "Europe/Paris"})

    answer = app_client.post("/account/zone", data={"csrf": csrf, "zone": "Europe/Atlantis"})

    assert answer.status_code == 422
    error = re.search(r'<span class="field-error" id="error-zone"[^>]*>([^<]*)</span>', answer.text)
    assert error is not None and "&#39;Europe/Atlantis&#39; is not known" in error.group(1)
    assert 'value="Europe/Atlantis"' in answer.text  # what was typed stays in the field
    assert _zone(engine, "viewer") == "Europe/Paris"
    assert "2026-07-01 14:00:00 CEST" in app_client.get("/runs").text


def test_a_zone_change_without_the_forms_token_is_refused(
    app_client: TestClient, engine: Engine, identities: Identities
) -> None:
    sign_in(app_client, "viewer")
    refused = app_client.post("/account/zone", data={"zone": "Asia/Tokyo"})
    assert refused.status_code == 403
    assert _zone(engine, "viewer") is None

"""The deadlines page: each deadline with its next due time, predicted finish, slack and status."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from acas_batch.services.deadlines import deadline_set
from tests.web.conftest import sign_in

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_viewer_sees_each_deadline_with_its_prediction(app_client: TestClient, engine: Engine) -> None:
    # Given no deadline, the page says how to make one
    sign_in(app_client, "viewer")
    empty = app_client.get("/deadlines")
    assert empty.status_code == 200 and "No deadlines yet" in empty.text
    # Given the office's deadline on the period close
    deadline_set(
        engine,
        actor="admin",
        name="gl-close",
        job="GL_PERIOD_CLOSE",
        kind="monthly",
        rule={"at": "07:30", "business_day": 1},
        description="GL close by 07:30, first working day",
        now=NOW,
    )
    # When a viewer opens the page
    page = app_client.get("/deadlines")
    # Then the deadline is there in words, linked to its job, with a status the monitor computed
    assert page.status_code == 200
    assert "gl-close" in page.text and 'href="/jobs/GL_PERIOD_CLOSE"' in page.text
    assert "GL close by 07:30, first working day" in page.text
    statuses = re.findall(r'data-status="([a-z_]+)"', page.text)
    assert statuses and set(statuses) <= {"met", "on_track", "at_risk", "missed", "blocked", "nothing_due"}
    # and the live part renders alone for htmx
    part = app_client.get("/deadlines", headers={"HX-Request": "true"})
    assert part.text.lstrip().startswith('<div id="deadlines-live"') and "<html" not in part.text


def test_the_deadlines_page_needs_a_signed_in_user(app_client: TestClient) -> None:
    answer = app_client.get("/deadlines")
    assert answer.status_code == 303 and "/signin" in answer.headers["location"]

"""Revoking API tokens (API and Users page), the bearer scheme in the OpenAPI document, log filters with a NUL, and
silencing an alert from the Alerts page and the API: who may, and what is written."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.models import AlertSilence, Audit, BatchAlert, BatchJob
from acas_batch.models.enums import AlertSeverity
from acas_batch.web.auth import Identities
from tests.web.conftest import sign_in

RAISED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(identities: Identities) -> dict[str, str]:
    return {role: identities.create_token(role, f"{role} test") for role in ("admin", "operator", "viewer")}


@pytest.fixture
def alert(engine: Engine) -> int:
    """An open failure alert of SL_AGED_DEBTORS."""
    with Session(engine) as session, session.begin():
        job_id = session.scalar(select(BatchJob.id).where(BatchJob.name == "SL_AGED_DEBTORS"))
        row = BatchAlert(
            rule="failure",
            severity=AlertSeverity.CRITICAL,
            job_id=job_id,
            dedup_key="failure:SL_AGED_DEBTORS",
            title="SL_AGED_DEBTORS failed",
            message="attempt 3 of 3",
            first_raised_at=RAISED,
            last_raised_at=RAISED,
        )
        session.add(row)
        session.flush()
        return row.id


def test_the_openapi_document_declares_the_bearer_scheme(app_client: TestClient) -> None:
    doc = app_client.get("/api/v1/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["bearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert doc["security"] == [{"bearerToken": []}]
    assert doc["paths"]["/health"]["get"]["security"] == []  # health needs no token
    assert "security" not in doc["paths"]["/executions"]["get"]  # the document's default applies


def test_a_viewer_revokes_its_own_token_but_not_anothers(app_client: TestClient, tokens: dict[str, str]) -> None:
    # Given a viewer who sees only its own tokens
    mine = app_client.get("/api/v1/tokens", headers=bearer(tokens["viewer"]))
    assert mine.status_code == 200
    assert {t["username"] for t in mine.json()} == {"viewer"}
    every = {t["username"]: t["id"] for t in app_client.get("/api/v1/tokens", headers=bearer(tokens["admin"])).json()}

    # When it tries to revoke the operator's token, Then it is refused and the token still works
    refused = app_client.post(f"/api/v1/tokens/{every['operator']}/revoke", headers=bearer(tokens["viewer"]))
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/permission-denied"
    assert app_client.get("/api/v1/jobs", headers=bearer(tokens["operator"])).status_code == 200

    # When an administrator revokes the viewer's token, Then it answers 401 from then on
    done = app_client.post(f"/api/v1/tokens/{every['viewer']}/revoke", headers=bearer(tokens["admin"]))
    assert done.status_code == 200 and done.json()["revoked_at"] is not None
    assert app_client.get("/api/v1/jobs", headers=bearer(tokens["viewer"])).status_code == 401
    assert app_client.post("/api/v1/tokens/999999/revoke", headers=bearer(tokens["admin"])).status_code == 404


def test_the_users_page_revokes_a_token_with_its_button(
    app_client: TestClient, engine: Engine, tokens: dict[str, str]
) -> None:
    csrf = sign_in(app_client, "admin")
    page = app_client.get("/users").text
    ids = re.findall(r'name="token_id" value="(\d+)"', page)
    assert len(ids) == 3  # one Revoke button per live token
    viewer_id = re.search(r'<tr id="token-(\d+)"><td>\d+</td><td>viewer test', page)
    assert viewer_id is not None
    answer = app_client.post("/users", data={"csrf": csrf, "action": "revoke-token", "token_id": viewer_id.group(1)})
    assert answer.status_code == 200
    assert len(re.findall(r'name="token_id" value="(\d+)"', answer.text)) == 2
    assert app_client.get("/api/v1/jobs", headers=bearer(tokens["viewer"])).status_code == 401
    with Session(engine) as session:
        assert session.scalars(select(Audit.actor).where(Audit.action == "token.revoke")).all() == ["admin"]


def test_an_operator_silences_an_alert_from_the_alerts_page(app_client: TestClient, engine: Engine, alert: int) -> None:
    csrf = sign_in(app_client, "operator")
    page = app_client.get("/alerts").text
    assert f'action="/alerts/{alert}/silence"' in page

    # A silence without a reason is refused, with the form open again and nothing written.
    no_reason = app_client.post(f"/alerts/{alert}/silence", data={"csrf": csrf, "reason": " ", "duration": "4h"})
    assert no_reason.status_code == 422 and "needs a reason" in no_reason.text
    # An end in the past is refused too.
    past = app_client.post(f"/alerts/{alert}/silence", data={"csrf": csrf, "reason": "x", "until": "2020-01-01T09:00"})
    assert past.status_code == 422 and "not in the future" in past.text

    done = app_client.post(
        f"/alerts/{alert}/silence", data={"csrf": csrf, "reason": "ledger fix under way", "duration": "4h"}
    )
    assert done.status_code == 303
    with Session(engine) as session:
        (silence,) = session.scalars(select(AlertSilence)).all()
        audit = session.scalars(select(Audit).where(Audit.action == "alert.silence")).one()
    assert (silence.rule, silence.job_name, silence.reason) == ("failure", "SL_AGED_DEBTORS", "ledger fix under way")
    assert silence.expires_at - silence.created_at == timedelta(hours=4)
    assert (audit.actor, audit.reason) == ("operator", "ledger fix under way")
    assert "ledger fix under way" in app_client.get("/alerts").text  # listed among the active silences


def test_a_viewer_sees_no_silence_form_and_is_refused(
    app_client: TestClient, engine: Engine, alert: int, tokens: dict[str, str]
) -> None:
    csrf = sign_in(app_client, "viewer")
    page = app_client.get("/alerts")
    assert page.status_code == 200 and "SL_AGED_DEBTORS failed" in page.text
    assert "/silence" not in page.text
    refused = app_client.post(f"/alerts/{alert}/silence", data={"csrf": csrf, "reason": "x", "duration": "1h"})
    assert refused.status_code == 403
    api = app_client.post(
        f"/api/v1/alerts/{alert}/silence", json={"reason": "x", "for": "1h"}, headers=bearer(tokens["viewer"])
    )
    assert api.status_code == 403
    with Session(engine) as session:
        assert session.scalars(select(AlertSilence)).all() == []


def test_the_api_silences_until_a_time_and_refuses_more_than_a_month(
    app_client: TestClient, alert: int, tokens: dict[str, str]
) -> None:
    until = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    made = app_client.post(
        f"/api/v1/alerts/{alert}/silence",
        json={"reason": "month end", "until": until.isoformat()},
        headers=bearer(tokens["operator"]),
    )
    assert made.status_code == 201, made.text
    assert datetime.fromisoformat(made.json()["expires_at"]) == until
    too_long = app_client.post(
        f"/api/v1/alerts/{alert}/silence", json={"reason": "x", "for": "40d"}, headers=bearer(tokens["operator"])
    )
    assert too_long.status_code == 422 and "at most 31 days" in too_long.json()["detail"]


def test_a_silence_is_ended_from_the_page_by_a_manager_only(
    app_client: TestClient, engine: Engine, alert: int, tokens: dict[str, str]
) -> None:
    made = app_client.post(
        f"/api/v1/alerts/{alert}/silence", json={"reason": "deploy", "for": "2h"}, headers=bearer(tokens["operator"])
    ).json()
    # A viewer lists it but may not end it
    listed = app_client.get("/api/v1/silences", headers=bearer(tokens["viewer"]))
    assert [s["id"] for s in listed.json()] == [made["id"]]
    refused = app_client.post(f"/api/v1/silences/{made['id']}/expire", headers=bearer(tokens["viewer"]))
    assert refused.status_code == 403
    # The operator ends it from the Alerts page; a second time is one clear line
    csrf = sign_in(app_client, "operator")
    page = app_client.get("/alerts").text
    assert f'action="/alerts/silences/{made["id"]}/expire"' in page
    done = app_client.post(f"/alerts/silences/{made['id']}/expire", data={"csrf": csrf})
    assert done.status_code == 303
    again = app_client.post(f"/alerts/silences/{made['id']}/expire", data={"csrf": csrf})
    assert again.status_code == 422 and "has already ended" in again.text
    with Session(engine) as session:
        assert session.scalars(select(AlertSilence.ended_at)).one() is not None
    assert app_client.get("/api/v1/silences", headers=bearer(tokens["viewer"])).json() == []


def test_a_log_filter_with_a_nul_byte_is_one_clear_line(app_client: TestClient, tokens: dict[str, str]) -> None:
    for path in ("/api/v1/logs?job=%00", "/api/v1/logs/export?job=%00"):
        answer = app_client.get(path, headers=bearer(tokens["viewer"] if "export" not in path else tokens["admin"]))
        assert answer.status_code == 422, path
        assert "NUL character" in answer.json()["detail"]

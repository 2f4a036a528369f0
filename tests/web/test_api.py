"""The REST API: bearer tokens, problem details, idempotent run-now, ETag edits, metrics, permissions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.models import BatchExecution
from acas_batch.security.actor import Actor
from acas_batch.security.policy import STANDARD_ROLES, may
from acas_batch.services.run_actions import run_now
from acas_batch.web.auth import Identities

#: Who these tests act as: the local administrator console.
CONSOLE = Actor.console()

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def tokens(identities: Identities) -> dict[str, str]:
    return {role: identities.create_token(role, f"{role} test") for role in ("admin", "operator", "viewer")}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_is_a_401_problem_and_a_bad_one_too(app_client: TestClient) -> None:
    none = app_client.get("/api/v1/jobs")
    assert none.status_code == 401
    assert none.headers["content-type"] == "application/problem+json"
    assert none.json()["type"] == "/problems/authentication-required"
    assert app_client.get("/api/v1/jobs", headers=bearer("acas_nope")).status_code == 401


def test_openapi_document_is_3_1_and_lists_the_resources(app_client: TestClient) -> None:
    doc = app_client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    for path in (
        "/jobs",
        "/schedules/forecast",
        "/calendar",
        "/executions",
        "/executions/{execution_id}/logs",
        "/alerts",
        "/logs/export",
        "/audit",
        "/health",
    ):
        assert path in doc["paths"], path


def test_calendar_gives_the_month_the_page_shows_and_a_bad_month_is_a_problem(
    app_client: TestClient, engine: Engine, settings: Settings, tokens: dict[str, str]
) -> None:
    # Given a run on business date 1 December 2026, made at 09:00 UTC
    run = run_now(engine, settings, "SYS_HEALTH_CHECK", {}, business_date=date(2026, 12, 1), actor=CONSOLE, now=NOW)[0]

    # When a viewer asks for December 2026
    answer = app_client.get("/api/v1/calendar?month=2026-12", headers=bearer(tokens["viewer"]))

    # Then the month comes as weeks of days, Monday first, with its holidays, marks and runs
    assert answer.status_code == 200
    month = answer.json()
    assert (month["month"], month["previous"], month["next"]) == ("2026-12", "2026-11", "2027-01")
    days = {d["day"]: d for week in month["weeks"] for d in week}
    assert days["2026-11-30"]["in_month"] is False and days["2026-12-01"]["in_month"] is True
    assert days["2026-12-25"]["holiday"] == "Christmas Day" and days["2026-12-25"]["business_day"] is False
    assert "month end" in days["2026-12-31"]["marks"]
    entries = [e for e in days["2026-12-01"]["entries"] if e["execution_id"] == run]
    assert len(entries) == 1
    assert entries[0]["at"] == "2026-12-01T09:00:00Z" and entries[0]["time"] == "09:00"
    assert entries[0]["status"] == "queued" and entries[0]["note"].startswith("manual")
    # A clock change is marked on its day
    march = app_client.get("/api/v1/calendar?month=2027-03", headers=bearer(tokens["viewer"])).json()
    marks = {d["day"]: d["marks"] for week in march["weeks"] for d in week}
    assert "clocks go forward 1 h (BST begins)" in marks["2027-03-28"]

    # And a month that is not YYYY-MM is an RFC 9457 problem naming the field
    bad = app_client.get("/api/v1/calendar?month=2026-13", headers=bearer(tokens["viewer"]))
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    problem = bad.json()
    assert problem["type"] == "/problems/validation-error"
    assert "2026-13" in problem["detail"] and problem["errors"][0]["field"] == "month"


def test_a_nul_character_in_a_text_filter_is_a_422_not_a_server_error(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    # PostgreSQL cannot compare text holding NUL: the filters refuse it before any query
    for path in ("/api/v1/audit?target=%00", "/api/v1/executions?user=a%00b", "/api/v1/executions?job=GL%00"):
        answer = app_client.get(path, headers=bearer(tokens["admin"]))
        assert answer.status_code == 422, (path, answer.text)
        assert "NUL character" in answer.json()["detail"]


def test_run_now_with_an_idempotency_key_creates_one_execution(
    app_client: TestClient, engine: Engine, tokens: dict[str, str]
) -> None:
    headers = bearer(tokens["operator"]) | {"Idempotency-Key": "pay-2026-12-01"}
    body = {"business_date": "2026-11-30"}
    first = app_client.post("/api/v1/jobs/SYS_HEALTH_CHECK/runs", json=body, headers=headers)
    again = app_client.post("/api/v1/jobs/SYS_HEALTH_CHECK/runs", json=body, headers=headers)
    assert first.status_code == 201 and first.json()["created"] is True
    assert again.status_code == 200 and again.json() == first.json() | {"created": False}
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(BatchExecution)) == 1
        assert session.scalar(select(BatchExecution.idempotency_key)) == "pay-2026-12-01"
    other_job = app_client.post("/api/v1/jobs/SL_AGED_DEBTORS/runs", json=body, headers=headers)
    assert other_job.status_code == 422


def test_bad_parameter_is_a_422_with_field_errors_and_nothing_made(
    app_client: TestClient, engine: Engine, tokens: dict[str, str]
) -> None:
    answer = app_client.post(
        "/api/v1/jobs/SL_AGED_DEBTORS/runs", json={"params": {"buckets": "soon"}}, headers=bearer(tokens["admin"])
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["type"] == "/problems/validation-error"
    assert [e["field"] for e in problem["errors"]] == ["buckets"]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(BatchExecution)) == 0


def test_job_edit_needs_the_current_etag(app_client: TestClient, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    read = app_client.get("/api/v1/jobs/SYS_HEALTH_CHECK", headers=admin)
    tag = read.headers["etag"]
    missing = app_client.patch("/api/v1/jobs/SYS_HEALTH_CHECK", json={"priority": 60}, headers=admin)
    assert missing.status_code == 428 and missing.json()["type"] == "/problems/precondition-required"
    done = app_client.patch("/api/v1/jobs/SYS_HEALTH_CHECK", json={"priority": 60}, headers=admin | {"If-Match": tag})
    assert done.status_code == 200 and done.json()["priority"] == 60 and done.headers["etag"] != tag
    stale = app_client.patch("/api/v1/jobs/SYS_HEALTH_CHECK", json={"priority": 70}, headers=admin | {"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["type"] == "/problems/precondition-failed"
    schedule_id = app_client.get("/api/v1/schedules?job=SYS_HEALTH_CHECK", headers=admin).json()[0]["schedule_id"]
    s_tag = app_client.get(f"/api/v1/schedules/{schedule_id}", headers=admin).headers["etag"]
    off = app_client.patch(
        f"/api/v1/schedules/{schedule_id}", json={"enabled": False}, headers=admin | {"If-Match": s_tag}
    )
    assert off.status_code == 200 and off.json()["enabled"] is False


def test_executions_list_filters_and_pages(
    app_client: TestClient, engine: Engine, settings: Settings, tokens: dict[str, str]
) -> None:
    ids = [
        run_now(engine, settings, "SYS_HEALTH_CHECK", {}, business_date=date(2026, 11, d), actor=CONSOLE, now=NOW)[0]
        for d in (1, 2, 3)
    ]
    viewer = bearer(tokens["viewer"])
    first = app_client.get("/api/v1/executions?limit=2&job=SYS_*", headers=viewer).json()
    assert [r["id"] for r in first["items"]] == ids[:0:-1] and first["next_before"] == ids[1]
    rest = app_client.get(f"/api/v1/executions?limit=2&job=SYS_*&before={ids[1]}", headers=viewer).json()
    assert [r["id"] for r in rest["items"]] == [ids[0]] and rest["next_before"] is None
    bad = app_client.get("/api/v1/executions?state=nope", headers=viewer)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    cancel = app_client.post(f"/api/v1/executions/{ids[0]}/actions/cancel", json={"reason": "no"}, headers=viewer)
    assert cancel.status_code == 403 and cancel.json()["type"] == "/problems/permission-denied"


def test_business_date_ranges_page_newest_run_first_however_the_range_is_read(
    app_client: TestClient, engine: Engine, settings: Settings, tokens: dict[str, str]
) -> None:
    # Given runs whose ids do not follow their business dates (the last one reruns 2 November)
    days = [5, 2, 9, 3, 2, 7, 2]
    ids = [
        run_now(engine, settings, "SYS_HEALTH_CHECK", {}, business_date=date(2026, 11, d), actor=CONSOLE, now=NOW)[0]
        for d in days
    ]
    viewer = bearer(tokens["viewer"])

    def pages(query: str) -> list[int]:
        got: list[int] = []
        cursor = ""
        while True:
            page = app_client.get(f"/api/v1/executions?limit=2&{query}{cursor}", headers=viewer).json()
            got += [r["id"] for r in page["items"]]
            if page["next_before"] is None:
                return got
            cursor = f"&before={page['next_before']}"

    # When they are paged by a narrow range (read through the date index) and by a wide one (the id order)
    narrow = pages("from=2026-11-02&to=2026-11-05")
    wide = pages("from=2024-01-01&to=2026-11-05")

    # Then both give exactly the runs in the range, newest id first, each once
    expected = sorted((i for i, d in zip(ids, days, strict=True) if 2 <= d <= 5), reverse=True)
    assert narrow == wide == expected
    assert pages("from=2026-11-02&to=2026-11-02") == sorted(
        (i for i, d in zip(ids, days, strict=True) if d == 2), reverse=True
    )


def test_bulk_preview_then_idempotent_apply(
    app_client: TestClient, engine: Engine, settings: Settings, tokens: dict[str, str]
) -> None:
    ids = [
        run_now(engine, settings, "SYS_HEALTH_CHECK", {}, business_date=date(2026, 11, d), actor=CONSOLE, now=NOW)[0]
        for d in (1, 2)
    ]
    op = bearer(tokens["operator"])
    preview = app_client.post(
        "/api/v1/executions/bulk?state=queued", json={"action": "hold", "preview": True}, headers=op
    )
    assert sorted(preview.json()["preview"]) == sorted(ids)
    key = op | {"Idempotency-Key": "hold-1"}
    done = app_client.post(
        "/api/v1/executions/bulk?state=queued", json={"action": "hold", "reason": "audit"}, headers=key
    )
    again = app_client.post(
        "/api/v1/executions/bulk?state=queued", json={"action": "hold", "reason": "audit"}, headers=key
    )
    assert sorted(done.json()["done"]) == sorted(ids) and again.json()["replayed"] is True
    assert sorted(again.json()["done"]) == sorted(ids)


def test_metrics_are_read_from_the_database(app_client: TestClient, engine: Engine, settings: Settings) -> None:
    run_now(engine, settings, "SYS_HEALTH_CHECK", {}, business_date=date(2026, 11, 1), actor=CONSOLE, now=NOW)
    text = app_client.get("/metrics").text
    assert "acas_batch_queued 1" in text
    assert 'acas_batch_build_info{version="' in text
    assert "# TYPE acas_batch_run_duration_seconds histogram" in text


#: Every endpoint that acts or reads behind a permission, with the permission the policy table requires.
ENDPOINTS = [
    ("GET", "/api/v1/jobs", None, "jobs:read"),
    ("GET", "/api/v1/schedules", None, "jobs:read"),
    ("GET", "/api/v1/schedules/forecast?from=2026-12-01&to=2026-12-02", None, "jobs:read"),
    ("GET", "/api/v1/calendar?month=2026-12", None, "executions:read"),
    ("GET", "/api/v1/executions", None, "executions:read"),
    ("GET", "/api/v1/executions/{run}", None, "executions:read"),
    ("GET", "/api/v1/executions/{run}/logs", None, "logs:read"),
    ("GET", "/api/v1/executions/{run}/files", None, "executions:read"),
    ("POST", "/api/v1/jobs/SYS_HEALTH_CHECK/runs", {"business_date": "2026-10-01"}, "jobs:run"),
    ("POST", "/api/v1/executions/{run}/actions/hold", {"reason": "r"}, "executions:control"),
    ("POST", "/api/v1/executions/{run}/actions/mark-succeeded", {"reason": "r"}, "executions:force"),
    ("POST", "/api/v1/executions/bulk", {"action": "release", "preview": True}, "executions:control"),
    ("PATCH", "/api/v1/jobs/SYS_HEALTH_CHECK", {"priority": 51}, "jobs:write"),
    ("GET", "/api/v1/alerts", None, "alerts:read"),
    ("POST", "/api/v1/alerts/999/acknowledge", {"reason": "r"}, "alerts:manage"),
    ("GET", "/api/v1/logs", None, "logs:read"),
    ("GET", "/api/v1/logs/export?format=json", None, "logs:export"),
    ("GET", "/api/v1/audit", None, "audit:read"),
    ("GET", "/api/v1/users", None, "users:manage"),
    ("GET", "/api/v1/jobs/SYS_HEALTH_CHECK", None, "jobs:read"),
    ("GET", "/api/v1/schedules/1", None, "jobs:read"),
    ("POST", "/api/v1/users/admin/tokens", {"name": "for another"}, "users:manage"),
]


def test_every_endpoint_by_role_follows_the_policy_table(
    app_client: TestClient, engine: Engine, settings: Settings, identities: Identities
) -> None:
    run = run_now(engine, settings, "SYS_HEALTH_CHECK", {}, business_date=date(2026, 11, 1), actor=CONSOLE, now=NOW)[0]
    for role, definition in STANDARD_ROLES.items():
        if role not in identities.users:
            identities.add_user(role, f"{role}-password-1", role)
        token = bearer(identities.create_token(role, "matrix"))
        holder = Actor(role, role, frozenset(p.value for p in definition.permissions), definition.modules, "api")
        for method, path, body, permission in ENDPOINTS:
            answer = app_client.request(method, path.format(run=run), json=body, headers=token | {"If-Match": "*"})
            # The run is of SYS_HEALTH_CHECK: a role scoped to the ledgers may not act on it.
            if may(holder, permission, "SYS"):
                assert answer.status_code != 403, (role, method, path, answer.text)
                assert answer.status_code < 500, (role, method, path, answer.text)
            else:
                assert answer.status_code == 403, (role, method, path, answer.status_code)

"""The dashboard's pages through HTTP: sign-in, overview, runs (filters and keyset pages), a run and its actions."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.models import Audit
from acas_batch.security.actor import Actor
from acas_batch.services.run_actions import run_now
from tests.web.conftest import sign_in

#: Who these tests act as: the local administrator console.
CONSOLE = Actor.console()

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _runs(engine: Engine, settings: Settings, job: str, days: int) -> list[int]:
    return [
        run_now(
            engine,
            settings,
            job,
            {},
            business_date=date(2026, 11, 1) + timedelta(days=i),
            actor=CONSOLE,
            now=NOW,
        )[0]
        for i in range(days)
    ]


def test_pages_need_a_signed_in_user_and_the_cookie_is_strict(app_client: TestClient) -> None:
    # Given no session, When a page is asked for, Then the browser is sent to sign in, keeping the target.
    first = app_client.get("/runs?state=failed")
    assert first.status_code == 303
    assert first.headers["location"] == "/signin?next=/runs%3Fstate%3Dfailed"
    # A wrong password is refused with one message and no session.
    form = app_client.get("/signin")
    token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert token is not None
    wrong = app_client.post("/signin", data={"username": "admin", "password": "nope", "token": token.group(1)})
    assert wrong.status_code == 401
    assert "wrong username or password" in wrong.text.lower()
    assert "acas_session" not in app_client.cookies
    # The right one sets an HttpOnly, SameSite=Strict session cookie.
    form = app_client.get("/signin")
    token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert token is not None
    good = app_client.post(
        "/signin", data={"username": "admin", "password": "admin-password-1", "token": token.group(1)}
    )
    cookie = good.headers["set-cookie"].lower()
    assert "acas_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_sign_in_without_the_form_token_is_refused(app_client: TestClient) -> None:
    answer = app_client.post("/signin", data={"username": "admin", "password": "admin-password-1", "token": "x"})
    assert answer.status_code == 400
    assert "acas_session" not in app_client.cookies


def test_overview_shows_counts_processes_and_next_runs(
    app_client: TestClient, engine: Engine, settings: Settings
) -> None:
    _runs(engine, settings, "SYS_HEALTH_CHECK", 2)
    sign_in(app_client, "viewer")
    page = app_client.get("/")
    assert page.status_code == 200
    assert re.search(r"<b>2</b><span>queued</span>", page.text)
    assert "No scheduler is running" in page.text
    assert "GL_DAILY_CLOSE" in page.text  # a next run of the standard schedules
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d (GMT|BST)", page.text)


def test_runs_filters_live_in_the_url_and_pages_by_keyset(
    app_client: TestClient, engine: Engine, settings: Settings
) -> None:
    health = _runs(engine, settings, "SYS_HEALTH_CHECK", 3)
    debtors = _runs(engine, settings, "SL_AGED_DEBTORS", 4)
    sign_in(app_client, "viewer")

    hidden = app_client.get("/runs?hide=SYS_*")
    shown = set(map(int, re.findall(r'href="/runs/(\d+)"', hidden.text)))
    assert shown == set(debtors)

    negative = app_client.get("/runs?job=-SYS_*")
    assert set(map(int, re.findall(r'href="/runs/(\d+)"', negative.text))) == set(debtors)

    first = app_client.get("/runs?job=SL_AGED_DEBTORS&limit=3")
    ids = [int(i) for i in re.findall(r'href="/runs/(\d+)"', first.text)]
    assert ids == sorted(debtors, reverse=True)[:3]
    older = re.search(r'id="older" href="([^"]+)"', first.text)
    assert older is not None and "job=SL_AGED_DEBTORS" in older.group(1)
    second = app_client.get(older.group(1).replace("&amp;", "&") + "&limit=3")
    assert [int(i) for i in re.findall(r'href="/runs/(\d+)"', second.text)] == sorted(debtors, reverse=True)[3:]
    assert 'id="older"' not in second.text

    dated = app_client.get("/runs?from=2026-11-02&to=2026-11-02&module=SYS")
    assert [int(i) for i in re.findall(r'href="/runs/(\d+)"', dated.text)] == [health[1]]

    bad = app_client.get("/runs?state=exploded")
    assert bad.status_code == 422
    assert "state &#39;exploded&#39; is not one of" in bad.text


def test_cancel_needs_a_reason_a_csrf_token_and_the_permission(
    app_client: TestClient, engine: Engine, settings: Settings
) -> None:
    (run,) = _runs(engine, settings, "SYS_HEALTH_CHECK", 1)
    # A viewer sees the run but no action, and a forged post is refused.
    viewer_csrf = sign_in(app_client, "viewer")
    page = app_client.get(f"/runs/{run}")
    assert page.status_code == 200 and 'name="action"' not in page.text
    refused = app_client.post(f"/runs/{run}/actions", data={"action": "cancel", "reason": "x", "csrf": viewer_csrf})
    assert refused.status_code == 403
    app_client.cookies.clear()

    csrf = sign_in(app_client, "operator")
    forged = app_client.post(f"/runs/{run}/actions", data={"action": "cancel", "reason": "x", "csrf": "wrong"})
    assert forged.status_code == 403
    no_reason = app_client.post(f"/runs/{run}/actions", data={"action": "cancel", "reason": " ", "csrf": csrf})
    assert no_reason.status_code == 422 and "reason is required" in no_reason.text
    done = app_client.post(f"/runs/{run}/actions", data={"action": "cancel", "reason": "wrong day", "csrf": csrf})
    assert done.status_code == 303
    assert "cancelled" in app_client.get(f"/runs/{run}").text
    with Session(engine) as session:
        rows = session.scalars(select(Audit).where(Audit.action == "execution.cancel")).all()
    assert [(a.actor, a.target_id, a.reason) for a in rows] == [("operator", str(run), "wrong day")]


def test_bulk_action_previews_then_applies_with_one_audit_row(
    app_client: TestClient, engine: Engine, settings: Settings
) -> None:
    runs = _runs(engine, settings, "SYS_HEALTH_CHECK", 3)
    csrf = sign_in(app_client, "operator")
    preview = app_client.post("/runs/bulk?job=SYS_HEALTH_CHECK", data={"action": "hold", "csrf": csrf})
    assert re.search(r'id="bulk-count">3<', preview.text)
    without_reason = app_client.post(
        "/runs/bulk?job=SYS_HEALTH_CHECK",
        data={"action": "hold", "csrf": csrf, "confirm": "1", "ids": runs, "reason": ""},
    )
    assert without_reason.status_code == 422
    done = app_client.post(
        "/runs/bulk?job=SYS_HEALTH_CHECK",
        data={"action": "hold", "csrf": csrf, "confirm": "1", "ids": runs, "reason": "bank closed"},
    )
    assert "Done: 3 run(s) hold" in done.text
    with Session(engine) as session:
        bulk = session.scalars(select(Audit).where(Audit.action == "execution.bulk")).one()
        holds = session.scalars(select(Audit).where(Audit.action == "execution.hold")).all()
    assert bulk.reason == "bank closed" and sorted(bulk.details["done"]) == sorted(runs)
    assert len(holds) == 3


def test_new_runs_control_counts_what_arrived(app_client: TestClient, engine: Engine, settings: Settings) -> None:
    first = _runs(engine, settings, "SYS_HEALTH_CHECK", 1)[0]
    sign_in(app_client, "viewer")
    assert "new run" not in app_client.get(f"/runs/new-count?after={first}").text
    _runs(engine, settings, "SL_AGED_DEBTORS", 2)
    assert "2 new runs" in app_client.get(f"/runs/new-count?after={first}").text
    assert "new run" not in app_client.get(f"/runs/new-count?after={first}&job=SYS_*").text


def test_live_parts_render_alone_for_htmx(app_client: TestClient, engine: Engine, settings: Settings) -> None:
    (run,) = _runs(engine, settings, "SYS_HEALTH_CHECK", 1)
    sign_in(app_client, "viewer")
    for path in ("/", f"/runs/{run}"):
        part = app_client.get(path, headers={"HX-Request": "true"})
        assert part.status_code == 200, part.text
        assert part.text.lstrip().startswith("<div") and "<html" not in part.text
    assert 'data-state="queued"' in app_client.get(f"/runs/{run}", headers={"HX-Request": "true"}).text


def _first_event(client: TestClient, last_event_id: str | None = None) -> dict[str, str]:
    """The first event of the live stream (after its ``retry`` line), as its fields."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    fields: dict[str, str] = {}
    with client.stream("GET", "/live/events?interval=0.25&lifetime=1", headers=headers) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            if not line:
                if "event" in fields:
                    return fields
                continue
            key, _, value = line.partition(": ")
            fields[key] = value
    raise AssertionError("the stream ended before its first event")


def test_live_stream_greets_then_tells_a_reconnecting_page_what_it_missed(
    app_client: TestClient, engine: Engine, settings: Settings
) -> None:
    sign_in(app_client, "viewer")
    # A new page's first event is hello (on which it fetches its parts once), carrying the marker as its id.
    hello = _first_event(app_client)
    assert hello["event"] == "hello" and hello["id"] == hello["data"]
    # A page reconnecting with nothing changed hears only a tick.
    assert _first_event(app_client, hello["id"])["event"] == "tick"
    # A run made while the page was away: the reconnecting page hears change at once, with the new marker.
    _runs(engine, settings, "SYS_HEALTH_CHECK", 1)
    missed = _first_event(app_client, hello["id"])
    assert missed["event"] == "change" and missed["id"] != hello["id"]

"""The dashboard in a real headless Chromium, against a real scheduler with workers on the demo company.

One server for the module: ``acas-batch scheduler start`` (which serves the web) on a scratch
SQLite database holding the demo company. Screenshots of every page go to ``tests/e2e/output``.
Chromium is Debian's (``make test`` installs it); without it these tests fail, they never skip.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).parent / "output"
CLI = [sys.executable, "-m", "acas_batch"]


@dataclass(frozen=True)
class Server:
    url: str
    admin: tuple[str, str]
    viewer: tuple[str, str]
    viewer_token: str
    data: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _form_token(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found is not None, f"no {name} in the page"
    return found.group(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "ACAS_DATABASE_URL": f"sqlite:///{data / 'acas.db'}",
        "ACAS_DATA_DIR": str(data),
        "ACAS_JOB_MODULES": "acas_batch.jobs,tests.e2e.long_job",
        "ACAS_POLL_SECONDS": "0.2",
        "ACAS_MONITOR_INTERVAL_SECONDS": "0",
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
    }
    env.pop("ACAS_CONFIG", None)

    def cli(*args: str) -> None:
        subprocess.run([*CLI, *args], env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)

    cli("init")
    cli("demo", "generate", "--if-empty", "--scale", "0.1")
    script = (
        "from acas_batch.services import JobSchedulerService\n"
        "svc = JobSchedulerService()\n"
        "ok, why = svc.create_job('E2E_LONG', 'SYS', 'E2E_LONG', description='Counts slowly (browser tests).')\n"
        "assert ok, why\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, timeout=120)
    cli("run", "SYS_HEALTH_CHECK")
    rule = '{"at": "07:30", "business_day": 1}'
    cli("deadlines", "set", "gl-close", "--job", "GL_PERIOD_CLOSE", "--kind", "monthly", "--rule", rule,
        "--description", "GL close by 07:30, first working day")  # fmt: skip
    port = _free_port()
    log = (data / "server.log").open("wb")
    proc = subprocess.Popen(
        [*CLI, "scheduler", "start", "--workers", "2", "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (data / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not start in 120 s"
            time.sleep(0.5)
        username, _, password = (data / "admin-credentials.txt").read_text().strip().partition(":")
        # The administrator adds a viewer and a token for it, through the pages.
        with httpx.Client(base_url=url) as client:
            token = _form_token(client.get("/signin").text, "token")
            client.post("/signin", data={"username": username, "password": password, "token": token})
            csrf = _form_token(client.get("/users").text, "csrf")
            added = client.post(
                "/users",
                data={
                    "csrf": csrf,
                    "action": "add-user",
                    "username": "vera",
                    "password": "viewer-pass-1",
                    "role": "viewer",
                },
            )
            assert added.status_code == 200, added.text
            made = client.post("/users", data={"csrf": csrf, "action": "add-token", "username": "vera", "name": "e2e"})
            found = re.search(r'id="new-token">([^<]+)<', made.text)
            assert found is not None
        yield Server(url, (username, password), ("vera", "viewer-pass-1"), found.group(1), data)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


def _signed_in(browser: Browser, server: Server, who: tuple[str, str]) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page.goto(f"{server.url}/")
    expect(page).to_have_url(re.compile(r"/signin"))
    page.fill("#username", who[0])
    page.fill("#password", who[1])
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/")
    return page


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


def test_sign_in_and_the_overview_shows_the_demo_companys_runs(browser: Browser, server: Server) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{server.url}/signin")
    shot(page, "01-signin")
    page.fill("#username", server.admin[0])
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    expect(page.locator(".problem")).to_contain_text("Wrong username or password")
    page.close()

    page = _signed_in(browser, server, server.admin)
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator(".alive").first).to_be_visible()
    # The health check queued before the start runs; the page shows it finish without a reload.
    expect(
        page.locator("a.count", has_text="warning").or_(page.locator("a.count", has_text="succeeded")).first
    ).to_be_visible()
    page.goto(f"{server.url}/runs")
    expect(page.locator("#runs")).to_contain_text("SYS_HEALTH_CHECK")
    page.goto(f"{server.url}/")
    expect(page.locator("#updated")).to_contain_text("updated")
    shot(page, "02-overview")
    page.close()


def test_run_a_job_from_its_form_watch_it_succeed_and_download_its_pdf(browser: Browser, server: Server) -> None:
    page = _signed_in(browser, server, server.admin)
    runs_before = page.request.get(f"{server.url}/api/v1/executions?job=SL_AGED_DEBTORS").json()["items"]

    # Given a bad parameter, the form comes back with the error next to the field and nothing is made.
    page.goto(f"{server.url}/jobs/SL_AGED_DEBTORS")
    page.fill("#f-buckets", "soon")
    page.click("#run-button")
    expect(page.locator("#error-buckets")).to_be_visible()
    shot(page, "03-job-form-error")
    assert page.request.get(f"{server.url}/api/v1/executions?job=SL_AGED_DEBTORS").json()["items"] == runs_before

    # When the parameter is right, the run is made and its page follows it live to success.
    page.fill("#f-buckets", "0, 30, 60, 90")
    page.click("#run-button")
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    first_state = page.locator("#run-state").get_attribute("data-state")
    assert first_state in ("pending", "queued", "running")
    page.evaluate("window.__sameDocument = true")
    expect(page.locator('#run-state[data-state="succeeded"]')).to_be_visible(timeout=120_000)
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    shot(page, "04-run-succeeded")

    with page.expect_download() as download:
        page.click("a.file:text('aged_debtors.pdf')")
    pdf = Path(download.value.path())
    assert pdf.read_bytes()[:5] == b"%PDF-"
    page.close()


def test_cancel_a_long_run_with_a_reason_and_see_the_audit_row(browser: Browser, server: Server) -> None:
    page = _signed_in(browser, server, server.admin)
    page.goto(f"{server.url}/jobs/E2E_LONG")
    page.click("#run-button")
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    run_id = page.url.rsplit("/", 1)[-1]
    expect(page.locator('#run-state[data-state="running"]')).to_be_visible(timeout=60_000)
    cancel = page.locator("form:has(input[name=action][value=cancel])")
    cancel.locator("input[name=reason]").fill("started by mistake")
    cancel.locator("button").click()
    expect(page.locator('#run-state[data-state="cancelled"]')).to_be_visible(timeout=60_000)
    shot(page, "05-run-cancelled")
    page.goto(f"{server.url}/audit?target=execution:{run_id}")
    row = page.locator("#audit tbody tr", has_text="execution.cancel")
    expect(row).to_contain_text("started by mistake")
    expect(row).to_contain_text(server.admin[0])
    shot(page, "06-audit")
    page.close()


def test_a_viewer_sees_no_action_and_the_api_refuses_it(browser: Browser, server: Server) -> None:
    page = _signed_in(browser, server, server.viewer)
    page.goto(f"{server.url}/runs")
    first = page.locator("#runs tbody a[href^='/runs/']").first
    run_id = (first.get_attribute("href") or "").rsplit("/", 1)[-1]
    first.click()
    expect(page.locator("#run-state")).to_be_visible()
    assert page.locator("#actions").count() == 0
    assert page.locator("input[name=ids]").count() == 0
    shot(page, "07-viewer-run")
    page.goto(f"{server.url}/jobs/SYS_HEALTH_CHECK")
    assert page.locator("#run-now").count() == 0
    page.close()
    refused = httpx.post(
        f"{server.url}/api/v1/executions/{run_id}/actions/cancel",
        json={"reason": "not mine"},
        headers={"Authorization": f"Bearer {server.viewer_token}"},
    )
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/permission-denied"
    run_now = httpx.post(
        f"{server.url}/api/v1/jobs/SYS_HEALTH_CHECK/runs",
        json={},
        headers={"Authorization": f"Bearer {server.viewer_token}"},
    )
    assert run_now.status_code == 403


PAGES = [
    ("10-runs", "/runs"),
    ("11-runs-filtered", "/runs?hide=SYS_*"),
    ("12-jobs", "/jobs"),
    ("13-job", "/jobs/SL_AGED_DEBTORS"),
    ("14-calendar", "/calendar"),
    ("15-alerts", "/alerts"),
    ("15b-deadlines", "/deadlines"),
    ("16-logs", "/logs"),
    ("17-audit", "/audit"),
    ("18-users", "/users"),
    ("19-system", "/system"),
    ("20-api-docs", "/api/v1/docs"),
    ("21-account", "/account"),
]


def test_the_calendar_moves_by_month_with_the_keys_and_links_to_runs(browser: Browser, server: Server) -> None:
    page = _signed_in(browser, server, server.viewer)
    page.goto(f"{server.url}/calendar?month=2026-12")
    expect(page.locator("#month-title")).to_have_text("December 2026")
    expect(page.locator("#day-2026-12-25")).to_contain_text("Christmas Day")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#month-title")).to_have_text("January 2027")
    expect(page).to_have_url(re.compile(r"/calendar\?month=2027-01$"))
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#month-title")).to_have_text("December 2026")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#month-title")).to_have_text("November 2026")
    # The demo's runs lie on their days, each linked to its run.
    page.keyboard.press("t")
    expect(page.locator(".calendar a.entry.actual").first).to_be_visible()
    shot(page, "14-calendar-keys")
    page.close()


def test_a_viewer_chooses_a_time_zone_and_the_pages_show_it(browser: Browser, server: Server) -> None:
    # Given a viewer reading times in the company's zone (December: GMT)
    page = _signed_in(browser, server, server.viewer)
    page.goto(f"{server.url}/runs")
    expect(page.locator("#runs tbody tr").first).to_contain_text(re.compile(r" GMT|BST"))
    # When they open their account from the top bar and type a zone that does not exist
    page.click("#account-link")
    expect(page).to_have_url(f"{server.url}/account")
    page.fill("#zone", "Mars/Olympus")
    page.click("form[action='/account/zone'] button[type=submit]")
    # Then the field says so and the zone stays the company's
    expect(page.locator("#error-zone")).to_contain_text("'Mars/Olympus' is not known")
    expect(page.locator("#shown-zone")).to_have_text("Europe/London")
    shot(page, "22-account-unknown-zone")
    # When they choose New York
    page.fill("#zone", "America/New_York")
    page.click("form[action='/account/zone'] button[type=submit]")
    expect(page.locator("#shown-zone")).to_have_text("America/New_York")
    # Then the runs list and a run show New York time, and the top bar names the zone
    page.goto(f"{server.url}/runs")
    expect(page.locator("#header-zone")).to_have_text("America/New_York")
    expect(page.locator("#runs tbody tr").first).to_contain_text(re.compile(r" E[SD]T"))
    shot(page, "23-runs-in-new-york")
    page.locator("#runs tbody tr a[href^='/runs/']").first.click()
    expect(page.locator("main")).to_contain_text(re.compile(r"created\s*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T"))
    shot(page, "24-run-in-new-york")
    page.close()


def test_every_page_renders_and_is_kept_as_a_screenshot(browser: Browser, server: Server) -> None:
    page = _signed_in(browser, server, server.admin)
    for name, path in PAGES:
        answer = page.goto(f"{server.url}{path}")
        assert answer is not None and answer.ok, (path, answer.status if answer else None)
        page.wait_for_load_state("load")
        page.wait_for_timeout(400)
        shot(page, name)
    page.close()

"""The run and job pages show results and parameters readably; the API keeps the raw JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.models import BatchExecution, BatchJob
from acas_batch.security.actor import Actor
from acas_batch.services.run_actions import run_now
from tests.web.conftest import sign_in

#: Who these tests act as: the local administrator console.
CONSOLE = Actor.console()

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RESULT = {
    "summary": "6 customers owe 1,831.96",
    "counts": {"customers": 6, "items": 39},
    "totals": {"total_pence": 183196},
    "files": ["/srv/acas/output/1/aged_debtors.pdf"],
    "data": {},
}


def test_a_runs_result_reads_in_pounds_and_its_notify_parameter_as_a_list(
    app_client: TestClient, engine: Engine, settings: Settings
) -> None:
    # Given a finished run with a notify parameter and a result in pence
    params = {"notify": {"recipients": ["ops@example.com"], "on_failure": True}}
    run, _ = run_now(
        engine, settings, "SL_AGED_DEBTORS", params, business_date=date(2026, 11, 30), actor=CONSOLE, now=NOW
    )
    with Session(engine) as session, session.begin():
        session.execute(update(BatchExecution).where(BatchExecution.id == run).values(result=RESULT))
    sign_in(app_client, "viewer")

    # When a viewer opens it
    page = app_client.get(f"/runs/{run}").text

    # Then money is in pounds with the exact pence, counts are a table, no Python dict shows, no server path
    assert "£1,831.96" in page and "183196 pence" in page
    assert '<table class="mini">' in page and "<span>customers</span>" in page
    assert "{&#39;" not in page and "{'" not in page
    assert "/srv/acas" not in page
    assert "<dt>recipients</dt><dd><span>ops@example.com</span></dd>" in page
    assert "<dt>on_failure</dt><dd><span>yes</span></dd>" in page
    # And the API still gives the raw JSON.
    assert app_client.get(f"/api/v1/executions/{run}").json()["result"] == RESULT


def test_a_jobs_resources_read_as_a_table(app_client: TestClient, engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(BatchJob)
            .where(BatchJob.name == "SL_AGED_DEBTORS")
            .values(resources=[{"name": "ledger:SL", "mode": "shared"}])
        )
    sign_in(app_client, "viewer")
    page = app_client.get("/jobs/SL_AGED_DEBTORS").text
    assert "{&#39;name&#39;" not in page
    assert "<th>name</th>" in page and "<th>mode</th>" in page and "<td><span>ledger:SL</span></td>" in page

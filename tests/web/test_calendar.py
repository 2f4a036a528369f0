"""The calendar page: a month of the business calendar with each day's expected and actual runs."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.errors import PermissionDenied, ValidationError
from acas_batch.models import AccountingPeriod, BatchExecution
from acas_batch.models.enums import TriggerKind
from acas_batch.security.actor import Actor
from acas_batch.services.month_calendar import month_calendar
from acas_batch.services.run_actions import run_now
from acas_batch.services.schedules import forecast
from tests.support.users import user
from tests.web.conftest import sign_in

#: Who these tests act as: the local administrator console.
CONSOLE = Actor.console()

NOW = datetime(2030, 12, 10, 12, 0, tzinfo=UTC)


def _cell(html: str, day: str) -> str:
    found = re.search(rf'<div role="gridcell" id="day-{day}"(.*?)</div>\s*(?=<div role="gridcell"|</div>)', html, re.S)
    assert found is not None, f"no cell for {day}"
    return found.group(1)


def _viewer() -> Actor:
    return Actor("viewer", "viewer", frozenset({"executions:read", "jobs:read"}), None, face="web")


def test_calendar_marks_bank_holidays_period_ends_and_clock_changes(app_client: TestClient, engine: Engine) -> None:
    # Given an accounting period ending on 31 December 2026
    with Session(engine) as session, session.begin():
        session.add(
            AccountingPeriod(
                financial_year=2026, period_no=9, start_date=date(2026, 12, 1), end_date=date(2026, 12, 31)
            )
        )
    sign_in(app_client, "viewer")

    # When a viewer opens December 2026 by its URL
    page = app_client.get("/calendar?month=2026-12")

    # Then Christmas and Boxing Day (observed on Monday 28th) are holidays, not business days, and 31st ends the period
    assert page.status_code == 200
    assert "December 2026" in page.text
    christmas = _cell(page.text, "2026-12-25")
    assert "Christmas Day" in christmas and 'data-business="no"' in christmas
    assert "Boxing Day (observed)" in _cell(page.text, "2026-12-28")
    assert 'data-business="yes"' in _cell(page.text, "2026-12-24")
    last = _cell(page.text, "2026-12-31")
    assert "month end" in last and "period P09 FY2026/27 ends" in last
    # The month either side is one link away, with or without htmx.
    assert 'href="/calendar?month=2026-11"' in page.text and 'href="/calendar?month=2027-01"' in page.text
    # The clocks' changes are flagged on their Sundays.
    assert "clocks go forward 1 h (BST begins)" in _cell(app_client.get("/calendar?month=2027-03").text, "2027-03-28")
    assert "clocks go back 1 h (GMT begins)" in _cell(app_client.get("/calendar?month=2027-10").text, "2027-10-31")


def test_htmx_asks_for_the_month_alone_and_a_bad_month_is_one_clear_line(app_client: TestClient) -> None:
    sign_in(app_client, "viewer")
    part = app_client.get("/calendar?month=2027-01", headers={"HX-Request": "true"})
    assert part.status_code == 200
    assert part.text.lstrip().startswith('<div id="month">') and "<html" not in part.text
    bad = app_client.get("/calendar?month=2027-13")
    assert bad.status_code == 422
    assert "month &#39;2027-13&#39; must be a month from" in bad.text


def test_runs_lie_on_their_occurrences_and_the_rest_are_expected_or_not_run(
    engine: Engine, settings: Settings, identities: object
) -> None:
    # Given the standard schedules, and the scheduler's run of SYS_HEALTH_CHECK on 2 December 2030, which failed
    day = date(2030, 12, 2)
    _, rows = forecast(engine, settings, day, day, actor=CONSOLE, now=NOW, job="SYS_HEALTH_CHECK")
    (occurrence,) = rows
    made = NOW - timedelta(days=10)
    scheduled, _ = run_now(engine, settings, "SYS_HEALTH_CHECK", {}, business_date=day, actor=CONSOLE, now=made)
    manual, _ = run_now(
        engine, settings, "SL_AGED_DEBTORS", {}, business_date=day, actor=user(engine, "sam", "operator"), now=made
    )
    with Session(engine) as session, session.begin():
        session.execute(
            update(BatchExecution)
            .where(BatchExecution.id == scheduled)
            .values(
                schedule_id=occurrence.schedule_id,
                nominal_time=occurrence.nominal,
                trigger=TriggerKind.SCHEDULE,
                state="failed",
            )
        )

    # When the month is read on 10 December 2030 at noon
    cal = month_calendar(engine, settings, _viewer(), "2030-12", now=NOW)
    days = {d.day: d for week in cal.weeks for d in week}

    # Then the occurrence shows its run's outcome, linked; the manual run is there, said to be manual
    second = {e.job: e for e in days[day].entries}
    assert (second["SYS_HEALTH_CHECK"].execution_id, second["SYS_HEALTH_CHECK"].status) == (scheduled, "failed")
    assert second["SYS_HEALTH_CHECK"].time == "05:00"
    assert (second["SL_AGED_DEBTORS"].execution_id, second["SL_AGED_DEBTORS"].note) == (manual, "manual by sam")
    assert days[day].counts["failed"] == 1
    # An occurrence whose time has passed with no run is "not run"; one still to come is "expected";
    # one before the first run this database records is "before records".
    assert {e.status for e in days[date(2030, 12, 9)].entries if e.job == "SYS_HEALTH_CHECK"} == {"not run"}
    assert {e.status for e in days[date(2030, 12, 11)].entries if e.job == "SYS_HEALTH_CHECK"} == {"expected"}
    before = month_calendar(engine, settings, _viewer(), "2026-12", now=NOW)
    statuses = {e.status for week in before.weeks for d in week for e in d.entries}
    assert statuses == {"before records"}
    assert (cal.previous, cal.next) == ("2030-11", "2031-01")


@pytest.mark.parametrize("month", ["2026-00", "December", "0999-01", "9999-01"])
def test_a_month_out_of_shape_or_range_is_refused(engine: Engine, settings: Settings, month: str) -> None:
    with pytest.raises(ValidationError, match="month"):
        month_calendar(engine, settings, _viewer(), month, now=NOW)


def test_the_calendar_needs_the_right_to_read_executions(
    engine: Engine, settings: Settings, app_client: TestClient
) -> None:
    nobody = Actor("guest", "guest", frozenset(), None, face="web")
    with pytest.raises(PermissionDenied):
        month_calendar(engine, settings, nobody, "2030-12", now=NOW)
    assert app_client.get("/calendar").status_code == 303  # not signed in: sent to sign in

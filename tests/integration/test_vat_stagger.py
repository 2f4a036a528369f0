"""VAT staggers: quarters ending in the company's months, for the returns, their run keys and schedules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.batch.definitions import get_schedule
from acas_batch.batch.registry import REGISTRY
from acas_batch.batch.rules import QuarterlyRule
from acas_batch.db import transaction
from acas_batch.errors import ValidationError
from acas_batch.jobs.catalogue import install_catalogue
from acas_batch.jobs.params import quarter_end_month, quarter_of, resolve_quarter
from acas_batch.ledger.company import company_vat
from acas_batch.models import Audit, BatchJob, BatchSchedule, ExecutionState, ScheduleKind, VatReturn
from acas_batch.services.ledger import change_company_vat
from tests.books import Books
from tests.integration.test_cli import acas
from tests.integration.test_sl_vat_return import quarter  # noqa: F401 (a fixture)
from tests.sl_support import at, open_books, settings_for
from tests.support.context import run_job
from tests.support.users import token_env, user

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ENDS = {1: {3, 6, 9, 12}, 2: {1, 4, 7, 10}, 3: {2, 5, 8, 11}}  # HMRC's stagger groups


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    yield from open_books(engine)


@pytest.mark.parametrize("stagger", [1, 2, 3])
def test_current_is_the_stagger_quarter_holding_the_day_and_names_are_its_end_month(stagger: int) -> None:
    for year in (2025, 2026):
        for month in range(1, 13):
            day = date(year, month, 15)
            y, m = quarter_end_month("CURRENT", day, stagger)
            months_ahead = (y * 12 + m) - (year * 12 + month)
            assert m in ENDS[stagger] and 0 <= months_ahead < 3, (stagger, day, y, m)
            py, pm = quarter_end_month("PREVIOUS", day, stagger)
            assert (y * 12 + m) - (py * 12 + pm) == 3
            # the quarter's name gives back the same quarter
            name_y, q = quarter_of("CURRENT", day, stagger)
            assert quarter_end_month(f"{name_y}-Q{q}", date(2000, 1, 1), stagger) == (y, m)
    assert quarter_end_month("2027-Q1", date(2000, 1, 1), 2) == (2027, 1)  # November 2026 to January 2027
    assert quarter_end_month("2026-Q3", date(2000, 1, 1), 3) == (2026, 8)  # June to August 2026


def test_a_stagger_moves_the_vat_schedules_and_is_audited(engine: Engine, books: Books) -> None:
    with transaction(engine, write=True) as s:
        install_catalogue(s, now=NOW)
    with transaction(engine) as s:
        assert company_vat(s).stagger == 1
    vat, moved = change_company_vat(engine, now=NOW, actor=user(engine, "fd"), stagger=2)
    assert (vat.stagger, vat.quarter_end_months) == (2, (1, 4, 7, 10))
    assert len(moved) == 2
    with transaction(engine) as s:
        rows = s.execute(
            select(BatchJob.name, BatchSchedule.id, BatchSchedule.rule)
            .join(BatchSchedule, BatchSchedule.job_id == BatchJob.id)
            .where(BatchSchedule.kind == ScheduleKind.QUARTERLY)
        ).all()
        assert {name for name, _, _ in rows} == {"SL_VAT_RETURN", "PL_VAT_RETURN"}
        for _, sid, rule in rows:
            assert sid in moved and get_schedule(s, sid).modified_by_user
            assert QuarterlyRule.from_json(rule).months == frozenset(ENDS[2])
        entry = s.scalars(select(Audit).where(Audit.action == "company.vat")).one()
        assert entry.actor == "fd" and entry.details is not None
        assert (entry.details["before"]["vat_stagger"], entry.details["after"]["vat_stagger"]) == (1, 2)
    # a bad stagger or scheme changes nothing
    for bad in ({"stagger": 4}, {"scheme": "flat-rate"}):
        with pytest.raises(ValidationError):
            change_company_vat(engine, now=NOW, actor=user(engine, "fd"), **bad)  # type: ignore[arg-type]
    with transaction(engine) as s:
        assert (company_vat(s).stagger, company_vat(s).scheme) == (2, "accrual")
        assert len(s.scalars(select(Audit).where(Audit.action == "company.vat")).all()) == 1


def _stagger(engine: Engine, stagger: int) -> None:
    change_company_vat(engine, now=NOW, actor=user(engine, "fd"), stagger=stagger)


def test_the_return_covers_the_stagger_quarter(
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    quarter: dict[str, int],  # noqa: F811 (the fixture)
) -> None:
    # The fixture's documents: 30/06 £70.00 standard; 10/07 £100.00 standard + £50.00 zero;
    # 05/08 £33.33 standard + £10.00 reduced + £20.00 exempt (+ £5.00 outside the scope);
    # 01/09 credit note £10.00 standard; 01/10 £40.00 standard.
    _stagger(engine, 2)  # quarters end January, April, July, October: Aug-Oct 2026 is 2026-Q4
    settings = settings_for(db_url, tmp_path)
    run = run_job(engine, settings, "SL_VAT_RETURN", now=at(date(2026, 10, 31)))
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with Session(engine) as s:
        r = s.scalars(select(VatReturn)).one()
        assert (r.start_date, r.end_date, r.period_key) == (date(2026, 8, 1), date(2026, 10, 31), "26C4")
        assert r.box1_pence == 667 + 50 - 200 + 800
        assert r.box6_pence == 9_300  # £93.33 in whole pounds
        key = REGISTRY.get("SL_VAT_RETURN").make_run_key(
            REGISTRY.get("SL_VAT_RETURN").validate_params({"quarter": "CURRENT"}), date(2026, 10, 31), s
        )
        assert key == "SL_VAT_RETURN:2026-Q4"
        assert resolve_quarter(s, "2026-Q4", date(2000, 1, 1)).start == date(2026, 8, 1)
    # On the calendar quarter end the stagger-2 quarter (November to January) is not over.
    dec = run_job(engine, settings, "SL_VAT_RETURN", now=at(date(2026, 12, 31)))
    assert dec.state is ExecutionState.FAILED
    assert "ends 31/01/2027" in str(dec.error)


def test_stagger_three_takes_june_to_august(
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    quarter: dict[str, int],  # noqa: F811 (the fixture)
) -> None:
    _stagger(engine, 3)
    run = run_job(
        engine,
        settings_for(db_url, tmp_path),
        "SL_VAT_RETURN",
        now=at(date(2026, 9, 2)),
        params={"quarter": "PREVIOUS"},
    )
    assert run.state is ExecutionState.SUCCEEDED, run.error
    with Session(engine) as s:
        r = s.scalars(select(VatReturn)).one()
        assert (r.start_date, r.end_date, r.period_key) == (date(2026, 6, 1), date(2026, 8, 31), "26C3")
        assert r.box1_pence == 1_400 + 2_000 + 667 + 50
        assert r.box6_pence == 28_300  # £70.00 + £150.00 + £63.33


def test_company_vat_from_the_command_line(db_url: str, engine: Engine, books: Books) -> None:
    assert acas("init", "--database-url", db_url).returncode == 0
    shown = acas("company", "show", "--database-url", db_url)
    assert shown.returncode == 0, shown.stderr
    assert "VAT stagger 1: quarters end Mar/Jun/Sep/Dec" in shown.stdout
    moved = acas(
        "company", "vat", "--stagger", "3", "--scheme", "cash", "--database-url", db_url, env=token_env(engine, "fd")
    )
    assert moved.returncode == 0, moved.stderr
    assert "VAT stagger 3: quarters end Feb/May/Aug/Nov" in moved.stdout
    assert "2 VAT return schedule(s) moved" in moved.stdout
    as_json = json.loads(acas("company", "show", "--json", "--database-url", db_url).stdout)
    assert (as_json["vat_stagger"], as_json["vat_scheme"], as_json["quarter_end_months"]) == (3, "cash", [2, 5, 8, 11])
    bad = acas("company", "vat", "--stagger", "5", "--database-url", db_url)
    assert bad.returncode != 0 and "VAT stagger 5 must be 1, 2 or 3" in bad.stderr
    forecast = acas(
        "schedules",
        "forecast",
        "--job",
        "SL_VAT_RETURN",
        "--from",
        "2026-11-01",
        "--to",
        "2027-03-31",
        "--json",
        "--database-url",
        db_url,
    )
    assert forecast.returncode == 0, forecast.stderr
    assert [r["business_date"] for r in json.loads(forecast.stdout)["occurrences"]] == ["2026-11-30", "2027-02-28"]

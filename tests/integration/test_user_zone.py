"""Each user's own display zone: chosen through the services (audited), from the command line,
refused in one clear line when unknown, and carried by the migration both ways (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from acas_batch.cli import main
from acas_batch.db import make_engine
from acas_batch.errors import PermissionDenied, ValidationError
from acas_batch.models import Audit, User
from acas_batch.models.migrate import downgrade, upgrade
from acas_batch.services.identity import actor_for_username, my_account, set_time_zone
from tests.support.users import token_env, user

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
#: The head before this change.
BEFORE = "0025_documents"


def _zone(engine: Engine, name: str) -> str | None:
    with Session(engine) as session:
        return session.scalar(select(User.time_zone).where(User.username == name))


def _audits(engine: Engine, action: str) -> list[Audit]:
    with Session(engine) as session:
        return list(session.scalars(select(Audit).where(Audit.action == action).order_by(Audit.id)))


def test_a_user_chooses_their_own_zone_and_the_change_is_audited(engine: Engine) -> None:
    # Given a viewer reading times in the company's zone
    viewer = user(engine, "vic", "viewer")
    assert viewer.zone is None and my_account(engine, viewer).time_zone is None

    # When they choose New York (typed in lower case)
    view = set_time_zone(engine, viewer, "vic", "america/new_york", now=NOW)

    # Then it is stored in its proper name, their next sign-in carries it, and the audit trail says before and after
    assert view.time_zone == "America/New_York" == _zone(engine, "vic")
    assert actor_for_username(engine, "vic", face="web").zone == "America/New_York"
    [row] = _audits(engine, "user.set_time_zone")
    assert (row.actor, row.target_id) == ("vic", "vic")
    assert row.details == {"before": {"time_zone": None}, "after": {"time_zone": "America/New_York"}}

    # And "default" goes back to the company's zone
    assert set_time_zone(engine, viewer, "vic", "default", now=NOW).time_zone is None
    assert _zone(engine, "vic") is None


def test_an_unknown_zone_is_one_clear_line_and_changes_nothing(engine: Engine) -> None:
    viewer = user(engine, "vic", "viewer")
    set_time_zone(engine, viewer, "vic", "Europe/Paris", now=NOW)
    for bad in ("Mars/Olympus", "Europe", "GMT+25", "Europe/London; DROP TABLE user_rec"):
        with pytest.raises(ValidationError) as raised:
            set_time_zone(engine, viewer, "vic", bad, now=NOW)
        assert "\n" not in str(raised.value) and "is not known" in str(raised.value)
        assert raised.value.fields == {"zone": "unknown time zone"}
    assert _zone(engine, "vic") == "Europe/Paris"
    assert len(_audits(engine, "user.set_time_zone")) == 1


def test_another_users_zone_needs_users_manage(engine: Engine) -> None:
    user(engine, "vic", "viewer")
    operator = user(engine, "otto", "operator")
    with pytest.raises(PermissionDenied):
        set_time_zone(engine, operator, "vic", "Asia/Tokyo", now=NOW)
    assert _zone(engine, "vic") is None
    admin = user(engine, "ann", "admin")
    assert set_time_zone(engine, admin, "vic", "Asia/Tokyo", now=NOW).time_zone == "Asia/Tokyo"
    assert [r.actor for r in _audits(engine, "user.set_time_zone")] == ["ann"]


def test_the_command_line_sets_a_zone_and_refuses_a_bad_one_in_one_line(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a viewer signed in on the command line with their own token
    monkeypatch.setenv("ACAS_TOKEN", token_env(engine, "vic", "viewer")["ACAS_TOKEN"])

    # When they set their own zone
    main(["users", "set-zone", "vic", "Australia/Sydney", "--database-url", db_url])

    # Then it is kept and said
    assert capsys.readouterr().out.strip() == "user vic now reads times in Australia/Sydney"
    assert _zone(engine, "vic") == "Australia/Sydney"

    # And a zone that does not exist is one line on stderr, a non-zero exit, and nothing changed
    with pytest.raises(SystemExit) as ended:
        main(["users", "set-zone", "vic", "Narnia/Cair_Paravel", "--database-url", db_url])
    assert ended.value.code != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'Narnia/Cair_Paravel' is not known" in err
    assert _zone(engine, "vic") == "Australia/Sydney"


def test_migration_adds_the_zone_column_and_its_downgrade_removes_it(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, BEFORE)
        with engine.begin() as conn:
            role = conn.execute(text("SELECT id FROM role_rec WHERE name = 'viewer'")).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO user_rec (username, display_name, role_id, active, created_at) "
                    "VALUES ('old', '', :r, :t, :c)"
                ),
                {"r": role, "t": True, "c": NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW},
            )
        upgrade(engine, "0028_user_zone")
        assert "time_zone" in {c["name"] for c in inspect(engine).get_columns("user_rec")}
        assert _zone(engine, "old") is None  # existing users keep the company's zone
        downgrade(engine, BEFORE)
        assert "time_zone" not in {c["name"] for c in inspect(engine).get_columns("user_rec")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM user_rec WHERE username = 'old'")).scalar() == 1
    finally:
        engine.dispose()

"""Migration 0018_security both ways on both databases: existing audit rows are chained, standard
roles rewritten to the policy, and the downgrade removes what it added."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from acas_batch.models import Role
from acas_batch.models.audit_chain import verify_chain
from acas_batch.models.migrate import current_revision, downgrade, head_revision, upgrade
from acas_batch.security.policy import STANDARD_ROLES

BEFORE = "0023_perf"


def test_upgrade_chains_old_audit_rows_and_rewrites_standard_roles_and_downgrade_undoes_it(old_engine: Engine) -> None:
    when = datetime(2026, 11, 30, 12, tzinfo=UTC)
    with old_engine.begin() as conn:
        for n in range(3):
            conn.execute(
                text(
                    "INSERT INTO audit_rec (occurred_at, actor, action, target_type, target_id) "
                    "VALUES (:t, 'ann', 'execution.hold', 'execution', :n)"
                ),
                {"t": when.replace(tzinfo=None) if old_engine.dialect.name == "sqlite" else when, "n": str(n)},
            )
        conn.execute(
            text(
                "INSERT INTO role_rec (name, description, permissions, is_standard) "
                "VALUES ('viewer', 'old', '[\"jobs:read\"]', true), ('clerk', 'mine', '[\"jobs:read\"]', false)"
            )
        )
    upgrade(old_engine)
    with Session(old_engine) as s:
        report = verify_chain(s)
        roles = {r.name: r for r in s.scalars(select(Role))}
    assert report.ok and report.rows == 3
    assert set(roles) == set(STANDARD_ROLES) | {"clerk"}
    assert set(roles["viewer"].permissions) == {p.value for p in STANDARD_ROLES["viewer"].permissions}
    assert roles["clerk"].permissions == ["jobs:read"] and roles["clerk"].modules is None
    assert roles["accountant"].modules == ["GL", "PL", "SL", "ST"]
    downgrade(old_engine, BEFORE)
    assert current_revision(old_engine) == BEFORE
    tables = set(inspect(old_engine).get_table_names())
    assert "approval_rec" not in tables and "login_throttle_rec" not in tables
    assert "row_hash" not in {c["name"] for c in inspect(old_engine).get_columns("audit_rec")}
    upgrade(old_engine)
    assert current_revision(old_engine) == head_revision()

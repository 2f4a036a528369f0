"""The policy: its table in the docs, scopes, and refusals naming who, what and the permission."""

from __future__ import annotations

from pathlib import Path

import pytest

from acas_batch.errors import PermissionDenied
from acas_batch.security.actor import Actor
from acas_batch.security.policy import STANDARD_ROLES, Permission, check, may, role_table

ROOT = Path(__file__).resolve().parents[2]


def _actor(role: str) -> Actor:
    spec = STANDARD_ROLES[role]
    return Actor(role, role, frozenset(p.value for p in spec.permissions), spec.modules, "python")


def test_the_docs_hold_the_role_table_the_policy_generates() -> None:
    docs = (ROOT / "docs" / "users-and-permissions.md").read_text()
    start = docs.index("<!-- role table")
    body = docs[docs.index("\n", start) + 1 : docs.index("<!-- end of role table -->")].strip()
    assert body == role_table()


def test_module_scopes_limit_run_and_control_but_not_reads() -> None:
    clerk = Actor("sally", "sales", frozenset({"jobs:run", "jobs:read"}), frozenset({"SL"}), "cli")
    assert may(clerk, Permission.JOBS_RUN, "SL") and not may(clerk, Permission.JOBS_RUN, "GL")
    assert may(clerk, Permission.JOBS_READ, "GL")
    assert may(_actor("accountant"), Permission.JOBS_RUN, "GL")
    assert not may(_actor("accountant"), Permission.JOBS_RUN, "SYS")
    assert may(_actor("operator"), Permission.JOBS_RUN, "SYS")


def test_a_refusal_names_who_what_and_the_missing_permission() -> None:
    with pytest.raises(PermissionDenied) as refused:
        check(_actor("viewer"), Permission.EXECUTIONS_CONTROL, "GL", what="execution.cancel 7")
    assert (refused.value.who, refused.value.permission) == ("viewer", "executions:control")
    assert "viewer (role viewer) may not execution.cancel 7: missing permission executions:control" in str(
        refused.value
    )


def test_the_console_and_the_system_hold_every_permission() -> None:
    for actor in (Actor.console(), Actor.system()):
        assert all(may(actor, p, "GL") for p in Permission)
    assert Actor.console().username.startswith("console:")

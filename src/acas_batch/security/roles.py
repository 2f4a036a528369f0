"""The standard roles and their permissions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.models import Role

#: Every permission the system checks.
PERMISSIONS = (
    "jobs:read",
    "jobs:write",
    "jobs:run",
    "schedules:write",
    "executions:read",
    "executions:control",
    "executions:force",
    "logs:read",
    "logs:export",
    "alerts:read",
    "alerts:manage",
    "users:manage",
    "audit:read",
)

STANDARD_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("Everything, including users and forced reruns.", PERMISSIONS),
    "operator": (
        "Runs and controls jobs; manages alerts.",
        (
            "jobs:read",
            "jobs:run",
            "executions:read",
            "executions:control",
            "logs:read",
            "logs:export",
            "alerts:read",
            "alerts:manage",
        ),
    ),
    "accountant": (
        "Runs ledger jobs and reads their results.",
        ("jobs:read", "jobs:run", "executions:read", "logs:read", "logs:export", "alerts:read"),
    ),
    "viewer": (
        "Reads status, logs and alerts.",
        ("jobs:read", "executions:read", "logs:read", "alerts:read"),
    ),
}


def install_standard_roles(session: Session) -> int:
    """Create the standard roles that are missing; never alter existing ones. Returns how many were made."""
    existing = set(session.scalars(select(Role.name)))
    created = 0
    for name, (description, perms) in STANDARD_ROLES.items():
        if name in existing:
            continue
        session.add(Role(name=name, description=description, permissions=list(perms), is_standard=True))
        created += 1
    session.flush()
    return created

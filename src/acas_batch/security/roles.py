"""Installing the standard roles of :mod:`acas_batch.security.policy` into ``role_rec``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from acas_batch.models.security import Role
from acas_batch.security.policy import STANDARD_ROLES

__all__ = ["STANDARD_ROLES", "install_standard_roles"]


def install_standard_roles(session: Session) -> int:
    """Create the standard roles that are missing; never alter existing ones. Returns how many were made."""
    existing = set(session.scalars(select(Role.name)))
    created = 0
    for name, role in STANDARD_ROLES.items():
        if name in existing:
            continue
        session.add(
            Role(
                name=name,
                description=role.description,
                permissions=sorted(p.value for p in role.permissions),
                modules=None if role.modules is None else sorted(role.modules),
                is_standard=True,
            )
        )
        created += 1
    session.flush()
    return created

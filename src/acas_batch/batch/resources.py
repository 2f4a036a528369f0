"""Named resources a job holds while it runs: exclusive or shared locks, and counted slots.

Declared on ``batch_job_rec.resources`` as a JSON list::

    [{"name": "ledger:GL", "mode": "exclusive"}, {"name": "database", "mode": "shared"},
     {"name": "cpu", "slots": 1}]

The GL period close holds ``ledger:GL`` exclusively, so no other GL job runs beside it;
a backup holds ``database`` exclusively, so it waits for every job that shares it. The
check is made inside the claim transaction (see ``queue.claim``), so two workers cannot
both take the last slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from acas_batch.errors import ValidationError


class LockMode(StrEnum):
    """How a job holds a named resource."""

    EXCLUSIVE = "exclusive"  # nobody else holds it in any mode
    SHARED = "shared"  # others may share it; an exclusive holder excludes us
    SLOTS = "slots"  # a counted resource: the sum of held slots stays within its capacity


@dataclass(frozen=True)
class ResourceClaim:
    """One resource a job needs while it runs."""

    name: str
    mode: LockMode
    slots: int = 0


def parse_resources(raw: Sequence[Mapping[str, Any]] | None) -> tuple[ResourceClaim, ...]:
    """Read a job's resource declaration.

    Raises:
        ValidationError: an entry has no name, an unknown mode, or a non-positive slot count.
    """
    claims: list[ResourceClaim] = []
    for entry in raw or ():
        name = str(entry.get("name", "")).strip()
        if not name:
            raise ValidationError(f"resource {dict(entry)!r} has no name")
        if "slots" in entry:
            slots = entry["slots"]
            if not isinstance(slots, int) or slots < 1:
                raise ValidationError(f"resource {name!r}: slots must be a positive integer, not {slots!r}")
            claims.append(ResourceClaim(name, LockMode.SLOTS, slots))
            continue
        mode = str(entry.get("mode", "exclusive"))
        if mode not in (LockMode.EXCLUSIVE, LockMode.SHARED):
            raise ValidationError(f"resource {name!r}: mode must be exclusive or shared, not {mode!r}")
        claims.append(ResourceClaim(name, LockMode(mode)))
    return tuple(claims)


def conflicts(
    wanted: Iterable[ResourceClaim], held: Iterable[ResourceClaim], capacity: Mapping[str, int]
) -> str | None:
    """Why ``wanted`` cannot be granted beside ``held`` (the running executions' claims), or None."""
    held = list(held)
    for want in wanted:
        same = [h for h in held if h.name == want.name]
        if want.mode is LockMode.SLOTS:
            used = sum(h.slots for h in same)
            cap = capacity.get(want.name, 1)
            if used + want.slots > cap:
                return f"resource {want.name!r}: {used} of {cap} slots in use, {want.slots} wanted"
        elif want.mode is LockMode.EXCLUSIVE and same:
            return f"resource {want.name!r} is held by a running execution"
        elif want.mode is LockMode.SHARED and any(h.mode is LockMode.EXCLUSIVE for h in same):
            return f"resource {want.name!r} is held exclusively"
    return None

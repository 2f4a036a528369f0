"""The permission policy: permissions, the standard roles as data, and the one question
"may this actor do this (to a job of that module)".

Roles live in ``role_rec`` (permissions and module scope as data); :data:`STANDARD_ROLES`
is what ``init`` and the migration install. The services layer asks :func:`check` before
every action; faces may call :func:`may` only to hide what the user cannot do.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from acas_batch.errors import PermissionDenied
from acas_batch.security.actor import Actor


class Permission(StrEnum):
    """Everything the policy can grant."""

    JOBS_READ = "jobs:read"  # list and show jobs, schedules, dependencies, forecasts
    JOBS_WRITE = "jobs:write"  # create and edit jobs and their dependencies; install the catalogue
    JOBS_RUN = "jobs:run"  # run a job now (scoped to modules)
    SCHEDULES_WRITE = "schedules:write"  # create, edit, delete schedules (scoped to modules)
    EXECUTIONS_READ = "executions:read"  # list and show executions, results, the dashboard
    EXECUTIONS_CONTROL = "executions:control"  # hold, release, cancel, rerun (scoped to modules)
    EXECUTIONS_FORCE = "executions:force"  # force a rerun of succeeded work, mark succeeded (scoped)
    LOGS_READ = "logs:read"  # view, search and analyse execution logs
    LOGS_EXPORT = "logs:export"  # export logs to a file (audited as a read of sensitive data)
    LOGS_MANAGE = "logs:manage"  # delete logs past their retention
    ALERTS_READ = "alerts:read"  # see alerts, health and performance figures
    ALERTS_MANAGE = "alerts:manage"  # acknowledge, resolve alerts; run a monitoring pass
    SCHEDULER_CONTROL = "scheduler:control"  # start and stop the scheduler and workers, simulate
    PERIODS_CLOSE = "periods:close"  # run the period and year-end closes (scoped to modules)
    LEDGER_POST = "ledger:post"  # settle a VAT return and other postings made by hand
    SETTINGS_WRITE = "settings:write"  # company VAT settings, schema upgrades, demo data
    BACKUP = "system:backup"  # take a backup
    RESTORE = "system:restore"  # restore a backup over the database
    USERS_MANAGE = "users:manage"  # users, roles, API tokens of others
    AUDIT_READ = "audit:read"  # read, export and verify the audit trail
    APPROVE = "approvals:approve"  # approve or reject another user's four-eyes request


ALL_PERMISSIONS: frozenset[str] = frozenset(p.value for p in Permission)

#: Permissions a role's module scope restricts; the others apply to every module.
SCOPED: frozenset[Permission] = frozenset(
    {
        Permission.JOBS_RUN,
        Permission.SCHEDULES_WRITE,
        Permission.EXECUTIONS_CONTROL,
        Permission.EXECUTIONS_FORCE,
        Permission.PERIODS_CLOSE,
    }
)

#: Job modules a role can be scoped to.
MODULES = ("GL", "SL", "PL", "ST", "SYS")

#: The jobs that close a period: running one needs ``periods:close`` besides ``jobs:run``.
CLOSE_JOBS = frozenset({"GL_PERIOD_CLOSE", "GL_YEAR_END_CLOSE"})


@dataclass(frozen=True)
class RoleDef:
    """A standard role: what it is for, what it may do, and which modules it may run."""

    name: str
    description: str
    permissions: frozenset[Permission]
    modules: frozenset[str] | None = None  # None: every module


_READ = frozenset({Permission.JOBS_READ, Permission.EXECUTIONS_READ, Permission.LOGS_READ, Permission.ALERTS_READ})

#: What the local console may do when this OS user can read the database but not write it (an
#: auditor given read access to the SQLite file): read what the file holds anyway, change nothing.
READER_CONSOLE: frozenset[Permission] = _READ | {Permission.AUDIT_READ}

STANDARD_ROLES: dict[str, RoleDef] = {
    r.name: r
    for r in (
        RoleDef("viewer", "Reads status, results, logs and alerts.", _READ),
        RoleDef(
            "accountant",
            "Runs the ledger jobs and reads their outputs; closes periods.",
            _READ | {Permission.JOBS_RUN, Permission.LOGS_EXPORT, Permission.PERIODS_CLOSE, Permission.LEDGER_POST},
            frozenset({"GL", "SL", "PL", "ST"}),
        ),
        RoleDef(
            "operator",
            "Runs and controls any job; manages alerts, the scheduler and backups.",
            _READ
            | {
                Permission.JOBS_RUN,
                Permission.EXECUTIONS_CONTROL,
                Permission.EXECUTIONS_FORCE,
                Permission.LOGS_EXPORT,
                Permission.ALERTS_MANAGE,
                Permission.SCHEDULER_CONTROL,
                Permission.PERIODS_CLOSE,
                Permission.BACKUP,
            },
        ),
        RoleDef(
            "approver",
            "Approves or rejects four-eyes requests; reads the audit trail.",
            _READ | {Permission.APPROVE, Permission.AUDIT_READ},
        ),
        RoleDef("admin", "Everything: users, roles, restore, settings.", frozenset(Permission)),
    )
}


def may(actor: Actor, permission: Permission | str, module: str | None = None) -> bool:
    """Whether ``actor`` holds ``permission`` (for a job of ``module`` when it is scoped)."""
    perm = str(permission)
    if perm not in actor.permissions:
        return False
    if module is None or actor.modules is None:
        return True
    if perm not in {p.value for p in SCOPED}:
        return True
    return str(module).upper() in actor.modules


def check(actor: Actor, permission: Permission | str, module: str | None = None, *, what: str | None = None) -> None:
    """Raise :class:`PermissionDenied` (naming who, what and the missing permission) unless allowed."""
    if may(actor, permission, module):
        return
    doing = what or str(permission)
    scope = f" on {module} jobs" if module is not None and str(permission) in actor.permissions else ""
    raise PermissionDenied(
        f"{actor.username} (role {actor.role}) may not {doing}: missing permission {permission}{scope}",
        who=actor.username,
        what=doing,
        permission=str(permission),
    )


def role_table() -> str:
    """The standard roles as a Markdown table (docs/users-and-permissions.md holds it; a test keeps them equal)."""
    roles = list(STANDARD_ROLES.values())
    lines = [
        "| permission | " + " | ".join(r.name for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for perm in Permission:
        cells = []
        for r in roles:
            if perm not in r.permissions:
                cells.append("")
            elif perm in SCOPED and r.modules is not None:
                cells.append("/".join(sorted(r.modules)))
            else:
                cells.append("yes")
        lines.append(f"| `{perm.value}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)

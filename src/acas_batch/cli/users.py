"""``acas-batch users``, ``tokens`` and ``audit``: who may do what, their credentials, and the trail."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, context_from, print_json, print_table
from acas_batch.clock import utcnow
from acas_batch.errors import ValidationError
from acas_batch.services import approvals, identity
from acas_batch.services import audit as audit_service
from acas_batch.services.inputs import parse_instant

users_app = typer.Typer(help="Users: add, list, disable, set a role or a password.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail: list, export, verify the hash chain.", no_args_is_help=True)


def _say(json_: bool, view: Any, line: str) -> None:
    """The changed row as JSON, or one line saying what changed."""
    if json_:
        print_json(view.as_dict())
    else:
        typer.echo(line)


def _new_password(given: str | None) -> str:
    if given:
        return given
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise ValidationError("the two passwords differ")
    return first


PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--password-env",
        help="Name of an environment variable holding the password (default: asked without echo).",
        show_default=False,
    ),
]


def _password_from(env_name: str | None) -> str | None:
    import os

    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if not value:
        raise ValidationError(f"--password-env: {env_name} is not set")
    return value


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option("--role", help="viewer, accountant, operator, approver or admin.")],
    password_env: PasswordOpt = None,
    display_name: Annotated[str, typer.Option("--name", help="Full name.")] = "",
    email: Annotated[str | None, typer.Option("--email", help="E-mail address.")] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add a user with a role (needs users:manage)."""
    _, engine, actor = context_from(config, database_url)
    password = _new_password(_password_from(password_env))
    view = identity.add_user(
        engine, actor, username, role=role, password=password, now=utcnow(), display_name=display_name, email=email
    )
    _say(json_, view, f"user {view.username} added with role {view.role}")


@users_app.command("list")
def users_list(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Every user with their role and last sign-in."""
    _, engine, actor = context_from(config, database_url)
    views = identity.list_users(engine, actor, now=utcnow())
    if json_:
        print_json([v.as_dict() for v in views])
        return
    print_table(
        f"{len(views)} users",
        ["user", "role", "active", "name", "last sign-in"],
        [(v.username, v.role, "yes" if v.active else "no", v.display_name, v.last_login_at) for v in views],
    )


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument(help="Login name.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit trail).")] = None,
    enable: Annotated[bool, typer.Option("--enable", help="Enable the user again instead.")] = False,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Disable a user (their sessions and tokens end at once), or --enable them again."""
    _, engine, actor = context_from(config, database_url)
    view = identity.set_user_active(engine, actor, username, enable, now=utcnow(), reason=reason)
    _say(json_, view, f"user {view.username} {'enabled' if view.active else 'disabled'}")


@users_app.command("set-role")
def users_set_role(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Argument(help="viewer, accountant, operator, approver or admin.")],
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Give a user another role."""
    _, engine, actor = context_from(config, database_url)
    view = identity.set_user_role(engine, actor, username, role, now=utcnow())
    _say(json_, view, f"user {view.username} now has role {view.role}")


@users_app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument(help="Login name (one's own, or anyone's with users:manage).")],
    password_env: PasswordOpt = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Set a user's password; their browser sessions end."""
    _, engine, actor = context_from(config, database_url)
    identity.set_password(engine, actor, username, _new_password(_password_from(password_env)), now=utcnow())
    typer.echo(f"password of {username} changed")


@users_app.command("set-zone")
def users_set_zone(
    username: Annotated[str, typer.Argument(help="Login name (one's own, or anyone's with users:manage).")],
    zone: Annotated[
        str, typer.Argument(help="IANA time zone (Europe/London, America/New_York); 'default' for the company's.")
    ],
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Choose the time zone a user reads times in on the dashboard (stored times stay UTC)."""
    settings, engine, actor = context_from(config, database_url)
    view = identity.set_time_zone(engine, actor, username, zone, now=utcnow())
    shown = view.time_zone or f"{settings.timezone} (the company's)"
    _say(json_, view, f"user {view.username} now reads times in {shown}")


@users_app.command("roles")
def users_roles(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """The roles, their permissions and the job modules they are limited to."""
    _, engine, _actor = context_from(config, database_url)
    roles = identity.list_roles(engine)
    if json_:
        print_json(roles)
        return
    print_table(
        "roles",
        ["role", "modules", "permissions"],
        [(r["name"], ",".join(r["modules"] or ["all"]), " ".join(r["permissions"])) for r in roles],
    )


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'nightly export'.")],
    role: Annotated[str | None, typer.Option("--role", help="Narrow the token to this role's permissions.")] = None,
    days: Annotated[int, typer.Option("--days", help="Days until it expires.")] = identity.TOKEN_DAYS,
    for_user: Annotated[str | None, typer.Option("--for", help="Another user's token (needs users:manage).")] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create an API token; it is printed once and never again (only its hash is kept)."""
    _, engine, actor = context_from(config, database_url)
    token, view = identity.create_token(engine, actor, name=name, role=role, username=for_user, days=days, now=utcnow())
    if json_:
        print_json(view.as_dict() | {"token": token})
    else:
        typer.echo(token)
        typer.echo(
            f"token {view.id} for {view.username} (role {view.role}), expires {view.expires_at:%Y-%m-%d}", err=True
        )


@tokens_app.command("list")
def tokens_list(
    for_user: Annotated[str | None, typer.Option("--for", help="Another user's tokens (needs users:manage).")] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """API tokens (their first characters only), with expiry and last use."""
    _, engine, actor = context_from(config, database_url)
    views = identity.list_tokens(engine, actor, now=utcnow(), username=for_user)
    if json_:
        print_json([v.as_dict() for v in views])
        return
    print_table(
        f"{len(views)} tokens",
        ["id", "user", "name", "prefix", "role", "expires", "last used", "revoked"],
        [(v.id, v.username, v.name, v.prefix, v.role, v.expires_at, v.last_used_at, v.revoked_at) for v in views],
    )


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (from tokens list).")],
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Revoke an API token at once."""
    _, engine, actor = context_from(config, database_url)
    view = identity.revoke_token(engine, actor, token_id, now=utcnow())
    typer.echo(f"token {view.id} revoked")


ActorFilter = Annotated[str | None, typer.Option("--actor", help="Only rows of this user.")]
ActionFilter = Annotated[str | None, typer.Option("--action", help="Only actions starting so (e.g. execution.).")]
TargetFilter = Annotated[str | None, typer.Option("--target", help="TYPE or TYPE:ID, e.g. execution:42.")]
SinceFilter = Annotated[str | None, typer.Option("--since", help="From this date and time (ISO).")]
UntilFilter = Annotated[str | None, typer.Option("--until", help="Before this date and time (ISO).")]


def _audit_filters(
    zone: str, actor: str | None, action: str | None, target: str | None, since: str | None, until: str | None
) -> dict[str, Any]:
    """The audit filters of ``audit list`` and ``audit export``, times read in the company's zone."""
    return {
        "actor": actor,
        "action": action,
        "target": target,
        "since": parse_instant("--since", since, zone) if since else None,
        "until": parse_instant("--until", until, zone) if until else None,
    }


@audit_app.command("list")
def audit_list(
    actor_: ActorFilter = None,
    action: ActionFilter = None,
    target: TargetFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many rows.")] = 50,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Audit rows, newest first (needs audit:read)."""
    settings, engine, actor = context_from(config, database_url)
    rows = audit_service.audit_rows(
        engine,
        actor,
        now=utcnow(),
        **_audit_filters(settings.timezone, actor_, action, target, since, until),
        limit=limit,
    )
    if json_:
        print_json(rows)
        return
    print_table(
        f"{len(rows)} audit rows",
        ["id", "when", "user", "os user@host", "face", "action", "target", "reason"],
        [
            (
                r["id"],
                r["occurred_at"],
                r["actor"],
                f"{r['os_user'] or ''}@{r['host'] or ''}" if r["os_user"] else r["client_addr"],
                r["face"],
                r["action"],
                f"{r['target_type']}:{r['target_id'] or ''}",
                r["reason"],
            )
            for r in rows
        ],
    )


@audit_app.command("export")
def audit_export(
    dest: Annotated[Path, typer.Argument(help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    actor_: ActorFilter = None,
    action: ActionFilter = None,
    target: TargetFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Export the matching rows, oldest first, to a file readable by its owner only."""
    settings, engine, actor = context_from(config, database_url)
    path, count = audit_service.export_audit(
        engine,
        actor,
        dest,
        fmt=fmt,
        now=utcnow(),
        **_audit_filters(settings.timezone, actor_, action, target, since, until),
    )
    if json_:
        print_json({"path": str(path), "rows": count})
    else:
        typer.echo(f"{count} rows written to {path}")


@audit_app.command("verify")
def audit_verify(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Prove the hash chain; exit 1 naming the first broken row."""
    _, engine, actor = context_from(config, database_url)
    report = audit_service.verify_audit(engine, actor, now=utcnow())
    if json_:
        print_json(report.as_dict())
    elif report.ok:
        typer.echo(f"audit trail intact: {report.rows} rows")
    else:
        typer.echo(f"audit trail BROKEN at row {report.broken_id}: {report.problem}", err=True)
    if not report.ok:
        raise typer.Exit(1)


approvals_app = typer.Typer(help="Four-eyes requests: list, approve, reject.", no_args_is_help=True)


@approvals_app.command("list")
def approvals_list(
    state: Annotated[str | None, typer.Option("--state", help="pending, done, rejected or failed.")] = "pending",
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Requests waiting for (or given) a second user's decision."""
    _, engine, actor = context_from(config, database_url)
    views = approvals.list_approvals(engine, actor, now=utcnow(), state=state or None)
    if json_:
        print_json([v.as_dict() for v in views])
        return
    print_table(
        f"{len(views)} requests",
        ["id", "action", "target", "by", "when", "reason", "state", "decided by"],
        [(v.id, v.action, v.target, v.requested_by, v.requested_at, v.reason, v.state, v.decided_by) for v in views],
    )


@approvals_app.command("approve")
def approvals_approve(
    approval_id: Annotated[int, typer.Argument(help="The request's id.")],
    note: Annotated[str | None, typer.Option("--note", help="A note kept with the decision.")] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Approve another user's request; it is carried out at once, once."""
    settings, engine, actor = context_from(config, database_url)
    view = approvals.approve(engine, settings, actor, approval_id, now=utcnow(), note=note)
    _say(json_, view, f"request {view.id} ({view.action} {view.target}) {view.state}: {view.result or ''}")


@approvals_app.command("reject")
def approvals_reject(
    approval_id: Annotated[int, typer.Argument(help="The request's id.")],
    note: Annotated[str | None, typer.Option("--note", help="Why.")] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Reject a request (or withdraw one's own)."""
    _, engine, actor = context_from(config, database_url)
    view = approvals.reject(engine, actor, approval_id, now=utcnow(), note=note)
    _say(json_, view, f"request {view.id} rejected")

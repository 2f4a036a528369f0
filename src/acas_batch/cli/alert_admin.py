"""``acas-batch alerts silence`` and ``acas-batch alerts routes``: quiet with a reason and an end;
who hears of which alerts."""

from __future__ import annotations

from typing import Annotated

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, context_from, print_json, print_table
from acas_batch.services.alert_routes import (
    route_delete,
    route_set,
    routes_list,
    silence_create,
    silence_end,
    silence_expire,
    silences_list,
)
from acas_batch.services.alerting import clock_now

silence_app = typer.Typer(
    help="Silences: matching alerts are recorded, not sent, until they end.", no_args_is_help=True
)
routes_app = typer.Typer(help="Alert routes: who hears of which alerts, by severity, module and job.",
                         no_args_is_help=True)  # fmt: skip


@silence_app.command("create")
def silence_create_cmd(
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail and on the alerts).")],
    rule: Annotated[str | None, typer.Option("--rule", help="Only alerts of this rule (failure, late ...).")] = None,
    module: Annotated[
        str | None, typer.Option("--module", help="Only jobs of this module: GL, SL, PL, ST, SYS.")
    ] = None,
    job: Annotated[str | None, typer.Option("--job", help="Only this job's alerts.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="When it ends: ISO 8601 with a zone.")] = None,
    for_: Annotated[str | None, typer.Option("--for", help="How long: 90m, 4h, 2d (at most 31 days).")] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Silence matching alerts until a time (audited)."""
    settings, engine, actor = context_from(config, database_url)
    now = clock_now(settings)
    made = silence_create(engine, actor=actor, reason=reason, ends_at=silence_end(until, for_, now=now), rule=rule,
                          module=module, job=job, now=now)  # fmt: skip
    if json_:
        print_json(made)
    else:
        what = ", ".join(f"{k} {made[k]}" for k in ("rule", "module", "job") if made[k])
        typer.echo(f"silence {made['id']}: {what} until {made['expires_at']} ({made['reason']})")


@silence_app.command("list")
def silence_list_cmd(
    all_: Annotated[bool, typer.Option("--all", help="Ended and expired silences too.")] = False,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Active silences (with --all, past ones too)."""
    settings, engine, actor = context_from(config, database_url)
    rows = silences_list(engine, actor=actor, include_ended=all_, now=clock_now(settings))
    if json_:
        print_json(rows)
        return
    print_table(
        f"{len(rows)} silences",
        ["id", "state", "rule", "module", "job", "until", "by", "reason"],
        [(r["id"], r["state"], r["rule"], r["module"], r["job"], r["expires_at"], r["created_by"], r["reason"])
         for r in rows],
    )  # fmt: skip


@silence_app.command("expire")
def silence_expire_cmd(
    silence_id: Annotated[int, typer.Argument(help="The silence's id (see `alerts silence list`).")],
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """End a silence now: what it held back and is still open is told at the next pass (audited)."""
    settings, engine, actor = context_from(config, database_url)
    ended = silence_expire(engine, silence_id, actor=actor, now=clock_now(settings))
    if json_:
        print_json(ended)
    else:
        typer.echo(f"silence {ended['id']} ended at {ended['ended_at']}")


@routes_app.command("list")
def routes_list_cmd(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Every alert route: what it matches and who it tells."""
    settings, engine, actor = context_from(config, database_url)
    rows = routes_list(engine, actor=actor, now=clock_now(settings))
    if json_:
        print_json(rows)
        return
    print_table(
        f"{len(rows)} routes",
        ["name", "severity", "module", "job", "e-mail", "webhook", "escalation", "flags"],
        [(r["name"], f">= {r['min_severity']}", r["module"] or "any", r["job"] or "any", ", ".join(r["email_to"]),
          "yes" if r["webhook_url"] else "", len(r["escalation"]) or "",
          " ".join(f for f, on in (("default", r["is_default"]), ("digest", r["digest"]),
                                   ("office-hours", r["office_hours_only"]), ("disabled", not r["enabled"])) if on))
         for r in rows],
    )  # fmt: skip


@routes_app.command("set")
def routes_set_cmd(
    name: Annotated[str, typer.Argument(help="The route's name.")],
    min_severity: Annotated[str, typer.Option("--min-severity", help="info, warning or critical.")] = "warning",
    module: Annotated[str | None, typer.Option("--module", help="Only jobs of this module.")] = None,
    job: Annotated[str | None, typer.Option("--job", help="Only this job.")] = None,
    email: Annotated[list[str] | None, typer.Option("--email", help="A recipient (repeat for more).")] = None,
    webhook: Annotated[str | None, typer.Option("--webhook", help="A Slack/Teams incoming webhook URL.")] = None,
    escalation: Annotated[
        str | None,
        typer.Option("--escalation", help='Steps as JSON: [{"after_minutes": 30, "email_to": ["fd@example.com"]}].'),
    ] = None,
    office_hours_only: Annotated[
        bool, typer.Option("--office-hours-only", help="Escalate on business days, in office hours.")
    ] = False,
    digest: Annotated[bool, typer.Option("--digest", help="Non-critical alerts wait for the daily digest.")] = False,
    default: Annotated[bool, typer.Option("--default", help="The route for alerts no other route matches.")] = False,
    disabled: Annotated[bool, typer.Option("--disabled", help="Keep it, but send nothing through it.")] = False,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create or replace a route (audited)."""
    settings, engine, actor = context_from(config, database_url)
    row = route_set(engine, actor=actor, name=name, min_severity=min_severity, module=module, job=job,
                    email_to=email or [], webhook_url=webhook, escalation=escalation,
                    office_hours_only=office_hours_only, digest=digest, is_default=default, enabled=not disabled,
                    now=clock_now(settings))  # fmt: skip
    if json_:
        print_json(row)
    else:
        typer.echo(f"route {row['name']}: {row['min_severity']} and worse to {len(row['email_to'])} address(es)"
                   + (" and a webhook" if row["webhook_url"] else ""))  # fmt: skip


@routes_app.command("delete")
def routes_delete_cmd(
    name: Annotated[str, typer.Argument(help="The route's name.")],
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Delete a route (audited)."""
    settings, engine, actor = context_from(config, database_url)
    gone = route_delete(engine, actor=actor, name=name, now=clock_now(settings))
    if json_:
        print_json(gone)
    else:
        typer.echo(f"route {gone['name']} deleted")

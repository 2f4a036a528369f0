"""``acas-batch alerts`` and ``acas-batch monitor``: what went wrong, and checking for it."""

from __future__ import annotations

from typing import Annotated

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, context_from, print_json, print_table
from acas_batch.clock import utcnow
from acas_batch.services.monitoring_alerts import acknowledge, active_alerts, monitor_now, resolve

app = typer.Typer(help="Alerts: list the open ones, acknowledge, resolve.")
monitor_app = typer.Typer(help="Monitoring: run the checks that raise alerts.")


@app.command("list")
def list_cmd(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Open and acknowledged alerts, newest first."""
    _, engine, actor = context_from(config, database_url)
    keys = ("id", "severity", "state", "rule", "title", "message", "occurrences", "last_raised_at")
    rows = [{k: a[k] for k in keys} for a in active_alerts(engine, actor, now=utcnow())]
    if json_:
        print_json(rows)
        return
    print_table(
        f"{len(rows)} open alerts",
        ["id", "severity", "state", "title", "seen", "last"],
        [(r["id"], r["severity"], r["state"], r["title"], r["occurrences"], r["last_raised_at"]) for r in rows],
    )


@app.command("ack")
def ack_cmd(
    alert_id: Annotated[int, typer.Argument(help="The alert's id.")],
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Acknowledge an open alert: someone is on it."""
    _, engine, actor = context_from(config, database_url)
    state = acknowledge(engine, alert_id, actor=actor, now=utcnow())["state"]
    if json_:
        print_json({"id": alert_id, "state": state})
    else:
        typer.echo(f"alert {alert_id} {state} by {actor.username}")


@app.command("resolve")
def resolve_cmd(
    alert_id: Annotated[int, typer.Argument(help="The alert's id.")],
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Mark an alert resolved: its cause is gone."""
    _, engine, actor = context_from(config, database_url)
    state = resolve(engine, alert_id, actor=actor, now=utcnow())["state"]
    if json_:
        print_json({"id": alert_id, "state": state})
    else:
        typer.echo(f"alert {alert_id} {state}")


@monitor_app.command("run")
def monitor_run_cmd(
    send: Annotated[bool, typer.Option("--send/--no-send", help="E-mail new alerts to ACAS_ALERT_EMAIL_TO.")] = True,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Check failures, slow runs and late or missed schedules now; raise and e-mail alerts."""
    settings, engine, actor = context_from(config, database_url)
    data = monitor_now(engine, settings, actor=actor, send=send, now=utcnow())
    if json_:
        print_json(data)
    else:
        typer.echo(
            f"{data['findings']} problems: {data['alerts_raised']} new alerts, {data['alerts_repeated']} repeated, "
            f"{data['alerts_resolved']} resolved, {data['notified']} e-mailed"
            + (f"; e-mail failed: {data['notify_error']}" if data["notify_error"] else "")
        )

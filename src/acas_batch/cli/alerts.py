"""``acas-batch alerts`` and ``acas-batch monitor``: what went wrong, and checking for it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, context_from, print_json, print_table
from acas_batch.clock import utcnow
from acas_batch.services.alerting import alert_dismiss, clock_now, deliver_outbox, outbox_list, outbox_status
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
    _move(acknowledge, alert_id, config, database_url, json_)


@app.command("resolve")
def resolve_cmd(
    alert_id: Annotated[int, typer.Argument(help="The alert's id.")],
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Mark an alert resolved: its cause is gone."""
    _move(resolve, alert_id, config, database_url, json_)


def _move(
    action: Callable[..., dict[str, Any]], alert_id: int, config: Path | None, database_url: str | None, json_: bool
) -> None:
    """Acknowledge or resolve an alert as the signed-in user and say its new state."""
    _, engine, actor = context_from(config, database_url)
    state = action(engine, alert_id, actor=actor, now=utcnow())["state"]
    if json_:
        print_json({"id": alert_id, "state": state})
    else:
        typer.echo(f"alert {alert_id} {state} by {actor.username}")


@app.command("dismiss")
def dismiss_cmd(
    alert_id: Annotated[int, typer.Argument(help="The alert's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why nothing more is needed (kept and audited).")] = "",
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Dismiss an alert with a reason: resolved for good for its run, audited."""
    settings, engine, actor = context_from(config, database_url)
    done = alert_dismiss(engine, alert_id, actor=actor, reason=reason, now=clock_now(settings))
    if json_:
        print_json(done)
    else:
        typer.echo(f"alert {alert_id} {done['state']}: {done['resolution']}")


@monitor_app.command("run")
def monitor_run_cmd(
    send: Annotated[bool, typer.Option("--send/--no-send", help="E-mail new alerts to ACAS_ALERT_EMAIL_TO.")] = True,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Check failures, slow runs, late or missed schedules and a dead scheduler now; raise, queue and send alerts."""
    settings, engine, actor = context_from(config, database_url)
    data = monitor_now(engine, settings, actor=actor, send=send, now=clock_now(settings))
    if json_:
        print_json(data)
    else:
        typer.echo(
            f"{data['findings']} problems: {data['alerts_raised']} new alerts, {data['alerts_repeated']} repeated, "
            f"{data['alerts_resolved']} resolved, {data['notified']} e-mailed"
            + (f"; e-mail failed: {data['notify_error']}" if data["notify_error"] else "")
        )


@app.command("outbox")
def outbox_cmd(
    state: Annotated[str | None, typer.Option("--state", help="pending, sending, delivered or failed.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many of the newest messages.")] = 20,
    deliver: Annotated[bool, typer.Option("--deliver", help="Try to send what is due first.")] = False,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Outgoing notifications: what waits, for how long and why, and what was delivered."""
    settings, engine, actor = context_from(config, database_url)
    now = utcnow()
    summary = outbox_status(engine, actor=actor, now=now)
    sent = deliver_outbox(engine, settings, actor=actor, now=now) if deliver else None
    if sent is not None:
        summary = outbox_status(engine, actor=actor, now=now)
    rows = outbox_list(engine, actor=actor, now=now, state=state, limit=limit)
    if json_:
        print_json({"status": summary, "delivered_now": sent, "messages": rows})
        return
    if sent is not None:
        typer.echo(f"delivered {sent['delivered']}, retrying {sent['retrying']}, failed {sent['failed']}")
    typer.echo(
        f"{summary['pending']} waiting (oldest {summary['oldest_pending_seconds']:.0f} s), {summary['failed']} failed, "
        f"{summary['delivered_24h']} delivered in 24 h (worst delay {summary['max_delay_24h_seconds']:.0f} s)"
        + (f"; last error: {summary['last_error']}" if summary["last_error"] else "")
    )
    print_table(
        f"{len(rows)} messages",
        ["id", "kind", "state", "attempts", "subject", "created", "delay s", "last error"],
        [
            (
                r["id"],
                r["kind"],
                r["state"],
                r["attempts"],
                r["subject"],
                r["created_at"],
                r["delay_seconds"],
                r["last_error"] or "",
            )
            for r in rows
        ],
    )


# Silences and routes live in their own module; they are sub-commands of ``alerts``.
from acas_batch.cli.alert_admin import routes_app, silence_app  # noqa: E402

app.add_typer(silence_app, name="silence")
app.add_typer(routes_app, name="routes")

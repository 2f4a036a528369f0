"""``acas-batch deadlines``: jobs that must be done by a time in business terms, and how each stands."""

from __future__ import annotations

from typing import Annotated

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, context_from, print_json, print_table
from acas_batch.services.alerting import clock_now
from acas_batch.services.deadlines import deadline_delete, deadline_set, deadlines_list

app = typer.Typer(
    help="Deadlines: list them with predicted finish and slack, set and delete them.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="The deadline's name, e.g. gl-close.")]


def _slack(seconds: int | None) -> str:
    if seconds is None:
        return ""
    sign, minutes = ("-" if seconds < 0 else ""), abs(seconds) // 60
    return f"{sign}{minutes // 60}h{minutes % 60:02d}" if minutes >= 60 else f"{sign}{minutes} min"


@app.command("list")
def list_cmd(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Each deadline, its next (and last two days') due times, the predicted finish and the slack."""
    settings, engine, actor = context_from(config, database_url)
    rows = deadlines_list(engine, settings, actor=actor, now=clock_now(settings))
    if json_:
        print_json(rows)
        return
    table = []
    for r in rows:
        for i in r["instances"] or [{}]:
            table.append(
                (
                    r["name"],
                    r["job"],
                    i.get("due", "disabled" if not r["enabled"] else ""),
                    i.get("business_date") or "",
                    i.get("estimated_finish") or "",
                    _slack(i.get("slack_seconds")),
                    i.get("status", ""),
                    i.get("basis", r["when"]),
                )
            )
    columns = ["name", "job", "due", "business date", "predicted finish", "slack", "status", "basis"]
    print_table(f"{len(rows)} deadlines", columns, table)


@app.command("set")
def set_cmd(
    name: NameArg,
    job: Annotated[str, typer.Option("--job", help="The job that must be done (its upstream chain is watched too).")],
    kind: Annotated[str, typer.Option("--kind", help="The rule's kind: daily, weekly, monthly, quarterly, yearly.")],
    rule: Annotated[
        str, typer.Option("--rule", help='When it falls due, as JSON, e.g. \'{"at": "07:30", "business_day": 1}\'.')
    ],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone of the rule.")] = "Europe/London",
    shift: Annotated[
        str, typer.Option("--shift", help="A due day off work moves: next, previous, run_anyway or skip.")
    ] = "next",
    severity: Annotated[str, typer.Option("--severity", help="info, warning or critical.")] = "critical",
    description: Annotated[str, typer.Option("--description", help="What the deadline is for.")] = "",
    disabled: Annotated[bool, typer.Option("--disabled", help="Keep it, but do not check it.")] = False,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create or replace a deadline (audited)."""
    settings, engine, actor = context_from(config, database_url)
    row = deadline_set(engine, actor=actor, name=name, job=job, kind=kind, rule=rule, timezone=timezone, shift=shift,
                       severity=severity, description=description, enabled=not disabled,
                       now=clock_now(settings))  # fmt: skip
    if json_:
        print_json(row)
    else:
        typer.echo(f"deadline {row['name']}: {row['job']} done by {row['when']} ({row['timezone']}), {row['severity']}")


@app.command("delete")
def delete_cmd(
    name: NameArg, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False
) -> None:
    """Delete a deadline (audited); its open alerts resolve at the next monitor pass."""
    settings, engine, actor = context_from(config, database_url)
    gone = deadline_delete(engine, actor=actor, name=name, now=clock_now(settings))
    if json_:
        print_json(gone)
    else:
        typer.echo(f"deadline {gone['name']} deleted")

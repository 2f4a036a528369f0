"""``acas-batch jobs``: the job definitions held in the database."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, engine_from, print_json, print_table
from acas_batch.services.catalogue import job_details, job_list, job_order
from acas_batch.services.inputs import parse_day, today

app = typer.Typer(
    help="Job definitions: list them, show one with its schedules and dependencies.", no_args_is_help=True
)

ModuleOpt = Annotated[
    str | None, typer.Option("--module", help="Only jobs of this ledger: GL, SL, PL, ST or SYS.", show_default=False)
]


@app.command("list")
def list_cmd(
    module: ModuleOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False
) -> None:
    """List the job definitions with their schedules."""
    _, engine = engine_from(config, database_url)
    jobs = job_list(engine, module=module)
    if json_:
        print_json([asdict(j) for j in jobs])
        return
    print_table(
        f"{len(jobs)} jobs",
        ["name", "module", "enabled", "priority", "schedule"],
        [
            (j.name, j.module, "yes" if j.enabled else "no", j.priority, j.schedule or "on demand / dependency")
            for j in jobs
        ],
    )


@app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="The job's name, e.g. GL_DAILY_CLOSE.")],
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show one job definition: settings, default parameters, schedules and dependencies."""
    _, engine = engine_from(config, database_url)
    data = job_details(engine, name)
    if json_:
        print_json(data)
        return
    typer.echo(f"{data['name']} ({data['module']}): {data['description']}")
    typer.echo(
        f"  priority {data['priority']}, timeout {data['timeout_seconds']} s, attempts {data['max_attempts']}, "
        f"recovery {data['recovery_policy']}, enabled {'yes' if data['enabled'] else 'no'}"
    )
    typer.echo(f"  parameters: {data['default_params']}")
    typer.echo(f"  resources: {', '.join(r['name'] + ' ' + r['mode'] for r in data['resources']) or 'none'}")
    for s in data["schedules"]:
        typer.echo(f"  schedule {s['name']}: {s['summary']} {s['timezone']}, misfire {s['misfire_policy']}")
    for d in data["depends_on"]:
        extra = f" within {d['lookback_days']} days" if d["lookback_days"] else ""
        typer.echo(f"  {d['kind']} for {d['job']} ({d['condition']}{extra})")
    for d in data["dependants"]:
        typer.echo(f"  then {d['job']} ({d['kind']})")


@app.command("order")
def order_cmd(
    day: Annotated[
        str | None, typer.Argument(help="Business date (YYYY-MM-DD or YYYYMMDD). Default: today.", show_default=False)
    ] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The jobs scheduled on a business date in the order they can start (waits beat times)."""
    settings, engine = engine_from(config, database_url)
    when = parse_day("DAY", day) if day else today(settings)
    rows = job_order(engine, settings, when)
    if json_:
        print_json({"business_date": when.isoformat(), "order": rows})
        return
    print_table(
        f"{when.isoformat()}: {len(rows)} jobs",
        ["#", "job", "due", "starts after"],
        [
            (
                r["position"],
                r["job"],
                r["nominal"],
                ", ".join(r["after"]) + (" (later than due)" if r["late_by_wait"] else ""),
            )
            for r in rows
        ],
    )

"""``acas-batch jobs``: the job definitions held in the database."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from acas_batch.cli.common import (
    ConfigOpt,
    DatabaseUrlOpt,
    JsonOpt,
    context_from,
    print_json,
    print_table,
    report_change,
    scheduler_service,
)
from acas_batch.clock import utcnow
from acas_batch.errors import ValidationError
from acas_batch.services.catalogue import job_details, job_list, job_order
from acas_batch.services.inputs import parse_day, today

if TYPE_CHECKING:
    from acas_batch.services import JobSchedulerService

app = typer.Typer(
    help="Job definitions: list, show, enable, disable and edit them and their dependencies.", no_args_is_help=True
)

ModuleOpt = Annotated[
    str | None, typer.Option("--module", help="Only jobs of this ledger: GL, SL, PL, ST or SYS.", show_default=False)
]


@app.command("list")
def list_cmd(
    module: ModuleOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False
) -> None:
    """List the job definitions with their schedules."""
    _, engine, actor = context_from(config, database_url)
    jobs = job_list(engine, actor=actor, now=utcnow(), module=module)
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
    _, engine, actor = context_from(config, database_url)
    data = job_details(engine, name, actor=actor, now=utcnow())
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
    settings, engine, actor = context_from(config, database_url)
    when = parse_day("DAY", day) if day else today(settings)
    rows = job_order(engine, settings, when, actor=actor, now=utcnow())
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


NameArg = Annotated[str, typer.Argument(help="The job's name, e.g. GL_DAILY_CLOSE.")]
UpstreamOpt = Annotated[str, typer.Option("--on", help="The upstream job it depends on.")]
KindOpt = Annotated[
    str, typer.Option("--kind", help="wait (run only after the upstream) or trigger (the upstream starts it).")
]


def _scheduler(config: Path | None, database_url: str | None) -> JobSchedulerService:
    return scheduler_service(config, database_url)


@app.command("enable")
def enable_cmd(
    name: NameArg, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False
) -> None:
    """Enable a job: its schedules fire again and it may be run."""
    svc = _scheduler(config, database_url)
    report_change(svc, svc.enable_job(name), f"job {name} enabled", json_, {"job": name, "enabled": True})


@app.command("disable")
def disable_cmd(
    name: NameArg, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False
) -> None:
    """Disable a job: its schedules stop firing and it is not run until enabled again."""
    svc = _scheduler(config, database_url)
    report_change(svc, svc.disable_job(name), f"job {name} disabled", json_, {"job": name, "enabled": False})


@app.command("edit")
def edit_cmd(
    name: NameArg,
    priority: Annotated[int | None, typer.Option("--priority", help="Priority, 0-100 (higher first).")] = None,
    timeout_seconds: Annotated[
        int | None, typer.Option("--timeout-seconds", help="Longest a run may take before it is stopped.")
    ] = None,
    max_attempts: Annotated[int | None, typer.Option("--max-attempts", help="Attempts before it fails.")] = None,
    description: Annotated[str | None, typer.Option("--description", help="What the job does.")] = None,
    recovery_policy: Annotated[
        str | None,
        typer.Option(
            "--recovery-policy",
            help="After a crash (its process or worker killed, its lease lost): retry (resume from its "
            "checkpoint), hold (an operator releases it) or fail.",
        ),
    ] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change a job's settings (only those given); the change is audited."""
    values = {
        k: v
        for k, v in {
            "priority": priority,
            "timeout_seconds": timeout_seconds,
            "max_attempts": max_attempts,
            "description": description,
            "recovery_policy": recovery_policy,
        }.items()
        if v is not None
    }
    if not values:
        raise ValidationError(
            "jobs edit: give at least one of --priority, --timeout-seconds, --max-attempts, --description, "
            "--recovery-policy"
        )
    svc = _scheduler(config, database_url)
    changed = ", ".join(f"{k} {v}" for k, v in values.items())
    report_change(
        svc, svc.update_job(name, **values), f"job {name}: {changed}", json_, {"job": name, "changed": values}
    )


@app.command("depend")
def depend_cmd(
    name: NameArg,
    on: UpstreamOpt,
    kind: KindOpt = "wait",
    condition: Annotated[
        str, typer.Option("--condition", help="success, completion or failure of the upstream.")
    ] = "success",
    lookback_days: Annotated[
        int, typer.Option("--lookback-days", min=0, max=3660, help="How old an upstream run may be (0: same day).")
    ] = 0,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Make a job depend on another (a cycle is refused); the change is audited."""
    svc = _scheduler(config, database_url)
    report_change(
        svc,
        svc.add_dependency(name, on, kind=kind, condition=condition, lookback_days=lookback_days),
        f"{name} now {'waits for' if kind == 'wait' else 'is triggered by'} {on} ({condition})",
        json_,
        {"job": name, "depends_on": on, "kind": kind, "condition": condition},
    )


@app.command("undepend")
def undepend_cmd(
    name: NameArg,
    on: UpstreamOpt,
    kind: KindOpt = "wait",
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Remove a job's dependency on another; the change is audited."""
    svc = _scheduler(config, database_url)
    report_change(
        svc,
        svc.remove_dependency(name, on, kind=kind),
        f"{name} no longer depends on {on} ({kind})",
        json_,
        {"job": name, "depends_on": on, "kind": kind, "removed": True},
    )

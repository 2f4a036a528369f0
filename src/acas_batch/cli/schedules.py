"""``acas-batch schedules``: when the schedules run (forecast, next runs)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from acas_batch.cli.common import (
    ConfigOpt,
    DatabaseUrlOpt,
    JsonOpt,
    console,
    context_from,
    print_json,
    print_table,
    report_change,
    scheduler_service,
)
from acas_batch.clock import SystemClock
from acas_batch.config import load_settings
from acas_batch.errors import ValidationError
from acas_batch.services.inputs import ShiftPolicy, parse_day, parse_instant, today
from acas_batch.services.schedules import RunRow, forecast, next_runs, preview, utc_text

app = typer.Typer(help="Schedules: when each job runs, the next runs and a forecast.", no_args_is_help=True)

DEFAULT_FORECAST_DAYS = 31
AfterOpt = Annotated[
    str | None,
    typer.Option(
        "--after", help="Start after this time (ISO 8601; local if no offset). Default: now.", show_default=False
    ),
]
CountOpt = Annotated[int, typer.Option("-n", "--count", min=1, max=10_000, help="How many runs to show.")]
COLUMNS = ("job", "schedule", "nominal (UTC)", "local", "business date", "note")


def _render(title: str, header: dict[str, Any], rows: list[RunRow], json_: bool, caption: str | None = None) -> None:
    if json_:
        print_json(header | {"count": len(rows), "occurrences": [r.as_dict() for r in rows]})
        return
    table = Table(title=f"{title} ({len(rows)})", caption=caption, caption_justify="left")
    for column in COLUMNS:
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.job,
            r.schedule,
            r.nominal.strftime("%Y-%m-%d %H:%MZ"),
            r.local.strftime("%a %H:%M %Z"),
            r.business_date.isoformat(),
            r.note,
        )
    out = console
    if not console.is_terminal:
        # Piped into a file or another program there is no width to respect: print whole
        # lines rather than names cut to fit Rich's default of 80 columns.
        natural = Measurement.get(console, console.options.update_width(1000), table).maximum
        out = Console(width=max(console.width, natural))
    out.print(table)


@app.command("forecast")
def forecast_cmd(
    *,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="First business date (YYYY-MM-DD or YYYYMMDD). Default: today.", show_default=False
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Last business date, inclusive. Default: 31 days after --from.", show_default=False),
    ] = None,
    job: Annotated[str | None, typer.Option("--job", help="Only this job's schedules.", show_default=False)] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Every run of the enabled schedules whose business date lies between --from and --to."""
    settings, engine, actor = context_from(config, database_url)
    first = parse_day("--from", from_) if from_ else today(settings)
    last, rows = forecast(
        engine, settings, first, parse_day("--to", to) if to else None, actor=actor, now=SystemClock().now(), job=job
    )
    header = {"from": first.isoformat(), "to": last.isoformat(), "job": job}
    _render(f"Runs from {first.isoformat()} to {last.isoformat()}", header, rows, json_)


@app.command("next")
def next_cmd(
    schedule_or_job: Annotated[str, typer.Argument(help="A schedule id, or a job name (all its enabled schedules).")],
    *,
    n: CountOpt = 10,
    after: AfterOpt = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The next N runs of a schedule, or of every enabled schedule of a job."""
    settings, engine, actor = context_from(config, database_url)
    now = SystemClock().now()
    start = parse_instant("--after", after, settings.timezone) if after else now
    summaries, rows = next_runs(engine, settings, schedule_or_job, after=start, count=n, actor=actor, now=now)
    header = {"schedule_or_job": schedule_or_job, "after": utc_text(start), "schedules": summaries}
    caption = "\n".join(
        f"{s['schedule_id']} {s['job']} / {s['schedule']}: {s['rule']} ({s['timezone']}, {s['shift_policy']})"
        for s in summaries
    )
    _render(f"Next runs of {schedule_or_job}", header, rows, json_, caption)


@app.command("preview")
def preview_cmd(
    kind: Annotated[str, typer.Argument(help="The rule's kind: daily, weekly, monthly, quarterly, yearly, cron, ...")],
    rule: Annotated[str, typer.Argument(help='The rule as JSON, e.g. \'{"at": "22:00", "business_day": -1}\'.')],
    *,
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", help="IANA time zone. Default: the settings' timezone.", show_default=False),
    ] = None,
    shift: Annotated[ShiftPolicy, typer.Option("--shift", help="Shift policy for non-business days.")] = (
        ShiftPolicy.RUN_ANYWAY
    ),
    n: CountOpt = 10,
    after: AfterOpt = None,
    config: ConfigOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Check a rule and show its next N runs, without a database (before creating a schedule)."""
    settings = load_settings(config)
    start = parse_instant("--after", after, timezone or settings.timezone) if after else SystemClock().now()
    summary, rows = preview(settings, kind, rule, timezone=timezone, shift=shift, after=start, count=n)
    header = {"after": utc_text(start), "schedule": summary}
    _render(f"Next runs of {summary['rule']}", header, rows, json_)


@app.command("list")
def schedules_list(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """List schedules with their rule in words, whether enabled, and their next run."""
    svc = scheduler_service(config, database_url, job_code=False)
    _, rows = svc.list_schedules()
    if json_:
        print_json(rows)
        return
    print_table(
        f"{len(rows)} schedules",
        ["id", "job", "when", "on", "next run (UTC)"],
        [
            [
                r["id"],
                r["job"],
                f"{r['summary']} ({r['timezone']})"
                + ("" if r["misfire_policy"] == "run_all" else f", misfire {r['misfire_policy']}"),
                "yes" if r["enabled"] else "no",
                r["next_fire_at"] and r["next_fire_at"].strftime("%Y-%m-%d %H:%M"),
            ]
            for r in rows
        ],
        wrap=("when",),
    )


ScheduleArg = Annotated[int, typer.Argument(help="The schedule's id (see `acas-batch schedules list`).")]


@app.command("enable")
def enable_cmd(
    schedule_id: ScheduleArg, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False
) -> None:
    """Enable a schedule: it fires again from its next time."""
    svc = scheduler_service(config, database_url)
    outcome = svc.update_schedule(schedule_id, enabled=True)
    report_change(svc, outcome, f"schedule {schedule_id} enabled", json_, {"schedule_id": schedule_id, "enabled": True})


@app.command("disable")
def disable_cmd(
    schedule_id: ScheduleArg, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False
) -> None:
    """Disable a schedule: it stops firing until enabled again (its job may still be run by hand)."""
    svc = scheduler_service(config, database_url)
    outcome = svc.update_schedule(schedule_id, enabled=False)
    report_change(
        svc, outcome, f"schedule {schedule_id} disabled", json_, {"schedule_id": schedule_id, "enabled": False}
    )


@app.command("edit")
def edit_cmd(
    schedule_id: ScheduleArg,
    kind: Annotated[str | None, typer.Option("--kind", help="The rule's kind (with --rule).")] = None,
    rule: Annotated[
        str | None, typer.Option("--rule", help='The rule as JSON, e.g. \'{"at": "22:00"}\' (check it with preview).')
    ] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help="IANA time zone.")] = None,
    misfire: Annotated[
        str | None, typer.Option("--misfire", help="Misfire policy: run_all, run_once, run_latest or skip.")
    ] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change a schedule's rule, time zone or misfire policy (only those given); the change is audited."""
    values: dict[str, Any] = {}
    if rule is not None:
        try:
            values["rule"] = json.loads(rule)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"--rule: {rule!r} is not valid JSON ({exc.msg})") from exc
    for key, value in (("kind", kind), ("timezone", timezone), ("misfire_policy", misfire)):
        if value is not None:
            values[key] = value
    if not values:
        raise ValidationError("schedules edit: give at least one of --rule, --kind, --timezone, --misfire")
    svc = scheduler_service(config, database_url)
    changed = ", ".join(f"{k} {v}" for k, v in values.items())
    outcome = svc.update_schedule(schedule_id, **values)
    report_change(
        svc, outcome, f"schedule {schedule_id}: {changed}", json_, {"schedule_id": schedule_id, "changed": values}
    )

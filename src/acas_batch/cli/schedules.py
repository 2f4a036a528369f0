"""``acas-batch schedules``: when the schedules run (forecast, next runs)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from acas_batch.batch.calendar import BusinessCalendar, Occurrence, ScheduleSpec, describe, rule_from_json
from acas_batch.batch.localtime import zone
from acas_batch.batch.schedules import (
    StoredSchedule,
    calendar_from_settings,
    company_calendar,
    find_schedules,
    forecast_schedules,
    load_schedules,
    next_of_schedules,
)
from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, console, engine_from, print_json
from acas_batch.clock import SystemClock
from acas_batch.config import load_settings
from acas_batch.db import transaction
from acas_batch.errors import ValidationError
from acas_batch.models.enums import ShiftPolicy

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


def parse_day(option: str, value: str) -> date:
    """A date given as ``2026-12-01`` or, as the spec's integer dates, ``20261201``."""
    try:
        if len(value) == 8 and value.isdigit():
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{option}: {value!r} is not a date (YYYY-MM-DD or YYYYMMDD)") from None


def parse_instant(option: str, value: str, default_zone: str) -> datetime:
    """An ISO 8601 date and time; without an offset it is read in ``default_zone``."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{option}: {value!r} is not a date and time (e.g. 2026-12-01T09:00)") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone(default_zone))


def utc_text(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def occurrence_row(stored: StoredSchedule, occurrence: Occurrence) -> dict[str, Any]:
    """One occurrence as the JSON output shows it."""
    return {
        "job": stored.job_name,
        "schedule": stored.name,
        "schedule_id": stored.id,
        "nominal": utc_text(occurrence.nominal),
        "local": occurrence.local.isoformat(),
        "timezone": stored.spec.timezone,
        "business_date": occurrence.business_date.isoformat(),
        "skipped_reason": occurrence.skipped_reason,
    }


def _note(occurrence: Occurrence, calendar: BusinessCalendar) -> str:
    """A short table note; the JSON carries the full ``skipped_reason``."""
    if occurrence.skipped_reason is None:
        return ""
    return f"skipped: {calendar.holiday_name(occurrence.business_date) or 'weekend'}"


def schedule_summary(stored: StoredSchedule) -> dict[str, Any]:
    """What a schedule is, in words."""
    return {
        "schedule_id": stored.id,
        "job": stored.job_name,
        "schedule": stored.name,
        "rule": describe(stored.spec.rule),
        "timezone": stored.spec.timezone,
        "shift_policy": stored.spec.shift.value,
        "enabled": stored.enabled,
    }


def _render(
    title: str,
    header: dict[str, Any],
    rows: list[tuple[StoredSchedule, Occurrence]],
    calendar: BusinessCalendar,
    json_: bool,
    caption: str | None = None,
) -> None:
    if json_:
        print_json(header | {"count": len(rows), "occurrences": [occurrence_row(s, o) for s, o in rows]})
        return
    table = Table(title=f"{title} ({len(rows)})", caption=caption, caption_justify="left")
    for column in COLUMNS:
        table.add_column(column)
    for s, o in rows:
        table.add_row(
            s.job_name,
            s.name,
            o.nominal.strftime("%Y-%m-%d %H:%MZ"),
            o.local.strftime("%a %H:%M %Z"),
            o.business_date.isoformat(),
            _note(o, calendar),
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
    settings, engine = engine_from(config, database_url)
    first = parse_day("--from", from_) if from_ else SystemClock().now().astimezone(zone(settings.timezone)).date()
    last = parse_day("--to", to) if to else first + timedelta(days=DEFAULT_FORECAST_DAYS)
    if last < first:
        raise ValidationError(f"--to: {last.isoformat()} is before --from {first.isoformat()}")
    with transaction(engine) as session:
        stored = load_schedules(session, job=job)
        calendar = company_calendar(session, settings)
    rows = forecast_schedules(stored, calendar, first, last)
    header = {"from": first.isoformat(), "to": last.isoformat(), "job": job}
    _render(f"Runs from {first.isoformat()} to {last.isoformat()}", header, rows, calendar, json_)


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
    settings, engine = engine_from(config, database_url)
    start = parse_instant("--after", after, settings.timezone) if after else SystemClock().now()
    with transaction(engine) as session:
        stored = find_schedules(session, schedule_or_job)
        calendar = company_calendar(session, settings)
    rows = next_of_schedules(stored, calendar, start, n)
    summaries = [schedule_summary(s) for s in stored]
    header = {"schedule_or_job": schedule_or_job, "after": utc_text(start), "schedules": summaries}
    caption = "\n".join(
        f"{s['schedule_id']} {s['job']} / {s['schedule']}: {s['rule']} ({s['timezone']}, {s['shift_policy']})"
        for s in summaries
    )
    _render(f"Next runs of {schedule_or_job}", header, rows, calendar, json_, caption)


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
    try:
        data = json.loads(rule)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"rule: {rule!r} is not JSON: {exc.msg}") from None
    spec = ScheduleSpec(rule_from_json(kind, data), timezone or settings.timezone, shift)
    start = parse_instant("--after", after, spec.timezone) if after else SystemClock().now()
    stored = StoredSchedule(id=0, job_name="(preview)", name=kind, spec=spec)
    calendar = calendar_from_settings(settings)
    rows = next_of_schedules([stored], calendar, start, n)
    summary = schedule_summary(stored) | {"kind": kind, "rule_json": spec.rule.to_json()}
    header = {"after": utc_text(start), "schedule": summary}
    _render(f"Next runs of {describe(spec.rule)}", header, rows, calendar, json_)

"""``acas-batch logs``: view, search, export and analyse execution logs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, context_from, print_json, print_table
from acas_batch.clock import utcnow
from acas_batch.services.log_viewer import export_log_file, log_patterns, view_log_page

app = typer.Typer(help="Execution logs: view with filters, search, export to CSV/JSON/TXT, find patterns.")

JobOpt = Annotated[str | None, typer.Option("--job", help="Only this job's lines.")]
ExecOpt = Annotated[int | None, typer.Option("--execution", help="Only this execution's lines.")]
FromOpt = Annotated[str | None, typer.Option("--from", help="From this date (YYYYMMDD or YYYY-MM-DD).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Up to this date, inclusive.")]
LevelOpt = Annotated[str | None, typer.Option("--level", help="Minimum level: DEBUG, INFO, WARNING, ERROR, CRITICAL.")]
LimitOpt = Annotated[int, typer.Option("--limit", help="At most this many lines.")]


def _filter(**raw: Any) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if v is not None}


@app.command("view")
def view_cmd(
    job: JobOpt = None,
    execution: ExecOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    level: LevelOpt = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Words the message or event has (word* for a word's start).")
    ] = None,
    limit: LimitOpt = 200,
    after: Annotated[
        str | None, typer.Option("--after", help="Lines after this cursor (the next page's, as printed).")
    ] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show log lines, oldest first, filtered by job, execution, dates, level and text."""
    filters = _filter(
        job_name=job,
        execution_id=execution,
        date_from=date_from,
        date_to=date_to,
        log_level=level,
        search=search,
        limit=limit,
        after=after,
    )
    _, engine, actor = context_from(config, database_url)
    page = view_log_page(engine, filters, actor=actor, now=utcnow())
    entries = page.entries
    if json_:
        print_json(
            {
                "total": page.total,
                "total_capped": page.capped,
                "next_after": page.next_after,
                "logs": [e.as_dict() for e in entries],
            }
        )
        return
    print_table(
        f"{len(entries)} of {page.total_text} log lines",
        ["time (UTC)", "level", "job", "exec", "event", "message"],
        [
            (
                e.logged_at.strftime("%m-%d %H:%M:%S"),
                e.level.value,
                e.job_name,
                e.execution_id,
                e.event,
                e.message,
            )
            for e in entries
        ],
        wrap=("event", "message"),
    )
    if page.next_after:
        typer.echo(f"next page: --after '{page.next_after}'")


@app.command("search")
def search_cmd(
    text: Annotated[str, typer.Argument(help="Words to find in messages and events (case-insensitive).")],
    job: JobOpt = None,
    level: LevelOpt = None,
    limit: LimitOpt = 200,
    after: Annotated[str | None, typer.Option("--after", help="Lines after this cursor (the next page's).")] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Find log lines having every word of TEXT (word* for a word's start), by a full-text index."""
    view_cmd(
        job=job,
        level=level,
        search=text,
        limit=limit,
        after=after,
        config=config,
        database_url=database_url,
        json_=json_,
    )


@app.command("export")
def export_cmd(
    fmt: Annotated[str, typer.Option("--format", help="CSV, JSON or TXT.")] = "CSV",
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", help="Folder for the file (data_dir/exports).")
    ] = None,
    job: JobOpt = None,
    execution: ExecOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    level: LevelOpt = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Export matching log lines to a file (secrets masked); prints its path."""
    filters = _filter(job_name=job, execution_id=execution, date_from=date_from, date_to=date_to, log_level=level)
    settings, engine, actor = context_from(config, database_url)
    path, count, export_format = export_log_file(
        engine, settings, filters, fmt, output_dir=output_dir, actor=actor, now=utcnow()
    )
    if json_:
        print_json({"path": str(path), "lines": count, "format": export_format.value})
    else:
        typer.echo(f"{count} lines written to {path}")


@app.command("patterns")
def patterns_cmd(
    job: JobOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    level: LevelOpt = None,
    min_count: Annotated[int, typer.Option("--min-count", help="Only shapes seen at least this often.")] = 2,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Recurring warning and error messages, grouped by their shape."""
    filters = _filter(job_name=job, date_from=date_from, date_to=date_to, log_level=level)
    _, engine, actor = context_from(config, database_url)
    found = log_patterns(engine, filters, actor=actor, now=utcnow(), min_count=min_count)
    if json_:
        print_json([p.as_dict() for p in found])
        return
    print_table(
        "recurring messages",
        ["count", "pattern", "jobs", "last seen"],
        [(p.count, p.signature, ", ".join(p.jobs), p.last_seen.strftime("%Y-%m-%d %H:%M")) for p in found],
    )

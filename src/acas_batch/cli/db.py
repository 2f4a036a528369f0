"""``acas-batch db``: schema migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from acas_batch.cli.common import (
    ConfigOpt,
    DatabaseUrlOpt,
    JsonOpt,
    context_from,
    engine_from,
    print_json,
    print_table,
)
from acas_batch.clock import SystemClock
from acas_batch.services.system import backup_now, backups, restore, schema_status, upgrade_schema

app = typer.Typer(help="The database: schema upgrades and versions, backups and restores.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Bring the database schema to the newest version (an empty database included)."""
    _, engine = engine_from(config, database_url, create=True)
    before, after = upgrade_schema(engine)
    if json_:
        print_json({"from": before, "to": after, "changed": before != after})
    else:
        typer.echo(f"database at {after} (was {before or 'empty'})")


@app.command("current")
def current_cmd(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Show the schema version of the database and what is pending."""
    _, engine = engine_from(config, database_url)
    status = schema_status(engine)
    if json_:
        print_json(status)
    else:
        typer.echo(f"current {status['current'] or 'empty'}; head {status['head']}; pending {len(status['pending'])}")


@app.command("backup")
def backup_cmd(
    dest_dir: Annotated[
        Path | None, typer.Option("--dest-dir", help="Folder for the backup (default: data_dir/backups).")
    ] = None,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Test-restore it into a scratch database.")
    ] = True,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Back up the database now: consistent, compressed, checksummed, verified and registered."""
    settings, engine, actor = context_from(config, database_url)
    taken = backup_now(engine, settings, actor, now=SystemClock().now(), dest_dir=dest_dir, verify=verify)
    info = taken.info
    data = {
        "path": str(info.path),
        "backend": info.backend,
        "size_bytes": info.size_bytes,
        "sha256": info.sha256,
        "verified": taken.verified,
        "generation": taken.generation,
        "row_counts": info.row_counts,
    }
    if json_:
        print_json(data)
    else:
        typer.echo(
            f"{info.path} ({info.size_bytes} bytes, {sum(info.row_counts.values())} rows, "
            f"{'verified' if taken.verified else 'not verified'})"
        )


@app.command("restore")
def restore_cmd(
    file: Annotated[Path, typer.Argument(help="A backup file written by `acas-batch db backup`.")],
    force: Annotated[bool, typer.Option("--force", help="Replace a target database that holds data.")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (required; kept in the audit trail).")] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Restore a backup into the database (checksum checked first; a non-empty target needs --force)."""
    settings, engine, actor = context_from(config, database_url, create=True)
    report = restore(engine, settings, actor, file, force=force, now=SystemClock().now(), reason=reason)
    if json_:
        print_json(
            {
                "target": report.target,
                "backend": report.backend,
                "replaced": report.replaced,
                "row_counts": report.row_counts,
            }
        )
    else:
        typer.echo(f"restored {file} into {report.target}: {sum(report.row_counts.values())} rows")


@app.command("backups")
def backups_cmd(
    all_: Annotated[bool, typer.Option("--all", help="Include backups the retention policy deleted.")] = False,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List the registered backups, newest first, with their verification and generation."""
    _, engine = engine_from(config, database_url)
    rows = backups(engine, include_deleted=all_)
    if json_:
        print_json(rows)
        return
    print_table(
        f"{len(rows)} backups",
        ["id", "taken", "generation", "MB", "verified", "path"],
        [
            (
                r["id"],
                r["started_at"],
                r["generation"],
                f"{int(str(r['size_bytes'])) / 1e6:.1f}",
                "deleted" if r["deleted_at"] else ("yes" if r["verified_at"] else f"no: {r['verify_error'] or ''}"),
                r["path"],
            )
            for r in rows
        ],
    )

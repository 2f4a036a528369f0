"""``acas-batch db``: schema migrations."""

from __future__ import annotations

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, engine_from, print_json
from acas_batch.db import check_connection
from acas_batch.models.migrate import current_revision, head_revision, pending_migrations, upgrade

app = typer.Typer(help="Database schema: upgrade to the newest version, show the current one.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Bring the database schema to the newest version (an empty database included)."""
    _, engine = engine_from(config, database_url)
    check_connection(engine)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    if json_:
        print_json({"from": before, "to": after, "changed": before != after})
    else:
        typer.echo(f"database at {after} (was {before or 'empty'})")


@app.command("current")
def current_cmd(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Show the schema version of the database and what is pending."""
    _, engine = engine_from(config, database_url)
    check_connection(engine)
    current, pending = current_revision(engine), pending_migrations(engine)
    if json_:
        print_json({"current": current, "head": head_revision(), "pending": pending})
    else:
        typer.echo(f"current {current or 'empty'}; head {head_revision()}; pending {len(pending)}")

"""``acas-batch secrets``: sealing secret parameter values and rotating their key."""

from __future__ import annotations

from typing import Annotated

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, context_from, print_json
from acas_batch.clock import utcnow
from acas_batch.services.secrets import rotate_secret_key, seal_secret

app = typer.Typer(help="Secret job parameters: seal a value, rotate the key.", no_args_is_help=True)


@app.command("rotate-key")
def rotate_key_cmd(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Write a new secret key and re-encrypt every stored secret parameter with it."""
    settings, engine, actor = context_from(config, database_url)
    done = rotate_secret_key(engine, settings, actor=actor, now=utcnow())
    if json_:
        print_json({"resealed": done.resealed, "rows": done.rows})
    else:
        typer.echo(f"new key in use: {done.resealed} secret value(s) re-encrypted in {done.rows} row(s)")


@app.command("seal")
def seal_cmd(
    value: Annotated[
        str,
        typer.Option(
            "--value", prompt=True, hide_input=True, envvar="ACAS_SECRET_VALUE", help="The clear value (prompted)."
        ),
    ],
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Print a value sealed with the secret key, for a job's defaults or a schedule's parameters (needs jobs:write)."""
    settings, engine, actor = context_from(config, database_url)
    typer.echo(seal_secret(engine, settings, value, actor=actor, now=utcnow()))

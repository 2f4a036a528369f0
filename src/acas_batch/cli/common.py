"""What every command shares: the standard options, settings, engine and output."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from acas_batch.clock import SystemClock
from acas_batch.config import Settings, load_settings
from acas_batch.services.base import connect
from acas_batch.services.identity import Actor, cli_actor

DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database URL (sqlite:///PATH or postgresql+psycopg://...). Default: ACAS_DATABASE_URL or var/acas.db.",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings file. Default: ACAS_CONFIG.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]

#: Who the command line acts as: set once per invocation by the root ``--user`` option.
IDENTITY: dict[str, str | None] = {"user": None}

console = Console()
err_console = Console(stderr=True)


def settings_from(config: Path | None, database_url: str | None) -> Settings:
    return load_settings(config, database_url=database_url)


def engine_from(config: Path | None, database_url: str | None) -> tuple[Settings, Engine]:
    settings = settings_from(config, database_url)
    return settings, connect(settings)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(data: Any) -> str:
    return json.dumps(data, default=_default, indent=2, sort_keys=False)


def print_json(data: Any) -> None:
    typer.echo(dumps(data))


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)


def actor_from(settings: Settings, engine: Engine) -> Actor:
    """The acting user: ``--user``/``ACAS_USER`` (password asked), ``ACAS_TOKEN``, else the local
    administrator console when this OS user can write the database."""
    import getpass
    import os

    return cli_actor(
        engine,
        settings.database_url,
        user=IDENTITY.get("user") or os.environ.get("ACAS_USER") or None,
        token=os.environ.get("ACAS_TOKEN") or None,
        ask_password=getpass.getpass,
        now=SystemClock().now(),
    )


def context_from(config: Path | None, database_url: str | None) -> tuple[Settings, Engine, Actor]:
    """Settings, engine and the acting user of a command."""
    settings, engine = engine_from(config, database_url)
    return settings, engine, actor_from(settings, engine)

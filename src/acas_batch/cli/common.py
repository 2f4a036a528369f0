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

from acas_batch.config import Settings, load_settings
from acas_batch.services.base import connect

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

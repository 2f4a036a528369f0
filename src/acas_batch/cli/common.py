"""What every command shares: the standard options, settings, engine, output and the error handler.

Only Typer is imported at the top: the settings, SQLAlchemy, Rich's console and the
services load inside the functions, when a command needs them (see ``cli/__init__.py``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from acas_batch.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    AcasBatchError,
    Conflict,
    OutputError,
    ValidationError,
)

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine

    from acas_batch.config import Settings
    from acas_batch.services import JobSchedulerService
    from acas_batch.services.identity import Actor

    console: Console
    err_console: Console

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

_consoles: dict[str, Any] = {}

#: The engines this invocation opened, closed when it ends (no pooled connection left to the collector).
_engines: list[Engine] = []

#: Who the command line acts as: set once per invocation by the root ``--user`` option.
IDENTITY: dict[str, str | None] = {"user": None}


def __getattr__(name: str) -> Any:
    """``console`` and ``err_console``: Rich consoles, made (and Rich imported) on first use."""
    if name in ("console", "err_console"):
        if name not in _consoles:
            from rich.console import Console

            _consoles[name] = Console(stderr=name == "err_console")
        return _consoles[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def settings_from(config: Path | None, database_url: str | None, *, create: bool = False) -> Settings:
    """The settings, with the database checked before anything opens it (see ``checked_settings``)."""
    from acas_batch.config import load_settings
    from acas_batch.services.database import checked_settings

    return checked_settings(load_settings(config, database_url=database_url), create=create)


def engine_from(config: Path | None, database_url: str | None, *, create: bool = False) -> tuple[Settings, Engine]:
    from acas_batch.services.base import connect

    settings = settings_from(config, database_url, create=create)
    engine = connect(settings)
    _engines.append(engine)
    return settings, engine


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


def print_table(
    title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, wrap: Sequence[str] | None = None
) -> None:
    """A table that fits the terminal: only the ``wrap`` columns (default: the last, free text) wrap at words;
    names, dates and numbers are never cut.

    Piped into a file or another program there is no width to respect: whole lines are printed.
    """
    from rich import box
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD)
    wrapping = set(columns[-1:] if wrap is None else wrap)
    for col in columns:
        table.add_column(col, no_wrap=col not in wrapping, overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    out: Console = __getattr__("console")
    if not out.is_terminal:
        natural = Measurement.get(out, out.options.update_width(1000), table).maximum
        out = Console(width=max(out.width, natural))
    out.print(table)


def _database_url_for_errors(argv: Sequence[str]) -> str:
    """The database URL the command used, for naming it in an error (best effort, never raises)."""
    for i, arg in enumerate(argv):
        if arg == "--database-url" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--database-url="):
            return arg.partition("=")[2]
    from acas_batch.config import DEFAULT_SQLITE_PATH

    return os.environ.get("ACAS_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH.as_posix()}"


def user_error(exc: BaseException, argv: Sequence[str]) -> AcasBatchError | None:
    """The :class:`AcasBatchError` an exception means for a user, or None for a fault of acas-batch.

    The one place where errors from below the services (a database driver, the file
    system, a number too large for a 64-bit column) become one line and an exit code.
    """
    if isinstance(exc, AcasBatchError):
        return exc
    if isinstance(exc, OverflowError):
        if "date" in str(exc):
            return ValidationError(f"a date is out of range ({exc}): give one before the year 9999")
        return ValidationError(f"a number is out of range ({exc}): ids and counts fit in 64 bits")
    if isinstance(exc, OSError) and exc.filename is not None:
        return OutputError(f"{exc.filename}: {exc.strerror or exc}")
    if type(exc).__module__.startswith("sqlalchemy"):
        from acas_batch.services.database import error_of

        try:
            return error_of(exc, _database_url_for_errors(argv))
        except Exception:
            return None
    return None


def _invoke(app: typer.Typer, args: list[str]) -> Any:
    """Run the command, then close the engines it opened and forget who acted."""
    try:
        return app(args=args, standalone_mode=False)
    finally:
        while _engines:
            _engines.pop().dispose()
        IDENTITY["user"] = None


def run_main(app: typer.Typer, argv: list[str] | None = None) -> None:
    """Run the command line: user errors print one line on stderr and exit non-zero, without a traceback.

    Exit codes: 0 success; 2 a usage error; each error class's own code (``errors.py``);
    130 interrupted; 70 a fault of acas-batch itself (``ACAS_DEBUG=1`` prints its traceback).
    """
    args = sys.argv[1:] if argv is None else argv
    try:
        result = _invoke(app, args)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (``| head``): nothing more to say, and nobody to say it to.
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:
        # Usage errors (unknown command, bad option) come from Typer's bundled Click.
        exit_code = getattr(exc, "exit_code", None)
        format_message = getattr(exc, "format_message", None)
        if callable(format_message) and isinstance(exit_code, int) and not isinstance(exc, AcasBatchError):
            message = format_message()
            if message:  # an empty message: help was shown instead (no arguments given)
                typer.echo(f"error: {message}", err=True)
            sys.exit(exit_code)
        error = user_error(exc, args)
        if error is not None:
            typer.echo(f"error: {error}", err=True)
            sys.exit(error.exit_code)
        if os.environ.get("ACAS_DEBUG"):
            raise
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        typer.echo(
            f"error: internal error {type(exc).__name__}{': ' + text if text else ''} "
            "(a fault of acas-batch; ACAS_DEBUG=1 shows where)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    if isinstance(result, int) and result != 0:
        sys.exit(result)


def actor_from(settings: Settings, engine: Engine) -> Actor:
    """The acting user: ``--user``/``ACAS_USER`` (password asked), ``ACAS_TOKEN``, else the local
    administrator console when this OS user can write the database."""
    import getpass

    from acas_batch.clock import SystemClock
    from acas_batch.services.identity import cli_actor

    return cli_actor(
        engine,
        settings.database_url,
        user=IDENTITY.get("user") or os.environ.get("ACAS_USER") or None,
        token=os.environ.get("ACAS_TOKEN") or None,
        ask_password=getpass.getpass,
        now=SystemClock().now(),
    )


def context_from(
    config: Path | None, database_url: str | None, *, create: bool = False
) -> tuple[Settings, Engine, Actor]:
    """Settings, engine and the acting user of a command (``create``: see ``checked_settings``)."""
    settings, engine = engine_from(config, database_url, create=create)
    return settings, engine, actor_from(settings, engine)


def scheduler_service(config: Path | None, database_url: str | None, *, job_code: bool = True) -> JobSchedulerService:
    """The scheduler facade acting as the command line's user (see ``acas-batch --help``);
    ``job_code=False`` for a command that only reads (the jobs' code is not imported)."""
    from acas_batch.services import JobSchedulerService

    settings, engine, actor = context_from(config, database_url)
    return JobSchedulerService(engine, settings=settings, actor=actor, job_code=job_code)


def report_change(
    svc: JobSchedulerService, outcome: tuple[bool, Any], message: str, json_: bool, data: dict[str, Any]
) -> None:
    """Print what a scheduler-facade change did and who it is audited as, or raise the
    facade's error (and so its exit code)."""
    ok, value = outcome
    if not ok:
        raise svc.last_error or Conflict(str(value))
    if json_:
        print_json(data | {"by": svc.actor.username})
    else:
        typer.echo(f"{message} (audited as {svc.actor.username})")

"""The ``acas-batch`` command. Each command parses, calls one service function, renders."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from acas_batch import __version__
from acas_batch.cli import alerts as alerts_cli
from acas_batch.cli import company as company_cli
from acas_batch.cli import db as db_cli
from acas_batch.cli import demo as demo_cli
from acas_batch.cli import executions as executions_cli
from acas_batch.cli import jobs as jobs_cli
from acas_batch.cli import logs as logs_cli
from acas_batch.cli import processes as processes_cli
from acas_batch.cli import schedules as schedules_cli
from acas_batch.cli import users as users_cli
from acas_batch.cli import vat as vat_cli
from acas_batch.cli import web as web_cli
from acas_batch.cli.common import IDENTITY, ConfigOpt, DatabaseUrlOpt, JsonOpt, engine_from, print_json
from acas_batch.clock import utcnow
from acas_batch.errors import AcasBatchError
from acas_batch.services.bootstrap import initialise
from acas_batch.services.identity import create_first_admin

app = typer.Typer(
    name="acas-batch",
    help="ACAS batch processing: schedules, runs and watches the ledger jobs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_cli.app, name="db")
app.add_typer(demo_cli.app, name="demo")
app.add_typer(jobs_cli.app, name="jobs")
app.add_typer(executions_cli.app, name="executions")
app.add_typer(processes_cli.scheduler_app, name="scheduler")
app.add_typer(processes_cli.worker_app, name="worker")
app.add_typer(logs_cli.app, name="logs")
app.add_typer(alerts_cli.app, name="alerts")
app.add_typer(alerts_cli.monitor_app, name="monitor")
app.add_typer(schedules_cli.app, name="schedules")
app.add_typer(company_cli.app, name="company")
app.add_typer(vat_cli.app, name="vat")
app.add_typer(users_cli.users_app, name="users")
app.add_typer(users_cli.tokens_app, name="tokens")
app.add_typer(users_cli.audit_app, name="audit")
app.add_typer(users_cli.approvals_app, name="approvals")
app.add_typer(web_cli.app, name="web")
schedules_cli.app.command("list")(processes_cli.schedules_list)
app.command("run")(executions_cli.run_command)
app.command("status")(processes_cli.status_command)
app.command("simulate")(processes_cli.simulate_command)


@app.callback()
def _identity(
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            envvar="ACAS_USER",
            help="Act as this user (password asked; or set ACAS_TOKEN to an API token). "
            "Without either: the local administrator console, if this OS user can write the database.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """ACAS batch processing: schedules, runs and watches the ledger jobs."""
    IDENTITY["user"] = user


@app.command()
def version(json_: JsonOpt = False) -> None:
    """Print the version of acas-batch."""
    if json_:
        print_json({"version": __version__})
    else:
        typer.echo(f"acas-batch {__version__}")


@app.command()
def init(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Create or upgrade the schema and install the standard data that is missing (idempotent)."""
    settings, engine = engine_from(config, database_url)
    report = initialise(engine)
    admin, password = create_first_admin(engine, now=utcnow())
    if json_:
        print_json(
            report.as_dict()
            | {"database_url": _safe_url(settings.database_url), "administrator": admin, "password": password}
        )
    else:
        data = report.as_dict()
        typer.echo(
            f"database {_safe_url(settings.database_url)} at {data['revision']}: "
            f"{data['table_count']} tables, {data['roles_created']} roles, {data['jobs_created']} jobs, "
            f"{data['schedules_created']} schedules (+{data['held_schedules_created']} held), "
            f"{data['dependencies_created']} dependencies created"
        )
        if password is not None:
            typer.echo(
                f"first administrator: {admin}, one-time password: {password}\n"
                f"  (shown once; change it with: acas-batch --user {admin} users set-password {admin})"
            )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors print one line on stderr and exit non-zero, without a traceback."""
    try:
        result = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(130)
    except AcasBatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        # Usage errors (unknown command, bad option) come from Typer's bundled Click.
        exit_code = getattr(exc, "exit_code", None)
        format_message = getattr(exc, "format_message", None)
        if callable(format_message) and isinstance(exit_code, int):
            message = format_message()
            if message:  # an empty message: help was shown instead (no arguments given)
                typer.echo(f"error: {message}", err=True)
            sys.exit(exit_code)
        raise
    if isinstance(result, int) and result != 0:
        sys.exit(result)

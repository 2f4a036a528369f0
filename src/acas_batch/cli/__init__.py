"""The ``acas-batch`` command. Each command parses, calls one service function, renders.

The top level imports only Typer: each command's module (and with it the services, the
model and SQLAlchemy) is imported when that command runs, so ``--help`` and ``version``
answer at once. The one-line summaries of the lazy commands are kept here for the top
level's help; a unit test checks them against the commands' own help.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer
from typer import _click as click  # the Click that Typer bundles and builds its commands with
from typer._click.exceptions import UsageError
from typer.core import TyperCommand, TyperGroup

from acas_batch import __version__
from acas_batch.cli.common import IDENTITY, ConfigOpt, DatabaseUrlOpt, JsonOpt, engine_from, print_json, run_main

#: name -> (``module:attribute``, summary). The attribute is a Typer app (a group of commands)
#: or a function (one command).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "db": ("acas_batch.cli.db:app", "The database: schema upgrades and versions, backups and restores."),
    "demo": ("acas_batch.cli.demo:app", "Demo data: a deterministic UK wholesaler with two years of trading."),
    "jobs": (
        "acas_batch.cli.jobs:app",
        "Job definitions: list, show, enable, disable and edit them and their dependencies.",
    ),
    "executions": (
        "acas_batch.cli.executions:app",
        "Executions: list, show, cancel, hold, release, rerun, mark succeeded.",
    ),
    "scheduler": (
        "acas_batch.cli.processes:scheduler_app",
        "The scheduler: turns schedules into executions, recovers lost work.",
    ),
    "worker": ("acas_batch.cli.processes:worker_app", "Workers: claim executions and run them in child processes."),
    "logs": (
        "acas_batch.cli.logs:app",
        "Execution logs: view with filters, search, export to CSV/JSON/TXT, find patterns.",
    ),
    "alerts": ("acas_batch.cli.alerts:app", "Alerts: list the open ones, acknowledge, resolve."),
    "monitor": ("acas_batch.cli.alerts:monitor_app", "Monitoring: run the checks that raise alerts."),
    "documents": (
        "acas_batch.cli.documents:app",
        "Documents for customers and suppliers: how each was e-mailed.",
    ),
    "thresholds": (
        "acas_batch.cli.thresholds:app",
        "Thresholds: list, set and delete the limits alerts are raised at.",
    ),
    "deadlines": (
        "acas_batch.cli.deadlines:app",
        "Deadlines: list them with predicted finish and slack, set and delete them.",
    ),
    "metrics": (
        "acas_batch.cli.metrics:metrics_command",
        "Print the Prometheus metrics: runs, durations, queue, scheduler's last tick, each deadline's slack.",
    ),
    "schedules": ("acas_batch.cli.schedules:app", "Schedules: when each job runs, the next runs and a forecast."),
    "company": ("acas_batch.cli.company:app", "The company's settings: VAT scheme and VAT stagger."),
    "vat": ("acas_batch.cli.vat:app", "VAT returns: list them, record their settlement with HMRC."),
    "web": ("acas_batch.cli.web:app", "The web dashboard and REST API."),
    "users": ("acas_batch.cli.users:users_app", "Users: add, list, disable, set a role or a password."),
    "tokens": ("acas_batch.cli.users:tokens_app", "API tokens: create (shown once), list, revoke."),
    "audit": ("acas_batch.cli.users:audit_app", "The audit trail: list, export, verify the hash chain."),
    "approvals": ("acas_batch.cli.users:approvals_app", "Four-eyes requests: list, approve, reject."),
    "secrets": ("acas_batch.cli.secrets:app", "Secret job parameters: seal a value, rotate the key."),
    "run": (
        "acas_batch.cli.executions:run_command",
        "Run a job now. Parameters are validated first; with --wait, exit 0 only on success.",
    ),
    "status": (
        "acas_batch.cli.status:status_command",
        "The scheduler dashboard: counts by state, running jobs with progress, next runs, recent failures.",
    ),
    "simulate": (
        "acas_batch.cli.processes:simulate_command",
        "Run every schedule between two dates on a virtual clock, with the real scheduler and workers.",
    ),
}


def load_command(name: str) -> click.Command:
    """Import the command ``name`` and build its Click command (a group for a Typer app)."""
    target, _ = LAZY_COMMANDS[name]
    module_name, _, attribute = target.partition(":")
    obj: Any = getattr(importlib.import_module(module_name), attribute)
    if isinstance(obj, typer.Typer):
        command: click.Command = typer.main.get_group(obj)
    else:
        single = typer.Typer()
        single.command(name)(obj)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The top-level group: loads a command's module only when that command is used.

    While the top level's own help is written, commands not yet loaded are shown by their
    summary from :data:`LAZY_COMMANDS` without being imported.
    """

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in LAZY_COMMANDS if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in LAZY_COMMANDS:
            return super().get_command(ctx, cmd_name)
        if self._listing:
            summary = LAZY_COMMANDS[cmd_name][1]
            return TyperCommand(cmd_name, help=summary, short_help=summary)
        self.commands[cmd_name] = load_command(cmd_name)
        return self.commands[cmd_name]

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            # Typer suggests only among loaded commands: offer the lazy ones too.
            if args and "Did you mean" not in exc.message:
                from difflib import get_close_matches

                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    exc.message = exc.message.rstrip(".") + ". Did you mean " + ", ".join(map(repr, matches)) + "?"
            raise


app = typer.Typer(
    name="acas-batch",
    help="ACAS batch processing: schedules, runs and watches the ledger jobs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyGroup,
)


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
    from acas_batch.clock import SystemClock
    from acas_batch.services.bootstrap import initialise
    from acas_batch.services.identity import CREDENTIALS_FILE, first_admin_credentials
    from acas_batch.services.secrets import ensure_secret_key

    settings, engine = engine_from(config, database_url, create=True)
    report = initialise(engine)
    key_created = ensure_secret_key(settings)
    admin, password, made = first_admin_credentials(engine, settings.data_dir, now=SystemClock().now())
    if json_:
        print_json(
            report.as_dict()
            | {
                "database_url": _safe_url(settings.database_url),
                "secret_key_created": str(key_created or ""),
                "administrator": admin,
                "password": password if made else None,
            }
        )
    else:
        data = report.as_dict()
        typer.echo(
            f"database {_safe_url(settings.database_url)} at {data['revision']}: "
            f"{data['table_count']} tables, {data['roles_created']} roles, {data['jobs_created']} jobs, "
            f"{data['schedules_created']} schedules (+{data['held_schedules_created']} held), "
            f"{data['dependencies_created']} dependencies created"
        )
        if key_created:
            typer.echo(f"secret parameter key created in {key_created} (readable by its owner only)")
        if made:
            typer.echo(
                f"first administrator: {admin}, password: {password}\n"
                f"  (kept in {settings.data_dir / CREDENTIALS_FILE}, readable by you only; change it with: "
                f"acas-batch --user {admin} users set-password {admin})"
            )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors print one line on stderr and exit non-zero, without a traceback."""
    run_main(app, argv)

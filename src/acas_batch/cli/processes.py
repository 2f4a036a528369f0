"""``acas-batch scheduler``, ``worker``, ``schedules`` and ``status``: the running system."""

from __future__ import annotations

from typing import Annotated

import typer

from acas_batch.cli import web as web_cli
from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, print_json, scheduler_service
from acas_batch.errors import ValidationError
from acas_batch.services.inputs import parse_business_date

scheduler_app = typer.Typer(
    help="The scheduler: turns schedules into executions, recovers lost work.", no_args_is_help=True
)
worker_app = typer.Typer(help="Workers: claim executions and run them in child processes.", no_args_is_help=True)


_service = scheduler_service


@scheduler_app.command("start")
def scheduler_start(
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Job processes run beside the scheduler (0: none). Default: ACAS_WORKERS."),
    ] = None,
    no_web: Annotated[bool, typer.Option("--no-web", help="Do not serve the dashboard and API.")] = False,
    host: web_cli.HostOpt = None,
    port: web_cli.PortOpt = None,
    insecure: web_cli.InsecureOpt = False,
    certfile: web_cli.CertOpt = None,
    keyfile: web_cli.KeyOpt = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Run the scheduler (and workers) in the foreground until SIGTERM or Ctrl-C; shuts down gracefully.

    The dashboard and REST API are served beside it unless ``--no-web``.
    """
    svc = _service(config, database_url)
    count = svc.settings.workers if workers is None else workers
    server = None if no_web else web_cli.make_server(svc.settings, host, port, insecure, certfile, keyfile)
    typer.echo(f"scheduler starting with {count} worker process(es); Ctrl-C to stop", err=True)
    if server is not None:
        web_cli.announce(server)
        server.start_thread()
    try:
        svc.serve(scheduler=True, workers=count)
    finally:
        if server is not None:
            server.stop()


@worker_app.command("start")
def worker_start(
    slots: Annotated[
        int | None, typer.Option("--slots", help="Job processes this worker runs at once. Default: ACAS_WORKERS.")
    ] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Run a worker in the foreground until SIGTERM or Ctrl-C; running jobs get a grace period."""
    svc = _service(config, database_url)
    count = svc.settings.workers if slots is None else slots
    typer.echo(f"worker starting with {count} job process(es); Ctrl-C to stop", err=True)
    svc.serve(scheduler=False, workers=max(1, count))


def simulate_command(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (local).")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (local), included.")],
    workers: Annotated[int, typer.Option("--workers", help="Job processes.")] = 2,
    confirm_live: Annotated[
        bool,
        typer.Option("--confirm-live", help="The database holds a real company's ledger and is a copy to post into."),
    ] = False,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Run every schedule between two dates on a virtual clock, with the real scheduler and workers.

    Use a scratch database: the simulation records every execution it runs and the jobs post
    to the ledger; a company that is not demo data is refused without --confirm-live.
    """
    svc = _service(config, database_url)
    ok, report = svc.simulate(
        parse_business_date(start), parse_business_date(end), workers=workers, confirm_live=confirm_live
    )
    if not ok:
        raise svc.last_error or ValidationError(str(report))
    if json_:
        print_json(report)
        return
    typer.echo(
        f"simulated {start} to {end} in {report['real_seconds']}s ({report['ticks']} ticks): "
        + ", ".join(f"{k} {v}" for k, v in sorted(report["executions_by_state"].items()))
    )
    for job, n in report["executions_by_job"].items():
        typer.echo(f"  {job}: {n}")

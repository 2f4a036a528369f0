"""``acas-batch scheduler``, ``worker``, ``schedules`` and ``status``: the running system."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

from acas_batch.cli import web as web_cli
from acas_batch.cli.common import (
    ConfigOpt,
    DatabaseUrlOpt,
    JsonOpt,
    actor_from,
    console,
    engine_from,
    print_json,
    print_table,
)
from acas_batch.errors import ValidationError
from acas_batch.services import JobSchedulerService
from acas_batch.services.inputs import parse_business_date

scheduler_app = typer.Typer(
    help="The scheduler: turns schedules into executions, recovers lost work.", no_args_is_help=True
)
worker_app = typer.Typer(help="Workers: claim executions and run them in child processes.", no_args_is_help=True)


def _service(config: Any, database_url: str | None) -> JobSchedulerService:
    settings, engine = engine_from(config, database_url)
    return JobSchedulerService(engine, settings=settings, actor=actor_from(settings, engine))


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


def schedules_list(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """List schedules with their rule, policies and next run."""
    _, rows = _service(config, database_url).list_schedules()
    if json_:
        print_json(rows)
        return
    print_table(
        None,
        ["id", "job", "kind", "rule", "time zone", "misfire", "enabled", "next run (UTC)", "last run (UTC)"],
        [
            [
                r["id"],
                r["job"],
                r["kind"],
                r["rule"],
                r["timezone"],
                r["misfire_policy"],
                r["enabled"],
                r["next_fire_at"] and r["next_fire_at"].strftime("%Y-%m-%d %H:%M"),
                r["last_fire_at"] and r["last_fire_at"].strftime("%Y-%m-%d %H:%M"),
            ]
            for r in rows
        ],
    )


def _render(board: dict[str, Any]) -> Table:
    outer = Table.grid(padding=(0, 1))
    counts = "  ".join(f"{k} {v}" for k, v in board["counts"].items() if v)
    state = "running" if board["scheduler_running"] else "not running"
    outer.add_row(f"[bold]acas-batch[/] at {board['now']:%Y-%m-%d %H:%M:%S} UTC; scheduler {state}")
    outer.add_row(f"executions: {counts or 'none'}")
    running = Table(title="running", expand=True)
    for col in ("id", "job", "attempt", "progress", "worker"):
        running.add_column(col)
    for r in board["running"]:
        done, total = r["progress_done"], r["progress_total"]
        bar: Any = ProgressBar(total=total, completed=done or 0, width=30) if total else (str(done) if done else "")
        running.add_row(str(r["id"]), r["job"], str(r["attempt"]), bar, r["worker"] or "")
    outer.add_row(running)
    nxt = Table(title="next runs", expand=True)
    for col in ("job", "schedule", "at (UTC)"):
        nxt.add_column(col)
    for r in board["next_runs"]:
        nxt.add_row(r["job"], r["schedule"], f"{r['next_fire_at']:%Y-%m-%d %H:%M}")
    outer.add_row(nxt)
    failed = Table(title="recent failures", expand=True)
    for col in ("id", "job", "state", "finished (UTC)", "error"):
        failed.add_column(col)
    for r in board["recent_failures"]:
        when = r["finished_at"].strftime("%Y-%m-%d %H:%M") if r["finished_at"] else ""
        failed.add_row(str(r["id"]), r["job"], r["state"], when, f"{r['error_type']}: {r['error_message']}")
    outer.add_row(failed)
    return outer


def status_command(
    watch: Annotated[bool, typer.Option("--watch", help="Refresh every second until Ctrl-C.")] = False,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The scheduler dashboard: counts by state, running jobs with progress, next runs, recent failures."""
    svc = _service(config, database_url)
    if json_:
        print_json(svc.get_scheduler_dashboard())
        return
    if not watch:
        console.print(_render(svc.get_scheduler_dashboard()))
        return
    with Live(_render(svc.get_scheduler_dashboard()), console=console, refresh_per_second=2) as live:
        try:
            while True:
                time.sleep(1)
                live.update(_render(svc.get_scheduler_dashboard()))
        except KeyboardInterrupt:
            return


def simulate_command(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (local).")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (local), included.")],
    workers: Annotated[int, typer.Option("--workers", help="Job processes.")] = 2,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Run every schedule between two dates on a virtual clock, with the real scheduler and workers.

    Use a scratch database: the simulation records every execution it runs.
    """
    svc = _service(config, database_url)
    ok, report = svc.simulate(parse_business_date(start), parse_business_date(end), workers=workers)
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

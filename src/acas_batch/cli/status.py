"""``acas-batch status``: the scheduler dashboard, once or refreshed every second."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, console, print_json, scheduler_service


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
    svc = scheduler_service(config, database_url, job_code=False)
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

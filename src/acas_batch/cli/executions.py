"""``acas-batch run`` and ``acas-batch executions``: run jobs now and act on executions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, print_json, print_table, scheduler_service
from acas_batch.errors import Conflict, ValidationError
from acas_batch.services import RESULT_EXIT_CODES, JobSchedulerService
from acas_batch.services.inputs import ExecutionState, parse_state

app = typer.Typer(help="Executions: list, show, cancel, hold, release, rerun, mark succeeded.", no_args_is_help=True)

ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit trail).")]


service = scheduler_service


def _raise_for(svc: JobSchedulerService, message: str) -> None:
    """Turn a facade's ``(False, message)`` back into its error (and so its exit code)."""
    raise svc.last_error or Conflict(message)


def _params(values: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a VALUE that starts with ``{`` or ``[`` is read as JSON (e.g. ``notify={...}``)."""
    params: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--param {item!r} is not KEY=VALUE")
        if value.lstrip()[:1] in ("{", "["):
            try:
                params[key.strip()] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValidationError(f"--param {key.strip()}: {value!r} is not valid JSON ({exc.msg})") from exc
        else:
            params[key.strip()] = value
    return params


def run_command(
    job: Annotated[str, typer.Argument(help="Job name, e.g. GL_DAILY_CLOSE.")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Parameter KEY=VALUE (repeatable).")] = None,
    business_date: Annotated[
        str | None, typer.Option("--business-date", help="YYYY-MM-DD or YYYYMMDD; default: today (local).")
    ] = None,
    force_reason: Annotated[
        str | None, typer.Option("--force-reason", help="Run again a run key that already succeeded, saying why.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the result; the exit status reflects it.")] = False,
    timeout: Annotated[float | None, typer.Option("--timeout", help="With --wait: give up after SECONDS.")] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> int:
    """Run a job now. Parameters are validated first; with --wait, exit 0 only on success."""
    if timeout is not None and not timeout > 0:
        raise ValidationError(f"--timeout {timeout:g} must be more than 0 seconds")
    svc = service(config, database_url)
    ok, result = svc.execute_job_now(job, _params(param or []), business_date=business_date, force_reason=force_reason)
    if not ok:
        _raise_for(svc, str(result))
    execution_id = int(result)
    if not wait:
        if json_:
            print_json({"execution_id": execution_id})
        else:
            typer.echo(f"execution {execution_id} created")
        return 0
    ok, detail = _wait(svc, execution_id, job, timeout, show=not json_)
    if not ok:
        raise Conflict(str(detail))
    state = ExecutionState(detail["state"])
    if json_:
        print_json(detail)
    else:
        line = f"execution {detail['id']} {state.value}"
        if detail.get("error_message"):
            line += f": {detail['error_type']}: {detail['error_message']}"
        elif detail.get("reason"):
            line += f": {detail['reason']}"
        typer.echo(line)
        if detail.get("output_dir"):
            typer.echo(f"outputs: {detail['output_dir']}")
    return RESULT_EXIT_CODES.get(state, 1)


def _wait(svc: JobSchedulerService, execution_id: int, job: str, timeout: float | None, *, show: bool) -> Any:
    """Wait for the run, saying on stderr (on a terminal: one live line) what it waits for and how long."""
    if not show:
        return svc.wait_for(execution_id, timeout=timeout)
    from rich.console import Console, Group
    from rich.live import Live
    from rich.progress_bar import ProgressBar
    from rich.text import Text

    err = Console(stderr=True)
    last: list[str] = [""]

    def line(status: dict[str, Any]) -> str:
        text = f"waiting {status['waited_seconds']:.0f}s for execution {status['id']} ({job}): {status['state']}"
        if status["attempt"] and status["attempt"] > 1:
            text += f", attempt {status['attempt']}"
        if status["waiting_for"]:
            text += "; upstream " + ", ".join(f"{u['job']} {u['state']}" for u in status["waiting_for"])
        return text

    if not err.is_terminal:
        # In a log or a pipe: a line only when what is awaited changes, not every second.
        def note(status: dict[str, Any]) -> None:
            key = line(status).split(": ", 1)[1]
            if key != last[0]:
                last[0] = key
                typer.echo(line(status), err=True)

        return svc.wait_for(execution_id, timeout=timeout, on_poll=note)
    with Live(Text(""), console=err, transient=True, refresh_per_second=4) as live:

        def show_status(status: dict[str, Any]) -> None:
            done, total = status["progress"] or (None, None)
            parts: list[Any] = [Text(line(status))]
            if total:
                parts.append(ProgressBar(total=total, completed=done or 0, width=40))
            live.update(Group(*parts))

        return svc.wait_for(execution_id, timeout=timeout, on_poll=show_status)


@app.command("list")
def list_cmd(
    state: Annotated[str | None, typer.Option("--state", help="Only this state (queued, running, failed ...).")] = None,
    job: Annotated[str | None, typer.Option("--job", help="Only this job.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List executions, newest first."""
    parse_state(state)
    svc = service(config, database_url, job_code=False)
    ok, rows = svc.list_executions(state=state, job=job, limit=limit)
    if not ok:
        _raise_for(svc, str(rows))
    if json_:
        print_json(rows)
        return
    # At 80 columns: the job's name whole, times without the year, the duration, the error wrapped.
    print_table(
        None,
        ["id", "job", "state", "date", "started (UTC)", "took", "error / reason"],
        [
            [
                r["id"],
                r["job"],
                r["state"] + (f" #{r['attempt']}" if r["attempt"] and r["attempt"] > 1 else ""),
                r["business_date"],
                r["started_at"] and r["started_at"].strftime("%m-%d %H:%M"),
                _took(r["started_at"], r["finished_at"]),
                r["error_message"] or r["reason"] or "",
            ]
            for r in rows
        ],
    )


def _took(started: datetime | None, finished: datetime | None) -> str:
    if started is None or finished is None:
        return ""
    seconds = max(0.0, (finished - started).total_seconds())
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


@app.command("show")
def show_cmd(
    execution_id: Annotated[int, typer.Argument(help="Execution id.")],
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show one execution: state, timings, result, attempts and log lines."""
    svc = service(config, database_url, job_code=False)
    ok, detail = svc.get_execution(execution_id)
    if not ok:
        _raise_for(svc, str(detail))
    if json_:
        print_json(detail)
        return
    for key in (
        "id",
        "job",
        "state",
        "business_date",
        "run_key",
        "trigger",
        "attempt",
        "started_at",
        "finished_at",
        "duration_ms",
        "progress",
        "error_type",
        "error_message",
        "reason",
        "result",
        "output_dir",
    ):
        if detail.get(key) is not None:
            typer.echo(f"{key:>14}: {detail[key]}")
    typer.echo(
        "      attempts: "
        + ", ".join(f"attempt {a['attempt']} {a['state']} (execution {a['id']})" for a in detail["attempts"])
    )
    for line in detail["logs"]:
        typer.echo(f"  {line['at']:%H:%M:%S} {line['level']:<8} {line['event']}: {line['message']}")


def _act(svc: JobSchedulerService, result: tuple[bool, Any], json_: bool) -> None:
    ok, value = result
    if not ok:
        _raise_for(svc, str(value))
    if json_:
        print_json(value)
    else:
        typer.echo(f"execution {value['id']} {value['state']}")


def _state_command(name: str, action: str, summary: str) -> None:
    """Register ``executions <name> ID [--reason]``: one operator action on one execution."""

    def command(
        execution_id: Annotated[int, typer.Argument(help="Execution id.")],
        reason: ReasonOpt = None,
        config: ConfigOpt = None,
        database_url: DatabaseUrlOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        svc = service(config, database_url)
        _act(svc, getattr(svc, action)(execution_id, reason), json_)

    command.__doc__ = summary
    app.command(name)(command)


_state_command("cancel", "cancel_execution", "Cancel an execution; a running one is terminated by its worker.")
_state_command("hold", "hold_execution", "Hold an execution that has not started; release puts it back.")
_state_command("release", "release_execution", "Release a held execution to the state it was held from.")


@app.command("rerun")
def rerun_cmd(
    execution_id: Annotated[int, typer.Argument(help="Execution id of a finished run.")],
    reason: ReasonOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Rerun a run key that succeeded (needs --reason).")] = False,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Run a finished execution's work again as a new execution."""
    svc = service(config, database_url)
    _act(svc, svc.rerun_execution(execution_id, reason, force=force), json_)


@app.command("mark-succeeded")
def mark_succeeded_cmd(
    execution_id: Annotated[int, typer.Argument(help="Execution id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the work counts as done (required).")],
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Record that an execution's work was done by other means; dependants may proceed."""
    svc = service(config, database_url)
    _act(svc, svc.mark_succeeded(execution_id, reason), json_)


@app.command("impact")
def impact_cmd(
    execution_id: Annotated[int, typer.Argument(help="Execution id (usually a failed one).")],
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """What this execution's failure blocks: downstream jobs and their waiting executions."""
    svc = service(config, database_url)
    ok, impact = svc.get_dependency_impact(execution_id)
    if not ok:
        _raise_for(svc, str(impact))
    if json_:
        print_json(impact)
        return
    typer.echo(f"execution {impact['execution_id']} ({impact['job_name']}) blocks:")
    typer.echo("  jobs: " + (", ".join(impact["blocked_jobs"]) or "none"))
    typer.echo("  executions: " + (", ".join(str(i) for i in impact["blocked_executions"]) or "none"))


__all__ = ["app", "run_command"]

"""``acas-batch thresholds``: the limits the monitoring rules read, per job, module or globally."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, context_from, engine_from, print_json, print_table
from acas_batch.errors import ValidationError
from acas_batch.services.alerting import clock_now, threshold_delete, threshold_set, thresholds_list

app = typer.Typer(help="Thresholds: list, set and delete the limits alerts are raised at.", no_args_is_help=True)

ScopeOpt = Annotated[str, typer.Option("--scope", help="'*' (global), 'module:GL' or 'job:NAME'.")]
KindArg = Annotated[
    str,
    typer.Argument(
        help="max_runtime, min_runtime, error_rate, late_start, consecutive_failures, "
        "disk_free_pct, memory_used_pct, db_size_mb or db_connections."
    ),
]


@app.command("list")
def list_cmd(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Every threshold, and the built-in defaults that apply where none is set."""
    settings, engine, actor = context_from(config, database_url)
    rows = thresholds_list(engine, actor=actor, now=clock_now(settings))
    if json_:
        print_json(rows)
        return
    print_table(
        f"{len(rows)} thresholds",
        ["scope", "kind", "warning", "critical", "params", "description"],
        [(r["scope"], r["kind"], r["warning"], r["critical"], json.dumps(r["params"]), r["description"]) for r in rows],
    )


@app.command("set")
def set_cmd(
    kind: KindArg,
    scope: ScopeOpt = "*",
    warning: Annotated[float | None, typer.Option("--warning", help="The warning limit, in the kind's unit.")] = None,
    critical: Annotated[float | None, typer.Option("--critical", help="The critical limit.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="NAME=VALUE: factor, percentile, history, min_history, runs, window_hours."),
    ] = None,
    description: Annotated[str, typer.Option("--description", help="Why this limit.")] = "",
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create or replace a threshold (audited)."""
    params: dict[str, Any] = {}
    for item in param or []:
        name, sep, value = item.partition("=")
        try:
            params[name.strip()] = float(value)
        except ValueError:
            raise ValidationError(f"--param {item!r} is not NAME=NUMBER") from None
        if not sep:
            raise ValidationError(f"--param {item!r} is not NAME=NUMBER")
    settings, engine = engine_from(config, database_url)
    row = threshold_set(engine, scope=scope, kind=kind, warning=warning, critical=critical, params=params,
                        description=description, now=clock_now(settings))  # fmt: skip
    if json_:
        print_json(row)
    else:
        typer.echo(f"threshold {row['kind']} for {row['scope']}: warning {row['warning']}, critical {row['critical']}"
                   + (f", {json.dumps(row['params'])}" if row["params"] else ""))  # fmt: skip


@app.command("delete")
def delete_cmd(
    kind: KindArg,
    scope: ScopeOpt = "*",
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Delete a threshold: the wider scope, or the built-in default, applies again (audited)."""
    settings, engine = engine_from(config, database_url)
    gone = threshold_delete(engine, scope=scope, kind=kind, now=clock_now(settings))
    if json_:
        print_json(gone)
    else:
        typer.echo(f"threshold {gone['kind']} for {gone['scope']} deleted")

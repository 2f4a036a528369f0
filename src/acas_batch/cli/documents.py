"""``acas-batch documents``: the statements, reminders and remittance advices runs made, and how each was sent."""

from __future__ import annotations

from typing import Annotated

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, engine_from, print_json, print_table
from acas_batch.services.alerting import clock_now
from acas_batch.services.documents import documents_list

app = typer.Typer(help="Documents for customers and suppliers: how each was e-mailed.", no_args_is_help=True)


@app.command("list")
def list_cmd(
    execution: Annotated[int | None, typer.Option("--execution", help="Only the documents this run made.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="statement, reminder or remittance.")] = None,
    party: Annotated[str | None, typer.Option("--party", help="Only this customer's or supplier's code.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many of the newest documents.")] = 200,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Documents newest first: e-mailed (when), queued (attempts, last error), failed, or not e-mailed and why."""
    settings, engine = engine_from(config, database_url)
    rows = documents_list(engine, execution_id=execution, kind=kind, party=party, limit=limit, now=clock_now(settings))
    if json_:
        print_json(rows)
        return
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    typer.echo(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no documents")
    print_table(
        f"{len(rows)} documents",
        ["id", "kind", "run", "party", "to", "status", "sent", "last error"],
        [
            (
                r["id"],
                r["kind"],
                r["execution_id"],
                r["party_code"],
                r["email_to"] or "",
                r["status"],
                r["delivered_at"] or "",
                r["last_error"] or "",
            )
            for r in rows
        ],
    )

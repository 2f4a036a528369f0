"""``acas-batch company``: the company settings the jobs read (VAT scheme and stagger)."""

from __future__ import annotations

from typing import Annotated

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, actor_from, engine_from, print_json
from acas_batch.clock import SystemClock
from acas_batch.services.ledger import CompanyVat, change_company_vat, read_company_vat

app = typer.Typer(help="The company's settings: VAT scheme and VAT stagger.", no_args_is_help=True)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _echo(vat: CompanyVat) -> None:
    ends = "/".join(_MONTHS[m - 1] for m in vat.quarter_end_months)
    typer.echo(f"{vat.name}: VAT {vat.registration or 'not registered'}, {vat.scheme} scheme")
    typer.echo(f"VAT stagger {vat.stagger}: quarters end {ends}")


@app.command("show")
def show_cmd(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Show the company's VAT settings."""
    _, engine = engine_from(config, database_url)
    vat = read_company_vat(engine)
    if json_:
        print_json(vat.as_dict())
    else:
        _echo(vat)


@app.command("vat")
def vat_cmd(
    stagger: Annotated[
        int | None,
        typer.Option(
            "--stagger",
            help="HMRC VAT stagger: 1 (quarters end Mar/Jun/Sep/Dec), 2 (Apr/Jul/Oct/Jan) or 3 (May/Aug/Nov/Feb). "
            "The VAT return jobs' quarter-end schedules move with it.",
            show_default=False,
        ),
    ] = None,
    scheme: Annotated[str | None, typer.Option("--scheme", help="accrual or cash.", show_default=False)] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change the company's VAT stagger and/or scheme."""
    settings, engine = engine_from(config, database_url)
    vat, moved = change_company_vat(
        engine, now=SystemClock().now(), actor=actor_from(settings, engine), stagger=stagger, scheme=scheme
    )
    if json_:
        print_json(vat.as_dict() | {"schedules_moved": moved})
    else:
        _echo(vat)
        if moved:
            typer.echo(f"{len(moved)} VAT return schedule(s) moved to the new quarter ends")

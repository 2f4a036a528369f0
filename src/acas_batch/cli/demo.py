"""``acas-batch demo``: build the deterministic demo company."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, context_from, err_console, print_json
from acas_batch.clock import utcnow
from acas_batch.services.demo import DemoProgress, DemoSize, generate_demo

app = typer.Typer(help="Demo data: a deterministic UK wholesaler with two years of trading.", no_args_is_help=True)


def _parse_date(value: str | None, timezone: str) -> date:
    if value is None:
        return datetime.now(ZoneInfo(timezone)).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@app.command("generate")
def generate_cmd(
    *,
    scale: Annotated[
        float | None,
        typer.Option(
            "--scale",
            envvar="ACAS_DEMO_SCALE",
            help="Size in one number: 1 = 40 customers (~1,800 invoices); 650 = over 1 million invoices and 10 million"
            " journal lines.",
        ),
    ] = None,
    customers: Annotated[
        int | None, typer.Option("--customers", envvar="ACAS_DEMO_CUSTOMERS", help="Number of customers.")
    ] = None,
    suppliers: Annotated[
        int | None, typer.Option("--suppliers", envvar="ACAS_DEMO_SUPPLIERS", help="Number of suppliers.")
    ] = None,
    items: Annotated[
        int | None, typer.Option("--items", envvar="ACAS_DEMO_ITEMS", help="Number of stock items.")
    ] = None,
    months: Annotated[int, typer.Option("--months", envvar="ACAS_DEMO_MONTHS", help="Months of history.")] = 24,
    end_date: Annotated[
        str | None,
        typer.Option(
            "--end-date", envvar="ACAS_DEMO_END_DATE", help="Last day of the history, YYYY-MM-DD. Default: today."
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", envvar="ACAS_DEMO_SEED", help="Random seed: the same seed gives the same company.")
    ] = 1,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing (and succeed) if the database already holds a ledger.")
    ] = False,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Generate the demo company into an empty ledger (run `acas-batch init` first)."""
    base = DemoSize.scaled(scale if scale is not None else 1.0, months)
    size = DemoSize(
        customers=customers if customers is not None else base.customers,
        suppliers=suppliers if suppliers is not None else base.suppliers,
        items=items if items is not None else base.items,
        months=months,
    )
    settings, engine, actor = context_from(config, database_url)
    end = _parse_date(end_date, settings.timezone)
    with Progress(
        TextColumn("[bold]demo[/bold] {task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]:>12,} rows"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=json_,
    ) as bar:
        task = bar.add_task("", total=1, rows=0)

        def on_progress(p: DemoProgress) -> None:
            bar.update(
                task, total=p.days_total, completed=p.days_done, description=p.day.isoformat(), rows=p.rows_written
            )

        report = generate_demo(
            engine, size, end=end, seed=seed, actor=actor, now=utcnow(), if_empty=if_empty, progress=on_progress
        )
    if report is None:
        if json_:
            print_json({"generated": False, "reason": "the database already holds a ledger"})
        else:
            typer.echo("demo company not generated: the database already holds a ledger")
        return
    data = report.as_dict()
    if json_:
        print_json({"generated": True} | data)
    else:
        typer.echo(
            f"demo company: {size.customers} customers, {size.suppliers} suppliers, {size.items} items,"
            f" {report.start} to {report.end}: {data['sales_invoices']:,} sales invoices,"
            f" {data['journal_lines']:,} journal lines, {report.total_rows:,} rows"
            f" in {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s)"
        )

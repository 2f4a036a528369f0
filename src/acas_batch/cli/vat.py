"""``acas-batch vat``: the VAT returns, and recording their payment to (or repayment by) HMRC."""

from __future__ import annotations

from typing import Annotated

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, JsonOpt, actor_from, engine_from, print_json, print_table
from acas_batch.clock import SystemClock
from acas_batch.services.inputs import parse_day
from acas_batch.services.ledger import Settlement, direction, format_pence, settle_vat, vat_return_list

app = typer.Typer(help="VAT returns: list them, record their settlement with HMRC.", no_args_is_help=True)

COLUMNS = ("period", "start", "end", "status", "box 3", "box 4", "net (box 5)", "paid on", "journal")


@app.command("returns")
def returns_cmd(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, json_: JsonOpt = False) -> None:
    """Every VAT return: quarter, status, boxes 3 and 4, net VAT to pay or reclaim, and its settlement."""
    _, engine = engine_from(config, database_url)
    rows = vat_return_list(engine)
    if json_:
        print_json({"returns": [r.as_dict() for r in rows]})
        return
    print_table(
        "VAT returns",
        COLUMNS,
        [
            (
                r.period_key,
                r.start_date.isoformat(),
                r.end_date.isoformat(),
                r.status,
                format_pence(r.box3_pence),
                format_pence(r.box4_pence),
                f"{format_pence(r.net_pence)} {direction(r.net_pence)}",
                r.paid_on.isoformat() if r.paid_on else "",
                r.payment_journal_id,
            )
            for r in rows
        ],
    )


def _describe(done: Settlement) -> str:
    amount = format_pence(abs(done.net_pence))
    bank = f"{done.bank_code or 'bank'} ({done.bank_account_code})" if done.bank_account_code else None
    if done.net_pence > 0:
        money = f"{amount} paid to HMRC" + (f" from {bank}" if bank else "")
    elif done.net_pence < 0:
        money = f"{amount} repaid by HMRC" + (f" into {bank}" if bank else "")
    else:
        money = "nil return, nothing paid"
    if done.journal_id is None:
        how = "no journal"
    elif done.posted:
        how = f"journal {done.journal_id} posted (pending until GL_DAILY_CLOSE)"
    else:
        how = f"by existing journal {done.journal_id}"
    return f"VAT return {done.period_key} settled on {done.paid_on.isoformat()}: {money}; {how}"


@app.command("settle")
def settle_cmd(
    period_key: Annotated[str, typer.Argument(help="HMRC's period key of the return, e.g. 26C2.", show_default=False)],
    on: Annotated[
        str,
        typer.Option("--on", help="The day of the payment (YYYY-MM-DD or YYYYMMDD), after the quarter's end."),
    ],
    bank: Annotated[
        str | None,
        typer.Option("--bank", help="Code of the bank account paid from / into. Default: the first bank account."),
    ] = None,
    journal: Annotated[
        int | None,
        typer.Option(
            "--journal",
            help="Record this existing journal (dated --on, moving exactly box 3 out of VAT output and box 4 "
            "out of VAT input) as the payment, instead of posting one.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Record a submitted return as paid to (or repaid by) HMRC: posts the payment, or marks an existing journal."""
    day = parse_day("--on", on)
    settings, engine = engine_from(config, database_url)
    done = settle_vat(
        engine,
        period_key,
        on=day,
        now=SystemClock().now(),
        actor=actor_from(settings, engine),
        bank_code=bank,
        journal_id=journal,
    )
    if json_:
        print_json(done.as_dict())
    else:
        typer.echo(_describe(done))

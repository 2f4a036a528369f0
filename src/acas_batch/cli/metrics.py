"""``acas-batch metrics``: the Prometheus text exposition, for a textfile collector or a look."""

from __future__ import annotations

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, engine_from


def metrics_command(config: ConfigOpt = None, database_url: DatabaseUrlOpt = None) -> None:
    """Print the Prometheus metrics: runs, durations, queue, scheduler's last tick, each deadline's slack."""
    from acas_batch.services.alerting import clock_now
    from acas_batch.services.metrics import exposition

    settings, engine = engine_from(config, database_url)
    typer.echo(exposition(engine, now=clock_now(settings), settings=settings), nl=False)

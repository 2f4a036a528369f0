"""``acas-batch web start``: the dashboard and REST API alone (``scheduler start`` serves it too)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from acas_batch.cli.common import ConfigOpt, DatabaseUrlOpt, settings_from
from acas_batch.config import Settings
from acas_batch.web.server import WebServer, build_server

app = typer.Typer(help="The web dashboard and REST API.", no_args_is_help=True)

HostOpt = Annotated[
    str | None, typer.Option("--host", help="Address to listen on. Default: ACAS_HTTP_HOST or 127.0.0.1.")
]
PortOpt = Annotated[int | None, typer.Option("--port", help="Port. Default: ACAS_HTTP_PORT or 8000.")]
InsecureOpt = Annotated[
    bool, typer.Option("--insecure", help="Allow a non-loopback address without TLS (clear text on the network).")
]
CertOpt = Annotated[Path | None, typer.Option("--certfile", help="TLS certificate (PEM).", envvar="ACAS_TLS_CERTFILE")]
KeyOpt = Annotated[Path | None, typer.Option("--keyfile", help="TLS private key (PEM).", envvar="ACAS_TLS_KEYFILE")]


def announce(server: WebServer) -> None:
    """Print where the dashboard is and how the first administrator signs in."""
    typer.echo(f"dashboard: {server.url}  (sign in as {server.username} / {server.password})", err=True)


def make_server(
    settings: Settings,
    host: str | None,
    port: int | None,
    insecure: bool,
    certfile: Path | None,
    keyfile: Path | None,
) -> WebServer:
    return build_server(settings, host=host, port=port, insecure=insecure, certfile=certfile, keyfile=keyfile)


@app.command("start")
def web_start(
    host: HostOpt = None,
    port: PortOpt = None,
    insecure: InsecureOpt = False,
    certfile: CertOpt = None,
    keyfile: KeyOpt = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Serve the dashboard and the REST API in the foreground until Ctrl-C (loopback unless told)."""
    server = make_server(settings_from(config, database_url), host, port, insecure, certfile, keyfile)
    announce(server)
    server.run()

"""Serving the web application with uvicorn, on loopback unless told otherwise.

A non-loopback address is refused unless TLS is configured (certificate and key) or the
operator says ``--insecure``: sign-in cookies and API tokens must not cross a network in
clear text by accident.
"""

from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from acas_batch.clock import Clock
from acas_batch.config import Settings
from acas_batch.errors import ConfigError
from acas_batch.web.app import create_app
from acas_batch.web.auth import Identities, first_admin


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listen(host: str, *, tls: bool, insecure: bool) -> None:
    """Refuse a non-loopback address without TLS or an explicit ``--insecure``.

    Raises:
        ConfigError: naming the address and the two ways out.
    """
    if not is_loopback(host) and not tls and not insecure:
        raise ConfigError(
            f"refusing to serve the dashboard on {host} without TLS: give --certfile and --keyfile, "
            "or --insecure to accept clear text on the network"
        )


@dataclass(frozen=True)
class WebServer:
    """A configured server; ``run`` blocks, ``start_thread`` runs it beside the scheduler."""

    server: uvicorn.Server
    url: str
    username: str
    password: str

    def run(self) -> None:
        self.server.run()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.server.run, name="acas-web", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.server.should_exit = True


def build_server(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    insecure: bool = False,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    clock: Clock | None = None,
) -> WebServer:
    """A uvicorn server for the dashboard and API, with the first administrator ready to sign in.

    Raises:
        ConfigError: a non-loopback address without TLS or ``insecure``; half a TLS pair.
    """
    host = host or settings.http_host
    port = port if port is not None else settings.http_port
    if (certfile is None) != (keyfile is None):
        raise ConfigError("TLS needs both --certfile and --keyfile")
    tls = certfile is not None
    check_listen(host, tls=tls, insecure=insecure)
    identities = Identities()
    username, password = first_admin(identities, settings.data_dir)
    app = create_app(settings, clock=clock, identities=identities, tls=tls)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        timeout_graceful_shutdown=2,
    )
    shown = f"[{host}]" if ":" in host else host
    return WebServer(uvicorn.Server(config), f"{'https' if tls else 'http'}://{shown}:{port}", username, password)

"""Faults on demand for the fault tests: a process's database connections cut, a server restarted,
the mail server stopped and started again."""

from __future__ import annotations

import os
import socket
import subprocess
from email import message_from_bytes, policy
from typing import Any

import psutil
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from acas_batch.db import make_engine


def client_ports(pid: int, server_port: int = 5432) -> set[int]:
    """The local TCP ports of the process's connections to PostgreSQL (its children excluded)."""
    return {
        c.laddr.port
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.raddr and c.raddr.port == server_port and c.status == psutil.CONN_ESTABLISHED
    }


def terminate_backends(db_url: str, pid: int) -> int:
    """``pg_terminate_backend`` every server process serving process ``pid``; returns how many."""
    ports = client_ports(pid, make_url(db_url).port or 5432)
    if not ports:
        return 0
    admin: Engine = make_engine(db_url)
    try:
        with admin.connect() as conn:
            cut = conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND client_port = ANY(:ports) AND pid <> pg_backend_pid()"
                ),
                {"ports": sorted(ports)},
            ).scalar_one()
            conn.commit()
    finally:
        admin.dispose()
    return int(cut)


class PrivateServer:
    """A PostgreSQL cluster made for the fault tests (``pg_createcluster``), restartable at will."""

    VERSION = "15"

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.port = port

    @classmethod
    def create(cls) -> PrivateServer:
        name = f"acasfaults{os.getpid()}"
        with socket.socket() as s:  # a free port, taken back at once for the server
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        subprocess.run(
            ["pg_createcluster", cls.VERSION, name, "-p", str(port), "--", "--auth=trust"],
            check=True,
            capture_output=True,
        )
        server = cls(name, port)
        server.ctl("start")
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c", "CREATE DATABASE test"],
            check=True,
            capture_output=True,
        )
        return server

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/test"

    def ctl(self, action: str) -> None:
        """``start``, ``stop`` or ``restart`` (fast shutdown: every connection is cut)."""
        mode = [] if action == "start" else ["-m", "fast"]
        subprocess.run(["pg_ctlcluster", self.VERSION, self.name, action, *mode], check=True, capture_output=True)

    def drop(self) -> None:
        subprocess.run(["pg_dropcluster", "--stop", self.VERSION, self.name], check=False, capture_output=True)


class MailServer:
    """A real SMTP server on a local port that can be stopped and started again on the same port.

    It keeps the outbox key (``X-ACAS-Outbox-Key``) of every message it accepted, in order.
    """

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.keys: list[str] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        message = message_from_bytes(content, policy=policy.default)
        self.keys.append(str(message["X-ACAS-Outbox-Key"]).strip())
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

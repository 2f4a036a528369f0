"""Fixtures shared by the tests of this folder: ledger posting helpers, settings and a real SMTP server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.config import Settings, load_settings
from tests.books import Books


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    """Posting helpers over one session on the test database."""
    with Session(engine, expire_on_commit=False) as session:
        yield Books.open(session)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings for the test database, outputs under the test's own folder, no environment read."""
    return load_settings(environ={}, database_url=db_url, data_dir=tmp_path)


class Inbox:
    """What a local SMTP server received: each message, and the envelope recipients it was sent to."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.envelopes: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free local port, and its inbox."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()

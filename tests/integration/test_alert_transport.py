"""Alert transport: TLS to the mail server with the certificate verified, no credentials in clear,
and webhooks to a local HTTP server. Certificates are made by the test, never shipped."""

from __future__ import annotations

import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from acas_batch.errors import ConfigError
from acas_batch.monitoring import EmailNotifier, SmtpConfig, SmtpTls, WebhookNotifier
from acas_batch.monitoring.notify import DeliveryError
from tests.integration.conftest import Inbox, free_port
from tests.support.certificates import self_signed


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by itself: the test's own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acas-test-mail")])
    now = datetime.now(UTC)
    cert = self_signed(
        key,
        name,
        valid_from=now - timedelta(minutes=5),
        valid_until=now + timedelta(days=1),
        extensions=[
            (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False),
            (x509.BasicConstraints(ca=True, path_length=None), True),
        ],
    )
    cert_path, key_path = folder / "mail.pem", folder / "mail.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    return _self_signed(tmp_path)


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


@pytest.fixture
def starttls_smtp(tls_files: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    """A local SMTP server that requires STARTTLS before mail."""
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=_server_context(*tls_files), require_starttls=True
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _mail() -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = "test"
    msg["From"] = "batch@acme.test"
    msg["To"] = "ops@acme.test"
    msg.set_content("hello")
    return msg


def test_starttls_fails_without_the_ca_and_works_with_it(
    starttls_smtp: tuple[Inbox, int], tls_files: tuple[Path, Path]
) -> None:
    inbox, port = starttls_smtp
    cert, _ = tls_files
    # Given the default (STARTTLS, verified against the system's CAs), the self-signed server is refused
    unverified = EmailNotifier(SmtpConfig("127.0.0.1", port, "batch@acme.test", timeout=5))
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        unverified.deliver(_mail(), ["ops@acme.test"])
    assert inbox.messages == []
    # When the installation names the CA that signed it, the mail goes
    verified = EmailNotifier(SmtpConfig("127.0.0.1", port, "batch@acme.test", ca_file=str(cert), timeout=5))
    verified.deliver(_mail(), ["ops@acme.test"])
    assert len(inbox.messages) == 1


def test_implicit_tls_verifies_the_certificate(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=_server_context(cert, key))
    controller.start()
    try:
        cfg = SmtpConfig("127.0.0.1", port, "batch@acme.test", tls=SmtpTls.IMPLICIT, timeout=5)
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            EmailNotifier(cfg).deliver(_mail(), ["ops@acme.test"])
        ok = SmtpConfig("127.0.0.1", port, "batch@acme.test", tls=SmtpTls.IMPLICIT, ca_file=str(cert), timeout=5)
        EmailNotifier(ok).deliver(_mail(), ["ops@acme.test"])
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_a_server_without_starttls_is_refused_not_downgraded(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp  # a plain server: offers no STARTTLS
    with pytest.raises(DeliveryError, match="STARTTLS"):
        EmailNotifier(SmtpConfig("127.0.0.1", port, "batch@acme.test", timeout=5)).deliver(_mail(), ["o@acme.test"])
    assert inbox.messages == []


def test_credentials_are_never_sent_over_a_plain_connection(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    cfg = SmtpConfig("127.0.0.1", port, "b@acme.test", tls=SmtpTls.NONE, username="batch", password="s3cret")
    with pytest.raises(ConfigError, match="refusing to send SMTP credentials over an unencrypted connection"):
        EmailNotifier(cfg).deliver(_mail(), ["ops@acme.test"])
    assert inbox.messages == []


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[type[_Hook], str]]:
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def test_a_webhook_gets_the_alert_text_and_a_refusal_is_reported(webhook: tuple[type[_Hook], str]) -> None:
    handler, url = webhook
    WebhookNotifier(timeout=5).post(url, "[ACAS batch CRITICAL] GL_DAILY_CLOSE failed", "attempt 3 of 3")
    assert handler.received == [
        {"text": "[ACAS batch CRITICAL] GL_DAILY_CLOSE failed\n\nattempt 3 of 3",
         "subject": "[ACAS batch CRITICAL] GL_DAILY_CLOSE failed"}
    ]  # fmt: skip
    handler.status = 404
    with pytest.raises(DeliveryError, match="404") as refused:
        WebhookNotifier(timeout=5).post(url, "s", "b")
    assert refused.value.permanent

"""Transports: e-mail over SMTP with TLS (verified by default) and webhooks over HTTP(S).

A transport sends one message and raises on failure; it never retries or sleeps itself: the
outbox (:mod:`acas_batch.monitoring.outbox`) owns retries, backoff and the record of each try.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from enum import StrEnum
from pathlib import Path

from acas_batch.config import Settings
from acas_batch.errors import ConfigError
from acas_batch.masking import mask_text
from acas_batch.models import BatchAlert


class SmtpTls(StrEnum):
    """How the connection to the mail server is protected."""

    STARTTLS = "starttls"  # plain connect, then STARTTLS (port 587); refused if the server does not offer it
    IMPLICIT = "implicit"  # TLS from the first byte (port 465)
    NONE = "none"  # no TLS: a local relay or a test server only; credentials are never sent over it


class DeliveryError(Exception):
    """A message was not accepted; ``permanent`` when trying again cannot help (a refused address);
    ``final`` when it must not be tried again at all (its attached document changed)."""

    def __init__(self, message: str, *, permanent: bool = False, final: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent or final
        self.final = final  # no further attempt may be made (a document that changed since it was queued)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send mail."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...] = ()
    tls: SmtpTls = SmtpTls.STARTTLS
    ca_file: str | None = None
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    def tls_context(self) -> ssl.SSLContext:
        """A client context that verifies the server's certificate and name (the system's CAs,
        or ``ca_file`` when set)."""
        return ssl.create_default_context(cafile=self.ca_file)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class EmailNotifier:
    """Hands messages to an SMTP server over a verified TLS connection (unless told ``none``)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._keep = False
        self._smtp: smtplib.SMTP | None = None

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Send the messages delivered inside over one connection (a job's documents): opened
        at the first, dropped after any error (the next message opens a new one), closed at the end."""
        self._keep = True
        try:
            yield
        finally:
            self._keep = False
            self._drop()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            with suppress(OSError, smtplib.SMTPException):
                smtp.quit()
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        smtp: smtplib.SMTP
        if cfg.tls is SmtpTls.IMPLICIT:
            smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=cfg.tls_context())
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        try:
            if cfg.tls is SmtpTls.STARTTLS:
                # smtplib raises SMTPNotSupportedError when STARTTLS is not offered: never a silent downgrade.
                smtp.starttls(context=cfg.tls_context())
            if cfg.username and cfg.password:
                smtp.login(cfg.username, cfg.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def compose(self, alerts: Sequence[BatchAlert]) -> EmailMessage:
        """One message listing ``alerts`` (for callers that send alerts directly)."""
        worst = "CRITICAL" if any(a.severity.value == "critical" for a in alerts) else "WARNING"
        msg = EmailMessage()
        first = alerts[0].title if len(alerts) == 1 else f"{len(alerts)} batch alerts"
        msg["Subject"] = f"[ACAS batch {worst}] {first}"
        msg["From"] = self.config.sender
        msg["To"] = ", ".join(self.config.recipients)
        msg["Date"] = format_datetime(alerts[0].last_raised_at)
        msg["Message-ID"] = make_msgid(domain="acas-batch")
        lines = []
        for a in alerts:
            lines.append(f"{a.severity.value.upper()}: {a.title}")
            lines.append(f"  {mask_text(a.message)}")
            lines.append(f"  first seen {a.first_raised_at.isoformat()}, seen {a.occurrences} time(s); alert #{a.id}")
            lines.append("")
        msg.set_content("\n".join(lines))
        return msg

    def deliver(self, msg: EmailMessage, recipients: Sequence[str]) -> None:
        """Hand ``msg`` to the server for ``recipients``, once.

        Raises:
            DeliveryError: not accepted (``permanent`` for a refusal a retry cannot change).
            ConfigError: credentials configured over a connection without TLS.
        """
        cfg = self.config
        if cfg.username and cfg.tls is SmtpTls.NONE:
            raise ConfigError(
                "refusing to send SMTP credentials over an unencrypted connection "
                "(set ACAS_SMTP_TLS to starttls or implicit)"
            )
        try:
            if not self._keep:
                with self._connect() as smtp:
                    smtp.send_message(msg, to_addrs=list(recipients))
                return
            if self._smtp is None:
                self._smtp = self._connect()
            try:
                self._smtp.send_message(msg, to_addrs=list(recipients))
            except BaseException:
                self._drop()  # whatever the server's state now, the next message starts afresh
                raise
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(_describe(exc), permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(_describe(exc), permanent=500 <= exc.smtp_code < 600) from exc
        except (OSError, smtplib.SMTPException) as exc:  # ssl.SSLError is an OSError
            raise DeliveryError(_describe(exc)) from exc


class WebhookNotifier:
    """Posts ``{"text": ...}`` (the shape Slack and Teams incoming webhooks accept) to a URL."""

    def __init__(self, *, timeout: float = 10.0, ca_file: str | None = None) -> None:
        self.timeout = timeout
        self.ca_file = ca_file

    def post(self, url: str, subject: str, body: str) -> None:
        """Raises:
        DeliveryError: the server did not answer 2xx (4xx other than 408/429 is permanent)."""
        if not url.startswith(("https://", "http://")):
            raise DeliveryError(f"webhook URL {url!r} is not http(s)", permanent=True)
        data = json.dumps({"text": f"{subject}\n\n{body}", "subject": subject}).encode()
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
        context = ssl.create_default_context(cafile=self.ca_file) if url.startswith("https://") else None
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=context) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise DeliveryError(f"webhook answered {exc.code} {exc.reason}", permanent=permanent) from exc
        except (OSError, urllib.error.URLError) as exc:
            raise DeliveryError(_describe(exc)) from exc


def smtp_config(settings: Settings) -> SmtpConfig:
    """The SMTP options of ``settings``."""
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        recipients=settings.alert_recipients,
        tls=SmtpTls(settings.smtp_tls),
        ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        username=settings.smtp_username,
        password=settings.smtp_password,
    )


def notifier_for(settings: Settings) -> EmailNotifier:
    """The notifier the settings' SMTP options describe (alert recipients may be none: run
    notices name their own)."""
    return EmailNotifier(smtp_config(settings))


def smime_certificate_path(folder: Path | None, address: str) -> Path | None:
    """The PEM certificate configured for ``address`` (``<folder>/<address>.pem``), if any."""
    if folder is None:
        return None
    path = folder / f"{address.strip().lower()}.pem"
    return path if path.is_file() else None

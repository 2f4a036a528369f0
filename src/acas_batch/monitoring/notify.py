"""Notifiers: e-mail over real SMTP."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from acas_batch.config import Settings
from acas_batch.masking import mask_text
from acas_batch.models import BatchAlert


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send mail."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0
    attempts: int = 3


class EmailNotifier:
    """Sends one e-mail per batch of alerts, retrying transient SMTP failures."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def compose(self, alerts: Sequence[BatchAlert]) -> EmailMessage:
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

    def send(self, alerts: Sequence[BatchAlert]) -> bool:
        """Send the alerts to the alert recipients; True when the server accepted the message."""
        if not alerts or not self.config.recipients:
            return False
        self.deliver(self.compose(alerts), self.config.recipients)
        return True

    def deliver(self, msg: EmailMessage, recipients: Sequence[str]) -> None:
        """Hand ``msg`` to the SMTP server for ``recipients``, retrying transient failures with backoff.

        Raises:
            OSError, smtplib.SMTPException: when the last attempt fails.
        """
        delay = 0.5
        for attempt in range(1, self.config.attempts + 1):
            try:
                with smtplib.SMTP(self.config.host, self.config.port, timeout=self.config.timeout) as smtp:
                    if self.config.starttls:
                        smtp.starttls()
                    if self.config.username and self.config.password:
                        smtp.login(self.config.username, self.config.password)
                    smtp.send_message(msg, to_addrs=list(recipients))
                return
            except (OSError, smtplib.SMTPException):
                if attempt == self.config.attempts:
                    raise
                time.sleep(delay)
                delay *= 2


def notifier_for(settings: Settings) -> EmailNotifier:
    """The notifier the settings' SMTP options describe (alert recipients may be none: run
    notices name their own)."""
    return EmailNotifier(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            recipients=settings.alert_recipients,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    )

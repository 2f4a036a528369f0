"""Monitoring passes as the scheduler runs them: checks committed, then the outbox delivered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.monitoring import (
    Deliverer,
    EmailNotifier,
    MonitorOptions,
    MonitorReport,
    SmtpConfig,
    SmtpTls,
    run_checks,
)


def local_smtp(port: int, sender: str = "batch@acme.test") -> EmailNotifier:
    """A notifier for the test's local SMTP server (plain: it offers no TLS)."""
    return EmailNotifier(SmtpConfig("127.0.0.1", port, sender, tls=SmtpTls.NONE, timeout=5))


def monitor(s: Session, now: datetime, options: MonitorOptions, notifier: EmailNotifier | None = None) -> MonitorReport:
    """One pass: checks and queued notifications committed, then delivered through ``notifier``."""
    report = run_checks(s, now, options)
    s.commit()
    if notifier is not None:
        engine = s.get_bind()
        assert isinstance(engine, Engine)
        delivery = Deliverer(notifier).deliver_due(engine, now=now)
        report.notify_error = delivery.error
        report.outbox = delivery.as_dict()
    return report

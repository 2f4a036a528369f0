"""Monitoring: rules that find problems, alerts that remember them, notifiers that tell people."""

from __future__ import annotations

from acas_batch.monitoring.alerts import acknowledge_alert, open_alerts, raise_alert, resolve_alert
from acas_batch.monitoring.findings import Finding
from acas_batch.monitoring.monitor import MonitorOptions, MonitorReport, run_checks
from acas_batch.monitoring.notify import EmailNotifier, SmtpConfig, notifier_for
from acas_batch.monitoring.run_notices import send_run_notices

__all__ = [
    "EmailNotifier",
    "Finding",
    "MonitorOptions",
    "MonitorReport",
    "SmtpConfig",
    "acknowledge_alert",
    "notifier_for",
    "open_alerts",
    "raise_alert",
    "resolve_alert",
    "run_checks",
    "send_run_notices",
]

"""Monitoring: rules that find problems, alerts that remember them, routes and an outbox that tell people."""

from __future__ import annotations

from acas_batch.monitoring.alerts import acknowledge_alert, open_alerts, raise_alert, resolve_alert
from acas_batch.monitoring.dispatch import NotifyPolicy, Route, dispatch
from acas_batch.monitoring.findings import Finding
from acas_batch.monitoring.monitor import (
    MonitorOptions,
    MonitorReport,
    deliverer_for,
    monitor_pass,
    policy_for,
    run_checks,
)
from acas_batch.monitoring.notify import EmailNotifier, SmtpConfig, SmtpTls, WebhookNotifier, notifier_for
from acas_batch.monitoring.outbox import Attachment, Deliverer, Outgoing, enqueue
from acas_batch.monitoring.run_notices import queue_run_notices

__all__ = [
    "Attachment",
    "Deliverer",
    "EmailNotifier",
    "Finding",
    "MonitorOptions",
    "MonitorReport",
    "NotifyPolicy",
    "Outgoing",
    "Route",
    "SmtpConfig",
    "SmtpTls",
    "WebhookNotifier",
    "acknowledge_alert",
    "deliverer_for",
    "dispatch",
    "enqueue",
    "monitor_pass",
    "notifier_for",
    "open_alerts",
    "policy_for",
    "queue_run_notices",
    "raise_alert",
    "resolve_alert",
    "run_checks",
]

"""``BatchMonitoringService``: checks, alerts, resources and performance (the spec's facade)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.config import Settings
from acas_batch.errors import AcasBatchError, ValidationError
from acas_batch.masking import mask_text
from acas_batch.models import AlertSeverity, AlertState, BatchAlert
from acas_batch.monitoring import (
    MonitorOptions,
    acknowledge_alert,
    monitor_pass,
    open_alerts,
    policy_for,
    resolve_alert,
)
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services.base import Facade, Outcome
from acas_batch.services.door import allowed, perform, read
from acas_batch.system import health
from acas_batch.system.performance import window_stats

_OPTIONS = {
    "check_failures",
    "check_performance",
    "check_schedule",
    "check_resources",
    "send_alerts",
    "window_hours",
}


def _alert_dict(a: BatchAlert) -> dict[str, Any]:
    return {
        "id": a.id,
        "rule": a.rule,
        "severity": a.severity.value,
        "state": a.state.value,
        "title": a.title,
        "message": mask_text(a.message),
        "occurrences": a.occurrences,
        "first_raised_at": a.first_raised_at.isoformat(),
        "last_raised_at": a.last_raised_at.isoformat(),
        "notified_at": a.notified_at.isoformat() if a.notified_at else None,
        "notified_count": a.notified_count,
        "muted_reason": a.muted_reason,
        "escalation_step": a.escalation_step,
        "next_escalation_at": a.next_escalation_at.isoformat() if a.next_escalation_at else None,
        "acknowledged_by": a.acknowledged_by,
        "resolved_by": a.resolved_by,
        "execution_id": a.execution_id,
    }


def active_alerts(engine: Engine, actor: Actor, *, now: datetime) -> list[dict[str, Any]]:
    """Open and acknowledged alerts, newest first, messages masked.

    Raises:
        PermissionDenied: the actor may not read alerts.
    """
    return read(
        engine, actor, Permission.ALERTS_READ, lambda s: [_alert_dict(a) for a in open_alerts(s)],
        what="read alerts", now=now,
    )  # fmt: skip


def acknowledge(engine: Engine, alert_id: int, *, actor: Actor, now: datetime) -> dict[str, Any]:
    """Acknowledge an open alert: someone is on it.

    Raises:
        PermissionDenied: the actor may not manage alerts.
        NotFound: no such alert.
    """
    return perform(
        engine,
        actor,
        Permission.ALERTS_MANAGE,
        "alert.acknowledge",
        ("alert", alert_id),
        lambda s: _alert_dict(acknowledge_alert(s, alert_id, actor.username, now)),
        now=now,
    )


def resolve(engine: Engine, alert_id: int, *, actor: Actor, now: datetime) -> dict[str, Any]:
    """Mark an alert resolved: its cause is gone (the acting user kept on it as who resolved it).

    Raises:
        PermissionDenied: the actor may not manage alerts.
        NotFound: no such alert.
    """
    return perform(
        engine,
        actor,
        Permission.ALERTS_MANAGE,
        "alert.resolve",
        ("alert", alert_id),
        lambda s: _alert_dict(resolve_alert(s, alert_id, now, by=actor.username)),
        now=now,
    )


def monitor_now(engine: Engine, settings: Settings, *, actor: Actor, send: bool, now: datetime) -> dict[str, Any]:
    """One monitoring pass now: failures, slow runs, late or missed schedules; alerts raised, queued
    in the outbox and delivered (a mail server that is down leaves them queued).

    Raises:
        PermissionDenied: the actor may not manage alerts.
    """
    allowed(engine, actor, Permission.ALERTS_MANAGE, what="run a monitoring pass", now=now)
    return monitor_pass(engine, settings, now=now, send=send).as_dict()


class BatchMonitoringService(Facade):
    """Find failures, slow runs, late or missed schedules and resource problems; alert by e-mail."""

    def monitor_batch_jobs(self, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One monitoring pass. Returns its summary (``success`` False with ``error`` on bad options)."""
        raw = dict(options or {})
        unknown = sorted(set(raw) - _OPTIONS)
        if unknown:
            return {"success": False, "error": f"unknown monitoring option {', '.join(unknown)}"}
        opts = MonitorOptions(
            check_failures=bool(raw.get("check_failures", True)),
            check_performance=bool(raw.get("check_performance", True)),
            check_schedule=bool(raw.get("check_schedule", True)),
            send_alerts=bool(raw.get("send_alerts", False)),
            window=timedelta(hours=float(raw.get("window_hours", 24))),
            policy=policy_for(self.settings),
            sender=self.settings.smtp_from,
        )
        now = self.clock.now()
        try:
            self._may(Permission.ALERTS_MANAGE, "run a monitoring pass")
            report = monitor_pass(self.engine, self.settings, now=now, options=opts).as_dict()
        except AcasBatchError as exc:
            self.last_error = exc
            return {"success": False, "error": str(exc)}
        summary: dict[str, Any] = {"success": True, **report}
        if opts.send_alerts and not self.settings.alert_recipients:
            summary["notify_error"] = "no alert recipients configured (ACAS_ALERT_EMAIL_TO)"
        if raw.get("check_resources"):
            res_ok, resources = self.check_system_resources()
            summary["resources"] = resources if res_ok else {"error": resources}
        return summary

    def check_system_resources(self, limits: Mapping[str, Any] | None = None) -> Outcome:
        """Database, disk, heartbeats, stuck executions, backups, migrations, output folder.

        Problems are written to ``quarantine_rec`` (and resolved there when they clear).
        """
        try:
            parsed = health.HealthLimits.model_validate(dict(limits or {}))
        except Exception as exc:  # pydantic's error, reported as a user error
            return self._failed(ValidationError(f"invalid resource limits: {exc}"))
        now = self.clock.now()

        def act(session: Session) -> dict[str, Any]:
            findings = health.run_checks(
                session,
                self.engine,
                now=now,
                data_dir=self.settings.data_dir,
                output_dir=self.settings.outputs,
                limits=parsed,
            )
            written, resolved = health.record_findings(session, findings, now=now)
            return {
                "status": health.worst(findings).value,
                "quarantined": written,
                "resolved": resolved,
                "checks": [
                    {"check": f.check, "severity": f.severity.value, "message": f.message, "value": f.value}
                    for f in findings
                ],
            }

        return self._guarded(Permission.ALERTS_MANAGE, "system.check_resources", ("system", None), act)

    def get_alerts(self, filters: Mapping[str, Any] | None = None) -> Outcome:
        """Alerts, newest first; ``state`` (open, acknowledged, resolved, or all) and ``severity`` filter."""
        raw = dict(filters or {})
        try:
            state = raw.get("state", "active")
            states = (
                [AlertState.OPEN, AlertState.ACKNOWLEDGED]
                if state == "active"
                else list(AlertState)
                if state == "all"
                else [AlertState(state)]
            )
            severity = AlertSeverity(raw["severity"]) if raw.get("severity") else None
            limit = int(raw.get("limit", 100))
        except ValueError as exc:
            return self._failed(ValidationError(f"invalid alert filter: {exc}"))

        def act(session: Session) -> list[dict[str, Any]]:
            stmt = select(BatchAlert).where(BatchAlert.state.in_(states))
            if severity is not None:
                stmt = stmt.where(BatchAlert.severity == severity)
            rows = session.scalars(stmt.order_by(BatchAlert.last_raised_at.desc(), BatchAlert.id.desc()).limit(limit))
            return [_alert_dict(a) for a in rows]

        return self._reading(Permission.ALERTS_READ, "read alerts", act)

    def acknowledge_alert(self, alert_id: int) -> Outcome:
        now = self.clock.now()
        return self._guarded(
            Permission.ALERTS_MANAGE,
            "alert.acknowledge",
            ("alert", alert_id),
            lambda s: _alert_dict(acknowledge_alert(s, alert_id, self.actor.username, now)),
        )

    def resolve_alert(self, alert_id: int) -> Outcome:
        now = self.clock.now()
        return self._guarded(
            Permission.ALERTS_MANAGE,
            "alert.resolve",
            ("alert", alert_id),
            lambda s: _alert_dict(resolve_alert(s, alert_id, now, by=self.actor.username)),
        )

    def get_performance_metrics(self, days: int = 30) -> Outcome:
        """Per job over the last ``days``: runs, success rate, duration p50/p95/max."""
        if days < 1:
            return self._failed(ValidationError(f"days {days} must be at least 1"))
        end = self.clock.now()

        def act(session: Session) -> dict[str, Any]:
            stats = window_stats(session, start=end - timedelta(days=days), end=end)
            return {
                name: {
                    "runs": st.runs,
                    "succeeded": st.succeeded,
                    "success_rate": st.success_rate,
                    "p50_ms": st.p50_ms,
                    "p95_ms": st.p95_ms,
                    "max_ms": st.max_ms,
                    "rows": st.rows,
                }
                for name, st in sorted(stats.items())
            }

        return self._reading(Permission.ALERTS_READ, "read performance figures", act)

"""Alerts in ``batch_alert_rec``: one open alert per cause, counted, acknowledged, resolved.

The partial unique index on open ``dedup_key`` makes a duplicate open alert impossible
even when two monitors race; the loser of the race updates the winner's row instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from acas_batch.errors import InvalidStateTransition, NotFound, ValidationError
from acas_batch.models import AlertSeverity, AlertState, BatchAlert
from acas_batch.monitoring.findings import Finding

_SEVERITY_RANK = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}


@dataclass(frozen=True)
class Raised:
    """The alert a finding landed in, and whether it is new (worth telling someone)."""

    alert: BatchAlert
    is_new: bool
    escalated: bool


def _open(session: Session, dedup_key: str) -> BatchAlert | None:
    return session.scalars(
        select(BatchAlert).where(BatchAlert.dedup_key == dedup_key, BatchAlert.state != AlertState.RESOLVED)
    ).one_or_none()


def _refresh(alert: BatchAlert, finding: Finding, now: datetime) -> bool:
    alert.occurrences += 1
    alert.last_raised_at = now
    alert.message = finding.message
    escalated = _SEVERITY_RANK[finding.severity] > _SEVERITY_RANK[alert.severity]
    if escalated:
        alert.severity = finding.severity
        alert.notified_at = None  # a worse state is news again
    return escalated


def raise_alert(session: Session, finding: Finding, now: datetime) -> Raised:
    """Open an alert for ``finding``, or count another sighting of the open one."""
    existing = _open(session, finding.dedup_key)
    if existing is not None:
        return Raised(existing, is_new=False, escalated=_refresh(existing, finding, now))
    alert = BatchAlert(
        rule=finding.rule,
        severity=finding.severity,
        state=AlertState.OPEN,
        job_id=finding.job_id,
        execution_id=finding.execution_id,
        dedup_key=finding.dedup_key,
        title=finding.title,
        message=finding.message,
        details=finding.details or None,
        occurrences=1,
        first_raised_at=now,
        last_raised_at=now,
    )
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:
        # Another monitor opened it between our look and our insert: count on theirs.
        existing = _open(session, finding.dedup_key)
        if existing is None:
            raise
        return Raised(existing, is_new=False, escalated=_refresh(existing, finding, now))
    return Raised(alert, is_new=True, escalated=False)


def _get(session: Session, alert_id: int) -> BatchAlert:
    alert = session.get(BatchAlert, alert_id)
    if alert is None:
        raise NotFound(f"no alert has id {alert_id}")
    return alert


def acknowledge_alert(session: Session, alert_id: int, user: str, now: datetime) -> BatchAlert:
    alert = _get(session, alert_id)
    if alert.state is not AlertState.OPEN:
        raise InvalidStateTransition(f"alert {alert_id} is {alert.state.value}, only an open alert can be acknowledged")
    alert.state = AlertState.ACKNOWLEDGED
    alert.acknowledged_by = user
    alert.acknowledged_at = now
    return alert


def resolve_alert(
    session: Session, alert_id: int, now: datetime, *, by: str | None = None, reason: str | None = None
) -> BatchAlert:
    """Resolve an alert. It is not raised again for the same execution (see
    :func:`acas_batch.monitoring.monitor.run_checks`): resolving is final for that run."""
    alert = _get(session, alert_id)
    if alert.state is AlertState.RESOLVED:
        raise InvalidStateTransition(f"alert {alert_id} is already resolved")
    alert.state = AlertState.RESOLVED
    alert.resolved_at = now
    alert.resolved_by = by
    alert.resolution = reason
    return alert


def dismiss_alert(session: Session, alert_id: int, *, by: str, reason: str, now: datetime) -> BatchAlert:
    """Resolve an alert an operator judged needs nothing more (a refused duplicate close whose
    run key succeeded before), keeping who and why; the caller audits it.

    Raises:
        ValidationError: no reason was given.
        NotFound: no such alert.
        InvalidStateTransition: it is already resolved.
    """
    why = (reason or "").strip()
    if not why:
        raise ValidationError("dismissing an alert needs a reason (--reason): say why, for the audit trail")
    return resolve_alert(session, alert_id, now, by=by, reason=f"dismissed: {why}")


def open_alerts(session: Session) -> list[BatchAlert]:
    return list(
        session.scalars(
            select(BatchAlert)
            .where(BatchAlert.state != AlertState.RESOLVED)
            .order_by(BatchAlert.last_raised_at.desc(), BatchAlert.id.desc())
        )
    )

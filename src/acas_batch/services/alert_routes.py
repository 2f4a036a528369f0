"""Alert routes and silences: who hears of which alerts, and quiet while a known problem is worked on.

Every change is checked against the policy (``alerts:manage``) and audited with the values
before and after; a silence needs a reason and an end.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acas_batch.errors import JobNotFound, NotFound, ValidationError
from acas_batch.models import AlertRoute, AlertSeverity, AlertSilence, BatchAlert, BatchJob, Module
from acas_batch.security.actor import Actor
from acas_batch.security.policy import Permission
from acas_batch.services.base import resolve_actor
from acas_batch.services.door import perform, read

#: The longest a silence may last: a forgotten silence must end by itself.
MAX_SILENCE = timedelta(days=31)
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _who(engine: Engine, actor: Actor | str | None) -> Actor:
    return resolve_actor(engine, actor, face="cli" if actor is None else "python")


def silence_end(until: str | None, duration: str | None, *, now: datetime) -> datetime:
    """The end of a silence from ``until`` (ISO 8601 with a zone) or ``duration`` (``90m``, ``4h``, ``2d``).

    Raises:
        ValidationError: neither or both given, unreadable, in the past, or beyond ``MAX_SILENCE``.
    """
    if (until is None) == (duration is None):
        raise ValidationError("give the silence's end: either --until TIME or --for DURATION (90m, 4h, 2d)")
    if duration is not None:
        m = _DURATION.match(duration)
        if m is None:
            raise ValidationError(f"duration {duration!r} is not minutes, hours or days such as 90m, 4h or 2d")
        unit = {"m": "minutes", "h": "hours", "d": "days"}[m[2]]
        end = now + timedelta(**{unit: int(m[1])})
    else:
        assert until is not None
        try:
            end = datetime.fromisoformat(until.strip())
        except ValueError:
            raise ValidationError(f"--until {until!r} is not an ISO 8601 time such as 2026-12-01T08:00+00:00") from None
        if end.tzinfo is None:
            raise ValidationError(f"--until {until!r} has no time zone: add +00:00 or Z")
    if end <= now:
        raise ValidationError(f"the silence would end at {end.isoformat()}, which is not in the future")
    if end - now > MAX_SILENCE:
        raise ValidationError(f"a silence lasts at most {MAX_SILENCE.days} days; {end.isoformat()} is further")
    return end


def _silence_dict(s: AlertSilence, now: datetime) -> dict[str, Any]:
    state = "ended" if s.ended_at is not None else ("expired" if s.expires_at <= now else "active")
    return {
        "id": s.id,
        "rule": s.rule,
        "module": s.module,
        "job": s.job_name,
        "reason": s.reason,
        "created_by": s.created_by,
        "created_at": s.created_at.isoformat(),
        "expires_at": s.expires_at.isoformat(),
        "ended_at": s.ended_at.isoformat() if s.ended_at else None,
        "state": state,
    }


def silence_create(
    engine: Engine,
    *,
    actor: Actor | str | None = None,
    reason: str,
    ends_at: datetime,
    rule: str | None = None,
    module: str | None = None,
    job: str | None = None,
    now: datetime,
) -> dict[str, Any]:
    """Silence the alerts matching ``rule``, ``module`` and ``job`` (each None: any) until ``ends_at``.

    Matching alerts are recorded but not sent; one still open when the silence ends is told then.

    Raises:
        ValidationError: no matcher, no reason, an unknown module, or an end not in the next 31 days.
        JobNotFound: ``job`` names no job.
        PermissionDenied: the actor may not manage alerts.
    """
    rule, job = (rule or "").strip() or None, (job or "").strip() or None
    module = (module or "").strip().upper() or None
    if rule is None and module is None and job is None:
        raise ValidationError("a silence needs at least one of --rule, --module and --job (silencing all is refused)")
    if module is not None and module not in {m.value for m in Module}:
        raise ValidationError(f"module {module!r} is not one of {', '.join(m.value for m in Module)}")
    if ends_at <= now or ends_at - now > MAX_SILENCE:
        raise ValidationError(f"a silence must end within {MAX_SILENCE.days} days from now, not {ends_at.isoformat()}")
    who = _who(engine, actor)

    def act(session: Session) -> dict[str, Any]:
        if job is not None and session.scalar(select(BatchJob.id).where(BatchJob.name == job)) is None:
            raise JobNotFound(f"no job is named {job!r}")
        row = AlertSilence(rule=rule, module=module, job_name=job, reason=reason.strip(), created_by=who.username,
                           created_at=now, expires_at=ends_at)  # fmt: skip
        session.add(row)
        session.flush()
        return _silence_dict(row, now)

    return perform(
        engine, who, Permission.ALERTS_MANAGE, "alert.silence", ("silence", None), act, now=now, reason=reason,
        details=lambda made: {"after": made},
    )  # fmt: skip


def silences_list(
    engine: Engine, *, actor: Actor | str | None = None, include_ended: bool = False, now: datetime
) -> list[dict[str, Any]]:
    """Active silences, soonest end first (``include_ended``: expired and lifted ones too, newest first)."""

    def act(session: Session) -> list[dict[str, Any]]:
        stmt = select(AlertSilence)
        if include_ended:
            stmt = stmt.order_by(AlertSilence.id.desc())
        else:
            stmt = stmt.where(AlertSilence.ended_at.is_(None), AlertSilence.expires_at > now).order_by(
                AlertSilence.expires_at, AlertSilence.id
            )
        return [_silence_dict(s, now) for s in session.scalars(stmt)]

    return read(engine, _who(engine, actor), Permission.ALERTS_READ, act, what="alert silences", now=now)


def silence_expire(
    engine: Engine, silence_id: int, *, actor: Actor | str | None = None, now: datetime
) -> dict[str, Any]:
    """End a silence now: what it held back and is still open is told at the next pass.

    Raises:
        NotFound: no such silence.
        ValidationError: it has already ended or expired.
    """

    def act(session: Session) -> dict[str, Any]:
        row = session.get(AlertSilence, silence_id)
        if row is None:
            raise NotFound(f"no silence has id {silence_id}")
        if row.ended_at is not None or row.expires_at <= now:
            raise ValidationError(f"silence {silence_id} has already ended")
        row.ended_at = now
        return _silence_dict(row, now)

    return perform(
        engine, _who(engine, actor), Permission.ALERTS_MANAGE, "alert.unsilence", ("silence", silence_id), act,
        now=now, details=lambda after: {"after": after},
    )  # fmt: skip


def silence_alert(
    engine: Engine,
    alert_id: int,
    *,
    actor: Actor | str | None = None,
    reason: str,
    until: str | None = None,
    duration: str | None = None,
    timezone: str = "UTC",
    now: datetime,
) -> dict[str, Any]:
    """Silence alerts like ``alert_id``: its rule, and its job when it has one, until ``until`` or for
    ``duration`` (see :func:`silence_end`). An ``until`` without a zone (a browser's local date and
    time) is read in ``timezone``, the company's.

    Raises:
        PermissionDenied: the actor may not manage alerts (asked before the alert is looked up).
        NotFound: no such alert.
        ValidationError: no reason, or an end that is missing, past or more than 31 days away.
    """
    who = _who(engine, actor)
    if until is not None and until.strip():
        try:
            parsed = datetime.fromisoformat(until.strip())
        except ValueError:
            raise ValidationError(
                f"until {until!r} is not a date and time such as 2026-12-08T09:00", fields={"until": "not a time"}
            ) from None
        until = (parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(timezone))).isoformat()
    else:
        until = None
    duration = (duration or "").strip() or None

    def find(session: Session) -> tuple[str, str | None]:
        alert = session.get(BatchAlert, alert_id)
        if alert is None:
            raise NotFound(f"no alert has id {alert_id}")
        job = session.scalar(select(BatchJob.name).where(BatchJob.id == alert.job_id)) if alert.job_id else None
        return alert.rule, job

    rule, job = read(engine, who, Permission.ALERTS_MANAGE, find, what=f"silence alert {alert_id}", now=now)
    ends_at = silence_end(until, duration, now=now)
    return silence_create(engine, actor=who, reason=reason, ends_at=ends_at, rule=rule, job=job, now=now)


def _route_dict(r: AlertRoute) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "min_severity": r.min_severity,
        "module": r.module,
        "job": r.job_name,
        "email_to": list(r.email_to or []),
        "webhook_url": r.webhook_url,
        "escalation": list(r.escalation or []),
        "office_hours_only": r.office_hours_only,
        "digest": r.digest,
        "is_default": r.is_default,
        "enabled": r.enabled,
    }


def routes_list(engine: Engine, *, actor: Actor | str | None = None, now: datetime) -> list[dict[str, Any]]:
    """Every alert route, by name."""

    def act(session: Session) -> list[dict[str, Any]]:
        return [_route_dict(r) for r in session.scalars(select(AlertRoute).order_by(AlertRoute.name))]

    return read(engine, _who(engine, actor), Permission.ALERTS_READ, act, what="alert routes", now=now)


def _steps(escalation: list[dict[str, Any]] | str | None) -> list[dict[str, Any]]:
    if escalation is None:
        return []
    if isinstance(escalation, str):
        try:
            escalation = json.loads(escalation)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"escalation is not JSON: {exc.msg}") from None
    if not isinstance(escalation, list):
        raise ValidationError('escalation must be a list of steps: [{"after_minutes": 30, "email_to": ["..."]}]')
    steps = []
    for i, step in enumerate(escalation, start=1):
        after, to = (step.get("after_minutes"), step.get("email_to")) if isinstance(step, dict) else (None, None)
        if not isinstance(after, int) or isinstance(after, bool) or not 1 <= after <= 10_080:
            raise ValidationError(f"escalation step {i}: after_minutes must be a whole number of minutes, 1 to 10080")
        if not isinstance(to, list) or not to or not all(isinstance(a, str) and _EMAIL.match(a) for a in to):
            raise ValidationError(f"escalation step {i}: email_to must be a list of e-mail addresses")
        steps.append({"after_minutes": after, "email_to": to})
    return steps


def route_set(
    engine: Engine,
    *,
    actor: Actor | str | None = None,
    name: str,
    min_severity: str = "warning",
    module: str | None = None,
    job: str | None = None,
    email_to: list[str] | None = None,
    webhook_url: str | None = None,
    escalation: list[dict[str, Any]] | str | None = None,
    office_hours_only: bool = False,
    digest: bool = False,
    is_default: bool = False,
    enabled: bool = True,
    now: datetime,
) -> dict[str, Any]:
    """Create or replace the route ``name`` (audited with before and after).

    Raises:
        ValidationError: a bad name, severity, module, address, webhook URL or escalation; or no recipient.
        JobNotFound: ``job`` names no job.
    """
    name = name.strip()
    if not name or len(name) > 64:
        raise ValidationError(f"route name {name!r} must be 1 to 64 characters")
    if min_severity not in {s.value for s in AlertSeverity}:
        raise ValidationError(f"severity {min_severity!r} is not one of info, warning, critical")
    module = (module or "").strip().upper() or None
    if module is not None and module not in {m.value for m in Module}:
        raise ValidationError(f"module {module!r} is not one of {', '.join(m.value for m in Module)}")
    addresses = [a.strip() for a in email_to or [] if a.strip()]
    bad = [a for a in addresses if not _EMAIL.match(a)]
    if bad:
        raise ValidationError(f"{bad[0]!r} is not an e-mail address")
    if webhook_url is not None and not webhook_url.startswith(("https://", "http://")):
        raise ValidationError(f"webhook URL {webhook_url!r} must start with https:// (or http:// for a local relay)")
    if not addresses and not webhook_url:
        raise ValidationError("a route needs at least one --email or a --webhook")
    steps = _steps(escalation)
    job = (job or "").strip() or None
    who = _who(engine, actor)
    before: dict[str, Any] = {}

    def act(session: Session) -> dict[str, Any]:
        if job is not None and session.scalar(select(BatchJob.id).where(BatchJob.name == job)) is None:
            raise JobNotFound(f"no job is named {job!r}")
        row = session.scalars(select(AlertRoute).where(AlertRoute.name == name)).one_or_none()
        if row is None:
            row = AlertRoute(name=name, created_at=now)
            session.add(row)
        else:
            before.update(_route_dict(row))
        if is_default:  # one default route: the others give it up
            for other in session.scalars(select(AlertRoute).where(AlertRoute.is_default.is_(True))):
                other.is_default = other is row
        row.min_severity, row.module, row.job_name = min_severity, module, job
        row.email_to, row.webhook_url, row.escalation = addresses, webhook_url, steps
        row.office_hours_only, row.digest, row.is_default, row.enabled = office_hours_only, digest, is_default, enabled
        session.flush()
        return _route_dict(row)

    return perform(
        engine, who, Permission.ALERTS_MANAGE, "alert_route.set", ("alert_route", name), act, now=now,
        details=lambda after: {"before": before or None, "after": after},
    )  # fmt: skip


def route_delete(engine: Engine, *, actor: Actor | str | None = None, name: str, now: datetime) -> dict[str, Any]:
    """Delete a route (audited).

    Raises:
        NotFound: no route has that name.
    """

    def act(session: Session) -> dict[str, Any]:
        row = session.scalars(select(AlertRoute).where(AlertRoute.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"no alert route is named {name!r}")
        gone = _route_dict(row)
        session.delete(row)
        return gone

    return perform(
        engine, _who(engine, actor), Permission.ALERTS_MANAGE, "alert_route.delete", ("alert_route", name), act,
        now=now, details=lambda gone: {"before": gone},
    )  # fmt: skip

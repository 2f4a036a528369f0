"""The smaller pages: alerts, logs, audit, users and tokens, system health."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from acas_batch.errors import AcasBatchError, PermissionDenied, ValidationError
from acas_batch.services.alert_routes import silence_alert, silence_expire, silences_list
from acas_batch.services.identity import Actor
from acas_batch.services.log_viewer import view_logs
from acas_batch.services.monitoring_alerts import BatchMonitoringService, acknowledge, resolve
from acas_batch.services.run_board import audit_trail, overview
from acas_batch.services.system import backups, schema_status
from acas_batch.web.common import MAX_ID, ActorDep, SmallId, check_csrf, context, query_string, render, zone_of

router = APIRouter()


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, actor: ActorDep, state: str = "active") -> HTMLResponse:
    return _alerts(request, actor, state)


def _alerts(
    request: Request, actor: Actor, state: str, *, error: AcasBatchError | None = None, silencing: int | None = None
) -> HTMLResponse:
    web = context(request)
    svc = BatchMonitoringService(web.engine, settings=web.settings, clock=web.clock, actor=actor)
    ok, rows = svc.get_alerts({"state": state, "limit": 200})
    if not ok:
        raise svc.last_error or ValidationError(str(rows))
    silences = silences_list(web.engine, actor=actor, now=web.now)
    return render(
        request,
        "alerts.html",
        {"alerts": rows, "state": state, "silences": silences, "error": error, "silencing": silencing},
        status_code=error.http_status if error else 200,
    )


@router.post("/alerts/{alert_id}/silence", response_class=HTMLResponse)
def alert_silence(
    request: Request,
    actor: ActorDep,
    alert_id: SmallId,
    csrf: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    duration: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
) -> Response:
    """Silence alerts like this one (its rule, its job) with a reason, for a while or until a time."""
    check_csrf(request, csrf)
    web = context(request)
    try:
        silence_alert(
            web.engine,
            alert_id,
            actor=actor,
            reason=reason,
            until=until or None,
            duration=None if until else duration or None,
            timezone=zone_of(request),
            now=web.now,
        )
    except ValidationError as exc:
        return _alerts(request, actor, "active", error=exc, silencing=alert_id)
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_action(
    request: Request,
    actor: ActorDep,
    alert_id: SmallId,
    action: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    web = context(request)
    if action == "acknowledge":
        acknowledge(web.engine, alert_id, actor=actor, now=web.now)
    elif action == "resolve":
        resolve(web.engine, alert_id, actor=actor, now=web.now)
    else:
        raise ValidationError(f"action {action!r} is not acknowledge or resolve", fields={"action": "unknown"})
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/silences/{silence_id}/expire", response_class=HTMLResponse)
def silence_lift(request: Request, actor: ActorDep, silence_id: SmallId, csrf: Annotated[str, Form()] = "") -> Response:
    """End a silence now: what it held back and is still open is told at the next monitoring pass."""
    check_csrf(request, csrf)
    web = context(request)
    try:
        silence_expire(web.engine, silence_id, actor=actor, now=web.now)
    except ValidationError as exc:
        return _alerts(request, actor, "active", error=exc)
    return RedirectResponse("/alerts", status_code=303)


@router.get("/logs", response_class=HTMLResponse)
def logs_page(
    request: Request,
    actor: ActorDep,
    search: str = "",
    job: str = "",
    level: str = "",
) -> HTMLResponse:
    raw = {"search": search, "job_name": job.upper(), "log_level": level}
    flt: dict[str, Any] = {k: v for k, v in raw.items() if v} | {"limit": 200}
    error = None
    try:
        web = context(request)
        lines, total = view_logs(web.engine, flt, actor=actor, now=web.now)
    except ValidationError as exc:
        lines, total, error = [], 0, str(exc)
    qs = query_string({"search": search, "job": job, "level": level})
    return render(
        request,
        "logs.html",
        {"lines": lines, "total": total, "search": search, "job": job, "level": level, "error": error, "qs": qs},
        status_code=422 if error else 200,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, actor: ActorDep, target: str = "", before: int | None = None) -> HTMLResponse:
    if before is not None and not 1 <= before <= MAX_ID:
        raise ValidationError(f"before {before} is out of range")
    web = context(request)
    rows = audit_trail(web.engine, actor=actor, now=web.now, before=before, limit=100, target=target or None)
    return render(
        request,
        "audit.html",
        {"rows": rows, "target": target, "next_before": rows[-1]["id"] if len(rows) == 100 else None},
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, actor: ActorDep) -> HTMLResponse:
    web = context(request)
    return _users(request, web.identities.list_users(actor), web.identities.list_tokens(actor))


def _users(
    request: Request,
    users: list[dict[str, Any]],
    tokens: list[dict[str, Any]],
    *,
    new_token: str | None = None,
    error: AcasBatchError | None = None,
) -> HTMLResponse:
    return render(
        request,
        "users.html",
        {"users": users, "tokens": tokens, "new_token": new_token, "error": error},
        status_code=error.http_status if error else 200,
    )


@router.post("/users", response_class=HTMLResponse)
def users_action(
    request: Request,
    actor: ActorDep,
    action: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
    name: Annotated[str, Form()] = "",
    token_id: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    ids = context(request).identities
    new_token = None
    try:
        if action == "add-user":
            ids.add_user(username.strip(), password, role, actor=actor)
        elif action == "add-token":
            new_token = ids.create_token(username, name or "token", actor=actor)
        elif action == "revoke-token":
            ids.revoke_token(_token_id(token_id), actor=actor)
        else:
            raise ValidationError(f"unknown action {action!r}")
    except PermissionDenied:
        raise
    except AcasBatchError as exc:
        return _users(request, ids.list_users(actor), ids.list_tokens(actor), error=exc)
    return _users(request, ids.list_users(actor), ids.list_tokens(actor), new_token=new_token)


def _token_id(value: str) -> int:
    if not value.strip().isdigit() or not 1 <= int(value) <= 2**31 - 1:
        raise ValidationError(f"token id {value!r} is not a token's number", fields={"token_id": "not an id"})
    return int(value)


@router.get("/system", response_class=HTMLResponse)
def system_page(request: Request, actor: ActorDep) -> HTMLResponse:
    web = context(request)
    board = overview(web.engine, web.settings, actor=actor, now=web.now)
    taken = backups(web.engine, actor=actor, now=web.now)[:10]
    return render(request, "system.html", {"schema": schema_status(web.engine), "backups": taken, "board": board})

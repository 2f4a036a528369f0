"""The acknowledge and resolve links of alert mail: a page that asks, a POST that acts, once.

Opening the link (GET) acts on nothing: mail scanners and previews open links. It shows the
alert and a button; the POST, from the signed-in user with the session's CSRF token, redeems
the link through the services (signed, unexpired, unused; the user may manage alerts).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from acas_batch.errors import AcasBatchError, ValidationError
from acas_batch.services.alert_links import act_on_link, link_claim
from acas_batch.services.identity import Actor
from acas_batch.services.monitoring_alerts import BatchMonitoringService
from acas_batch.web.auth import require
from acas_batch.web.common import ActorDep, SmallId, check_csrf, context, render

router = APIRouter()
_WORDS = {"ack": "Acknowledge", "resolve": "Resolve"}


def _page(request: Request, actor: Actor, alert_id: int, action: str, link: str,
          error: AcasBatchError | None = None) -> HTMLResponse:  # fmt: skip
    web = context(request)
    alert = None
    if error is None:
        try:
            claim = link_claim(web.settings, link, now=web.now)
            if (claim["alert_id"], claim["action"]) != (alert_id, action):
                raise ValidationError("the link does not belong to this alert or action")
        except ValidationError as exc:
            error = exc
    svc = BatchMonitoringService(web.engine, actor.username, settings=web.settings, clock=web.clock)
    ok, rows = svc.get_alerts({"state": "all", "limit": 10_000})
    if ok and isinstance(rows, list):
        alert = next((a for a in rows if a["id"] == alert_id), None)
    return render(
        request, "alert_link.html",
        {"alert": alert, "alert_id": alert_id, "action": action, "verb": _WORDS[action], "link": link, "error": error},
        status_code=error.http_status if error else 200,
    )  # fmt: skip


@router.get("/alerts/{alert_id}/ack", response_class=HTMLResponse)
def ack_page(request: Request, actor: ActorDep, alert_id: SmallId, link: str = "") -> HTMLResponse:
    require(request, actor, "alerts:read")
    return _page(request, actor, alert_id, "ack", link)


@router.get("/alerts/{alert_id}/resolve", response_class=HTMLResponse)
def resolve_page(request: Request, actor: ActorDep, alert_id: SmallId, link: str = "") -> HTMLResponse:
    require(request, actor, "alerts:read")
    return _page(request, actor, alert_id, "resolve", link)


def _act(request: Request, actor: Actor, alert_id: int, action: str, link: str, csrf: str) -> Response:
    check_csrf(request, csrf)
    web = context(request)
    try:
        claim = link_claim(web.settings, link, now=web.now)
        if (claim["alert_id"], claim["action"]) != (alert_id, action):
            raise ValidationError("the link does not belong to this alert or action")
        act_on_link(web.engine, web.settings, link, actor=actor, now=web.now)
    except AcasBatchError as exc:
        return _page(request, actor, alert_id, action, link, error=exc)
    return RedirectResponse("/alerts?state=all", status_code=303)


@router.post("/alerts/{alert_id}/ack", response_class=HTMLResponse)
def ack_post(request: Request, actor: ActorDep, alert_id: SmallId, link: Annotated[str, Form()] = "",
             csrf: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    return _act(request, actor, alert_id, "ack", link, csrf)


@router.post("/alerts/{alert_id}/resolve", response_class=HTMLResponse)
def resolve_post(request: Request, actor: ActorDep, alert_id: SmallId, link: Annotated[str, Form()] = "",
                 csrf: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    return _act(request, actor, alert_id, "resolve", link, csrf)

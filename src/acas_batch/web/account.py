"""The signed-in user's own account: who they are and the zone they read times in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from acas_batch.errors import ValidationError
from acas_batch.services.identity import UserView, my_account, set_time_zone, time_zones
from acas_batch.web.common import ActorDep, check_csrf, context, render

router = APIRouter()


def _page(
    request: Request, account: UserView, *, error: ValidationError | None = None, typed: str | None = None
) -> HTMLResponse:
    web = context(request)
    zones = sorted(time_zones().values())
    return render(
        request,
        "account.html",
        {
            "account": account,
            "company_zone": web.settings.timezone,
            "zones": zones,
            "typed": (account.time_zone or "") if typed is None else typed,
            "error": error,
        },
        status_code=error.http_status if error else 200,
    )


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, actor: ActorDep) -> HTMLResponse:
    return _page(request, my_account(context(request).engine, actor))


@router.post("/account/zone", response_class=HTMLResponse)
def account_zone(
    request: Request,
    actor: ActorDep,
    csrf: Annotated[str, Form()] = "",
    zone: Annotated[str, Form()] = "",
) -> Response:
    """Choose the zone the dashboard shows times in (``default``: the company's)."""
    check_csrf(request, csrf)
    web = context(request)
    try:
        set_time_zone(web.engine, actor, actor.username, zone, now=web.now)
    except ValidationError as exc:
        return _page(request, my_account(web.engine, actor), error=exc, typed=zone)
    return RedirectResponse("/account", status_code=303)

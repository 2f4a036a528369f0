"""What every page and endpoint shares: the application's context, the acting user, CSRF, rendering."""

from __future__ import annotations

import hmac
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from acas_batch import __version__
from acas_batch.clock import Clock
from acas_batch.config import Settings
from acas_batch.errors import AuthenticationRequired, PermissionDenied
from acas_batch.services import readable
from acas_batch.web import times
from acas_batch.web.auth import Actor, Identities, may

SESSION_COOKIE = "acas_session"
TEMPLATES = FilePath(__file__).parent / "templates"


@dataclass
class WebContext:
    """One running web application: its settings, database, clock and identities."""

    settings: Settings
    engine: Engine
    clock: Clock
    identities: Identities
    tls: bool = False
    templates: Jinja2Templates = field(init=False)

    def __post_init__(self) -> None:
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        env = self.templates.env
        zone = self.settings.timezone
        # The viewer's zone, set by render() for the page it renders (macros included).
        env.filters["local"] = lambda v, seconds=True: times.local_time(v, _SHOWN_ZONE.get(zone), seconds=seconds)
        env.filters["local_iso"] = lambda v: times.local_iso(v, _SHOWN_ZONE.get(zone))
        env.filters["duration"] = times.duration
        env.filters["iso"] = times.iso_utc
        env.filters["readable_result"] = readable.readable_result
        env.filters["readable_params"] = readable.readable_params
        env.filters["readable"] = readable.show
        env.globals["may"] = may
        env.globals["version"] = __version__
        env.globals["zone"] = zone

    @property
    def now(self) -> datetime:
        return self.clock.now()


#: The zone of the page being rendered: the viewer's own, else the company's.
_SHOWN_ZONE: ContextVar[str] = ContextVar("shown_zone")


def zone_of(request: Request) -> str:
    """The zone the signed-in viewer reads times in: their own choice, else the company's."""
    actor = getattr(request.state, "actor", None)
    return (actor.zone if isinstance(actor, Actor) else None) or context(request).settings.timezone


def context(request: Request) -> WebContext:
    web: WebContext = request.app.state.web
    return web


def client_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def current_actor(request: Request) -> Actor:
    """The user a request acts for: an API token (``Authorization: Bearer``) or the session cookie.

    Raises:
        AuthenticationRequired: neither is given, or the one given is not valid.
    """
    cached = getattr(request.state, "actor", None)
    if isinstance(cached, Actor):
        return cached
    web = context(request)
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        actor = web.identities.authenticate_token(header[7:].strip(), client_addr=client_addr(request))
        request.state.csrf = None
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise AuthenticationRequired("sign in first, or send an API token as 'Authorization: Bearer TOKEN'")
        actor, csrf = web.identities.resolve_session(cookie, client_addr=client_addr(request))
        request.state.csrf = csrf
        if request.method not in ("GET", "HEAD", "OPTIONS") and request.url.path.startswith("/api/"):
            check_csrf(request, request.headers.get("x-csrf-token"))
    request.state.actor = actor
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]
#: The largest id the databases store (a signed 64-bit integer).
MAX_ID = 2**63 - 1
#: A row id in a path: a positive 64-bit integer.
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
#: A row id of a table keyed by a 32-bit integer (schedules, alerts).
SmallId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def check_csrf(request: Request, sent: str | None) -> None:
    """Refuse a form or cookie-authenticated call whose CSRF token is not its session's.

    Raises:
        PermissionDenied: the token is missing or wrong.
    """
    expected = getattr(request.state, "csrf", None)
    if expected is None and getattr(request.state, "actor", None) is not None:
        return  # an API token: no cookie, so no cross-site request can carry it
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        raise PermissionDenied("the form's security token is missing or out of date: reload the page and try again")


def query_string(params: dict[str, Any]) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def render(
    request: Request,
    template: str,
    values: dict[str, Any],
    *,
    status_code: int = 200,
    block: str | None = None,
) -> HTMLResponse:
    """A page, or one of its blocks when htmx asks for a part (``HX-Request``) and ``block`` is named."""
    web = context(request)
    actor = getattr(request.state, "actor", None)
    zone = zone_of(request)
    full = {
        "request": request,
        "actor": actor,
        "csrf": getattr(request.state, "csrf", None),
        "now": web.now,
        "path": request.url.path,
        "qs": query_string,
        "zone": zone,
        **values,
    }
    shown = _SHOWN_ZONE.set(zone)
    try:
        if block and request.headers.get("hx-request"):
            tmpl = web.templates.env.get_template(template)
            # A block rendered alone does not run the page's top-level imports: give it the macros.
            full["m"] = web.templates.env.get_template("_macros.html").module
            html = "".join(tmpl.blocks[block](tmpl.new_context(full)))
            return HTMLResponse(html, status_code=status_code)
        return web.templates.TemplateResponse(request, template, full, status_code=status_code)
    finally:
        _SHOWN_ZONE.reset(shown)

"""Sign-in and sign-out: a session cookie (HttpOnly, SameSite=Strict) and a CSRF token per session."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from acas_batch.errors import AuthenticationRequired
from acas_batch.web.auth import SESSION_LIFETIME
from acas_batch.web.common import SESSION_COOKIE, check_csrf, client_addr, context, current_actor, render

router = APIRouter()

_SIGNIN_COOKIE = "acas_signin"


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute URL an attacker chose."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _form(request: Request, *, error: str | None = None, username: str = "", status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "signin.html",
        {"error": error, "username": username, "next": _safe_next(request.query_params.get("next")), "token": token},
        status_code=status_code,
    )
    response.set_cookie(_SIGNIN_COOKIE, token, httponly=True, samesite="strict", secure=context(request).tls)
    return response


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request) -> Response:
    return _form(request)


@router.post("/signin")
def signin(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    web = context(request)
    expected = request.cookies.get(_SIGNIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, token):
        return _form(request, error="The sign-in form was out of date; please try again.", status_code=400)
    try:
        actor = web.identities.authenticate_password(
            username.strip(), password, client_addr=client_addr(request), face="web"
        )
    except AuthenticationRequired as exc:
        return _form(request, error=str(exc).capitalize() + ".", username=username, status_code=401)
    session_token, _csrf = web.identities.create_session(actor, now=web.now)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=web.tls,
    )
    response.delete_cookie(_SIGNIN_COOKIE)
    return response


@router.post("/signout")
def signout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    current_actor(request)
    check_csrf(request, csrf)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        context(request).identities.end_session(cookie)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response

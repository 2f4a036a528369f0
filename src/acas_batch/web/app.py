"""The web application: dashboard pages, the REST API under ``/api/v1`` and ``/metrics``.

``create_app`` builds it for one database; ``acas-batch web start`` and ``acas-batch
scheduler start`` serve it with uvicorn (see :mod:`acas_batch.web.server`).
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from acas_batch import __version__
from acas_batch.clock import Clock, SystemClock
from acas_batch.config import Settings
from acas_batch.errors import AcasBatchError, AuthenticationRequired
from acas_batch.services.base import connect
from acas_batch.services.metrics import exposition
from acas_batch.services.run_actions import load_jobs
from acas_batch.web import account, alert_links, calendar, deadlines, jobs, live, overview, pages, runs, session
from acas_batch.web.api import create_api
from acas_batch.web.auth import Identities
from acas_batch.web.common import WebContext, render
from acas_batch.web.problems import http_problem, problem_response, request_validation_problem

STATIC = Path(__file__).parent / "static"


def _page_error(request: Request, exc: AcasBatchError) -> Response:
    if isinstance(exc, AuthenticationRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)
    return render(request, "error.html", {"error": exc}, status_code=exc.http_status)


def _wants_problem(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    identities: Identities | None = None,
    tls: bool = False,
) -> FastAPI:
    """The dashboard and API for the settings' database."""
    load_jobs(settings)
    engine = engine or connect(settings)
    clock = clock or SystemClock()
    web = WebContext(
        settings=settings,
        engine=engine,
        clock=clock,
        identities=identities or Identities(engine, clock),
        tls=tls,
    )
    app = FastAPI(title="acas-batch", version=__version__, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.web = web

    @app.exception_handler(AcasBatchError)
    async def acas_error(request: Request, exc: AcasBatchError) -> Response:
        if _wants_problem(request):
            return problem_response(exc, request.url.path)
        return _page_error(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_problem(request):
            return http_problem(exc.status_code, str(exc.detail), request.url.path)
        return HTMLResponse(f"<h1>{exc.status_code}</h1><p>{html.escape(str(exc.detail))}</p>", exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        return request_validation_problem(exc, request.url.path)

    api = create_api()
    api.state.web = web
    app.mount("/api/v1", api)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        """Prometheus metrics, read from the database now."""
        return PlainTextResponse(
            exposition(web.engine, now=web.now, settings=settings), media_type="text/plain; version=0.0.4"
        )

    for module in (session, overview, runs, jobs, calendar, deadlines, pages, alert_links, account, live):
        app.include_router(module.router)
    return app

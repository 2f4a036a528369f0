"""The overview page: what is happening now, what comes next, what went wrong."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from acas_batch.services.run_board import overview
from acas_batch.web.common import ActorDep, context, render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, actor: ActorDep) -> HTMLResponse:
    web = context(request)
    board = overview(web.engine, web.settings, actor=actor, now=web.now)
    return render(request, "overview.html", {"board": board}, block="live")

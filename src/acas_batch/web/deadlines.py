"""The deadlines page: each deadline in business terms, its next due time, the predicted finish and the slack."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from acas_batch.services.deadlines import deadlines_list
from acas_batch.web.common import ActorDep, context, render

router = APIRouter()


@router.get("/deadlines", response_class=HTMLResponse)
def deadlines_page(request: Request, actor: ActorDep) -> HTMLResponse:
    web = context(request)
    rows = deadlines_list(web.engine, web.settings, actor=actor, now=web.now)
    return render(request, "deadlines.html", {"deadlines": rows}, block="board")

"""The calendar page: a month of the business calendar with each day's expected and actual runs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from acas_batch.services.month_calendar import month_calendar
from acas_batch.web.common import ActorDep, context, render

router = APIRouter()


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(request: Request, actor: ActorDep, month: str | None = None) -> HTMLResponse:
    """``/calendar?month=2026-12``; htmx asks only for the month block when moving between months."""
    web = context(request)
    cal = month_calendar(web.engine, web.settings, actor, month, now=web.now)
    return render(request, "calendar.html", {"cal": cal}, block="month")

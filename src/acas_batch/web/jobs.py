"""The jobs pages: the list, one job (definition, schedules, next runs, history chart) and its run-now form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from acas_batch.errors import AcasBatchError, NotFound, PermissionDenied, ValidationError
from acas_batch.services.catalogue import job_list
from acas_batch.services.editing import job_version
from acas_batch.services.identity import Actor
from acas_batch.services.job_board import job_board
from acas_batch.services.run_actions import param_fields, params_from_form, run_now
from acas_batch.services.run_board import job_history
from acas_batch.web.common import ActorDep, check_csrf, context, render, zone_of

router = APIRouter()


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, actor: ActorDep, module: str | None = None) -> HTMLResponse:
    web = context(request)
    rows = job_list(web.engine, actor=actor, now=web.now, module=module or None)
    return render(request, "jobs.html", {"jobs": rows, "module": (module or "").upper()})


def _job_page(
    request: Request,
    actor: Actor,
    name: str,
    *,
    form: dict[str, str] | None = None,
    error: AcasBatchError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    web = context(request)
    job, _tag = job_version(web.engine, name, actor=actor, now=web.now)
    board = job_board(web.engine, web.settings, actor, job["name"], now=web.now)
    history = job_history(web.engine, job["name"], actor=actor, now=web.now)
    chart = {
        "x": [int(r["at"].timestamp()) for r in history["runs"]],
        "y": [round((r["duration_ms"] or 0) / 1000, 3) for r in history["runs"]],
        "state": [r["state"] for r in history["runs"]],
        "p50": round((history["p50_ms"] or 0) / 1000, 3),
        "p95": round((history["p95_ms"] or 0) / 1000, 3),
        "zone": zone_of(request),
    }
    try:
        fields = param_fields(web.engine, job["name"], actor=actor, now=web.now)
    except NotFound:
        fields = []
    values: dict[str, Any] = {f["name"]: f["default"] for f in fields}
    if form is not None:
        values |= {f["name"]: form.get(f["name"], "") for f in fields}
    field_errors = error.fields if isinstance(error, ValidationError) else {}
    return render(
        request,
        "job.html",
        {
            "job": job,
            "board": board,
            "history": history,
            "chart": chart,
            "fields": fields,
            "values": values,
            "business_date": (form or {}).get("business_date", ""),
            "error": error,
            "field_errors": field_errors,
        },
        status_code=status_code,
    )


@router.get("/jobs/{name}", response_class=HTMLResponse)
def job_page(request: Request, actor: ActorDep, name: str) -> HTMLResponse:
    return _job_page(request, actor, name)


@router.post("/jobs/{name}/run", response_class=HTMLResponse)
async def job_run(request: Request, actor: ActorDep, name: str) -> Response:
    """Run the job from its form; a bad parameter shows the form again with the error next to the field."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, form.get("csrf"))
    return await _run(request, actor, name, form)


async def _run(request: Request, actor: Actor, name: str, form: dict[str, str]) -> Response:
    from starlette.concurrency import run_in_threadpool

    def act() -> Response:
        web = context(request)
        try:
            fields = param_fields(web.engine, name, actor=actor, now=web.now)
            params = params_from_form(fields, form)
            execution_id, _created = run_now(
                web.engine,
                web.settings,
                name,
                params,
                business_date=form.get("business_date") or None,
                actor=actor,
                now=web.now,
                idempotency_key=form.get("idempotency_key") or None,
            )
        except (ValidationError, AcasBatchError) as exc:
            if isinstance(exc, PermissionDenied) or (isinstance(exc, NotFound) and "no job" in str(exc)):
                raise
            return _job_page(request, actor, name, form=form, error=exc, status_code=exc.http_status)
        return RedirectResponse(f"/runs/{execution_id}", status_code=303)

    return await run_in_threadpool(act)

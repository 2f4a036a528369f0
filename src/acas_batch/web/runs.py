"""The runs pages: the filtered list (keyset pages), one run in full, operator actions and bulk actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from acas_batch.errors import AcasBatchError, PermissionDenied, ValidationError
from acas_batch.services.log_viewer import view_logs
from acas_batch.services.run_actions import act_on_run, bulk_act, bulk_preview, parse_action
from acas_batch.services.runs import count_newer, list_runs, parse_run_query, run_detail, run_file
from acas_batch.web.common import ActorDep, Id, check_csrf, context, query_string, render

router = APIRouter()

_STATES = (
    "pending",
    "queued",
    "running",
    "retry_wait",
    "held",
    "succeeded",
    "warning",
    "failed",
    "timed_out",
    "cancelled",
    "skipped",
)
_TRIGGERS = ("schedule", "manual", "dependency", "retry", "rerun", "recovery")


def _raw(request: Request) -> dict[str, str | None]:
    return dict(request.query_params.items())


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, actor: ActorDep) -> HTMLResponse:
    web = context(request)
    raw = _raw(request)
    error = None
    try:
        q = parse_run_query(raw)
    except ValidationError as exc:
        error, q = str(exc), parse_run_query({})
    page = list_runs(web.engine, q, actor=actor, now=web.now)
    return render(
        request,
        "runs.html",
        {
            "page": page,
            "q": q,
            "raw": raw,
            "filter_qs": query_string(q.as_params()),
            "error": error,
            "states": _STATES,
            "triggers": _TRIGGERS,
        },
        status_code=422 if error else 200,
        block="rows" if raw.get("partial") == "rows" else None,
    )


@router.get("/runs/new-count", response_class=HTMLResponse)
def new_count(request: Request, actor: ActorDep, after: int = 0) -> HTMLResponse:
    """The "N new runs" control: how many matching runs are newer than the page's first row."""
    web = context(request)
    q = parse_run_query(_raw(request))
    n = count_newer(web.engine, q, after, actor=actor, now=web.now)
    return render(request, "_new_runs.html", {"n": n, "filter_qs": query_string(q.as_params())})


@router.post("/runs/bulk", response_class=HTMLResponse)
def bulk(
    request: Request,
    actor: ActorDep,
    action: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
    ids: Annotated[list[int] | None, Form()] = None,
) -> Response:
    """Preview (how many runs, which) and then apply a bulk action over the selection or the whole filter."""
    check_csrf(request, csrf)
    chosen = parse_action(action)
    web = context(request)
    q = parse_run_query(_raw(request))
    targets = list(ids) if ids else bulk_preview(web.engine, q, chosen, actor=actor, now=web.now)
    if not confirm:
        return render(
            request,
            "bulk.html",
            {
                "action": chosen.value,
                "targets": targets,
                "q": q,
                "filter_qs": query_string(q.as_params()),
                "reason": reason,
                "error": None,
                "result": None,
            },
        )
    try:
        result = bulk_act(web.engine, web.settings, chosen, targets, actor=actor, reason=reason, now=web.now)
    except ValidationError as exc:
        return render(
            request,
            "bulk.html",
            {
                "action": chosen.value,
                "targets": targets,
                "q": q,
                "filter_qs": query_string(q.as_params()),
                "reason": reason,
                "error": exc,
                "result": None,
            },
            status_code=422,
        )
    return render(
        request,
        "bulk.html",
        {
            "action": chosen.value,
            "targets": targets,
            "q": q,
            "filter_qs": query_string(q.as_params()),
            "reason": reason,
            "error": None,
            "result": result,
        },
    )


@router.get("/runs/{execution_id}", response_class=HTMLResponse)
def run_page(
    request: Request, actor: ActorDep, execution_id: Id, level: str | None = None, search: str | None = None
) -> HTMLResponse:
    web = context(request)
    run = run_detail(web.engine, web.settings, execution_id, actor=actor, now=web.now, log_limit=1)
    log_filter: dict[str, object] = {"execution_id": execution_id, "limit": 1000}
    if level:
        log_filter["log_level"] = level
    if search:
        log_filter["search"] = search
    try:
        logs, total = view_logs(web.engine, log_filter, actor=actor, now=web.now)
        log_error = None
    except ValidationError as exc:
        logs, total, log_error = [], 0, str(exc)
    return render(
        request,
        "run.html",
        {
            "run": run,
            "logs": logs,
            "log_total": total,
            "level": level or "",
            "search": search or "",
            "log_error": log_error,
            "action_error": None,
        },
        block="live",
    )


@router.post("/runs/{execution_id}/actions", response_class=HTMLResponse)
def run_action(
    request: Request,
    actor: ActorDep,
    execution_id: Id,
    action: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    force: Annotated[bool, Form()] = False,
) -> Response:
    check_csrf(request, csrf)
    chosen = parse_action(action)
    web = context(request)
    try:
        if not reason.strip():
            raise ValidationError("say why: a reason is required", fields={"reason": "required"})
        done = act_on_run(
            web.engine,
            web.settings,
            chosen,
            execution_id,
            actor=actor,
            reason=reason.strip(),
            now=web.now,
            force=force,
        )
    except PermissionDenied:
        raise  # the error page, as for any refusal
    except AcasBatchError as exc:
        run = run_detail(web.engine, web.settings, execution_id, actor=actor, now=web.now, log_limit=1)
        return render(
            request,
            "run.html",
            {"run": run, "logs": [], "log_total": 0, "level": "", "search": "", "log_error": None, "action_error": exc},
            status_code=exc.http_status,
        )
    return RedirectResponse(f"/runs/{done['id']}", status_code=303)


@router.get("/runs/{execution_id}/files/{name:path}")
def run_file_download(request: Request, actor: ActorDep, execution_id: Id, name: str) -> FileResponse:
    web = context(request)
    path = run_file(web.engine, web.settings, execution_id, name, actor=actor, now=web.now)
    return FileResponse(path, filename=path.name)

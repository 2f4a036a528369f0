"""The REST API under ``/api/v1``, with its OpenAPI 3.1 document at ``/api/v1/openapi.json``.

Each endpoint parses its input, calls one service function and returns its value as JSON.
Errors are RFC 9457 problem details (:mod:`acas_batch.web.problems`). Callers authenticate
with ``Authorization: Bearer TOKEN`` (or a browser session plus ``X-CSRF-Token``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from acas_batch import __version__
from acas_batch.errors import AcasBatchError, ValidationError
from acas_batch.services.alert_routes import silence_alert, silence_expire, silences_list
from acas_batch.services.catalogue import job_list
from acas_batch.services.editing import edit_job, edit_schedule, job_version, schedule_version
from acas_batch.services.identity import list_tokens, revoke_token
from acas_batch.services.log_stream import MEDIA_TYPES, export_format, stream_logs
from acas_batch.services.log_viewer import view_logs
from acas_batch.services.monitoring_alerts import acknowledge, active_alerts, resolve
from acas_batch.services.month_calendar import month_calendar
from acas_batch.services.run_actions import act_on_run, bulk_act, bulk_preview, parse_action, run_now
from acas_batch.services.run_board import audit_trail, liveness
from acas_batch.services.runs import list_runs, output_files, parse_run_query, run_detail, run_file
from acas_batch.services.schedules import forecast, schedule_summaries
from acas_batch.web.common import MAX_ID, ActorDep, Id, SmallId, context, zone_of
from acas_batch.web.problems import http_problem, problem_response, problem_types, request_validation_problem


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="Stable identifier of the kind of error, e.g. /problems/validation-error.")
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = Field(default=None, description="One entry per invalid field.")


def _problem(description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("No valid API token or session."),
    403: _problem("The user may not do this."),
    404: _problem("Something named in the request does not exist."),
    409: _problem("The request conflicts with the current state."),
    422: _problem("Invalid input; nothing was changed."),
}
EDIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    412: _problem("If-Match names an old version."),
    428: _problem("If-Match is missing."),
}


class Execution(BaseModel):
    """One execution in a list."""

    id: int
    job: str
    state: str
    trigger: str
    business_date: str
    attempt: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    progress: list[int | None] | None
    created_by: str | None
    error_type: str | None


class ExecutionPage(BaseModel):
    items: list[Execution]
    next_before: int | None = Field(description="Pass as before= for the next (older) page; null on the last.")


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    params: dict[str, Any] = Field(default_factory=dict)
    business_date: date | None = None
    force_reason: str | None = Field(default=None, max_length=2000)


class RunCreated(BaseModel):
    id: int
    created: bool = Field(description="False when an earlier request with the same Idempotency-Key made it.")
    url: str


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)
    force: bool = False


class ActionResult(BaseModel):
    id: int
    state: str
    cancel_requested: bool


class BulkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str
    reason: str = Field(default="", max_length=2000)
    ids: list[int] | None = Field(default=None, description="The runs; none: every run the query's filter matches.")
    preview: bool = Field(default=False, description="Only say which runs it would touch.")


class BulkResult(BaseModel):
    action: str
    done: list[int] = Field(default_factory=list)
    skipped: list[dict[str, Any]] = Field(default_factory=list)
    preview: list[int] | None = None
    replayed: bool = False


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=2000)


IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=128, description="Makes a retried request safe.")
]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The ETag of the version you change.")]

router = APIRouter(responses=COMMON_RESPONSES)

#: The longest forecast one request may ask for.
FORECAST_MAX_DAYS = 400


def _runs_filter(request: Request) -> dict[str, str | None]:
    return dict(request.query_params.items())


def _versioned(response: Response, version: tuple[dict[str, Any], str]) -> dict[str, Any]:
    """A job's or a schedule's data as a service returned it with its version tag, the tag sent as
    ``ETag``: what an edit sends back as ``If-Match``."""
    data, tag = version
    response.headers["ETag"] = tag
    return data


# --- health ---------------------------------------------------------------------------
@router.get("/health", tags=["system"])
def health(request: Request) -> dict[str, Any]:
    """Liveness and the scheduler's and workers' heartbeats (no sign-in needed)."""
    web = context(request)
    board = liveness(web.engine, web.settings, now=web.now)
    return {
        "status": "ok",
        "version": __version__,
        "scheduler_running": board["scheduler_running"],
        "processes": [{k: p[k] for k in ("role", "host", "pid", "alive", "heartbeat_at")} for p in board["processes"]],
    }


@router.get("/problems", tags=["system"])
def problems() -> list[dict[str, Any]]:
    """Every problem ``type`` the API answers with, and its status."""
    return problem_types()


# --- jobs -------------------------------------------------------------------------------
@router.get("/jobs", tags=["jobs"])
def jobs(request: Request, actor: ActorDep, module: str | None = None) -> list[dict[str, Any]]:
    """The job definitions, with their schedules in words."""
    web = context(request)
    return [j.__dict__ for j in job_list(web.engine, actor=actor, now=web.now, module=module)]


@router.get("/jobs/{name}", tags=["jobs"])
def job(request: Request, response: Response, actor: ActorDep, name: str) -> dict[str, Any]:
    """One job; its ``ETag`` is what an edit sends back as ``If-Match``."""
    web = context(request)
    return _versioned(response, job_version(web.engine, name, actor=actor, now=web.now))


@router.patch("/jobs/{name}", tags=["jobs"], responses=EDIT_RESPONSES)
def patch_job(
    request: Request, response: Response, actor: ActorDep, name: str, body: dict[str, Any], if_match: IfMatch = None
) -> dict[str, Any]:
    """Change a job (description, enabled, priority, timeout_seconds, max_attempts, default_params)."""
    web = context(request)
    return _versioned(response, edit_job(web.engine, name, body, if_match=if_match, actor=actor, now=web.now))


@router.post("/jobs/{name}/runs", tags=["jobs"], status_code=201, response_model=RunCreated)
def run_job(
    request: Request,
    actor: ActorDep,
    name: str,
    body: RunRequest,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Run a job now. With ``Idempotency-Key``, a retried request returns the first one's run (200)."""
    web = context(request)
    execution_id, created = run_now(
        web.engine,
        web.settings,
        name,
        body.params,
        business_date=body.business_date,
        actor=actor,
        now=web.now,
        force_reason=body.force_reason,
        idempotency_key=idempotency_key,
    )
    url = f"/api/v1/executions/{execution_id}"
    return JSONResponse(
        RunCreated(id=execution_id, created=created, url=url).model_dump(),
        status_code=201 if created else 200,
        headers={"Location": url},
    )


# --- schedules --------------------------------------------------------------------------
@router.get("/schedules", tags=["schedules"])
def schedules(request: Request, actor: ActorDep, job: str | None = None) -> list[dict[str, Any]]:
    """Every schedule with its rule in words."""
    web = context(request)
    return schedule_summaries(web.engine, actor=actor, now=web.now, job=job)


@router.get("/schedules/forecast", tags=["schedules"])
def schedules_forecast(
    request: Request,
    actor: ActorDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    job: str | None = None,
) -> dict[str, Any]:
    """Every run of the enabled schedules between two business dates (default: the next 31 days)."""
    web = context(request)
    first = from_ or web.now.date()
    if to is not None and (to - first).days > FORECAST_MAX_DAYS:
        raise ValidationError(
            f"a forecast covers at most {FORECAST_MAX_DAYS} days: "
            f"ask for {first} to {first + timedelta(FORECAST_MAX_DAYS)} at most",
            fields={"to": "too far"},
        )
    last, rows = forecast(web.engine, web.settings, first, to, actor=actor, now=web.now, job=job)
    return {"from": first.isoformat(), "to": last.isoformat(), "runs": [r.as_dict() for r in rows[:5000]]}


@router.get("/schedules/{schedule_id}", tags=["schedules"])
def schedule(request: Request, response: Response, actor: ActorDep, schedule_id: SmallId) -> dict[str, Any]:
    web = context(request)
    return _versioned(response, schedule_version(web.engine, schedule_id, actor=actor, now=web.now))


@router.patch("/schedules/{schedule_id}", tags=["schedules"], responses=EDIT_RESPONSES)
def patch_schedule(
    request: Request,
    response: Response,
    actor: ActorDep,
    schedule_id: SmallId,
    body: dict[str, Any],
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Change a schedule (enabled, kind, rule, timezone, shift_policy, misfire_policy)."""
    web = context(request)
    return _versioned(
        response, edit_schedule(web.engine, schedule_id, body, if_match=if_match, actor=actor, now=web.now)
    )


# --- calendar ---------------------------------------------------------------------------
class CalendarEntryOut(BaseModel):
    """One line of a day: a scheduled occurrence (expected, not run, skipped), or a run."""

    job: str
    time: str = Field(description="Wall time of ``at`` in the month's ``timezone`` (``08:00``).")
    at: datetime | None = Field(description="The occurrence's nominal time, or the run's creation (UTC).")
    status: str = Field(
        description="``expected`` (to come), ``not run`` (its time passed, no run), ``before records``, "
        "``skipped`` (the calendar skips it), or the run's state (``succeeded``, ``failed`` ...)."
    )
    execution_id: int | None = Field(description="The run; null for an occurrence with no run.")
    note: str = Field(description="Why an occurrence is skipped, or what made an unscheduled run.")


class CalendarDayOut(BaseModel):
    day: date
    in_month: bool = Field(description="False for the neighbouring months' days that fill the first and last weeks.")
    business_day: bool
    holiday: str | None = Field(description="The bank holiday's or closure's name.")
    marks: list[str] = Field(
        description="Month end, period and VAT-quarter ends, clock changes (``clocks go back 1 h (GMT begins)``)."
    )
    today: bool
    counts: dict[str, int] = Field(description="Entries by status.")
    entries: list[CalendarEntryOut] = Field(description="Expected runs and actual runs, in time order.")


class CalendarMonth(BaseModel):
    """A month of the business calendar as weeks of days, Monday first, as the calendar page shows it."""

    month: str = Field(description="``YYYY-MM``.")
    timezone: str = Field(
        description="The zone of the entries' ``time``: the caller's own, else the company's "
        "(business dates are the company's)."
    )
    previous: str | None
    next: str | None
    weeks: list[list[CalendarDayOut]]


@router.get("/calendar", tags=["calendar"], response_model=CalendarMonth)
def calendar(
    request: Request,
    actor: ActorDep,
    month: Annotated[str | None, Query(max_length=32, description="``YYYY-MM``; default this month.")] = None,
) -> dict[str, Any]:
    """A month of the business calendar: business days, bank holidays and closures, period and
    VAT-quarter ends, clock changes, each day's expected runs and the runs made."""
    web = context(request)
    return month_calendar(web.engine, web.settings, actor, month, now=web.now).as_dict()


# --- executions ---------------------------------------------------------------------------
@router.get("/executions", tags=["executions"], response_model=ExecutionPage)
def executions(
    request: Request,
    actor: ActorDep,
    job: str | None = None,
    hide: str | None = None,
    module: str | None = None,
    state: str | None = None,
    trigger: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    user: str | None = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Executions newest first, filtered as the runs page is; keyset pages (``before``)."""
    web = context(request)
    q = parse_run_query(_runs_filter(request))
    page = list_runs(web.engine, q, actor=actor, now=web.now)
    return {"items": page.rows, "next_before": page.next_before}


@router.post("/executions/bulk", tags=["executions"], response_model=BulkResult)
def executions_bulk(
    request: Request,
    actor: ActorDep,
    body: BulkRequest,
    job: str | None = None,
    hide: str | None = None,
    module: str | None = None,
    state: str | None = None,
    trigger: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    user: str | None = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """One action (rerun, cancel, hold, release) on chosen runs or every run the filter matches,
    audited as one operation; ``preview`` first says which runs it would touch."""
    action = parse_action(body.action)
    web = context(request)
    q = parse_run_query(_runs_filter(request))
    targets = body.ids if body.ids else bulk_preview(web.engine, q, action, actor=actor, now=web.now)
    if body.preview:
        return {"action": action.value, "preview": targets}
    return bulk_act(
        web.engine,
        web.settings,
        action,
        targets,
        actor=actor,
        reason=body.reason,
        now=web.now,
        idempotency_key=idempotency_key,
    )


@router.get("/executions/{execution_id}", tags=["executions"])
def execution(request: Request, actor: ActorDep, execution_id: Id) -> dict[str, Any]:
    """One execution: masked parameters, attempts, usual duration, files, upstream and downstream runs."""
    web = context(request)
    detail = run_detail(web.engine, web.settings, execution_id, actor=actor, now=web.now, log_limit=1)
    detail.pop("logs", None)
    return detail


@router.get("/executions/{execution_id}/logs", tags=["executions"])
def execution_logs(
    request: Request,
    actor: ActorDep,
    execution_id: Id,
    level: str | None = None,
    search: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> dict[str, Any]:
    web = context(request)
    run_detail(web.engine, web.settings, execution_id, actor=actor, now=web.now, log_limit=1)  # 404 if unknown
    flt: dict[str, Any] = {"execution_id": execution_id, "limit": limit}
    if level:
        flt["log_level"] = level
    if search:
        flt["search"] = search
    entries, total = view_logs(web.engine, flt, actor=actor, now=web.now)
    return {"total": total, "lines": [e.as_dict() for e in entries]}


@router.get("/executions/{execution_id}/files", tags=["executions"])
def execution_files(request: Request, actor: ActorDep, execution_id: Id) -> list[dict[str, Any]]:
    web = context(request)
    detail = run_detail(web.engine, web.settings, execution_id, actor=actor, now=web.now, log_limit=1)
    return output_files(web.settings, detail.get("output_dir"))


@router.get(
    "/executions/{execution_id}/files/{name}",
    tags=["executions"],
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file."}},
)
def execution_file(request: Request, actor: ActorDep, execution_id: Id, name: str) -> FileResponse:
    web = context(request)
    path = run_file(web.engine, web.settings, execution_id, name, actor=actor, now=web.now)
    return FileResponse(path, filename=path.name)


@router.post("/executions/{execution_id}/actions/{action}", tags=["executions"], response_model=ActionResult)
def execution_action(
    request: Request, actor: ActorDep, execution_id: Id, action: str, body: ActionRequest
) -> dict[str, Any]:
    """cancel, hold, release, rerun (``force`` for a success) or mark-succeeded, with a reason (audited)."""
    chosen = parse_action(action)
    web = context(request)
    return act_on_run(
        web.engine,
        web.settings,
        chosen,
        execution_id,
        actor=actor,
        reason=body.reason.strip(),
        now=web.now,
        force=body.force,
    )


# --- alerts -------------------------------------------------------------------------------
@router.get("/alerts", tags=["alerts"])
def alerts(request: Request, actor: ActorDep) -> list[dict[str, Any]]:
    """Open and acknowledged alerts, newest first."""
    web = context(request)
    return active_alerts(web.engine, actor, now=web.now)


@router.post("/alerts/{alert_id}/acknowledge", tags=["alerts"])
def alert_acknowledge(request: Request, actor: ActorDep, alert_id: SmallId, body: Reason) -> dict[str, Any]:
    web = context(request)
    return acknowledge(web.engine, alert_id, actor=actor, now=web.now)


class SilenceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)
    until: datetime | None = Field(default=None, description="When the silence ends (with a zone; at most 31 days on).")
    for_: str | None = Field(
        default=None, alias="for", pattern=r"^\s*\d{1,6}\s*[mhd]\s*$", description="Or how long: 90m, 4h, 2d."
    )


@router.post("/alerts/{alert_id}/silence", tags=["alerts"], status_code=201)
def alert_silence(request: Request, actor: ActorDep, alert_id: SmallId, body: SilenceRequest) -> dict[str, Any]:
    """Silence alerts like this one (its rule, and its job if it has one) with a reason, ``until`` a time
    or ``for`` a while: they are recorded but not sent until it ends."""
    web = context(request)
    return silence_alert(
        web.engine,
        alert_id,
        actor=actor,
        reason=body.reason,
        until=body.until.isoformat() if body.until else None,
        duration=body.for_,
        timezone=zone_of(request),
        now=web.now,
    )


@router.get("/silences", tags=["alerts"])
def silences(request: Request, actor: ActorDep, include_ended: bool = False) -> list[dict[str, Any]]:
    """Active silences, soonest end first (``include_ended``: ended and expired ones too, newest first)."""
    web = context(request)
    return silences_list(web.engine, actor=actor, include_ended=include_ended, now=web.now)


@router.post("/silences/{silence_id}/expire", tags=["alerts"])
def silence_end_now(request: Request, actor: ActorDep, silence_id: SmallId) -> dict[str, Any]:
    """End a silence now: what it held back and is still open is told at the next monitoring pass."""
    web = context(request)
    return silence_expire(web.engine, silence_id, actor=actor, now=web.now)


@router.post("/alerts/{alert_id}/resolve", tags=["alerts"])
def alert_resolve(request: Request, actor: ActorDep, alert_id: SmallId, body: Reason) -> dict[str, Any]:
    web = context(request)
    return resolve(web.engine, alert_id, actor=actor, now=web.now)


# --- logs and audit -------------------------------------------------------------------------
@router.get("/logs", tags=["logs"])
def logs(
    request: Request,
    actor: ActorDep,
    search: str | None = None,
    job: str | None = None,
    level: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Log lines across executions, newest filters first; messages masked."""
    web = context(request)
    flt = _log_filter(search, job, level, from_, to) | {"limit": limit}
    entries, total = view_logs(web.engine, flt, actor=actor, now=web.now)
    return {"total": total, "lines": [e.as_dict() for e in entries]}


def _log_filter(
    search: str | None, job: str | None, level: str | None, date_from: str | None, date_to: str | None
) -> dict[str, Any]:
    raw = {"search": search, "job_name": job, "log_level": level, "date_from": date_from, "date_to": date_to}
    return {k: v for k, v in raw.items() if v}


@router.get(
    "/logs/export",
    tags=["logs"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}, "text/plain": {}}, "description": "Lines."}},
)
def logs_export(
    request: Request,
    actor: ActorDep,
    format: str = "csv",
    search: str | None = None,
    job: str | None = None,
    level: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> StreamingResponse:
    """Every matching line, streamed as CSV, JSON or text; secrets masked."""
    fmt = export_format(format)
    web = context(request)
    pieces = stream_logs(web.engine, _log_filter(search, job, level, from_, to), fmt, actor=actor, now=web.now)
    name = f"acas-logs.{fmt.value}"
    return StreamingResponse(
        pieces, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/audit", tags=["audit"])
def audit(
    request: Request,
    actor: ActorDep,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    target: str | None = None,
) -> list[dict[str, Any]]:
    """The audit trail newest first (keyset: ``before``); ``target`` like ``execution:42``."""
    web = context(request)
    return audit_trail(web.engine, actor=actor, now=web.now, before=before, limit=limit, target=target)


# --- users and tokens ---------------------------------------------------------------------------
class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=200)
    role: str


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)


@router.get("/users", tags=["users"])
def users(request: Request, actor: ActorDep) -> list[dict[str, Any]]:
    return context(request).identities.list_users(actor)


@router.post("/users", tags=["users"], status_code=201)
def add_user(request: Request, actor: ActorDep, body: NewUser) -> dict[str, Any]:
    context(request).identities.add_user(body.username, body.password, body.role, actor=actor)
    return {"username": body.username, "role": body.role}


@router.post("/users/{username}/tokens", tags=["users"], status_code=201)
def add_token(request: Request, actor: ActorDep, username: str, body: NewToken) -> dict[str, Any]:
    """A new API token for a user (another's needs ``users:manage``); shown once, only its hash is kept."""
    web = context(request)
    return {"token": web.identities.create_token(username, body.name, actor=actor), "name": body.name}


class Token(BaseModel):
    """An API token as kept: never its secret."""

    id: int
    username: str
    name: str | None
    prefix: str | None
    role: str | None
    created_at: str
    expires_at: str
    last_used_at: str | None
    revoked_at: str | None


@router.get("/tokens", tags=["users"], response_model=list[Token])
def tokens(request: Request, actor: ActorDep) -> list[dict[str, Any]]:
    """The caller's API tokens, or everyone's for an administrator (``users:manage``)."""
    web = context(request)
    return [t.as_dict() for t in list_tokens(web.engine, actor, now=web.now)]


@router.post("/tokens/{token_id}/revoke", tags=["users"], response_model=Token)
def revoke(request: Request, actor: ActorDep, token_id: SmallId) -> dict[str, Any]:
    """Revoke an API token at once: one's own, or anyone's for an administrator. Revoking twice is harmless."""
    web = context(request)
    return revoke_token(web.engine, actor, token_id, now=web.now).as_dict()


#: The API's one security scheme: the token an administrator makes, sent as a bearer token.
BEARER = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`acas_...`) made on the Users page or with `POST /users/{username}/tokens`.",
    }
}
#: The operations any caller may use without a token.
PUBLIC = ("/health", "/problems", "/openapi.json", "/docs")


def _with_security(document: dict[str, Any]) -> dict[str, Any]:
    """Declare the bearer scheme and require it everywhere but the public operations."""
    document.setdefault("components", {})["securitySchemes"] = BEARER
    document["security"] = [{"bearerToken": []}]
    for path, operations in document.get("paths", {}).items():
        if path in PUBLIC:
            for operation in operations.values():
                operation["security"] = []
    return document


def create_api() -> FastAPI:
    """The API as its own application, mounted at ``/api/v1`` (so its document is ``/api/v1/openapi.json``)."""
    api = FastAPI(
        title="acas-batch API",
        version=__version__,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        description="Jobs, schedules, executions, alerts, logs and audit of acas-batch. "
        "Authenticate with `Authorization: Bearer TOKEN`. Errors are RFC 9457 problem details.",
    )

    @api.exception_handler(AcasBatchError)
    async def acas_error(request: Request, exc: AcasBatchError) -> Response:
        return problem_response(exc, str(request.url.path))

    @api.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        return request_validation_problem(exc, str(request.url.path))

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return http_problem(exc.status_code, str(exc.detail), str(request.url.path))

    api.include_router(router)
    plain_openapi = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = _with_security(plain_openapi())
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    return api

"""Errors as HTTP answers: RFC 9457 problem details for the API, a plain page for people.

Each error class has one stable ``type`` (``/problems/<name>``); its status comes from the
class's ``http_status`` in ``errors.py``. This is the only place the web face maps errors.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from acas_batch.errors import AcasBatchError, ValidationError

PROBLEM_JSON = "application/problem+json"


def problem_type(exc_class: type[BaseException]) -> str:
    """``/problems/run-key-already-succeeded`` for ``RunKeyAlreadySucceeded``."""
    return "/problems/" + re.sub(r"(?<!^)(?=[A-Z])", "-", exc_class.__name__).lower()


def problem_of(exc: AcasBatchError, instance: str | None = None) -> tuple[int, dict[str, Any]]:
    """The status and the problem document for an error."""
    status = exc.http_status
    body: dict[str, Any] = {
        "type": problem_type(type(exc)),
        "title": (type(exc).__doc__ or type(exc).__name__).strip().splitlines()[0],
        "status": status,
        "detail": str(exc),
    }
    if instance:
        body["instance"] = instance
    if isinstance(exc, ValidationError) and exc.fields:
        body["errors"] = [{"field": k, "message": v} for k, v in exc.fields.items()]
    return status, body


def problem_response(exc: AcasBatchError, instance: str | None = None) -> JSONResponse:
    status, body = problem_of(exc, instance)
    headers = {"WWW-Authenticate": 'Bearer realm="acas-batch"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def request_validation_problem(exc: RequestValidationError, instance: str | None = None) -> JSONResponse:
    """FastAPI's own input checks (a path id that is not a number, a body that is not JSON) as problems."""
    fields: dict[str, str] = {}
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header"))
        fields.setdefault(where or "request", str(err.get("msg", "invalid")))
    message = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return problem_response(ValidationError(f"invalid request: {message}", fields=fields), instance)


def http_problem(status: int, detail: str, instance: str | None = None) -> JSONResponse:
    """The framework's own refusals (no such route, method not allowed) as problems too."""
    kind = {404: "/problems/not-found", 405: "/problems/method-not-allowed"}.get(status, f"/problems/http-{status}")
    body: dict[str, Any] = {"type": kind, "title": detail, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


#: Every problem type the API answers with, for the OpenAPI document and the docs.
def problem_types() -> list[dict[str, Any]]:
    found: list[type[AcasBatchError]] = []
    todo: list[type[AcasBatchError]] = [AcasBatchError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(
        ({"type": problem_type(c), "status": c.http_status, "title": (c.__doc__ or "").strip()} for c in found),
        key=lambda p: str(p["type"]),
    )

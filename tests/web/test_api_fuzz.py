"""The API fuzzed from its own OpenAPI document: no server error, every answer as documented."""

from __future__ import annotations

from datetime import UTC, date, datetime

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from acas_batch.config import Settings
from acas_batch.security.actor import Actor
from acas_batch.services.run_actions import run_now
from acas_batch.web.auth import Identities

#: Who these tests act as: the local administrator console.
CONSOLE = Actor.console()

#: Examples per operation: enough to reach every parameter's edge cases, bounded to keep the suite quick.
EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_api_conforms_to_its_openapi_document(
    app_client: TestClient, engine: Engine, settings: Settings, identities: Identities
) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    run_now(engine, settings, "SYS_HEALTH_CHECK", {}, business_date=date(2026, 11, 1), actor=CONSOLE, now=now)
    headers = {"Authorization": f"Bearer {identities.create_token('admin', 'fuzz')}"}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app_client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    assert {"/calendar", "/executions", "/schedules/forecast"} <= {o.path for o in operations}
    for operation in operations:

        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()

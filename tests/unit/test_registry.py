from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel, ConfigDict, Field

from acas_batch.batch.registry import Registry, job
from acas_batch.errors import JobNotFound, ValidationError
from acas_batch.models.enums import Module


class AgeingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    warehouse: str = "ALL"
    days: int = Field(default=30, ge=1)


def _period_key(params: AgeingParams, business_date: date) -> str:
    return f"{business_date:%Y-%m}/{params.warehouse}"


def test_registered_job_validates_parameters_and_names_the_field() -> None:
    registry = Registry()

    @job("TEST_AGEING", module=Module.SL, params=AgeingParams, run_key=_period_key, registry=registry)
    def ageing(ctx: object) -> None:
        """Age the debts."""

    spec = registry.get("TEST_AGEING")
    assert spec.description == "Age the debts."
    params = spec.validate_params({"warehouse": "W1", "days": "45"})
    assert params == AgeingParams(warehouse="W1", days=45)
    assert spec.make_run_key(params, date(2026, 11, 30)) == "TEST_AGEING:2026-11/W1"

    with pytest.raises(ValidationError) as info:
        spec.validate_params({"days": 0, "colour": "red"})
    assert "days" in str(info.value)
    assert "colour: unknown parameter" in str(info.value)


def test_unknown_handler_and_double_registration() -> None:
    registry = Registry()
    with pytest.raises(JobNotFound, match="NOPE"):
        registry.get("NOPE")

    @job("TWICE", module=Module.SYS, registry=registry)
    def first(ctx: object) -> None: ...

    with pytest.raises(ValueError, match="registered twice"):

        @job("TWICE", module=Module.SYS, registry=registry)
        def second(ctx: object) -> None: ...

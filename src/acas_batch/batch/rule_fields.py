"""Reading one schedule rule's JSON object, with errors that name ``kind.field`` and the value."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Any, Literal

from acas_batch.batch.localtime import parse_hhmm
from acas_batch.errors import ValidationError
from acas_batch.models.enums import ScheduleKind

MonthEnd = Literal["last", "last_business"]


class RuleFields:
    """Reads one rule's JSON object, naming ``kind.field`` and the value in every error."""

    def __init__(self, kind: ScheduleKind, data: object, allowed: tuple[str, ...]) -> None:
        if not isinstance(data, Mapping):
            raise ValidationError(f"{kind.value} rule: {data!r} is not a JSON object")
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise ValidationError(f"{kind.value}.{unknown[0]}: unknown field (allowed: {', '.join(allowed)})")
        self.kind, self.data = kind, data

    def name(self, key: str) -> str:
        return f"{self.kind.value}.{key}"

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str) -> Any:
        if key not in self.data:
            raise ValidationError(f"{self.name(key)}: required field is missing")
        return self.data[key]

    def at(self) -> time:
        return parse_hhmm(self.name("at"), self.get("at"))

    def integer(self, key: str, low: int, high: int, default: int | None = None) -> int:
        value = self.data.get(key, default) if default is not None else self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(f"{self.name(key)}: {value!r} is not a whole number from {low} to {high}")
        return value

    def month_end(self) -> MonthEnd:
        value = self.get("day")
        if value not in ("last", "last_business"):
            raise ValidationError(f"{self.name('day')}: {value!r} is not 'last' or 'last_business'")
        return "last" if value == "last" else "last_business"

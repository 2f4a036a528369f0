"""Declarative base, naming convention and the column types every model shares."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Enum, MetaData, Text, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeEngine

from acas_batch.masking import mask_any, mask_text

# Stable constraint names: Alembic can compare and drop them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant on both databases.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text, which sorts and
    compares correctly because SQLAlchemy always writes the same fixed-width format.
    Naive datetimes are refused: they are the root of every DST bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given where a UTC instant is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class MaskedText(TypeDecorator[str]):
    """Text masked on its way into the database: a secret in a log line or an error is never stored.

    Masking runs in the bind processor, so every write (ORM, Core ``insert``/``update``, executemany)
    goes through it, and a value compared with the column is masked the same way as what is stored.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return mask_text(value) if value else value


class MaskedJSON(TypeDecorator[Any]):
    """JSON (JSONB on PostgreSQL) masked on its way in: secret keys and sensitive text in any value."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return mask_any(value) if value is not None else None


#: Money in integer pence.
Pence = BigInteger


def enum_column(enum_cls: type[StrEnum], name: str) -> Enum:
    """A portable enumeration stored as its string values, with a CHECK constraint."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


def utc(value: Any) -> datetime:
    """Coerce an aware datetime to UTC; refuse naive ones."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"expected an aware datetime, got {value!r}")
    return value.astimezone(UTC)

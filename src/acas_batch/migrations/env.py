"""Alembic environment: runs on the engine handed over by acas_batch.models.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from acas_batch.models import Base
from acas_batch.models.migrate import include_object

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("acas-batch migrations run through `acas-batch db upgrade`, not the alembic CLI")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()

"""Alembic, driven from code: the migrations ship inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


#: Database objects the migrations create that the models do not describe: the log search
#: index (SQLite: an FTS5 table and its shadow tables; PostgreSQL: a GIN expression index) and
#: PostgreSQL's index of a job's lines by level (``0030_log_job_level_index``; SQLite's
#: planner would scan all of it for a view by level alone, so SQLite has none).
UNMODELLED_TABLE_PREFIX = "batch_log_fts"
UNMODELLED_INDEXES = frozenset({"ix_batch_log_rec_search", "ix_batch_log_rec_job_level_time"})


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's filter for comparing the schema with the models: leaves out the search index."""
    if type_ == "table" and name is not None and name.startswith(UNMODELLED_TABLE_PREFIX):
        return False
    return not (type_ == "index" and name in UNMODELLED_INDEXES)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config_without_engine())
    head = script.get_current_head()
    if head is None:
        raise RuntimeError("the package ships no migrations")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def pending_migrations(engine: Engine) -> list[str]:
    """Revisions the database still lacks, oldest first."""
    script = ScriptDirectory.from_config(alembic_config_without_engine())
    current = current_revision(engine)
    revs = [r.revision for r in script.iterate_revisions("head", current)]
    return list(reversed(revs))


def alembic_config_without_engine() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg

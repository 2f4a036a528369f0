"""perf: a full-text index over the stored log lines

Revision ID: 0023_perf
Revises: 0021_web
Create Date: 2026-12-06 20:00:00

A word search over ``batch_log_rec`` was a ``LIKE '%text%'`` scan of every line. The stored
(masked) message and the event name are now indexed word by word:

- SQLite: an FTS5 table with external content, ``batch_log_fts(event, message)`` over
  ``batch_log_rec`` (``content_rowid = id``), kept by three triggers (insert, delete, update
  of the two columns); the rows already there are indexed by a ``rebuild``. The index holds
  the words only, not a copy of the text.
- PostgreSQL: a GIN index on ``to_tsvector('simple', event || ' ' || message)`` (the
  ``simple`` configuration: every word as written, lower-cased, no stemming and no stop
  words, as FTS5's ``unicode61`` tokenizer does).

A later migration that rebuilds ``batch_log_rec`` on SQLite (``batch_alter_table``) drops
these triggers with the old table and must create them again.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0023_perf"
down_revision: str | None = "0021_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The indexed text on PostgreSQL; the queries in ``acas_batch.logs.query`` repeat it word for word.
PG_DOCUMENT = "to_tsvector('simple'::regconfig, (event::text || ' ' || message))"

_SQLITE = [
    "CREATE VIRTUAL TABLE batch_log_fts USING fts5("
    "event, message, content='batch_log_rec', content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER batch_log_fts_insert AFTER INSERT ON batch_log_rec BEGIN"
    " INSERT INTO batch_log_fts(rowid, event, message) VALUES (NEW.id, NEW.event, NEW.message); END",
    "CREATE TRIGGER batch_log_fts_delete AFTER DELETE ON batch_log_rec BEGIN"
    " INSERT INTO batch_log_fts(batch_log_fts, rowid, event, message) VALUES ('delete', OLD.id, OLD.event, OLD.message);"
    " END",
    "CREATE TRIGGER batch_log_fts_update AFTER UPDATE OF event, message ON batch_log_rec BEGIN"
    " INSERT INTO batch_log_fts(batch_log_fts, rowid, event, message) VALUES ('delete', OLD.id, OLD.event, OLD.message);"
    " INSERT INTO batch_log_fts(rowid, event, message) VALUES (NEW.id, NEW.event, NEW.message); END",
    "INSERT INTO batch_log_fts(batch_log_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_batch_log_rec_search ON batch_log_rec USING gin ({PG_DOCUMENT})")
        return
    for statement in _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_batch_log_rec_search")
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER batch_log_fts_{trigger}")
    op.execute("DROP TABLE batch_log_fts")

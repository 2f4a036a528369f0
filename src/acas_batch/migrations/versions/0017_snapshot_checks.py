"""snapshot checks: the ABC and forecast snapshots check their execution once per statement, not per row

Revision ID: 0017_snapshot_checks
Revises: 0016_vat_paid
Create Date: 2026-11-24 23:30:00

``st_abc_result_rec`` and ``st_forecast_result_rec`` get one row per item and run (32,000 at
full size, written by one statement). Their foreign key to ``batch_execution_rec`` checked
every row on its own: on PostgreSQL a lookup and a ``FOR KEY SHARE`` lock per row, 150-300 ms
of a run that takes about one second. The key is replaced by triggers that keep its meaning:

- a row must name an existing execution (inserted or updated), else the statement fails with
  a foreign-key violation. On PostgreSQL one statement-level trigger per event reads the
  distinct execution ids of the statement's rows (a transition table) and locks them against
  deletion, as the key did; on SQLite a row trigger does the lookup (a key check costs the same).
- deleting an execution deletes its snapshot rows (the key's ``ON DELETE CASCADE``); on
  PostgreSQL by one statement per deleting statement.

The downgrade drops the triggers and puts the foreign keys back.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017_snapshot_checks"
down_revision: str | None = "0016_vat_paid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("st_abc_result_rec", "st_forecast_result_rec")

_PG_CHECK = """
CREATE FUNCTION acas_snapshot_execution_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    -- As a foreign key does: the executions named stay until this transaction ends.
    PERFORM 1 FROM batch_execution_rec e
     WHERE e.id IN (SELECT DISTINCT execution_id FROM new_rows) FOR KEY SHARE OF e;
    SELECT n.execution_id INTO missing FROM (SELECT DISTINCT execution_id FROM new_rows) n
     WHERE NOT EXISTS (SELECT 1 FROM batch_execution_rec e WHERE e.id = n.execution_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "%" violates the execution check: execution % does not exist',
            TG_TABLE_NAME, missing USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$
"""

_PG_CASCADE = f"""
CREATE FUNCTION acas_snapshot_execution_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{"".join(f"    DELETE FROM {t} WHERE execution_id IN (SELECT id FROM gone);{chr(10)}" for t in _TABLES)}    RETURN NULL;
END
$$
"""


def _fk_name(table: str) -> str:
    return f"fk_{table}_execution_id_batch_execution_rec"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(_fk_name(table), type_="foreignkey")
    if postgresql:
        op.execute(_PG_CHECK)
        op.execute(_PG_CASCADE)
        for table in _TABLES:
            for event in ("INSERT", "UPDATE"):
                op.execute(
                    f"CREATE TRIGGER {table}_execution_{event.lower()} AFTER {event} ON {table}"
                    " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
                    " EXECUTE FUNCTION acas_snapshot_execution_check()"
                )
        op.execute(
            "CREATE TRIGGER batch_execution_rec_snapshots AFTER DELETE ON batch_execution_rec"
            " REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION acas_snapshot_execution_cascade()"
        )
        return
    for table in _TABLES:
        for event in ("INSERT", "UPDATE OF execution_id"):
            op.execute(
                f"CREATE TRIGGER {table}_execution_{event.split()[0].lower()} BEFORE {event} ON {table}"
                " WHEN NOT EXISTS (SELECT 1 FROM batch_execution_rec WHERE id = NEW.execution_id)"
                f' BEGIN SELECT RAISE(ABORT, \'insert or update on table "{table}" violates the execution check:'
                " the execution does not exist'); END"
            )
    deletes = " ".join(f"DELETE FROM {t} WHERE execution_id = OLD.id;" for t in _TABLES)
    op.execute(f"CREATE TRIGGER batch_execution_rec_snapshots AFTER DELETE ON batch_execution_rec BEGIN {deletes} END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    on = " ON batch_execution_rec" if postgresql else ""
    op.execute(f"DROP TRIGGER batch_execution_rec_snapshots{on}")
    for table in _TABLES:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER {table}_execution_{event}{f' ON {table}' if postgresql else ''}")
    if postgresql:
        op.execute("DROP FUNCTION acas_snapshot_execution_cascade()")
        op.execute("DROP FUNCTION acas_snapshot_execution_check()")
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(
                _fk_name(table), "batch_execution_rec", ["execution_id"], ["id"], ondelete="CASCADE"
            )

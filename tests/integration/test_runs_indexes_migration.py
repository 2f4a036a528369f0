"""Migration 0028_runs_indexes both ways on both databases: the runs list's indexes come and go."""

from __future__ import annotations

from sqlalchemy import inspect

from acas_batch.db import make_engine
from acas_batch.models.migrate import downgrade, upgrade

BEFORE = "0028_user_zone"
ADDED = {
    "ix_batch_execution_rec_date_id": ["business_date", "job_id", "id"],
    "ix_batch_execution_rec_trigger_id": ["trigger", "id"],
    "ix_batch_execution_rec_user_id": ["created_by", "id"],
}


def _indexes(engine: object) -> dict[str, list[str]]:
    return {i["name"]: list(i["column_names"]) for i in inspect(engine).get_indexes("batch_execution_rec")}


def test_upgrade_adds_the_runs_indexes_and_downgrade_drops_them(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, BEFORE)
        assert not set(ADDED) & set(_indexes(engine))
        upgrade(engine, "0028_runs_indexes")
        assert {k: v for k, v in _indexes(engine).items() if k in ADDED} == ADDED
        downgrade(engine, BEFORE)
        assert not set(ADDED) & set(_indexes(engine))
    finally:
        engine.dispose()

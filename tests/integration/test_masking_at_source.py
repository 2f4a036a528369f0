"""Secrets in log lines, results and errors are masked before they are stored, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select, text

from acas_batch.batch.operations import enqueue
from acas_batch.db import transaction
from acas_batch.logs import parse_filter, query_logs
from acas_batch.models import BatchExecution, BatchJob, BatchLog, ExecutionState, LogLevel, Module, TriggerKind
from tests.engine_helpers import NOW, Running, define, engine_settings, wait_until

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _stored_text(engine: Engine) -> str:
    """Every stored log line, context, result and error, as the database holds them."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT message || ' ' || COALESCE(CAST(context AS TEXT), '') FROM batch_log_rec "
                "UNION ALL SELECT COALESCE(CAST(result AS TEXT), '') || ' ' || COALESCE(error_message, '') "
                "FROM batch_execution_rec"
            )
        ).scalars()
        return "\n".join(rows)


def test_orm_and_core_writes_store_masked_text(engine: Engine) -> None:
    # Given a log line and an execution written through the ORM and through Core
    with transaction(engine, write=True) as s:
        job = BatchJob(name="GL_DAILY_CLOSE", module=Module.GL, handler="GL_DAILY_CLOSE", created_at=T0, updated_at=T0)
        s.add(job)
        s.flush()
        ex = BatchExecution(
            job_id=job.id,
            business_date=date(2026, 11, 2),
            state=ExecutionState.FAILED,
            trigger=TriggerKind.MANUAL,
            run_key="GL_DAILY_CLOSE:1",
            created_at=T0,
            result={"summary": "sent with db_password=Winter2026", "bank": {"sort_code": "400101"}},
            error_message="refused: Authorization: Bearer abcdef0123456789",
        )
        s.add(ex)
        s.flush()
        s.add(
            BatchLog(
                execution_id=ex.id,
                job_id=job.id,
                logged_at=T0,
                level=LogLevel.ERROR,
                event="job_error",
                message="paid 20-00-00 55779911 with card 4111 1111 1111 1111",
                context={"smtp": {"password": "Winter2026"}, "count": 3},
            )
        )
        s.execute(
            insert(BatchLog),
            [{"logged_at": T0, "level": LogLevel.INFO, "event": "x", "message": "access_token=ya29.qwertyuiop"}],
        )
    # Then the database holds none of the clear values
    stored = _stored_text(engine)
    for clear in ("Winter2026", "400101", "abcdef0123456789", "55779911", "4111 1111 1111 1111", "ya29.qwertyuiop"):
        assert clear not in stored
    assert "**-**-00 ****11" in stored and "****1111" in stored


def test_search_runs_on_the_stored_masked_text(engine: Engine) -> None:
    with transaction(engine, write=True) as s:
        s.add(BatchLog(logged_at=T0, level=LogLevel.INFO, event="login", message="login password=hunter2 ok"))
    with transaction(engine) as s:
        # a search for the secret, or any piece of it, finds nothing: it was never stored
        for probe in ("hunter2", "password=h", "password=hunter"):
            assert query_logs(s, parse_filter({"search": probe}))[1] == 0
        assert query_logs(s, parse_filter({"search": "password=****"}))[1] == 1


def test_a_job_that_logs_returns_and_fails_with_secrets_stores_none(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # Given careless job code that puts its secret into log lines, its result and its error
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_LEAKY")
    with transaction(engine, write=True) as s:
        ok = enqueue(s, "TEST_LEAKY", {"secret": "hunter2-leaked"}, now=NOW, business_date=NOW.date()).id
        failed = enqueue(s, "TEST_LEAKY", {"secret": "fail-s3cr3t-9"}, now=NOW, business_date=date(2026, 11, 3)).id

    def finished() -> bool:
        with transaction(engine) as s:
            states = s.scalars(select(BatchExecution.state).where(BatchExecution.id.in_([ok, failed]))).all()
            return all(st in (ExecutionState.SUCCEEDED, ExecutionState.FAILED) for st in states)

    # When a worker runs it
    with Running(settings, engine, slots=1):
        wait_until(finished)
    # Then the stored logs, result and error hold masks, not the secrets
    stored = _stored_text(engine)
    assert "hunter2-leaked" not in stored and "fail-s3cr3t-9" not in stored and "55779911" not in stored
    with transaction(engine) as s:
        assert "api_key=****" in (s.get_one(BatchExecution, failed).error_message or "")

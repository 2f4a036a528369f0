"""The migrated schema is the models' schema, and its constraints enforce the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from acas_batch.db import make_engine
from acas_batch.models import (
    SPEC_TABLES,
    Base,
    BatchAlert,
    BatchExecution,
    BatchJob,
    BatchSchedule,
    ExecutionState,
    Module,
    ScheduleKind,
    TriggerKind,
)
from acas_batch.models.migrate import current_revision, head_revision, include_object, upgrade

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _job(session: Session, name: str = "GL_DAILY_CLOSE") -> BatchJob:
    job = BatchJob(name=name, module=Module.GL, handler=name, created_at=NOW, updated_at=NOW)
    session.add(job)
    session.flush()
    return job


def _execution(job: BatchJob, **kw: object) -> BatchExecution:
    values: dict[str, object] = {
        "job_id": job.id,
        "business_date": date(2026, 11, 24),
        "state": ExecutionState.PENDING,
        "trigger": TriggerKind.MANUAL,
        "run_key": f"{job.name}:2026-11-24",
        "created_at": NOW,
    }
    values.update(kw)
    return BatchExecution(**values)


def test_migrations_build_exactly_the_models_schema(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object}),
            Base.metadata,
        )
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert set(SPEC_TABLES) <= tables
    assert {"user_rec", "role_rec", "audit_rec"} <= tables
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_upgrade_twice_changes_nothing(engine: Engine) -> None:
    before = sorted(inspect(engine).get_table_names())
    upgrade(engine)
    assert sorted(inspect(engine).get_table_names()) == before


def test_job_names_are_unique(engine: Engine) -> None:
    with Session(engine) as session:
        _job(session)
        session.commit()
        session.add(BatchJob(name="GL_DAILY_CLOSE", module=Module.GL, handler="x", created_at=NOW, updated_at=NOW))
        with pytest.raises(IntegrityError):
            session.commit()


def test_enumerations_are_checked_by_the_database(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO batch_job_rec (name, module, description, handler, enabled, priority, max_concurrency,"
            " max_attempts, retry_backoff_seconds, retry_backoff_max_seconds, recovery_policy, resources,"
            " default_params, is_standard, modified_by_user, created_at, updated_at)"
            " VALUES ('J', 'GL', '', 'J', true, 50, 1, 3, 30, 3600, 'retry', '[]', '{}', false, false,"
            " '2026-11-24 09:00:00', '2026-11-24 09:00:00')"
        )
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO batch_execution_rec (job_id, business_date, state, trigger, run_key, params, priority,"
            " attempt, fencing_token, cancel_requested, created_at, forced)"
            " VALUES (1, '2026-11-24', 'exploded', 'manual', 'J:1', '{}', 50, 1, 0, false,"
            " '2026-11-24 09:00:00', false)"
        )


def test_one_execution_per_occurrence(engine: Engine) -> None:
    with Session(engine) as session:
        job = _job(session)
        schedule = BatchSchedule(
            job_id=job.id,
            name="daily",
            kind=ScheduleKind.DAILY,
            rule={"at": "23:00"},
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(schedule)
        session.flush()
        nominal = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
        session.add(_execution(job, schedule_id=schedule.id, nominal_time=nominal, trigger=TriggerKind.SCHEDULE))
        session.commit()
        # A retry row carries no schedule_id, so it does not collide.
        session.add(_execution(job, nominal_time=nominal, attempt=2, trigger=TriggerKind.RETRY))
        session.commit()
        session.add(_execution(job, schedule_id=schedule.id, nominal_time=nominal, trigger=TriggerKind.SCHEDULE))
        with pytest.raises(IntegrityError):
            session.commit()


def test_a_run_key_succeeds_once_unless_superseded(engine: Engine) -> None:
    with Session(engine) as session:
        job = _job(session)
        session.add(_execution(job, state=ExecutionState.FAILED))
        first = _execution(job, state=ExecutionState.SUCCEEDED)
        session.add(first)
        session.commit()  # a failure and a success of one run key may coexist

        session.add(_execution(job, state=ExecutionState.SUCCEEDED))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()

        forced = _execution(job, state=ExecutionState.RUNNING, lease_owner="w1", lease_expires_at=NOW, forced=True)
        session.add(forced)
        session.flush()
        first.superseded_by_id = forced.id
        session.flush()
        forced.state = ExecutionState.SUCCEEDED
        session.commit()
        count = session.scalar(
            select(BatchExecution.id).where(BatchExecution.state == ExecutionState.SUCCEEDED).limit(1)
        )
        assert count is not None


def test_running_needs_a_lease_and_held_needs_an_origin(engine: Engine) -> None:
    with Session(engine) as session:
        job = _job(session)
        session.commit()
        session.add(_execution(job, state=ExecutionState.RUNNING))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        session.add(_execution(job, state=ExecutionState.HELD))
        with pytest.raises(IntegrityError):
            session.commit()


def test_open_alerts_are_deduplicated(engine: Engine) -> None:
    def alert(state: str = "open") -> BatchAlert:
        return BatchAlert(
            rule="failure",
            severity="critical",
            state=state,
            dedup_key="failure:GL_DAILY_CLOSE",
            title="GL_DAILY_CLOSE failed",
            message="boom",
            first_raised_at=NOW,
            last_raised_at=NOW,
        )

    with Session(engine) as session:
        session.add_all([alert("resolved"), alert("resolved"), alert()])
        session.commit()
        session.add(alert())
        with pytest.raises(IntegrityError):
            session.commit()


def test_instants_round_trip_as_aware_utc_and_naive_is_refused(engine: Engine) -> None:
    bst = datetime(2026, 7, 1, 23, 30, tzinfo=UTC) + timedelta(0)
    with Session(engine) as session:
        job = _job(session)
        session.add(_execution(job, nominal_time=bst))
        session.commit()
        got = session.scalars(select(BatchExecution.nominal_time)).one()
        assert got == bst and got.tzinfo is not None and got.utcoffset() == timedelta(0)
        session.add(_execution(job, nominal_time=datetime(2026, 7, 1, 23, 30)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.commit()


def test_sqlite_pragmas(backend: str, engine: Engine) -> None:
    if backend != "sqlite":
        assert engine.dialect.name == "postgresql"
        assert engine.pool.size() == 10  # type: ignore[attr-defined]
        return
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000

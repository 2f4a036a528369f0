"""A job's unit of work (``db.job_engine``): it reads without a lock and takes the write lock at its first write.

On SQLite a transaction that has read cannot wait for the write lock: WAL refuses the upgrade
at once if another connection holds the lock, and for good if another has committed since
the transaction's first read. These tests make exactly that happen with a second connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from acas_batch.db import holds_write_lock, job_engine, make_engine, reserve_ids, transaction
from acas_batch.models import BatchMetric

AT = datetime(2026, 11, 30, 22, tzinfo=UTC)


def _metric(name: str, value: float = 0.0) -> BatchMetric:
    return BatchMetric(name=name, recorded_at=AT, value=value)


@pytest.fixture
def impatient(db_url: str) -> Iterator[Engine]:
    """Another process's engine, which waits at most 0.2 s for a lock."""
    engine = make_engine(db_url, busy_timeout=0.2)
    yield engine
    engine.dispose()


def test_a_job_that_has_only_read_keeps_no_writer_waiting_and_then_writes_over_the_newest_rows(
    engine: Engine, impatient: Engine
) -> None:
    with transaction(engine, write=True) as s:
        s.add(_metric("counter", 1))
    with Session(job_engine(engine)) as job:
        # Given a job's transaction that has read a row
        assert job.scalar(select(BatchMetric.value).where(BatchMetric.name == "counter")) == 1
        assert not holds_write_lock(job)
        # When another process changes it and commits meanwhile (it waits for nobody)
        with transaction(impatient, write=True) as other:
            other.execute(update(BatchMetric).where(BatchMetric.name == "counter").values(value=2))
            other.add(_metric("other"))
        # Then the job's first write goes through, over the other's committed change
        job.execute(update(BatchMetric).where(BatchMetric.name == "counter").values(value=BatchMetric.value + 10))
        assert holds_write_lock(job) is (engine.dialect.name == "sqlite")
        job.commit()
    with transaction(engine) as s:
        assert s.scalar(select(BatchMetric.value).where(BatchMetric.name == "counter")) == 12
        assert s.scalar(select(func.count()).where(BatchMetric.name == "other")) == 1


@pytest.mark.parametrize("backend", ["sqlite"])
def test_from_its_first_write_to_its_commit_the_job_holds_the_lock(engine: Engine, impatient: Engine) -> None:
    with Session(job_engine(engine)) as job:
        # Given a job's transaction that has written
        job.add(_metric("job"))
        job.flush()
        # Then another writer waits for its commit (here: gives up after its busy timeout)
        with pytest.raises(OperationalError, match="database is locked"), transaction(impatient, write=True) as other:
            other.add(_metric("other"))
        job.commit()
    # ... and once it has committed, the other writes
    with transaction(impatient, write=True) as other:
        other.add(_metric("other"))


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_read_for_update_takes_the_lock_that_makes_it_exclusive(engine: Engine, impatient: Engine) -> None:
    with transaction(engine, write=True) as s:
        s.add(_metric("row"))
    with Session(job_engine(engine)) as job:
        # Given a job that reads a row FOR UPDATE (SQLite drops the clause: the lock stands for it)
        row = job.scalars(select(BatchMetric).where(BatchMetric.name == "row").with_for_update()).one()
        assert holds_write_lock(job)
        # Then nobody changes the row before the job commits
        with pytest.raises(OperationalError, match="database is locked"), transaction(impatient, write=True) as other:
            other.execute(update(BatchMetric).where(BatchMetric.name == "row").values(value=5))
        row.value = 1
        job.commit()
    with transaction(engine) as s:
        assert s.scalar(select(BatchMetric.value).where(BatchMetric.name == "row")) == 1


@pytest.mark.parametrize("backend", ["sqlite"])
def test_ids_reserved_after_a_read_are_not_taken_by_another_writer(engine: Engine, impatient: Engine) -> None:
    with Session(job_engine(engine)) as job:
        # Given a job that has read, and another process that then wrote a row
        job.scalar(select(func.count()).select_from(BatchMetric))
        with transaction(impatient, write=True) as other:
            other.add(_metric("other"))
        # When the job reserves ids and writes rows with them
        ids = reserve_ids(job, BatchMetric, 2)
        for i in ids:
            job.add(BatchMetric(id=i, name="job", recorded_at=AT, value=0.0))
        job.commit()
    # Then they follow the other's row
    with transaction(engine) as s:
        other_id = s.scalar(select(BatchMetric.id).where(BatchMetric.name == "other"))
    assert other_id is not None and ids == [other_id + 1, other_id + 2]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_first_write_while_a_read_still_streams_after_another_commit_fails_with_a_clear_reason(
    engine: Engine, impatient: Engine
) -> None:
    with transaction(engine, write=True) as s:
        s.add_all([_metric("row", i) for i in range(10)])
    with Session(job_engine(engine)) as job:
        # Given a job streaming a read of its transaction, and another process that then wrote
        rows = job.execute(select(BatchMetric.value).execution_options(yield_per=2))
        next(rows)
        with transaction(impatient, write=True) as other:
            other.add(_metric("other"))
        # When the job writes before it has read the result to its end
        # Then it is told why it cannot take the lock (its snapshot is held by the open read)
        with pytest.raises(OperationalError, match="read a result to its end before"):
            job.execute(text("UPDATE batch_metrics_rec SET value = 0"))
        rows.close()

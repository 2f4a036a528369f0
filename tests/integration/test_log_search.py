"""Log search by the full-text index, keyset pages, capped counts and chunked retention, both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, delete, inspect, select, text, update
from sqlalchemy.orm import Session

from acas_batch import db
from acas_batch.db import make_engine
from acas_batch.errors import ValidationError
from acas_batch.logs import query
from acas_batch.logs.query import parse_filter, query_page
from acas_batch.models import BatchJob, BatchLog, LogLevel, Module
from acas_batch.models.migrate import alembic_config_without_engine, downgrade, upgrade
from acas_batch.system import housekeeping
from acas_batch.system.housekeeping import purge_log_chunks
from tests.support.write_lock import another_writer_gets_through

#: The revision just before the search index's.
BEFORE = str(ScriptDirectory.from_config(alembic_config_without_engine()).get_revision("0023_perf").down_revision)
T0 = datetime(2024, 12, 1, 8, 0, tzinfo=UTC)

#: Twelve lines of GL_DAILY_CLOSE, one a minute; every third mentions a journal, the last a refund.
MESSAGES = [
    "journal 12 posted to the ledger" if i % 3 == 0 else f"batch {i} checked, nothing to post" for i in range(11)
] + ["Refund of 40p queued for Bacs"]


@pytest.fixture
def logged(engine: Engine) -> Engine:
    with Session(engine) as s:
        job = BatchJob(name="GL_DAILY_CLOSE", module=Module.GL, handler="x", created_at=T0, updated_at=T0)
        s.add(job)
        s.flush()
        for i, message in enumerate(MESSAGES):
            # Same instant for the first two lines: the page order falls back on the id.
            at = T0 + timedelta(minutes=max(0, i - 1))
            level = LogLevel.ERROR if i == 11 else LogLevel.INFO
            event = "execution_failed" if i == 11 else "job_info"
            s.add(BatchLog(job_id=job.id, logged_at=at, level=level, event=event, message=message))
        s.commit()
    return engine


def _messages(engine: Engine, raw: dict[str, object]) -> list[str]:
    with Session(engine) as s:
        return [e.message for e in query_page(s, parse_filter(raw)).entries]


@pytest.mark.parametrize("probe_cost", [10**9, 0], ids=["index-first", "lines-first"])
def test_words_are_found_whole_or_by_their_start_in_message_or_event(
    logged: Engine, monkeypatch: pytest.MonkeyPatch, probe_cost: int
) -> None:
    # Both ways SQLite reads the index: the matches first, or the lines in order, probing each.
    monkeypatch.setattr(query, "PROBE_COST", probe_cost)
    journals = [m for m in MESSAGES if m.startswith("journal")]
    assert _messages(logged, {"search": "JOURNAL"}) == journals
    assert _messages(logged, {"search": "jour*"}) == journals  # a word's start
    assert _messages(logged, {"search": "jour"}) == []  # else whole words
    assert _messages(logged, {"search": "ledger journal"}) == journals  # every word, any order
    assert _messages(logged, {"search": "refund 40p"}) == [MESSAGES[11]]
    assert _messages(logged, {"search": "execution_failed"}) == [MESSAGES[11]]  # the event's words
    assert _messages(logged, {"search": "ournal"}) == []  # not the middle of a word
    assert _messages(logged, {"search": "journal", "log_level": "ERROR"}) == []


def _many_lines(engine: Engine, n: int, *, word_every: int, error_every: int) -> None:
    """``n`` lines of one job, one a second; ``word_every``-th says "refund", ``error_every``-th is an ERROR."""
    with Session(engine) as s:
        job = BatchJob(name="SL_BACS", module=Module.SL, handler="x", created_at=T0, updated_at=T0)
        s.add(job)
        s.flush()
        s.add_all(
            BatchLog(
                job_id=job.id,
                logged_at=T0 + timedelta(seconds=i),
                level=LogLevel.ERROR if i % error_every == 0 else LogLevel.INFO,
                event="job_info",
                message=f"line {i}" + (" refund due" if i % word_every == 0 else ""),
            )
            for i in range(n)
        )
        s.commit()


# The choice is SQLite's here; on PostgreSQL the planner's own estimates make it
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("word_every", "expected"), [(25, True), (10, False)])
def test_sqlite_reads_a_words_matches_first_while_there_are_fewer_than_a_walk_would_probe(
    engine: Engine, word_every: int, expected: bool
) -> None:
    # Given 1,000 lines, a page of 1 and a probe costing 3 reads: reading the matches first
    # costs one read a match, walking about 1,000 / matches probes of 3 reads
    _many_lines(engine, 1_000, word_every=word_every, error_every=1_000)
    with Session(engine) as s:
        # When 40 lines match, 40 reads beat 25 probes (75 reads); when 100 do, 10 probes (30 reads) win
        index_first = query._index_first(s, parse_filter({"search": "refund"}), 1)
        page = query_page(s, parse_filter({"search": "refund", "limit": 1}))
    assert index_first is expected
    assert [e.message for e in page.entries] == ["line 0 refund due"]
    assert page.total == 1_000 // word_every


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # a plan of SQLite's
def test_sqlite_pages_lines_of_several_levels_in_time_order_without_sorting_them_all(engine: Engine) -> None:
    # Given lines one in 50 an ERROR, and the planner's statistics of a log of 10,000,000 lines
    _many_lines(engine, 5_000, word_every=5_000, error_every=50)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        conn.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'batch_log_rec'"))
        stats = {"time": "1", "level_time": "2000000 1", "job_time": "312500 1", "execution": "10000000 1"}
        for index, stat in stats.items():
            conn.execute(
                text("INSERT INTO sqlite_stat1 VALUES ('batch_log_rec', :index, :stat)"),
                {"index": f"ix_batch_log_rec_{index}", "stat": f"10000000 {stat}"},
            )
    engine.dispose()  # the statistics are read when a connection opens
    flt = parse_filter({"log_level": "ERROR", "limit": 3})
    with Session(engine) as s:
        page = query_page(s, flt)
        sql = (
            query._statement(s, flt, index_first=True).limit(3).compile(engine, compile_kwargs={"literal_binds": True})
        )
        plan = " | ".join(str(row[-1]) for row in s.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    # Then the page walks the lines in order, not every ERROR and CRITICAL line sorted
    assert [e.message for e in page.entries] == ["line 0 refund due", "line 50", "line 100"]
    assert "TEMP B-TREE" not in plan, plan


def test_a_search_without_words_is_refused() -> None:
    with pytest.raises(ValidationError, match="no words"):
        parse_filter({"search": "%%"})
    with pytest.raises(ValidationError, match="page cursor"):
        parse_filter({"after": "yesterday"})


def test_the_index_follows_changes_and_deletes(logged: Engine) -> None:
    with Session(logged) as s:
        first = s.scalar(select(BatchLog.id).where(BatchLog.message.like("journal%")).order_by(BatchLog.id))
        s.execute(update(BatchLog).where(BatchLog.id == first).values(message="journal withdrawn"))
        s.execute(delete(BatchLog).where(BatchLog.message.like("Refund%")))
        s.commit()
    assert _messages(logged, {"search": "withdrawn"}) == ["journal withdrawn"]
    assert len(_messages(logged, {"search": "journal"})) == 4
    assert _messages(logged, {"search": "refund"}) == []


def test_keyset_pages_walk_every_line_once_in_order_and_the_count_is_capped(
    logged: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(query, "COUNT_CAP", 5)
    seen: list[str] = []
    after: str | None = None
    with Session(logged) as s:
        while True:
            page = query_page(s, parse_filter({"limit": 5, "after": after} if after else {"limit": 5}))
            seen += [e.message for e in page.entries]
            if after is None:
                # Given 12 lines and a cap of 5 beyond a page of 5: counted to 5, then "5+"
                assert (page.total, page.capped, page.total_text) == (5, True, "5+")
            after = page.next_after
            if after is None:
                break
        small = query_page(s, parse_filter({"search": "journal", "limit": 2}))
    assert seen == MESSAGES
    assert (small.total, small.capped, small.total_text) == (4, False, "4")


def test_job_level_and_date_filters_with_a_search(logged: Engine) -> None:
    raw: dict[str, object] = {"job_name": "GL_DAILY_CLOSE", "date_from": 20241201, "date_to": 20241201}
    assert len(_messages(logged, raw)) == len(MESSAGES)
    assert _messages(logged, {**raw, "log_level": "ERROR", "search": "bacs"}) == [MESSAGES[11]]
    assert _messages(logged, {"job_name": "NO_SUCH_JOB"}) == []
    assert _messages(logged, {**raw, "date_from": date(2024, 12, 2), "date_to": None}) == []


def test_retention_commits_each_chunk(logged: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a clean-up that fails in its third chunk
    real_purge = housekeeping.purge_logs

    def failing(session: Session, **kw: object) -> object:
        on_chunk = kw.pop("on_chunk")

        def third_fails(progress: housekeeping.LogPurge) -> None:
            if progress.chunks == 3:
                raise RuntimeError("the disk went away")
            on_chunk(progress)  # type: ignore[operator]

        return real_purge(session, on_chunk=third_fails, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(housekeeping, "purge_logs", failing)
    cutoffs = {LogLevel.INFO: T0 + timedelta(days=1)}
    with pytest.raises(RuntimeError):
        purge_log_chunks(logged, cutoffs=cutoffs, chunk_size=2)
    # Then the two chunks before it stay deleted, the oldest lines first, and the index with them
    assert _messages(logged, {}) == MESSAGES[4:]
    assert _messages(logged, {"search": "journal"}) == [m for m in MESSAGES[4:] if m.startswith("journal")]
    monkeypatch.setattr(housekeeping, "purge_logs", real_purge)
    done = purge_log_chunks(logged, cutoffs=cutoffs, chunk_size=2)
    assert (done.total, done.chunks) == (7, 4)
    assert _messages(logged, {}) == [MESSAGES[11]]


def test_retention_leaves_the_write_lock_free_for_a_moment_after_each_chunk_on_sqlite(
    logged: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A writer waiting for SQLite's lock (the scheduler's tick) tries again every 100 ms at most:
    # a clean-up that took the lock again as soon as it had committed a chunk kept it out.
    pauses: list[tuple[float, bool]] = []
    sqlite = logged.dialect.name == "sqlite"

    def pause(seconds: float) -> None:
        pauses.append((seconds, another_writer_gets_through(db_url) if sqlite else True))

    monkeypatch.setattr(db, "_sleep", pause)
    done = purge_log_chunks(logged, cutoffs={LogLevel.INFO: T0 + timedelta(days=1)}, chunk_size=2)
    assert done.total == 11 and done.chunks == 6
    if sqlite:
        # After every chunk, a pause as long as the busy handler's longest sleep, the lock free
        assert pauses == [(db.BUSY_HANDLER_LONGEST_SLEEP, True)] * done.chunks
        assert db.BUSY_HANDLER_LONGEST_SLEEP >= 0.1
    else:
        assert pauses == []  # PostgreSQL wakes a waiting writer at once


@pytest.fixture
def migrated(empty_db_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_db_url)
    upgrade(engine, BEFORE)
    yield engine
    engine.dispose()


def test_the_migration_indexes_lines_already_there_and_goes_back(migrated: Engine) -> None:
    with Session(migrated) as s:
        s.add(BatchLog(logged_at=T0, level=LogLevel.INFO, event="system", message="nightly backup verified"))
        s.commit()
    upgrade(migrated, "0023_perf")
    assert _messages(migrated, {"search": "verified backup"}) == ["nightly backup verified"]
    downgrade(migrated, BEFORE)
    with Session(migrated) as s:
        s.add(BatchLog(logged_at=T0, level=LogLevel.INFO, event="system", message="second backup verified"))
        s.commit()
    upgrade(migrated, "0023_perf")
    assert _messages(migrated, {"search": "verified"}) == ["nightly backup verified", "second backup verified"]


def test_postgresql_alone_indexes_a_jobs_lines_by_level_and_the_migration_goes_back(migrated: Engine) -> None:
    def indexes() -> set[str]:
        return {str(i["name"]) for i in inspect(migrated).get_indexes("batch_log_rec")}

    upgrade(migrated, "0030_log_job_level_index")
    postgresql = migrated.dialect.name == "postgresql"
    assert ("ix_batch_log_rec_job_level_time" in indexes()) is postgresql
    downgrade(migrated, "0029_statement_figures")
    assert "ix_batch_log_rec_job_level_time" not in indexes()
    assert "ix_batch_log_rec_job_time" in indexes()


def test_percent_and_underscore_are_matched_as_written_not_as_wildcards(engine: Engine) -> None:
    # Given lines that a LIKE pattern with % or _ would match beyond what they say
    lines = ["progress 100% done", "progress 1000 rows", "job_a finished", "jobXa finished", "rate 5_0 set", "rate 500"]
    with Session(engine) as s:
        job = BatchJob(name="GL_DAILY_CLOSE", module=Module.GL, handler="x", created_at=T0, updated_at=T0)
        s.add(job)
        s.flush()
        s.add_all(
            BatchLog(job_id=job.id, logged_at=T0, level=LogLevel.INFO, event="job_info", message=m) for m in lines
        )
        s.commit()
    # When a person searches with them, then % and _ match only themselves (as word breaks)
    assert _messages(engine, {"search": "100%"}) == ["progress 100% done"]  # not 1000
    assert _messages(engine, {"search": "job_a"}) == ["job_a finished"]  # not jobXa
    assert _messages(engine, {"search": "5_0"}) == ["rate 5_0 set"]  # not 500
    assert _messages(engine, {"search": "1%0"}) == []  # no line has the words 1 and 0
    with pytest.raises(ValidationError, match="no words"):
        parse_filter({"search": "%_%"})

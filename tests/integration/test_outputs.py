"""Job outputs are kept per database: two databases sharing a data folder never mix files."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, update

from acas_batch.batch.operations import enqueue
from acas_batch.batch.outputs import database_id
from acas_batch.db import make_engine, transaction
from acas_batch.models import BatchExecution, ExecutionState
from acas_batch.models.migrate import upgrade
from acas_batch.security.actor import Actor
from acas_batch.services.runs import output_files, run_detail, run_file
from tests.engine_helpers import NOW, Running, define, engine_settings, wait_until


def _write_once(engine: Engine, rows: int) -> int:
    with transaction(engine, write=True) as s:
        return enqueue(s, "TEST_WRITE", {"rows": rows}, now=NOW, business_date=NOW.date()).id


def _done(engine: Engine, eid: int) -> bool:
    with transaction(engine) as s:
        return s.get_one(BatchExecution, eid).state is ExecutionState.SUCCEEDED


def test_two_databases_sharing_a_data_folder_write_their_execution_1_to_different_folders(
    engine: Engine, empty_db_url: str, tmp_path: Path
) -> None:
    # Given two databases (two companies) whose settings share one data folder
    shared = tmp_path / "shared"
    other = make_engine(empty_db_url)
    try:
        upgrade(other)
        results = {}
        for db, url, rows in (
            (engine, str(engine.url.render_as_string(hide_password=False)), 3),
            (other, empty_db_url, 7),
        ):
            settings = engine_settings(url, shared)
            define(db, "TEST_WRITE")
            # When each runs its execution 1, which writes report.csv
            eid = _write_once(db, rows)
            assert eid == 1
            with Running(settings, db, slots=1):
                wait_until(lambda db=db, eid=eid: _done(db, eid))  # type: ignore[misc]
            results[rows] = (database_id(db), run_detail(db, settings, eid, actor=Actor.console(), now=NOW), settings)
        # Then each database has its own identity and its own folder, under the one outputs folder
        (id3, first, settings), (id7, second, _) = results[3], results[7]
        assert id3 != id7
        assert first["output_dir"] != second["output_dir"]
        assert Path(first["output_dir"]) == (settings.outputs / id3 / "1").absolute()
        assert Path(second["output_dir"]) == (settings.outputs / id7 / "1").absolute()
        # And neither overwrote the other's report
        assert run_file(engine, settings, 1, "report.csv", actor=Actor.console(), now=NOW).read_text().endswith(",3\n")
        assert run_file(other, settings, 1, "report.csv", actor=Actor.console(), now=NOW).read_text().endswith(",7\n")
        assert [f["name"] for f in first["files"]] == [f["name"] for f in second["files"]] == ["report.csv"]
    finally:
        other.dispose()


def test_the_identity_is_made_once_and_kept(engine: Engine) -> None:
    first = database_id(engine)
    assert database_id(engine) == first
    assert len(first) == 36


def test_folders_recorded_before_the_per_database_level_still_resolve(engine: Engine, tmp_path: Path) -> None:
    # Given an execution that ran when outputs went to <outputs>/<execution id>, recorded
    # absolute, and one recorded relative to the folder its process ran in
    settings = engine_settings(str(engine.url.render_as_string(hide_password=False)), tmp_path)
    define(engine, "TEST_WRITE")
    old = settings.outputs / "1"
    old.mkdir(parents=True)
    (old / "report.csv").write_text("old\n")
    eid = _write_once(engine, 1)
    with transaction(engine, write=True) as s:
        s.execute(update(BatchExecution).where(BatchExecution.id == eid).values(output_dir=str(old)))
    # Then its files are listed and served from there
    assert [f["name"] for f in output_files(settings, str(old))] == ["report.csv"]
    assert run_file(engine, settings, eid, "report.csv", actor=Actor.console(), now=NOW).read_text() == "old\n"
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        assert [f["name"] for f in output_files(settings, "output/1")] == ["report.csv"]
    finally:
        os.chdir(cwd)

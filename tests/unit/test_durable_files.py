"""Files and commits that survive a power cut: SQLite syncs every commit; reports are synced before they are named."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from acas_batch.db import make_engine
from acas_batch.errors import OutputError
from acas_batch.reports import files, render


def test_every_sqlite_connection_syncs_each_commit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'acas.db'}")
    try:
        with engine.connect() as conn:
            # 2 is FULL: the WAL is synced at each commit (NORMAL, 1, loses the last ones in a power cut)
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def _traced(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """What is synced and renamed, in order: ("fsync", path of the descriptor) and ("rename", target)."""
    steps: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        steps.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: object, dst: object) -> None:
        steps.append(("rename", str(dst)))
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    return steps


@pytest.mark.parametrize("writer", ["text", "csv"])
def test_a_file_is_synced_before_it_takes_its_name_and_the_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    steps = _traced(monkeypatch)
    target = tmp_path / "out" / "bacs_standard18.txt"
    # When a Bacs file (or a CSV) is written
    if writer == "text":
        render.write_text(target, "VOL1...\n", encoding="ascii")
    else:
        render.write_csv(target, ["a", "b"], [(1, 2)])
    # Then its data is synced under the temporary name, then it is renamed, then its folder is synced
    assert [kind for kind, _ in steps] == ["fsync", "rename", "fsync"]
    assert steps[0][1].startswith(str(target.parent / f".{target.name}.tmp"))
    assert steps[1][1] == str(target) and steps[2][1] == str(target.parent)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_a_write_that_fails_leaves_the_old_file_and_no_part(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    render.write_csv(target, ["n"], [(1,)])
    before = target.read_bytes()

    def rows() -> object:
        yield (2,)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    # When the disk fills while the rows are written
    with pytest.raises(OutputError) as caught:
        render.write_csv(target, ["n"], rows())  # type: ignore[arg-type]
    # Then the error names the file and the reason, the old file is whole and no part is left
    assert str(caught.value) == f"cannot write {target}: No space left on device"
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]

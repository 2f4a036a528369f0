"""Report writers leave files readable by their owner only, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from acas_batch.fileperms import safe_name
from acas_batch.reports.render import open_csv, write_csv, write_csv_blocks, write_text


@pytest.fixture(autouse=True)
def _open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask: files would be 0644 without the writers' chmod
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_writer_makes_0600_files_in_0700_folders(tmp_path: Path) -> None:
    out = tmp_path / "outputs" / "42"
    write_csv(out / "a.csv", ["x"], [[1]])
    write_csv_blocks(out / "b.csv", ["x"], [b"1\r\n"])
    with open_csv(out / "c.csv", ["x"]) as rows:
        rows.writerows([[1]])
    write_text(out / "bacs_standard18.txt", "VOL1\r\n", encoding="ascii")
    for name in ("a.csv", "b.csv", "c.csv", "bacs_standard18.txt"):
        assert _mode(out / name) == 0o600, name
    assert _mode(out) == 0o700
    assert (out / "bacs_standard18.txt").read_bytes() == b"VOL1\r\n"


@pytest.mark.parametrize(
    ("raw", "safe"),
    [("../../../x", "_.._.._x"), ("GL_TRIAL_BALANCE", "GL_TRIAL_BALANCE"), ("a/b\x00c", "a_b_c"), ("", "_")],
)
def test_a_name_cannot_leave_its_folder(raw: str, safe: str) -> None:
    assert safe_name(raw) == safe
    assert "/" not in safe_name(raw) and not safe_name(raw).startswith(".")

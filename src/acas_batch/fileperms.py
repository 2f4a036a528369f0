"""Files the system writes are readable by their owner only: 0600 files in 0700 folders.

The database, its backups, log exports and job outputs (remittances and Bacs files with bank details)
are written through these helpers, whatever the process's umask. A folder that already exists keeps
its mode unless it is one the system owns (``private_dir``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    with contextlib.suppress(PermissionError):  # a shared folder owned by someone else keeps its mode
        os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make an existing file 0600 (call it on the temporary file, before the rename into place)."""
    os.chmod(path, FILE_MODE)
    return path


def safe_name(name: str) -> str:
    """``name`` reduced to a file name that cannot leave its folder (letters, digits, ``._-``)."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".")
    return cleaned[:80] or "_"

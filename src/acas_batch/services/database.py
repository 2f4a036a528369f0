"""The database as a command meets it: refused before it is created by mistake, read-only when it may only be read.

And the one-line error a database driver's exception means (:func:`acas_batch.db.database_error`).
"""

from __future__ import annotations

import os

from acas_batch.config import Settings
from acas_batch.db import database_error, sqlite_path, sqlite_read_only_url
from acas_batch.errors import AcasBatchError, DatabaseMissing, NotADatabase


def checked_settings(settings: Settings, *, create: bool = False) -> Settings:
    """``settings`` with their database checked before anything opens it.

    A SQLite file that does not exist is refused, so that nothing (not even its folder) is
    created, unless ``create`` (``init``, ``db upgrade``, ``db restore``). A file the user may
    only read is opened read-only (SQLite ``mode=ro``), so that an auditor can look.

    Raises:
        DatabaseMissing: no SQLite file there.
        NotADatabase: the path is a folder.
    """
    path = sqlite_path(settings.database_url)
    if path is None or create:
        return settings
    if path.is_dir():
        raise NotADatabase(f"{path} is a folder, not a database file")
    if not path.exists():
        raise DatabaseMissing(
            f"no database at {path}: run `acas-batch init` to create it, "
            "or point --database-url or ACAS_DATABASE_URL at one"
        )
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return settings.model_copy(update={"database_url": sqlite_read_only_url(path)})
    return settings


def error_of(exc: BaseException, database_url: str) -> AcasBatchError | None:
    """The one-line error a database driver's ``exc`` means, or None if it is none of them."""
    return database_error(exc, database_url)

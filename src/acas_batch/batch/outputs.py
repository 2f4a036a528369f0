"""Where job outputs go: a folder per database, and in it a folder per execution.

``<outputs>/<database uuid>/<execution id>``: the uuid is the database's own
(``batch_database_rec``, made by ``acas-batch init`` or at first need), so two databases
that share a data folder (two companies, a simulation's scratch database) never write into
each other's folders, though both have an execution 1. Executions that ran before the
folder level existed recorded ``<outputs>/<execution id>``; what an execution recorded in
``output_dir`` is where its files are read from, whatever the layout was then.

A byte-for-byte copy of a database (a restored backup, a copied SQLite file) carries its
uuid: it is the same company's books, and its outputs go to the same folder.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from acas_batch.config import Settings
from acas_batch.db import transaction
from acas_batch.models.batch import BatchDatabase


def database_id(engine: Engine, *, now: datetime | None = None) -> str:
    """This database's uuid, made and stored now if it has none yet.

    Call it outside any open write transaction of the same database: on SQLite the insert
    needs the write lock. Two processes making one at once agree: the loser reads the
    winner's.
    """
    with transaction(engine) as s:
        found = s.scalar(select(BatchDatabase.database_id).where(BatchDatabase.id == 1))
    if found is not None:
        return found
    try:
        with transaction(engine, write=True) as s:
            made = str(uuid.uuid4())
            s.add(BatchDatabase(id=1, database_id=made, created_at=now or datetime.now(UTC)))
        return made
    except IntegrityError:
        with transaction(engine) as s:
            return s.scalars(select(BatchDatabase.database_id).where(BatchDatabase.id == 1)).one()


def database_folder(settings: Settings, database: str) -> Path:
    """The folder of one database's job outputs."""
    return settings.outputs / database


def execution_folder(settings: Settings, database: str, execution_id: int) -> Path:
    """The folder one execution writes its files into (absolute, so the record stays true
    whatever folder a later process starts in)."""
    return (database_folder(settings, database) / str(execution_id)).absolute()


def recorded_folder(settings: Settings, output_dir: str | None) -> Path | None:
    """The folder an execution recorded in ``output_dir``, as it can be found now.

    New records are absolute. Older ones may be relative: to the folder the process ran in
    (a relative ``data_dir``) or to the outputs folder; the first that exists is taken.
    """
    if not output_dir:
        return None
    folder = Path(output_dir)
    if folder.is_absolute():
        return folder
    for candidate in (folder, settings.outputs / folder):
        if candidate.is_dir():
            return candidate
    return settings.outputs / folder

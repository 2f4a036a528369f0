"""Bringing a database to a usable state: schema, then standard data, idempotently."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, inspect, select

from acas_batch.batch.outputs import database_id
from acas_batch.clock import Clock, SystemClock
from acas_batch.db import check_connection, transaction
from acas_batch.jobs.catalogue import CatalogueReport, install_catalogue
from acas_batch.models import SPEC_TABLES, Company
from acas_batch.models.migrate import current_revision, upgrade
from acas_batch.security.roles import install_standard_roles


@dataclass(frozen=True)
class InitReport:
    """What ``acas-batch init`` did."""

    revision: str | None
    tables: list[str]
    roles_created: int
    catalogue: CatalogueReport

    def as_dict(self) -> dict[str, object]:
        return {
            "revision": self.revision,
            "spec_tables": [t for t in SPEC_TABLES if t in self.tables],
            "table_count": len(self.tables),
            "roles_created": self.roles_created,
            **self.catalogue.as_dict(),
        }


def initialise(engine: Engine, *, clock: Clock | None = None) -> InitReport:
    """Migrate to head and install the standard data that is missing. Safe to run twice."""
    now = (clock or SystemClock()).now()
    check_connection(engine)
    upgrade(engine)
    database_id(engine, now=now)  # names the folder of this database's job outputs
    with transaction(engine, write=True) as session:
        roles = install_standard_roles(session)
        # The year-end schedule follows the company's financial year once a company exists.
        fy_start = session.scalar(select(Company.year_start_month).order_by(Company.id).limit(1))
        catalogue = install_catalogue(session, now=now, fy_start_month=fy_start)
    tables = sorted(inspect(engine).get_table_names())
    return InitReport(revision=current_revision(engine), tables=tables, roles_created=roles, catalogue=catalogue)

"""System records: the backup register, archive runs and archive tables, the installed catalogue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, JSONType, Pence, UTCDateTime, enum_column
from acas_batch.models.enums import BackupGeneration


class SysBackup(Base):
    """One database backup: where it is, its checksum, the row counts of its snapshot, and
    whether a test restore reproduced them. Health checks and archiving read it."""

    __tablename__ = "sys_backup_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    backend: Mapped[str] = mapped_column(String(16), doc="sqlite or postgresql")
    path: Mapped[str] = mapped_column(String(1024), doc="Not unique: a deleted backup's name may be reused.")
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, doc="The snapshot's instant: data up to here.")
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    row_counts: Mapped[dict[str, Any]] = mapped_column(JSONType, doc="Table -> rows, counted in the snapshot.")
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="A test restore matched the counts.")
    verify_error: Mapped[str | None] = mapped_column(Text)
    generation: Mapped[BackupGeneration] = mapped_column(enum_column(BackupGeneration, "backup_generation"))
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="SET NULL"))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="Removed by the retention policy.")

    __table_args__ = (
        CheckConstraint("size_bytes >= 0", name="size_non_negative"),
        Index("ix_sys_backup_rec_verified", "deleted_at", "verified_at"),
    )


class ArchiveRun(Base):
    """The archiving of one closed financial year: progress, figures, the backup it relied on."""

    __tablename__ = "sys_archive_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    financial_year: Mapped[int] = mapped_column(Integer, unique=True, doc="Calendar year in which it starts.")
    status: Mapped[str] = mapped_column(String(16), doc="running (chunks committed so far) or complete")
    backup_id: Mapped[int | None] = mapped_column(ForeignKey("sys_backup_rec.id", ondelete="SET NULL"))
    brought_forward_journal_id: Mapped[int | None] = mapped_column(
        Integer, doc="The live journal that carries the archived lines' net per account."
    )
    journal_lines: Mapped[int] = mapped_column(BigInteger, default=0)
    statement_lines: Mapped[int] = mapped_column(BigInteger, default=0)
    debit_pence: Mapped[int] = mapped_column(Pence, default=0, doc="Total debits archived (= credits).")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("batch_execution_rec.id", ondelete="SET NULL"))

    __table_args__ = (CheckConstraint("status IN ('running', 'complete')", name="status_known"),)


class ArchivedJournalLine(Base):
    """A journal line moved out of ``gl_journal_line_rec``: same id and columns, plus where
    it came from. No foreign keys: an archive must never block changes to live data."""

    __tablename__ = "gl_journal_line_archive_rec"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    journal_id: Mapped[int] = mapped_column(Integer)
    line_no: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(Integer)
    debit_pence: Mapped[int] = mapped_column(Pence)
    credit_pence: Mapped[int] = mapped_column(Pence)
    vat_code_id: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(128))
    journal_date: Mapped[date] = mapped_column(Date)
    financial_year: Mapped[int] = mapped_column(Integer)
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_gl_journal_line_archive_rec_year_account", "financial_year", "account_id"),
        Index("ix_gl_journal_line_archive_rec_journal", "journal_id"),
    )


class ArchivedStatementLine(Base):
    """A bank statement line moved out with the archived journal line it was matched to."""

    __tablename__ = "bank_statement_line_archive_rec"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    bank_account_id: Mapped[int] = mapped_column(Integer)
    statement_date: Mapped[date] = mapped_column(Date)
    amount_pence: Mapped[int] = mapped_column(Pence)
    reference: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    matched_line_id: Mapped[int | None] = mapped_column(BigInteger)
    matched_on: Mapped[date | None] = mapped_column(Date)
    financial_year: Mapped[int] = mapped_column(Integer)
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_bank_statement_line_archive_rec_year", "financial_year"),)


class CatalogueItem(Base):
    """A standard job, schedule or dependency once installed: an upgrade adds only what was
    never installed, so one an operator deleted stays deleted."""

    __tablename__ = "sys_catalogue_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), doc="job, schedule or dependency")
    key: Mapped[str] = mapped_column(String(255), doc="JOB, JOB/schedule, or JOB<-UPSTREAM:kind")
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("kind", "key"),
        CheckConstraint("kind IN ('job', 'schedule', 'dependency')", name="kind_known"),
    )

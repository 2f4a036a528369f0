"""System maintenance records: the register of database backups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, JSONType, UTCDateTime, enum_column
from acas_batch.models.enums import BackupGeneration


class SysBackup(Base):
    """One database backup: where it is, its checksum, the row counts of its snapshot, and
    whether a test restore reproduced them. Health checks and archiving read it."""

    __tablename__ = "sys_backup_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    backend: Mapped[str] = mapped_column(String(16), doc="sqlite or postgresql")
    path: Mapped[str] = mapped_column(String(1024), unique=True)
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

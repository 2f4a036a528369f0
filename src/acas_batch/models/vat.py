"""VAT codes with their rates and return-box mapping, and the UK nine-box returns."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from acas_batch.models.base import Base, Pence, UTCDateTime, enum_column


class VatKind(StrEnum):
    """The VAT treatment a code stands for."""

    STANDARD = "standard"  # 20%; boxes 1/4 and 6/7
    REDUCED = "reduced"  # 5%; boxes 1/4 and 6/7
    ZERO = "zero"  # 0%, still a taxable supply: boxes 6/7
    EXEMPT = "exempt"  # no VAT; net still in boxes 6/7
    OUTSIDE_SCOPE = "outside_scope"  # not a supply for VAT (wages, rates): in no box
    REVERSE_CHARGE = "reverse_charge"  # buyer accounts for the VAT: output and input on purchases


class VatReturnStatus(StrEnum):
    """How far a VAT return has got."""

    DRAFT = "draft"  # output side written (SL_VAT_RETURN)
    COMPLETE = "complete"  # input side and boxes 3 and 5 written (PL_VAT_RETURN)
    SUBMITTED = "submitted"  # sent to HMRC; never changed again


class VatCode(Base):
    """A VAT code: rate and which boxes of the return its lines fall in."""

    __tablename__ = "vat_code_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(4), unique=True)
    description: Mapped[str] = mapped_column(String(64))
    kind: Mapped[VatKind] = mapped_column(enum_column(VatKind, "vat_kind"))
    rate: Mapped[Decimal] = mapped_column(Numeric(6, 4), doc="0.2000 for 20%.")
    in_net_boxes: Mapped[bool] = mapped_column(Boolean, doc="Net counts in box 6 (sales) or 7 (purchases).")
    reverse_charge: Mapped[bool] = mapped_column(Boolean, default=False, doc="Purchases: VAT in box 1 and box 4.")
    ec_goods: Mapped[bool] = mapped_column(Boolean, default=False, doc="EU goods (NI): boxes 2, 8 and 9.")

    __table_args__ = (CheckConstraint("rate >= 0 AND rate < 1", name="rate_range"),)


class VatReturn(Base):
    """A VAT return for one quarter: the nine boxes, in pence (boxes 6-9 whole pounds).

    ``paid_on`` marks a submitted return as settled: its net VAT (box 3 - box 4) was paid to
    HMRC, or repaid by HMRC when negative, on that day, by ``payment_journal_id`` (none for a
    nil return). A return is settled once; the GL reconciliation counts settled returns only.
    """

    __tablename__ = "vat_return_rec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_key: Mapped[str] = mapped_column(String(8), unique=True, doc="HMRC's period key, e.g. 24A1.")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[VatReturnStatus] = mapped_column(
        enum_column(VatReturnStatus, "vat_return_status"), default=VatReturnStatus.DRAFT
    )
    box1_pence: Mapped[int] = mapped_column(Pence, default=0)
    box2_pence: Mapped[int] = mapped_column(Pence, default=0)
    box3_pence: Mapped[int] = mapped_column(Pence, default=0)
    box4_pence: Mapped[int] = mapped_column(Pence, default=0)
    box5_pence: Mapped[int] = mapped_column(Pence, default=0)
    box6_pence: Mapped[int] = mapped_column(Pence, default=0)
    box7_pence: Mapped[int] = mapped_column(Pence, default=0)
    box8_pence: Mapped[int] = mapped_column(Pence, default=0)
    box9_pence: Mapped[int] = mapped_column(Pence, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_on: Mapped[date | None] = mapped_column(Date, doc="Day the net VAT was paid to (or repaid by) HMRC.")
    payment_journal_id: Mapped[int | None] = mapped_column(
        ForeignKey("gl_journal_rec.id"), unique=True, doc="The journal that moved the net VAT to or from the bank."
    )

    __table_args__ = (
        UniqueConstraint("start_date", "end_date"),
        CheckConstraint("end_date > start_date", name="dates_ordered"),
        CheckConstraint("box5_pence >= 0", name="box5_non_negative"),
        CheckConstraint(
            "box6_pence % 100 = 0 AND box7_pence % 100 = 0 AND box8_pence % 100 = 0 AND box9_pence % 100 = 0",
            name="boxes_6_to_9_whole_pounds",
        ),
        # Only a return sent to HMRC is paid, after its quarter; a payment journal has its day.
        CheckConstraint("paid_on IS NULL OR (status = 'submitted' AND paid_on > end_date)", name="paid_when_due"),
        CheckConstraint("payment_journal_id IS NULL OR paid_on IS NOT NULL", name="payment_has_date"),
    )

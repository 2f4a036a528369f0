"""ledger: company, GL, SL, PL, stock, VAT tables

Revision ID: 0002_ledger
Revises: 0001_foundation
Create Date: 2026-11-24 09:15:59.717657
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import acas_batch.models.base

revision: str = "0002_ledger"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounting_period_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("financial_year", sa.Integer(), nullable=False),
        sa.Column("period_no", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "closed", "locked", name="period_status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("closed_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_accounting_period_rec_dates_ordered")),
        sa.CheckConstraint("period_no BETWEEN 1 AND 12", name=op.f("ck_accounting_period_rec_period_no_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounting_period_rec")),
        sa.UniqueConstraint(
            "financial_year", "period_no", name=op.f("uq_accounting_period_rec_financial_year_period_no")
        ),
        sa.UniqueConstraint("start_date", name=op.f("uq_accounting_period_rec_start_date")),
    )
    with op.batch_alter_table("accounting_period_rec", schema=None) as batch_op:
        batch_op.create_index("ix_accounting_period_rec_end_date", ["end_date"], unique=False)

    op.create_table(
        "closure_day_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closure_day_rec")),
        sa.UniqueConstraint("date", name=op.f("uq_closure_day_rec_date")),
    )
    op.create_table(
        "company_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("year_start_month", sa.Integer(), nullable=False),
        sa.Column("vat_registration", sa.String(length=16), nullable=True),
        sa.Column(
            "vat_scheme",
            sa.Enum("accrual", "cash", name="vat_scheme", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("demo_seed", sa.Integer(), nullable=True),
        sa.Column("created_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("base_currency = 'GBP'", name=op.f("ck_company_rec_currency_gbp")),
        sa.CheckConstraint("year_start_month BETWEEN 1 AND 12", name=op.f("ck_company_rec_year_start_month_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_rec")),
    )
    op.create_table(
        "gl_account_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "asset",
                "liability",
                "equity",
                "income",
                "expense",
                name="account_type",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "control",
            sa.Enum(
                "debtors",
                "creditors",
                "vat_output",
                "vat_input",
                "stock",
                "grni",
                "bank",
                "retained_earnings",
                "cost_of_sales",
                "stock_adjustment",
                "purchase_variance",
                "discount_received",
                name="control_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_account_rec")),
        sa.UniqueConstraint("code", name=op.f("uq_gl_account_rec_code")),
    )
    with op.batch_alter_table("gl_account_rec", schema=None) as batch_op:
        batch_op.create_index(
            "uq_gl_account_rec_control",
            ["control"],
            unique=True,
            sqlite_where=sa.text("control IS NOT NULL AND control <> 'bank'"),
            postgresql_where=sa.text("control IS NOT NULL AND control <> 'bank'"),
        )

    op.create_table(
        "pl_supplier_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("settlement_discount_pct", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("settlement_days", sa.Integer(), nullable=False),
        sa.Column("sort_code", sa.String(length=6), nullable=True),
        sa.Column("bank_account_number", sa.String(length=8), nullable=True),
        sa.Column("remittance_email", sa.String(length=128), nullable=True),
        sa.Column("on_hold", sa.Boolean(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "(sort_code IS NULL AND bank_account_number IS NULL) OR (length(sort_code) = 6 AND length(bank_account_number) = 8)",
            name=op.f("ck_pl_supplier_rec_bank_details_complete"),
        ),
        sa.CheckConstraint(
            "payment_terms_days >= 0 AND settlement_days >= 0", name=op.f("ck_pl_supplier_rec_terms_non_negative")
        ),
        sa.CheckConstraint(
            "settlement_discount_pct >= 0 AND settlement_discount_pct < 100",
            name=op.f("ck_pl_supplier_rec_discount_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_supplier_rec")),
        sa.UniqueConstraint("code", name=op.f("uq_pl_supplier_rec_code")),
    )
    op.create_table(
        "sl_salesperson_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("commission_rate", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.Column("email", sa.String(length=128), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "commission_rate >= 0 AND commission_rate < 1", name=op.f("ck_sl_salesperson_rec_rate_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sl_salesperson_rec")),
        sa.UniqueConstraint("code", name=op.f("uq_sl_salesperson_rec_code")),
    )
    op.create_table(
        "st_warehouse_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_warehouse_rec")),
        sa.UniqueConstraint("code", name=op.f("uq_st_warehouse_rec_code")),
    )
    op.create_table(
        "vat_code_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("description", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "standard",
                "reduced",
                "zero",
                "exempt",
                "outside_scope",
                "reverse_charge",
                name="vat_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("rate", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.Column("in_net_boxes", sa.Boolean(), nullable=False),
        sa.Column("reverse_charge", sa.Boolean(), nullable=False),
        sa.Column("ec_goods", sa.Boolean(), nullable=False),
        sa.CheckConstraint("rate >= 0 AND rate < 1", name=op.f("ck_vat_code_rec_rate_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vat_code_rec")),
        sa.UniqueConstraint("code", name=op.f("uq_vat_code_rec_code")),
    )
    op.create_table(
        "vat_return_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(length=8), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft", "complete", "submitted", name="vat_return_status", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("box1_pence", sa.BigInteger(), nullable=False),
        sa.Column("box2_pence", sa.BigInteger(), nullable=False),
        sa.Column("box3_pence", sa.BigInteger(), nullable=False),
        sa.Column("box4_pence", sa.BigInteger(), nullable=False),
        sa.Column("box5_pence", sa.BigInteger(), nullable=False),
        sa.Column("box6_pence", sa.BigInteger(), nullable=False),
        sa.Column("box7_pence", sa.BigInteger(), nullable=False),
        sa.Column("box8_pence", sa.BigInteger(), nullable=False),
        sa.Column("box9_pence", sa.BigInteger(), nullable=False),
        sa.Column("created_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("box5_pence >= 0", name=op.f("ck_vat_return_rec_box5_non_negative")),
        sa.CheckConstraint(
            "box6_pence % 100 = 0 AND box7_pence % 100 = 0 AND box8_pence % 100 = 0 AND box9_pence % 100 = 0",
            name=op.f("ck_vat_return_rec_boxes_6_to_9_whole_pounds"),
        ),
        sa.CheckConstraint("end_date > start_date", name=op.f("ck_vat_return_rec_dates_ordered")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vat_return_rec")),
        sa.UniqueConstraint("period_key", name=op.f("uq_vat_return_rec_period_key")),
        sa.UniqueConstraint("start_date", "end_date", name=op.f("uq_vat_return_rec_start_date_end_date")),
    )
    op.create_table(
        "bank_account_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("sort_code", sa.String(length=6), nullable=False),
        sa.Column("account_number", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "length(sort_code) = 6 AND length(account_number) = 8", name=op.f("ck_bank_account_rec_bank_details_length")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["gl_account_rec.id"], name=op.f("fk_bank_account_rec_account_id_gl_account_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_account_rec")),
        sa.UniqueConstraint("account_id", name=op.f("uq_bank_account_rec_account_id")),
        sa.UniqueConstraint("code", name=op.f("uq_bank_account_rec_code")),
    )
    op.create_table(
        "gl_balance_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("debit_pence", sa.BigInteger(), nullable=False),
        sa.Column("credit_pence", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("debit_pence >= 0 AND credit_pence >= 0", name=op.f("ck_gl_balance_rec_non_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["gl_account_rec.id"], name=op.f("fk_gl_balance_rec_account_id_gl_account_rec")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["accounting_period_rec.id"], name=op.f("fk_gl_balance_rec_period_id_accounting_period_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_balance_rec")),
        sa.UniqueConstraint("account_id", "period_id", name=op.f("uq_gl_balance_rec_account_id_period_id")),
    )
    with op.batch_alter_table("gl_balance_rec", schema=None) as batch_op:
        batch_op.create_index("ix_gl_balance_rec_period", ["period_id"], unique=False)

    op.create_table(
        "gl_budget_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["gl_account_rec.id"], name=op.f("fk_gl_budget_rec_account_id_gl_account_rec")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["accounting_period_rec.id"], name=op.f("fk_gl_budget_rec_period_id_accounting_period_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_budget_rec")),
        sa.UniqueConstraint("account_id", "period_id", name=op.f("uq_gl_budget_rec_account_id_period_id")),
    )
    with op.batch_alter_table("gl_budget_rec", schema=None) as batch_op:
        batch_op.create_index("ix_gl_budget_rec_period", ["period_id"], unique=False)

    op.create_table(
        "gl_journal_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journal_date", sa.Date(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("SL", "PL", "ST", "GL", name="journal_source", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "posted", "reversed", name="journal_status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("total_pence", sa.BigInteger(), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=True),
        sa.Column("reverses_journal_id", sa.Integer(), nullable=True),
        sa.Column("auto_reverse_on", sa.Date(), nullable=True),
        sa.Column("created_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'pending') = (posted_on IS NULL)", name=op.f("ck_gl_journal_rec_posted_has_date")
        ),
        sa.CheckConstraint("total_pence > 0", name=op.f("ck_gl_journal_rec_total_positive")),
        sa.ForeignKeyConstraint(
            ["period_id"], ["accounting_period_rec.id"], name=op.f("fk_gl_journal_rec_period_id_accounting_period_rec")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_journal_id"],
            ["gl_journal_rec.id"],
            name=op.f("fk_gl_journal_rec_reverses_journal_id_gl_journal_rec"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_journal_rec")),
    )
    with op.batch_alter_table("gl_journal_rec", schema=None) as batch_op:
        batch_op.create_index("ix_gl_journal_rec_period_source", ["period_id", "source"], unique=False)
        batch_op.create_index("ix_gl_journal_rec_source_reference", ["source", "reference"], unique=False)
        batch_op.create_index("ix_gl_journal_rec_status_date", ["status", "journal_date"], unique=False)
        batch_op.create_index("uq_gl_journal_rec_reverses", ["reverses_journal_id"], unique=True)

    op.create_table(
        "pl_order_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=False),
        sa.Column("expected_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "part_received",
                "received",
                "closed",
                "cancelled",
                name="order_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["pl_supplier_rec.id"], name=op.f("fk_pl_order_rec_supplier_id_pl_supplier_rec")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["st_warehouse_rec.id"], name=op.f("fk_pl_order_rec_warehouse_id_st_warehouse_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_order_rec")),
        sa.UniqueConstraint("number", name=op.f("uq_pl_order_rec_number")),
    )
    with op.batch_alter_table("pl_order_rec", schema=None) as batch_op:
        batch_op.create_index("ix_pl_order_rec_status", ["status"], unique=False)
        batch_op.create_index("ix_pl_order_rec_supplier_date", ["supplier_id", "order_date"], unique=False)

    op.create_table(
        "sl_customer_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("credit_limit_pence", sa.BigInteger(), nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("on_stop", sa.Boolean(), nullable=False),
        sa.Column("salesperson_id", sa.Integer(), nullable=True),
        sa.Column("statement_email", sa.String(length=128), nullable=True),
        sa.Column("dunning_enabled", sa.Boolean(), nullable=False),
        sa.Column("dunning_level", sa.Integer(), nullable=False),
        sa.Column("last_dunning_on", sa.Date(), nullable=True),
        sa.Column("in_collection", sa.Boolean(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.CheckConstraint("credit_limit_pence >= 0", name=op.f("ck_sl_customer_rec_credit_limit_non_negative")),
        sa.CheckConstraint("dunning_level BETWEEN 0 AND 3", name=op.f("ck_sl_customer_rec_dunning_level_range")),
        sa.CheckConstraint("payment_terms_days >= 0", name=op.f("ck_sl_customer_rec_terms_non_negative")),
        sa.ForeignKeyConstraint(
            ["salesperson_id"],
            ["sl_salesperson_rec.id"],
            name=op.f("fk_sl_customer_rec_salesperson_id_sl_salesperson_rec"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sl_customer_rec")),
        sa.UniqueConstraint("code", name=op.f("uq_sl_customer_rec_code")),
    )
    with op.batch_alter_table("sl_customer_rec", schema=None) as batch_op:
        batch_op.create_index("ix_sl_customer_rec_salesperson", ["salesperson_id"], unique=False)

    op.create_table(
        "st_item_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column(
            "cost_method",
            sa.Enum("fifo", "average", "standard", name="cost_method", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("standard_cost_pence", sa.BigInteger(), nullable=False),
        sa.Column("sell_price_pence", sa.BigInteger(), nullable=False),
        sa.Column("vat_code_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("reorder_qty", sa.Integer(), nullable=False),
        sa.Column("pack_size", sa.Integer(), nullable=False),
        sa.Column("shelf_life_days", sa.Integer(), nullable=True),
        sa.Column(
            "abc_class",
            sa.Enum("A", "B", "C", name="abc_class", native_enum=False, create_constraint=True),
            nullable=True,
        ),
        sa.Column("last_counted_on", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "lead_time_days >= 0 AND reorder_point >= 0 AND reorder_qty >= 0", name=op.f("ck_st_item_rec_reorder_range")
        ),
        sa.CheckConstraint("pack_size >= 1", name=op.f("ck_st_item_rec_pack_positive")),
        sa.CheckConstraint(
            "shelf_life_days IS NULL OR shelf_life_days > 0", name=op.f("ck_st_item_rec_shelf_life_positive")
        ),
        sa.CheckConstraint(
            "standard_cost_pence >= 0 AND sell_price_pence >= 0", name=op.f("ck_st_item_rec_prices_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["pl_supplier_rec.id"], name=op.f("fk_st_item_rec_supplier_id_pl_supplier_rec")
        ),
        sa.ForeignKeyConstraint(
            ["vat_code_id"], ["vat_code_rec.id"], name=op.f("fk_st_item_rec_vat_code_id_vat_code_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_item_rec")),
        sa.UniqueConstraint("code", name=op.f("uq_st_item_rec_code")),
    )
    with op.batch_alter_table("st_item_rec", schema=None) as batch_op:
        batch_op.create_index("ix_st_item_rec_supplier", ["supplier_id"], unique=False)

    op.create_table(
        "gl_journal_line_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("debit_pence", sa.BigInteger(), nullable=False),
        sa.Column("credit_pence", sa.BigInteger(), nullable=False),
        sa.Column("vat_code_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.CheckConstraint(
            "(debit_pence > 0 AND credit_pence = 0) OR (debit_pence = 0 AND credit_pence > 0)",
            name=op.f("ck_gl_journal_line_rec_one_side"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["gl_account_rec.id"], name=op.f("fk_gl_journal_line_rec_account_id_gl_account_rec")
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["gl_journal_rec.id"],
            name=op.f("fk_gl_journal_line_rec_journal_id_gl_journal_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vat_code_id"], ["vat_code_rec.id"], name=op.f("fk_gl_journal_line_rec_vat_code_id_vat_code_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_journal_line_rec")),
        sa.UniqueConstraint("journal_id", "line_no", name=op.f("uq_gl_journal_line_rec_journal_id_line_no")),
    )
    with op.batch_alter_table("gl_journal_line_rec", schema=None) as batch_op:
        batch_op.create_index("ix_gl_journal_line_rec_account", ["account_id", "journal_id"], unique=False)

    op.create_table(
        "pl_grn_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["gl_journal_rec.id"], name=op.f("fk_pl_grn_rec_journal_id_gl_journal_rec")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["pl_order_rec.id"], name=op.f("fk_pl_grn_rec_order_id_pl_order_rec")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_grn_rec")),
        sa.UniqueConstraint("number", name=op.f("uq_pl_grn_rec_number")),
    )
    with op.batch_alter_table("pl_grn_rec", schema=None) as batch_op:
        batch_op.create_index("ix_pl_grn_rec_date", ["received_on"], unique=False)
        batch_op.create_index("ix_pl_grn_rec_order", ["order_id"], unique=False)

    op.create_table(
        "pl_invoice_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("invoice", "credit_note", name="document_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("net_pence", sa.BigInteger(), nullable=False),
        sa.Column("vat_pence", sa.BigInteger(), nullable=False),
        sa.Column("gross_pence", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_pence", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "part_paid", "paid", name="document_status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("on_hold", sa.Boolean(), nullable=False),
        sa.Column("hold_reason", sa.String(length=128), nullable=True),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(status = 'open' AND outstanding_pence = gross_pence) OR (status = 'part_paid' AND outstanding_pence > 0 AND outstanding_pence < gross_pence) OR (status = 'paid' AND outstanding_pence = 0)",
            name=op.f("ck_pl_invoice_rec_status_matches_outstanding"),
        ),
        sa.CheckConstraint("due_date >= invoice_date", name=op.f("ck_pl_invoice_rec_due_after_date")),
        sa.CheckConstraint("gross_pence = net_pence + vat_pence", name=op.f("ck_pl_invoice_rec_gross_is_net_plus_vat")),
        sa.CheckConstraint(
            "net_pence >= 0 AND vat_pence >= 0 AND gross_pence > 0", name=op.f("ck_pl_invoice_rec_amounts_positive")
        ),
        sa.CheckConstraint(
            "outstanding_pence >= 0 AND outstanding_pence <= gross_pence",
            name=op.f("ck_pl_invoice_rec_outstanding_range"),
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["gl_journal_rec.id"], name=op.f("fk_pl_invoice_rec_journal_id_gl_journal_rec")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["pl_supplier_rec.id"], name=op.f("fk_pl_invoice_rec_supplier_id_pl_supplier_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_invoice_rec")),
        sa.UniqueConstraint("supplier_id", "number", name=op.f("uq_pl_invoice_rec_supplier_id_number")),
    )
    with op.batch_alter_table("pl_invoice_rec", schema=None) as batch_op:
        batch_op.create_index("ix_pl_invoice_rec_date", ["invoice_date"], unique=False)
        batch_op.create_index("ix_pl_invoice_rec_open", ["status", "due_date"], unique=False)
        batch_op.create_index("ix_pl_invoice_rec_supplier_due", ["supplier_id", "due_date"], unique=False)

    op.create_table(
        "pl_order_line_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("quantity_ordered", sa.Integer(), nullable=False),
        sa.Column("quantity_received", sa.Integer(), nullable=False),
        sa.Column("quantity_invoiced", sa.Integer(), nullable=False),
        sa.Column("unit_price_pence", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity_ordered > 0", name=op.f("ck_pl_order_line_rec_ordered_positive")),
        sa.CheckConstraint(
            "quantity_received >= 0 AND quantity_invoiced >= 0", name=op.f("ck_pl_order_line_rec_progress_non_negative")
        ),
        sa.CheckConstraint("unit_price_pence >= 0", name=op.f("ck_pl_order_line_rec_price_non_negative")),
        sa.ForeignKeyConstraint(["item_id"], ["st_item_rec.id"], name=op.f("fk_pl_order_line_rec_item_id_st_item_rec")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["pl_order_rec.id"],
            name=op.f("fk_pl_order_line_rec_order_id_pl_order_rec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_order_line_rec")),
        sa.UniqueConstraint("order_id", "line_no", name=op.f("uq_pl_order_line_rec_order_id_line_no")),
    )
    with op.batch_alter_table("pl_order_line_rec", schema=None) as batch_op:
        batch_op.create_index("ix_pl_order_line_rec_item", ["item_id"], unique=False)

    op.create_table(
        "pl_payment_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("payment_date", sa.Date(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("discount_pence", sa.BigInteger(), nullable=False),
        sa.Column("unallocated_pence", sa.BigInteger(), nullable=False),
        sa.Column(
            "method",
            sa.Enum("bacs", "cheque", name="payment_method", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("run_key", sa.String(length=64), nullable=True),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount_pence > 0 AND discount_pence >= 0", name=op.f("ck_pl_payment_rec_amounts_positive")),
        sa.CheckConstraint(
            "unallocated_pence >= 0 AND unallocated_pence <= amount_pence + discount_pence",
            name=op.f("ck_pl_payment_rec_unallocated_range"),
        ),
        sa.ForeignKeyConstraint(
            ["bank_account_id"],
            ["bank_account_rec.id"],
            name=op.f("fk_pl_payment_rec_bank_account_id_bank_account_rec"),
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["gl_journal_rec.id"], name=op.f("fk_pl_payment_rec_journal_id_gl_journal_rec")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["pl_supplier_rec.id"], name=op.f("fk_pl_payment_rec_supplier_id_pl_supplier_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_payment_rec")),
        sa.UniqueConstraint("run_key", "supplier_id", name=op.f("uq_pl_payment_rec_run_key_supplier_id")),
    )
    with op.batch_alter_table("pl_payment_rec", schema=None) as batch_op:
        batch_op.create_index("ix_pl_payment_rec_date", ["payment_date"], unique=False)
        batch_op.create_index("ix_pl_payment_rec_supplier_date", ["supplier_id", "payment_date"], unique=False)

    op.create_table(
        "sl_invoice_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("invoice", "credit_note", name="document_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("net_pence", sa.BigInteger(), nullable=False),
        sa.Column("vat_pence", sa.BigInteger(), nullable=False),
        sa.Column("gross_pence", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_pence", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "part_paid", "paid", name="document_status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("disputed", sa.Boolean(), nullable=False),
        sa.Column("on_hold", sa.Boolean(), nullable=False),
        sa.Column("credits_invoice_id", sa.Integer(), nullable=True),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(status = 'open' AND outstanding_pence = gross_pence) OR (status = 'part_paid' AND outstanding_pence > 0 AND outstanding_pence < gross_pence) OR (status = 'paid' AND outstanding_pence = 0)",
            name=op.f("ck_sl_invoice_rec_status_matches_outstanding"),
        ),
        sa.CheckConstraint("due_date >= invoice_date", name=op.f("ck_sl_invoice_rec_due_after_date")),
        sa.CheckConstraint("gross_pence = net_pence + vat_pence", name=op.f("ck_sl_invoice_rec_gross_is_net_plus_vat")),
        sa.CheckConstraint(
            "net_pence >= 0 AND vat_pence >= 0 AND gross_pence > 0", name=op.f("ck_sl_invoice_rec_amounts_positive")
        ),
        sa.CheckConstraint(
            "outstanding_pence >= 0 AND outstanding_pence <= gross_pence",
            name=op.f("ck_sl_invoice_rec_outstanding_range"),
        ),
        sa.ForeignKeyConstraint(
            ["credits_invoice_id"],
            ["sl_invoice_rec.id"],
            name=op.f("fk_sl_invoice_rec_credits_invoice_id_sl_invoice_rec"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["sl_customer_rec.id"], name=op.f("fk_sl_invoice_rec_customer_id_sl_customer_rec")
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["gl_journal_rec.id"], name=op.f("fk_sl_invoice_rec_journal_id_gl_journal_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sl_invoice_rec")),
        sa.UniqueConstraint("number", name=op.f("uq_sl_invoice_rec_number")),
    )
    with op.batch_alter_table("sl_invoice_rec", schema=None) as batch_op:
        batch_op.create_index("ix_sl_invoice_rec_customer_due", ["customer_id", "due_date"], unique=False)
        batch_op.create_index("ix_sl_invoice_rec_date", ["invoice_date"], unique=False)
        batch_op.create_index("ix_sl_invoice_rec_open", ["status", "due_date"], unique=False)

    op.create_table(
        "sl_receipt_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("receipt_date", sa.Date(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("unallocated_pence", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_sl_receipt_rec_amount_positive")),
        sa.CheckConstraint(
            "unallocated_pence >= 0 AND unallocated_pence <= amount_pence",
            name=op.f("ck_sl_receipt_rec_unallocated_range"),
        ),
        sa.ForeignKeyConstraint(
            ["bank_account_id"],
            ["bank_account_rec.id"],
            name=op.f("fk_sl_receipt_rec_bank_account_id_bank_account_rec"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["sl_customer_rec.id"], name=op.f("fk_sl_receipt_rec_customer_id_sl_customer_rec")
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["gl_journal_rec.id"], name=op.f("fk_sl_receipt_rec_journal_id_gl_journal_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sl_receipt_rec")),
    )
    with op.batch_alter_table("sl_receipt_rec", schema=None) as batch_op:
        batch_op.create_index("ix_sl_receipt_rec_customer_date", ["customer_id", "receipt_date"], unique=False)
        batch_op.create_index("ix_sl_receipt_rec_date", ["receipt_date"], unique=False)

    op.create_table(
        "st_location_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("pick", "bulk", name="location_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("min_qty", sa.Integer(), nullable=False),
        sa.Column("max_qty", sa.Integer(), nullable=False),
        sa.CheckConstraint("min_qty >= 0 AND max_qty >= min_qty", name=op.f("ck_st_location_rec_min_max_ordered")),
        sa.ForeignKeyConstraint(["item_id"], ["st_item_rec.id"], name=op.f("fk_st_location_rec_item_id_st_item_rec")),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["st_warehouse_rec.id"], name=op.f("fk_st_location_rec_warehouse_id_st_warehouse_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_location_rec")),
        sa.UniqueConstraint("warehouse_id", "code", name=op.f("uq_st_location_rec_warehouse_id_code")),
    )
    with op.batch_alter_table("st_location_rec", schema=None) as batch_op:
        batch_op.create_index("ix_st_location_rec_item", ["item_id"], unique=False)

    op.create_table(
        "st_stock_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("value_pence", sa.BigInteger(), nullable=False),
        sa.Column("allocated_qty", sa.Integer(), nullable=False),
        sa.CheckConstraint("allocated_qty >= 0", name=op.f("ck_st_stock_rec_allocated_non_negative")),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_st_stock_rec_quantity_non_negative")),
        sa.CheckConstraint(
            "value_pence >= 0 AND (quantity > 0 OR value_pence = 0)", name=op.f("ck_st_stock_rec_value_with_quantity")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["st_item_rec.id"], name=op.f("fk_st_stock_rec_item_id_st_item_rec")),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["st_warehouse_rec.id"], name=op.f("fk_st_stock_rec_warehouse_id_st_warehouse_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_stock_rec")),
        sa.UniqueConstraint("item_id", "warehouse_id", name=op.f("uq_st_stock_rec_item_id_warehouse_id")),
    )
    with op.batch_alter_table("st_stock_rec", schema=None) as batch_op:
        batch_op.create_index("ix_st_stock_rec_warehouse", ["warehouse_id"], unique=False)

    op.create_table(
        "bank_statement_line_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("matched_line_id", sa.Integer(), nullable=True),
        sa.Column("matched_on", sa.Date(), nullable=True),
        sa.CheckConstraint("amount_pence <> 0", name=op.f("ck_bank_statement_line_rec_amount_non_zero")),
        sa.ForeignKeyConstraint(
            ["bank_account_id"],
            ["bank_account_rec.id"],
            name=op.f("fk_bank_statement_line_rec_bank_account_id_bank_account_rec"),
        ),
        sa.ForeignKeyConstraint(
            ["matched_line_id"],
            ["gl_journal_line_rec.id"],
            name=op.f("fk_bank_statement_line_rec_matched_line_id_gl_journal_line_rec"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement_line_rec")),
        sa.UniqueConstraint("matched_line_id", name=op.f("uq_bank_statement_line_rec_matched_line_id")),
    )
    with op.batch_alter_table("bank_statement_line_rec", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bank_statement_line_rec_account_date", ["bank_account_id", "statement_date"], unique=False
        )

    op.create_table(
        "pl_allocation_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("credit_note_id", sa.Integer(), nullable=True),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("discount_pence", sa.BigInteger(), nullable=False),
        sa.Column("allocated_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "(payment_id IS NULL) <> (credit_note_id IS NULL)", name=op.f("ck_pl_allocation_rec_one_source")
        ),
        sa.CheckConstraint(
            "amount_pence > 0 AND discount_pence >= 0", name=op.f("ck_pl_allocation_rec_amounts_positive")
        ),
        sa.CheckConstraint("discount_pence <= amount_pence", name=op.f("ck_pl_allocation_rec_discount_within_amount")),
        sa.ForeignKeyConstraint(
            ["credit_note_id"], ["pl_invoice_rec.id"], name=op.f("fk_pl_allocation_rec_credit_note_id_pl_invoice_rec")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["pl_invoice_rec.id"], name=op.f("fk_pl_allocation_rec_invoice_id_pl_invoice_rec")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["pl_payment_rec.id"], name=op.f("fk_pl_allocation_rec_payment_id_pl_payment_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_allocation_rec")),
        sa.UniqueConstraint("payment_id", "invoice_id", name=op.f("uq_pl_allocation_rec_payment_id_invoice_id")),
    )
    with op.batch_alter_table("pl_allocation_rec", schema=None) as batch_op:
        batch_op.create_index("ix_pl_allocation_rec_credit_note", ["credit_note_id"], unique=False)
        batch_op.create_index("ix_pl_allocation_rec_invoice", ["invoice_id"], unique=False)

    op.create_table(
        "pl_invoice_line_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_pence", sa.BigInteger(), nullable=False),
        sa.Column("net_pence", sa.BigInteger(), nullable=False),
        sa.Column("vat_code_id", sa.Integer(), nullable=False),
        sa.Column("vat_pence", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "match_status",
            sa.Enum(
                "unmatched",
                "matched",
                "price_variance",
                "quantity_variance",
                "no_receipt",
                "no_order",
                "not_required",
                name="match_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("quantity_variance", sa.Integer(), nullable=True),
        sa.Column("price_variance_pence", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "quantity > 0 AND unit_price_pence >= 0 AND net_pence >= 0",
            name=op.f("ck_pl_invoice_line_rec_amounts_positive"),
        ),
        sa.CheckConstraint("vat_pence >= 0", name=op.f("ck_pl_invoice_line_rec_vat_non_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["gl_account_rec.id"], name=op.f("fk_pl_invoice_line_rec_account_id_gl_account_rec")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["pl_invoice_rec.id"],
            name=op.f("fk_pl_invoice_line_rec_invoice_id_pl_invoice_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["st_item_rec.id"], name=op.f("fk_pl_invoice_line_rec_item_id_st_item_rec")
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["pl_order_line_rec.id"],
            name=op.f("fk_pl_invoice_line_rec_order_line_id_pl_order_line_rec"),
        ),
        sa.ForeignKeyConstraint(
            ["vat_code_id"], ["vat_code_rec.id"], name=op.f("fk_pl_invoice_line_rec_vat_code_id_vat_code_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_invoice_line_rec")),
        sa.UniqueConstraint("invoice_id", "line_no", name=op.f("uq_pl_invoice_line_rec_invoice_id_line_no")),
    )
    with op.batch_alter_table("pl_invoice_line_rec", schema=None) as batch_op:
        batch_op.create_index("ix_pl_invoice_line_rec_match", ["match_status"], unique=False)
        batch_op.create_index("ix_pl_invoice_line_rec_order_line", ["order_line_id"], unique=False)

    op.create_table(
        "pl_remittance_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("created_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", acas_batch.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_to", sa.String(length=128), nullable=True),
        sa.Column("document", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["pl_payment_rec.id"], name=op.f("fk_pl_remittance_rec_payment_id_pl_payment_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_remittance_rec")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_pl_remittance_rec_payment_id")),
    )
    op.create_table(
        "sl_allocation_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=True),
        sa.Column("credit_note_id", sa.Integer(), nullable=True),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("allocated_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "(receipt_id IS NULL) <> (credit_note_id IS NULL)", name=op.f("ck_sl_allocation_rec_one_source")
        ),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_sl_allocation_rec_amount_positive")),
        sa.ForeignKeyConstraint(
            ["credit_note_id"], ["sl_invoice_rec.id"], name=op.f("fk_sl_allocation_rec_credit_note_id_sl_invoice_rec")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["sl_invoice_rec.id"], name=op.f("fk_sl_allocation_rec_invoice_id_sl_invoice_rec")
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"], ["sl_receipt_rec.id"], name=op.f("fk_sl_allocation_rec_receipt_id_sl_receipt_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sl_allocation_rec")),
    )
    with op.batch_alter_table("sl_allocation_rec", schema=None) as batch_op:
        batch_op.create_index("ix_sl_allocation_rec_credit_note", ["credit_note_id"], unique=False)
        batch_op.create_index("ix_sl_allocation_rec_date", ["allocated_on"], unique=False)
        batch_op.create_index("ix_sl_allocation_rec_invoice", ["invoice_id"], unique=False)
        batch_op.create_index("ix_sl_allocation_rec_receipt", ["receipt_id"], unique=False)

    op.create_table(
        "sl_invoice_line_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("warehouse_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_pence", sa.BigInteger(), nullable=False),
        sa.Column("net_pence", sa.BigInteger(), nullable=False),
        sa.Column("vat_code_id", sa.Integer(), nullable=False),
        sa.Column("vat_pence", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "quantity > 0 AND unit_price_pence >= 0 AND net_pence >= 0",
            name=op.f("ck_sl_invoice_line_rec_amounts_positive"),
        ),
        sa.CheckConstraint("vat_pence >= 0", name=op.f("ck_sl_invoice_line_rec_vat_non_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["gl_account_rec.id"], name=op.f("fk_sl_invoice_line_rec_account_id_gl_account_rec")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["sl_invoice_rec.id"],
            name=op.f("fk_sl_invoice_line_rec_invoice_id_sl_invoice_rec"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["st_item_rec.id"], name=op.f("fk_sl_invoice_line_rec_item_id_st_item_rec")
        ),
        sa.ForeignKeyConstraint(
            ["vat_code_id"], ["vat_code_rec.id"], name=op.f("fk_sl_invoice_line_rec_vat_code_id_vat_code_rec")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["st_warehouse_rec.id"], name=op.f("fk_sl_invoice_line_rec_warehouse_id_st_warehouse_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sl_invoice_line_rec")),
    )
    with op.batch_alter_table("sl_invoice_line_rec", schema=None) as batch_op:
        batch_op.create_index("ix_sl_invoice_line_rec_invoice", ["invoice_id", "line_no"], unique=True)
        batch_op.create_index("ix_sl_invoice_line_rec_item", ["item_id"], unique=False)

    op.create_table(
        "sl_reminder_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("days_overdue", sa.Integer(), nullable=False),
        sa.Column("overdue_pence", sa.BigInteger(), nullable=False),
        sa.Column("interest_pence", sa.BigInteger(), nullable=False),
        sa.Column("compensation_pence", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("level BETWEEN 1 AND 3", name=op.f("ck_sl_reminder_rec_level_range")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["sl_customer_rec.id"], name=op.f("fk_sl_reminder_rec_customer_id_sl_customer_rec")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["sl_invoice_rec.id"], name=op.f("fk_sl_reminder_rec_invoice_id_sl_invoice_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sl_reminder_rec")),
    )
    with op.batch_alter_table("sl_reminder_rec", schema=None) as batch_op:
        batch_op.create_index("ix_sl_reminder_rec_customer_sent", ["customer_id", "sent_on"], unique=False)

    op.create_table(
        "st_count_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "counted",
                "posted",
                "cancelled",
                name="count_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("expected_qty", sa.Integer(), nullable=True),
        sa.Column("counted_qty", sa.Integer(), nullable=True),
        sa.Column("counted_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "counted_qty IS NULL OR counted_qty >= 0", name=op.f("ck_st_count_rec_counted_non_negative")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["st_item_rec.id"], name=op.f("fk_st_count_rec_item_id_st_item_rec")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["st_location_rec.id"], name=op.f("fk_st_count_rec_location_id_st_location_rec")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["st_warehouse_rec.id"], name=op.f("fk_st_count_rec_warehouse_id_st_warehouse_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_count_rec")),
        sa.UniqueConstraint(
            "item_id", "warehouse_id", "scheduled_on", name=op.f("uq_st_count_rec_item_id_warehouse_id_scheduled_on")
        ),
    )
    with op.batch_alter_table("st_count_rec", schema=None) as batch_op:
        batch_op.create_index("ix_st_count_rec_date", ["scheduled_on"], unique=False)

    op.create_table(
        "st_lot_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("lot_number", sa.String(length=24), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("unit_cost_pence", sa.BigInteger(), nullable=False),
        sa.Column("quantity_received", sa.Integer(), nullable=False),
        sa.Column("quantity_on_hand", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Boolean(), nullable=False),
        sa.CheckConstraint("quantity_on_hand >= 0", name=op.f("ck_st_lot_rec_on_hand_non_negative")),
        sa.CheckConstraint("unit_cost_pence >= 0", name=op.f("ck_st_lot_rec_cost_non_negative")),
        sa.ForeignKeyConstraint(["item_id"], ["st_item_rec.id"], name=op.f("fk_st_lot_rec_item_id_st_item_rec")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["st_location_rec.id"], name=op.f("fk_st_lot_rec_location_id_st_location_rec")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["st_warehouse_rec.id"], name=op.f("fk_st_lot_rec_warehouse_id_st_warehouse_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_lot_rec")),
        sa.UniqueConstraint(
            "item_id", "warehouse_id", "lot_number", name=op.f("uq_st_lot_rec_item_id_warehouse_id_lot_number")
        ),
    )
    with op.batch_alter_table("st_lot_rec", schema=None) as batch_op:
        batch_op.create_index("ix_st_lot_rec_expiry", ["expiry_date"], unique=False)
        batch_op.create_index("ix_st_lot_rec_fifo", ["item_id", "warehouse_id", "received_on"], unique=False)
        batch_op.create_index("ix_st_lot_rec_location", ["location_id"], unique=False)

    op.create_table(
        "pl_grn_line_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grn_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_pence", sa.BigInteger(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_pl_grn_line_rec_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["grn_id"], ["pl_grn_rec.id"], name=op.f("fk_pl_grn_line_rec_grn_id_pl_grn_rec"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["st_lot_rec.id"], name=op.f("fk_pl_grn_line_rec_lot_id_st_lot_rec")),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["pl_order_line_rec.id"], name=op.f("fk_pl_grn_line_rec_order_line_id_pl_order_line_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pl_grn_line_rec")),
    )
    with op.batch_alter_table("pl_grn_line_rec", schema=None) as batch_op:
        batch_op.create_index("ix_pl_grn_line_rec_grn", ["grn_id"], unique=False)
        batch_op.create_index("ix_pl_grn_line_rec_order_line", ["order_line_id"], unique=False)

    op.create_table(
        "st_movement_rec",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "receipt",
                "issue",
                "transfer_in",
                "transfer_out",
                "adjustment",
                "count",
                name="movement_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("movement_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_cost_pence", sa.BigInteger(), nullable=False),
        sa.Column("value_pence", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(kind NOT IN ('receipt', 'transfer_in') OR quantity > 0) AND (kind NOT IN ('issue', 'transfer_out') OR quantity < 0)",
            name=op.f("ck_st_movement_rec_sign_matches_kind"),
        ),
        sa.CheckConstraint("quantity <> 0", name=op.f("ck_st_movement_rec_quantity_non_zero")),
        sa.ForeignKeyConstraint(["item_id"], ["st_item_rec.id"], name=op.f("fk_st_movement_rec_item_id_st_item_rec")),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["gl_journal_rec.id"], name=op.f("fk_st_movement_rec_journal_id_gl_journal_rec")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["st_lot_rec.id"], name=op.f("fk_st_movement_rec_lot_id_st_lot_rec")),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["st_warehouse_rec.id"], name=op.f("fk_st_movement_rec_warehouse_id_st_warehouse_rec")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_st_movement_rec")),
    )
    with op.batch_alter_table("st_movement_rec", schema=None) as batch_op:
        batch_op.create_index("ix_st_movement_rec_date_kind", ["movement_date", "kind"], unique=False)
        batch_op.create_index("ix_st_movement_rec_item_date", ["item_id", "movement_date"], unique=False)
        batch_op.create_index("ix_st_movement_rec_lot", ["lot_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("st_movement_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_st_movement_rec_lot")
        batch_op.drop_index("ix_st_movement_rec_item_date")
        batch_op.drop_index("ix_st_movement_rec_date_kind")

    op.drop_table("st_movement_rec")
    with op.batch_alter_table("pl_grn_line_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_pl_grn_line_rec_order_line")
        batch_op.drop_index("ix_pl_grn_line_rec_grn")

    op.drop_table("pl_grn_line_rec")
    with op.batch_alter_table("st_lot_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_st_lot_rec_location")
        batch_op.drop_index("ix_st_lot_rec_fifo")
        batch_op.drop_index("ix_st_lot_rec_expiry")

    op.drop_table("st_lot_rec")
    with op.batch_alter_table("st_count_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_st_count_rec_date")

    op.drop_table("st_count_rec")
    with op.batch_alter_table("sl_reminder_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_sl_reminder_rec_customer_sent")

    op.drop_table("sl_reminder_rec")
    with op.batch_alter_table("sl_invoice_line_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_sl_invoice_line_rec_item")
        batch_op.drop_index("ix_sl_invoice_line_rec_invoice")

    op.drop_table("sl_invoice_line_rec")
    with op.batch_alter_table("sl_allocation_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_sl_allocation_rec_receipt")
        batch_op.drop_index("ix_sl_allocation_rec_invoice")
        batch_op.drop_index("ix_sl_allocation_rec_date")
        batch_op.drop_index("ix_sl_allocation_rec_credit_note")

    op.drop_table("sl_allocation_rec")
    op.drop_table("pl_remittance_rec")
    with op.batch_alter_table("pl_invoice_line_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_pl_invoice_line_rec_order_line")
        batch_op.drop_index("ix_pl_invoice_line_rec_match")

    op.drop_table("pl_invoice_line_rec")
    with op.batch_alter_table("pl_allocation_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_pl_allocation_rec_invoice")
        batch_op.drop_index("ix_pl_allocation_rec_credit_note")

    op.drop_table("pl_allocation_rec")
    with op.batch_alter_table("bank_statement_line_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_statement_line_rec_account_date")

    op.drop_table("bank_statement_line_rec")
    with op.batch_alter_table("st_stock_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_st_stock_rec_warehouse")

    op.drop_table("st_stock_rec")
    with op.batch_alter_table("st_location_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_st_location_rec_item")

    op.drop_table("st_location_rec")
    with op.batch_alter_table("sl_receipt_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_sl_receipt_rec_date")
        batch_op.drop_index("ix_sl_receipt_rec_customer_date")

    op.drop_table("sl_receipt_rec")
    with op.batch_alter_table("sl_invoice_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_sl_invoice_rec_open")
        batch_op.drop_index("ix_sl_invoice_rec_date")
        batch_op.drop_index("ix_sl_invoice_rec_customer_due")

    op.drop_table("sl_invoice_rec")
    with op.batch_alter_table("pl_payment_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_pl_payment_rec_supplier_date")
        batch_op.drop_index("ix_pl_payment_rec_date")

    op.drop_table("pl_payment_rec")
    with op.batch_alter_table("pl_order_line_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_pl_order_line_rec_item")

    op.drop_table("pl_order_line_rec")
    with op.batch_alter_table("pl_invoice_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_pl_invoice_rec_supplier_due")
        batch_op.drop_index("ix_pl_invoice_rec_open")
        batch_op.drop_index("ix_pl_invoice_rec_date")

    op.drop_table("pl_invoice_rec")
    with op.batch_alter_table("pl_grn_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_pl_grn_rec_order")
        batch_op.drop_index("ix_pl_grn_rec_date")

    op.drop_table("pl_grn_rec")
    with op.batch_alter_table("gl_journal_line_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_gl_journal_line_rec_account")

    op.drop_table("gl_journal_line_rec")
    with op.batch_alter_table("st_item_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_st_item_rec_supplier")

    op.drop_table("st_item_rec")
    with op.batch_alter_table("sl_customer_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_sl_customer_rec_salesperson")

    op.drop_table("sl_customer_rec")
    with op.batch_alter_table("pl_order_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_pl_order_rec_supplier_date")
        batch_op.drop_index("ix_pl_order_rec_status")

    op.drop_table("pl_order_rec")
    with op.batch_alter_table("gl_journal_rec", schema=None) as batch_op:
        batch_op.drop_index("uq_gl_journal_rec_reverses")
        batch_op.drop_index("ix_gl_journal_rec_status_date")
        batch_op.drop_index("ix_gl_journal_rec_source_reference")
        batch_op.drop_index("ix_gl_journal_rec_period_source")

    op.drop_table("gl_journal_rec")
    with op.batch_alter_table("gl_budget_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_gl_budget_rec_period")

    op.drop_table("gl_budget_rec")
    with op.batch_alter_table("gl_balance_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_gl_balance_rec_period")

    op.drop_table("gl_balance_rec")
    op.drop_table("bank_account_rec")
    op.drop_table("vat_return_rec")
    op.drop_table("vat_code_rec")
    op.drop_table("st_warehouse_rec")
    op.drop_table("sl_salesperson_rec")
    op.drop_table("pl_supplier_rec")
    with op.batch_alter_table("gl_account_rec", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_gl_account_rec_control",
            sqlite_where=sa.text("control IS NOT NULL AND control <> 'bank'"),
            postgresql_where=sa.text("control IS NOT NULL AND control <> 'bank'"),
        )

    op.drop_table("gl_account_rec")
    op.drop_table("company_rec")
    op.drop_table("closure_day_rec")
    with op.batch_alter_table("accounting_period_rec", schema=None) as batch_op:
        batch_op.drop_index("ix_accounting_period_rec_end_date")

    op.drop_table("accounting_period_rec")

"""A new company's standing data: the chart of accounts, VAT codes, periods, a bank account.

Kept as data so the demo generator and the tests start from the same books.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, insert, select, text
from sqlalchemy.orm import Session

from acas_batch.models import (
    Account,
    AccountingPeriod,
    AccountType,
    BankAccount,
    Base,
    Company,
    ControlKind,
    PeriodStatus,
    VatCode,
    VatKind,
    VatScheme,
)


@dataclass(frozen=True)
class AccountDef:
    code: str
    name: str
    type: AccountType
    control: ControlKind | None = None
    category: str = ""


A, L, E, IN, X = AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY, AccountType.INCOME, AccountType.EXPENSE

#: The standard chart (UK small wholesaler), ids 1.. in this order.
STANDARD_CHART: tuple[AccountDef, ...] = (
    AccountDef("0010", "Plant and machinery", A, None, "Fixed assets"),
    AccountDef("1001", "Stock", A, ControlKind.STOCK, "Current assets"),
    AccountDef("1100", "Debtors control", A, ControlKind.DEBTORS, "Current assets"),
    AccountDef("1200", "Bank current account", A, ControlKind.BANK, "Current assets"),
    AccountDef("2100", "Creditors control", L, ControlKind.CREDITORS, "Current liabilities"),
    AccountDef("2110", "Goods received not invoiced", L, ControlKind.GRNI, "Current liabilities"),
    AccountDef("2200", "VAT on sales (output)", L, ControlKind.VAT_OUTPUT, "Current liabilities"),
    AccountDef("2201", "VAT on purchases (input)", A, ControlKind.VAT_INPUT, "Current assets"),
    AccountDef("2300", "Accruals", L, None, "Current liabilities"),
    AccountDef("3000", "Share capital", E, None, "Capital"),
    AccountDef("3200", "Retained earnings", E, ControlKind.RETAINED_EARNINGS, "Capital"),
    AccountDef("4000", "Sales - goods", IN, None, "Sales"),
    AccountDef("4010", "Sales - services and carriage", IN, None, "Sales"),
    AccountDef("4900", "Other income", IN, None, "Other income"),
    AccountDef("5000", "Cost of sales", X, ControlKind.COST_OF_SALES, "Cost of sales"),
    AccountDef("5010", "Stock adjustments and write-offs", X, ControlKind.STOCK_ADJUSTMENT, "Cost of sales"),
    AccountDef("5020", "Purchase price variance", X, ControlKind.PURCHASE_VARIANCE, "Cost of sales"),
    AccountDef("5100", "Carriage inwards", X, None, "Cost of sales"),
    AccountDef("6000", "Wages and salaries", X, None, "Overheads"),
    AccountDef("6100", "Rent and rates", X, None, "Overheads"),
    AccountDef("6200", "Light and heat", X, None, "Overheads"),
    AccountDef("6300", "Motor expenses", X, None, "Overheads"),
    AccountDef("6400", "Office and IT", X, None, "Overheads"),
    AccountDef("6500", "Sales commission", X, None, "Overheads"),
    AccountDef("7900", "Discount received", IN, ControlKind.DISCOUNT_RECEIVED, "Other income"),
)


#: Accounts without a control role that jobs post to, by code.
COMMISSION_EXPENSE_CODE = "6500"  # SL_COMMISSION_CALCULATION's accrual: the expense side
ACCRUALS_CODE = "2300"  # ... and the liability side


@dataclass(frozen=True)
class VatDef:
    code: str
    description: str
    kind: VatKind
    rate: Decimal
    in_net_boxes: bool
    reverse_charge: bool = False
    ec_goods: bool = False


#: UK VAT codes, ids 1.. in this order (ACAS-style single-letter codes).
STANDARD_VAT: tuple[VatDef, ...] = (
    VatDef("S", "Standard rate 20%", VatKind.STANDARD, Decimal("0.2000"), True),
    VatDef("R", "Reduced rate 5%", VatKind.REDUCED, Decimal("0.0500"), True),
    VatDef("Z", "Zero rated", VatKind.ZERO, Decimal("0.0000"), True),
    VatDef("E", "Exempt", VatKind.EXEMPT, Decimal("0.0000"), True),
    VatDef("O", "Outside the scope", VatKind.OUTSIDE_SCOPE, Decimal("0.0000"), False),
    VatDef("RC", "Reverse charge 20%", VatKind.REVERSE_CHARGE, Decimal("0.2000"), True, reverse_charge=True),
)


def chart_rows() -> list[dict[str, object]]:
    return [
        {"id": n, "code": a.code, "name": a.name, "type": a.type, "control": a.control, "category": a.category}
        for n, a in enumerate(STANDARD_CHART, start=1)
    ]


def vat_rows() -> list[dict[str, object]]:
    return [
        {
            "id": n,
            "code": v.code,
            "description": v.description,
            "kind": v.kind,
            "rate": v.rate,
            "in_net_boxes": v.in_net_boxes,
            "reverse_charge": v.reverse_charge,
            "ec_goods": v.ec_goods,
        }
        for n, v in enumerate(STANDARD_VAT, start=1)
    ]


def month_start(day: date, months: int = 0) -> date:
    """The first day of the month ``months`` after (or before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_rows(first_year: int, years: int, start_month: int, *, first_id: int = 1) -> list[dict[str, object]]:
    """Twelve calendar-month periods per financial year, all open."""
    rows: list[dict[str, object]] = []
    for fy in range(first_year, first_year + years):
        start = date(fy, start_month, 1)
        for p in range(12):
            begin = month_start(start, p)
            rows.append(
                {
                    "id": first_id + len(rows),
                    "financial_year": fy,
                    "period_no": p + 1,
                    "start_date": begin,
                    "end_date": month_start(begin, 1) - timedelta(days=1),
                    "status": PeriodStatus.OPEN,
                }
            )
    return rows


def financial_year_of(day: date, start_month: int) -> int:
    """The financial year (named by the calendar year it starts in) containing ``day``."""
    return day.year if day.month >= start_month else day.year - 1


def install_standard_books(
    session: Session,
    *,
    name: str,
    first_day: date,
    years: int = 2,
    year_start_month: int = 4,
    created_at: datetime | None = None,
    seed: int | None = None,
) -> None:
    """Company row, chart of accounts, VAT codes, periods from ``first_day``'s year, one bank account."""
    session.execute(
        insert(Company).values(
            id=1,
            name=name,
            base_currency="GBP",
            year_start_month=year_start_month,
            vat_registration="GB123456789",
            vat_scheme=VatScheme.ACCRUAL,
            demo_seed=seed,
            created_at=created_at or datetime.now(UTC),
        )
    )
    session.execute(insert(Account), chart_rows())
    session.execute(insert(VatCode), vat_rows())
    first_year = financial_year_of(first_day, year_start_month)
    session.execute(insert(AccountingPeriod), period_rows(first_year, years, year_start_month))
    bank = session.scalars(select(Account.id).where(Account.control == ControlKind.BANK)).one()
    session.execute(
        insert(BankAccount).values(
            id=1, code="BANK1", name="Current account", account_id=bank, sort_code="401276", account_number="71234567"
        )
    )
    sync_id_sequences(session, STANDING_TABLES)
    session.flush()


#: The tables :func:`install_standard_books` fills with explicit ids.
STANDING_TABLES = ("company_rec", "gl_account_rec", "vat_code_rec", "accounting_period_rec", "bank_account_rec")


def sync_id_sequences(db: Session | Connection, tables: list[str] | tuple[str, ...]) -> None:
    """After rows were written with explicit ids, move PostgreSQL's id sequences past them.

    Tables keyed otherwise (no ``id`` column, so no sequence) are passed over.
    """
    dialect = db.dialect if isinstance(db, Connection) else db.get_bind().dialect
    if dialect.name != "postgresql":
        return  # SQLite's rowid continues from the largest id by itself
    for table in tables:
        if "id" not in Base.metadata.tables[table].c:
            continue
        db.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" COALESCE((SELECT MAX(id) FROM {table}), 1), (SELECT MAX(id) FROM {table}) IS NOT NULL)"
            )
        )

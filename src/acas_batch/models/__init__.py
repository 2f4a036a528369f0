"""Every table as a typed SQLAlchemy model.

Taking any name from this package (``from acas_batch.models import BatchJob``) imports every
model module, so the metadata holds every table. A module that needs only some tables
imports their module (``acas_batch.models.batch``): the command line's read commands load
the engine's tables without the ledger's sixty (PEP 562 ``__getattr__`` below).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acas_batch.models.alerting import (
        AlertLinkUse,
        AlertRoute,
        AlertSilence,
        Deadline,
        MailedDocument,
        NotificationOutbox,
    )
    from acas_batch.models.base import Base, JSONType, Pence, UTCDateTime, enum_column
    from acas_batch.models.batch import (
        BatchAlert,
        BatchDatabase,
        BatchDependency,
        BatchExecution,
        BatchJob,
        BatchLog,
        BatchMetric,
        BatchParameter,
        BatchRunNotice,
        BatchSchedule,
        BatchThreshold,
        BatchWorker,
        Quarantine,
    )
    from acas_batch.models.company import AccountingPeriod, ClosureDay, Company, PeriodStatus, VatScheme
    from acas_batch.models.enums import (
        TERMINAL_STATES,
        AlertSeverity,
        AlertState,
        BackupGeneration,
        DependencyCondition,
        DependencyKind,
        ExecutionState,
        LogLevel,
        MisfirePolicy,
        Module,
        RecoveryPolicy,
        ScheduleKind,
        ShiftPolicy,
        TriggerKind,
        WorkerRole,
        WorkerState,
    )
    from acas_batch.models.gl import (
        Account,
        AccountPeriodBalance,
        AccountType,
        BankAccount,
        BankStatementLine,
        Budget,
        ControlKind,
        Journal,
        JournalLine,
        JournalSource,
        JournalStatus,
    )
    from acas_batch.models.pl import (
        GoodsReceivedLine,
        GoodsReceivedNote,
        MatchStatus,
        OrderStatus,
        PaymentMethod,
        PurchaseAllocation,
        PurchaseInvoice,
        PurchaseInvoiceLine,
        PurchaseOrder,
        PurchaseOrderLine,
        Remittance,
        Supplier,
        SupplierPayment,
    )
    from acas_batch.models.results_gl import (
        BudgetVarianceLine,
        DayBookLine,
        PeriodClosingBalance,
        ReconciliationLine,
        TrialBalanceLine,
        YearEndLine,
    )
    from acas_batch.models.results_pl import AccrualLine, AgedCreditorLine, MatchResultLine, PaymentRun
    from acas_batch.models.results_sl import (
        AgedDebtorLine,
        CommissionAccrual,
        CommissionBasis,
        CommissionDocument,
        CommissionLine,
        CreditAction,
        CreditChange,
        StatementLine,
        VatReturnRun,
    )
    from acas_batch.models.results_st import (
        AbcResult,
        DeadStockResult,
        ExpiryResult,
        ForecastResult,
        ReorderResult,
        ReplenishmentTask,
        StockAge,
        ValuationResult,
    )
    from acas_batch.models.security import Approval, Audit, LoginThrottle, Role, User, UserSession
    from acas_batch.models.sl import (
        CommissionTier,
        Customer,
        DocumentKind,
        DocumentStatus,
        Receipt,
        Reminder,
        SalesAllocation,
        SalesInvoice,
        SalesInvoiceLine,
        Salesperson,
    )
    from acas_batch.models.stock import (
        AbcClass,
        CostMethod,
        CountStatus,
        Item,
        Location,
        LocationKind,
        Lot,
        MovementKind,
        StockCount,
        StockLevel,
        StockMovement,
        Warehouse,
    )
    from acas_batch.models.system import (
        ArchivedJournalLine,
        ArchivedStatementLine,
        ArchiveRun,
        CatalogueItem,
        SysBackup,
    )
    from acas_batch.models.vat import VatCode, VatKind, VatReturn, VatReturnStatus

    LEDGER_TABLES: tuple[str, ...]

#: Every module that defines tables or their enums; importing them all registers every table.
MODEL_MODULES = (
    "alerting",
    "base",
    "enums",
    "batch",
    "company",
    "gl",
    "pl",
    "results_gl",
    "results_pl",
    "results_sl",
    "results_st",
    "security",
    "sl",
    "stock",
    "system",
    "vat",
)

SPEC_TABLES = (
    "batch_job_rec",
    "batch_schedule_rec",
    "batch_execution_rec",
    "batch_log_rec",
    "batch_dependency_rec",
    "batch_parameter_rec",
    "batch_alert_rec",
    "batch_metrics_rec",
    "batch_threshold_rec",
    "quarantine_rec",
)


def load_all() -> None:
    """Import every model module, so that ``Base.metadata`` holds every table."""
    for name in MODEL_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for attribute in __all__:
            if attribute in module.__dict__ and attribute not in globals():
                globals()[attribute] = module.__dict__[attribute]


def __getattr__(name: str) -> Any:
    if name not in __all__ and name != "LEDGER_TABLES":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    load_all()
    if name == "LEDGER_TABLES":
        base = importlib.import_module(f"{__name__}.base")
        globals()[name] = tuple(
            t.name
            for t in base.Base.metadata.sorted_tables
            if not t.name.startswith(("batch_", "quarantine_", "user_", "role_", "audit_"))
        )
    if name not in globals():
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return globals()[name]


__all__ = [
    "SPEC_TABLES",
    "TERMINAL_STATES",
    "AbcClass",
    "AbcResult",
    "Account",
    "AccountPeriodBalance",
    "AccountType",
    "AccountingPeriod",
    "AccrualLine",
    "AgedCreditorLine",
    "AgedDebtorLine",
    "AlertLinkUse",
    "AlertRoute",
    "AlertSeverity",
    "AlertSilence",
    "AlertState",
    "Approval",
    "ArchiveRun",
    "ArchivedJournalLine",
    "ArchivedStatementLine",
    "Audit",
    "BackupGeneration",
    "BankAccount",
    "BankStatementLine",
    "Base",
    "BatchAlert",
    "BatchDatabase",
    "BatchDependency",
    "BatchExecution",
    "BatchJob",
    "BatchLog",
    "BatchMetric",
    "BatchParameter",
    "BatchRunNotice",
    "BatchSchedule",
    "BatchThreshold",
    "BatchWorker",
    "Budget",
    "BudgetVarianceLine",
    "CatalogueItem",
    "ClosureDay",
    "CommissionAccrual",
    "CommissionBasis",
    "CommissionDocument",
    "CommissionLine",
    "CommissionTier",
    "Company",
    "ControlKind",
    "CostMethod",
    "CountStatus",
    "CreditAction",
    "CreditChange",
    "Customer",
    "DayBookLine",
    "DeadStockResult",
    "Deadline",
    "DependencyCondition",
    "DependencyKind",
    "DocumentKind",
    "DocumentStatus",
    "ExecutionState",
    "ExpiryResult",
    "ForecastResult",
    "GoodsReceivedLine",
    "GoodsReceivedNote",
    "Item",
    "JSONType",
    "Journal",
    "JournalLine",
    "JournalSource",
    "JournalStatus",
    "Location",
    "LocationKind",
    "LogLevel",
    "LoginThrottle",
    "Lot",
    "MailedDocument",
    "MatchResultLine",
    "MatchStatus",
    "MisfirePolicy",
    "Module",
    "MovementKind",
    "NotificationOutbox",
    "OrderStatus",
    "PaymentMethod",
    "PaymentRun",
    "Pence",
    "PeriodClosingBalance",
    "PeriodStatus",
    "PurchaseAllocation",
    "PurchaseInvoice",
    "PurchaseInvoiceLine",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "Quarantine",
    "Receipt",
    "ReconciliationLine",
    "RecoveryPolicy",
    "Reminder",
    "Remittance",
    "ReorderResult",
    "ReplenishmentTask",
    "Role",
    "SalesAllocation",
    "SalesInvoice",
    "SalesInvoiceLine",
    "Salesperson",
    "ScheduleKind",
    "ShiftPolicy",
    "StatementLine",
    "StockAge",
    "StockCount",
    "StockLevel",
    "StockMovement",
    "Supplier",
    "SupplierPayment",
    "SysBackup",
    "TrialBalanceLine",
    "TriggerKind",
    "UTCDateTime",
    "User",
    "UserSession",
    "ValuationResult",
    "VatCode",
    "VatKind",
    "VatReturn",
    "VatReturnRun",
    "VatReturnStatus",
    "VatScheme",
    "Warehouse",
    "WorkerRole",
    "WorkerState",
    "YearEndLine",
    "enum_column",
]

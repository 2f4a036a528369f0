"""The standard catalogue: the spec's 32 jobs, their default schedules and dependencies, as data.

Nothing here runs anything. :mod:`acas_batch.jobs.catalogue` installs these records into
``batch_job_rec``, ``batch_schedule_rec`` and ``batch_dependency_rec``; the scheduler and
calendar read them from there.

Times are the spec's "Default Schedules", in ``Europe/London``. Where a default time and a
wait conflict (GL_PERIOD_CLOSE at 22:00 waits for GL_DAILY_CLOSE at 23:00; the quarter-end
VAT returns at 10:00/11:00 wait for that evening's period close), the wait wins: the job
becomes due at its time and starts when its upstream run of the same business date has
succeeded. :func:`effective_order` shows that order for one day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from acas_batch.models.enums import (
    DependencyCondition,
    DependencyKind,
    MisfirePolicy,
    Module,
    RecoveryPolicy,
    ScheduleKind,
    ShiftPolicy,
)

TIMEZONE = "Europe/London"
#: Month in which a UK company's financial year usually starts (April: year ends 31 March).
DEFAULT_FY_START_MONTH = 4


def _frozen(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(data or {}))


def exclusive(name: str) -> Mapping[str, Any]:
    """A resource only one running job may hold."""
    return _frozen({"name": name, "mode": "exclusive"})


def shared(name: str) -> Mapping[str, Any]:
    """A resource any number of jobs may share, but not with an exclusive holder."""
    return _frozen({"name": name, "mode": "shared"})


@dataclass(frozen=True)
class DependencyDef:
    """An edge: ``upstream``'s outcome gates (``wait``) or starts (``trigger``) the job."""

    upstream: str
    kind: DependencyKind = DependencyKind.WAIT
    condition: DependencyCondition = DependencyCondition.SUCCESS
    lookback_days: int = 0


@dataclass(frozen=True)
class ScheduleDef:
    """A default schedule of a job: a calendar rule (JSON the calendar parses) and its policies."""

    kind: ScheduleKind
    rule: Mapping[str, Any]
    name: str = "default"
    timezone: str = TIMEZONE
    shift_policy: ShiftPolicy = ShiftPolicy.RUN_ANYWAY
    misfire_policy: MisfirePolicy = MisfirePolicy.RUN_ALL
    misfire_grace_seconds: int = 3600
    start_held: bool = False

    @property
    def at(self) -> str:
        return str(self.rule["at"])


@dataclass(frozen=True)
class JobDef:
    """A standard job definition, as installed into ``batch_job_rec``."""

    name: str
    module: Module
    description: str
    params: Mapping[str, Any] = field(default_factory=_frozen)
    timeout_seconds: int = 3600
    max_attempts: int = 3
    priority: int = 50
    recovery_policy: RecoveryPolicy = RecoveryPolicy.RETRY
    resources: tuple[Mapping[str, Any], ...] = ()
    depends_on: tuple[DependencyDef, ...] = ()
    schedule: ScheduleDef | None = None

    @property
    def handler(self) -> str:
        """The registry key of the job's code: its name."""
        return self.name


def daily(at: str, **policies: Any) -> ScheduleDef:
    """Every day at ``at`` local time."""
    return ScheduleDef(ScheduleKind.DAILY, _frozen({"at": at}), **policies)


def weekly_sunday(at: str, **policies: Any) -> ScheduleDef:
    """Every Sunday at ``at``."""
    return ScheduleDef(ScheduleKind.WEEKLY, _frozen({"at": at, "weekdays": ["sun"]}), **policies)


def month_end(at: str, **policies: Any) -> ScheduleDef:
    """The last calendar day of every month at ``at``."""
    return ScheduleDef(ScheduleKind.MONTHLY, _frozen({"at": at, "day": "last"}), **policies)


def quarter_end(at: str, **policies: Any) -> ScheduleDef:
    """The last day of each calendar quarter (31 Mar, 30 Jun, 30 Sep, 31 Dec) at ``at``."""
    return ScheduleDef(ScheduleKind.QUARTERLY, _frozen({"at": at, "day": "last"}), **policies)


def year_end(at: str, fy_start_month: int = DEFAULT_FY_START_MONTH, **policies: Any) -> ScheduleDef:
    """The last day of the financial year (the day before ``fy_start_month`` begins) at ``at``."""
    return ScheduleDef(
        ScheduleKind.YEARLY, _frozen({"at": at, "fy_start_month": fy_start_month, "day": "last"}), **policies
    )


def wait(upstream: str, *, lookback_days: int = 0) -> DependencyDef:
    return DependencyDef(upstream, DependencyKind.WAIT, DependencyCondition.SUCCESS, lookback_days)


def trigger(upstream: str) -> DependencyDef:
    return DependencyDef(upstream, DependencyKind.TRIGGER, DependencyCondition.SUCCESS)


_LATEST = {"misfire_policy": MisfirePolicy.RUN_LATEST}
_REPORT = {"output_format": "both"}
_ALL_LEDGERS = (exclusive("ledger:GL"), exclusive("ledger:SL"), exclusive("ledger:PL"), exclusive("ledger:ST"))

STANDARD_JOBS: tuple[JobDef, ...] = (
    # ---- General Ledger -------------------------------------------------------------
    JobDef(
        "GL_DAILY_CLOSE",
        Module.GL,
        "Daily GL close: posts the pending journals dated up to the business date; writes the day book.",
        params=_frozen({"period": "CURRENT"}),
        timeout_seconds=3600,
        priority=800,
        resources=(exclusive("ledger:GL"),),
        schedule=daily("23:00"),
    ),
    JobDef(
        "GL_PERIOD_CLOSE",
        Module.GL,
        "Monthly period close: refuses while journals are pending or control accounts differ; "
        "writes closing balances and opens the next period.",
        params=_frozen({"period": "CURRENT", "control_tolerance": 0, **_REPORT}),
        timeout_seconds=7200,
        priority=900,
        resources=(exclusive("ledger:GL"), shared("ledger:SL"), shared("ledger:PL"), shared("ledger:ST")),
        depends_on=(wait("GL_DAILY_CLOSE"), wait("PL_ACCRUALS_CALCULATION"), wait("ST_STOCK_VALUATION")),
        schedule=month_end("22:00"),
    ),
    JobDef(
        "GL_YEAR_END_CLOSE",
        Module.GL,
        "Year-end close: closes income and expense to retained earnings, carries balances forward, "
        "locks the year. Starts held: an operator releases it.",
        params=_frozen({"financial_year": "CURRENT", **_REPORT}),
        timeout_seconds=14400,
        max_attempts=1,
        priority=950,
        recovery_policy=RecoveryPolicy.HOLD,
        resources=_ALL_LEDGERS,
        depends_on=(wait("GL_PERIOD_CLOSE"),),
        schedule=year_end("23:30", start_held=True),
    ),
    JobDef(
        "GL_TRIAL_BALANCE",
        Module.GL,
        "Trial balance at the period end or date, with optional comparison to last year.",
        params=_frozen({"period": "CURRENT", "compare_last_year": False, **_REPORT}),
        timeout_seconds=1800,
        priority=300,
        resources=(shared("ledger:GL"),),
        depends_on=(trigger("GL_PERIOD_CLOSE"),),
    ),
    JobDef(
        "GL_BUDGET_VARIANCE",
        Module.GL,
        "Budget against actual per account, period and year to date; flags variances past the threshold.",
        params=_frozen({"period": "CURRENT", "threshold_pct": 10, **_REPORT}),
        timeout_seconds=1800,
        priority=200,
        resources=(shared("ledger:GL"),),
        depends_on=(trigger("GL_PERIOD_CLOSE"),),
    ),
    JobDef(
        "GL_ACCOUNT_RECONCILIATION",
        Module.GL,
        "Bank reconciliation (statement lines to cash book) and control accounts against their subledgers.",
        params=_frozen({"date_window_days": 3, "tolerance": 0, **_REPORT}),
        timeout_seconds=1800,
        priority=400,
        resources=(shared("ledger:GL"), shared("ledger:SL"), shared("ledger:PL"), shared("ledger:ST")),
        depends_on=(trigger("GL_DAILY_CLOSE"),),
    ),
    # ---- Sales Ledger ---------------------------------------------------------------
    JobDef(
        "SL_AGED_DEBTORS",
        Module.SL,
        "Aged debtors: open items per customer by age bucket; the total ties to the debtors control account.",
        params=_frozen({"age_by": "due_date", "buckets": [0, 30, 60, 90, 120], **_REPORT}),
        timeout_seconds=1800,
        priority=300,
        resources=(shared("ledger:SL"),),
        schedule=weekly_sunday("08:00", **_LATEST),
    ),
    JobDef(
        "SL_STATEMENT_GENERATION",
        Module.SL,
        "Customer statements for the period: opening balance, transactions, closing balance, aged summary.",
        params=_frozen({"period": "CURRENT", "include_zero_balance": False, "output_format": "pdf"}),
        timeout_seconds=3600,
        priority=300,
        resources=(shared("ledger:SL"),),
        schedule=month_end("08:00"),
    ),
    JobDef(
        "SL_CREDIT_LIMIT_CHECK",
        Module.SL,
        "Puts customers over their limit or overdue past the stop days on stop; releases those back in line.",
        params=_frozen({"stop_after_days": 60, "auto_release": True}),
        timeout_seconds=1800,
        priority=500,
        resources=(exclusive("ledger:SL"),),
        schedule=daily("08:00", **_LATEST),
    ),
    JobDef(
        "SL_OVERDUE_REMINDERS",
        Module.SL,
        "Dunning letters at levels 1-3 by days overdue, never repeated within the repeat days.",
        params=_frozen(
            {"level_days": [7, 30, 60], "repeat_days": 14, "statutory_interest": False, "output_format": "pdf"}
        ),
        timeout_seconds=1800,
        priority=300,
        resources=(exclusive("ledger:SL"),),
        depends_on=(trigger("SL_AGED_DEBTORS"),),
    ),
    JobDef(
        "SL_COMMISSION_CALCULATION",
        Module.SL,
        "Commission per salesperson on the period's net sales (invoiced or paid basis).",
        params=_frozen({"period": "CURRENT", "basis": "invoiced", "post_accrual": False, **_REPORT}),
        timeout_seconds=1800,
        priority=300,
        resources=(shared("ledger:SL"),),
        schedule=month_end("10:00"),
    ),
    JobDef(
        "SL_VAT_RETURN",
        Module.SL,
        "Output side of the VAT return (boxes 1, 2, 6, 8) for the quarter, after the quarter-end close.",
        params=_frozen({"quarter": "CURRENT", "scheme": "accrual"}),
        timeout_seconds=1800,
        max_attempts=2,
        priority=700,
        resources=(shared("ledger:SL"), shared("ledger:GL")),
        depends_on=(wait("GL_PERIOD_CLOSE"),),
        schedule=quarter_end("10:00"),
    ),
    # ---- Purchase Ledger ------------------------------------------------------------
    JobDef(
        "PL_AGED_CREDITORS",
        Module.PL,
        "Aged creditors: open items per supplier by age bucket; the total ties to the creditors control account.",
        params=_frozen({"age_by": "due_date", "buckets": [0, 30, 60, 90, 120], **_REPORT}),
        timeout_seconds=1800,
        priority=300,
        resources=(shared("ledger:PL"),),
        schedule=weekly_sunday("09:00", **_LATEST),
    ),
    JobDef(
        "PL_PAYMENT_RUN",
        Module.PL,
        "Pays approved supplier invoices due by the payment date (BACS or cheque); never pays an invoice twice.",
        params=_frozen({"lookahead_days": 0, "max_total": None, "bank_format": "bacs18"}),
        timeout_seconds=3600,
        max_attempts=1,
        priority=850,
        # A crash under it resumes from its checkpoint by itself: it pays nobody twice and writes its
        # files from the payments committed under its run key (docs/faults.md). Its own errors are not retried.
        recovery_policy=RecoveryPolicy.RETRY,
        resources=(exclusive("ledger:PL"), shared("ledger:GL")),
        depends_on=(wait("PL_THREE_WAY_MATCHING"),),
        schedule=month_end("14:00"),
    ),
    JobDef(
        "PL_REMITTANCE_ADVICE",
        Module.PL,
        "A remittance advice per payment of the payment run that triggered it.",
        params=_frozen({"output_format": "pdf"}),
        timeout_seconds=1800,
        priority=400,
        resources=(shared("ledger:PL"),),
        depends_on=(trigger("PL_PAYMENT_RUN"),),
    ),
    JobDef(
        "PL_THREE_WAY_MATCHING",
        Module.PL,
        "Matches invoice lines to order and receipt lines within tolerances; approves or holds invoices.",
        params=_frozen({"qty_tolerance_pct": 0, "price_tolerance_pct": 2, "amount_tolerance": 500}),
        timeout_seconds=1800,
        priority=600,
        resources=(exclusive("ledger:PL"),),
        schedule=daily("09:00"),
    ),
    JobDef(
        "PL_ACCRUALS_CALCULATION",
        Module.PL,
        "Goods received not invoiced at period end, tied to the GRNI account (or accrued by journal).",
        params=_frozen({"period": "CURRENT", "post_journal": False}),
        timeout_seconds=1800,
        priority=700,
        resources=(shared("ledger:PL"), shared("ledger:GL")),
        schedule=month_end("16:00"),
    ),
    JobDef(
        "PL_VAT_RETURN",
        Module.PL,
        "Input side of the VAT return (boxes 4, 7, 9); completes boxes 3 and 5.",
        params=_frozen({"quarter": "CURRENT", "scheme": "accrual"}),
        timeout_seconds=1800,
        max_attempts=2,
        priority=700,
        resources=(shared("ledger:PL"), shared("ledger:GL")),
        depends_on=(wait("SL_VAT_RETURN"),),
        schedule=quarter_end("11:00"),
    ),
    # ---- Stock Control --------------------------------------------------------------
    JobDef(
        "ST_REORDER_CALCULATION",
        Module.ST,
        "Reorder points, safety stock and EOQ per item; suggestions for items at or below reorder point.",
        params=_frozen(
            {"warehouse": "ALL", "history_days": 365, "service_level": 0.95, "order_cost": 2500, "holding_rate": 0.25}
        ),
        timeout_seconds=3600,
        priority=400,
        resources=(shared("ledger:ST"),),
        schedule=daily("06:00", **_LATEST),
    ),
    JobDef(
        "ST_ABC_ANALYSIS",
        Module.ST,
        "ABC classes by annual consumption value (A to 80%, B to 95%, the rest C).",
        params=_frozen({"warehouse": "ALL", "a_pct": 80, "b_pct": 95}),
        timeout_seconds=1800,
        priority=400,
        resources=(exclusive("ledger:ST"),),
        schedule=weekly_sunday("06:00", **_LATEST),
    ),
    JobDef(
        "ST_CYCLE_COUNT_SCHEDULE",
        Module.ST,
        "Count tasks spread over the coming business days by ABC class, longest-uncounted first.",
        params=_frozen({"warehouse": "ALL", "counts_per_year": {"A": 12, "B": 4, "C": 1}}),
        timeout_seconds=1800,
        priority=300,
        resources=(shared("ledger:ST"),),
        depends_on=(wait("ST_ABC_ANALYSIS"),),
        schedule=weekly_sunday("07:00", **_LATEST),
    ),
    JobDef(
        "ST_DEAD_STOCK_ANALYSIS",
        Module.ST,
        "Dead (no issue for 180 days) and slow-moving (90 days) stock with the value tied up.",
        params=_frozen({"warehouse": "ALL", "dead_days": 180, "slow_days": 90, **_REPORT}),
        timeout_seconds=1800,
        priority=200,
        resources=(shared("ledger:ST"),),
        schedule=weekly_sunday("10:00", **_LATEST),
    ),
    JobDef(
        "ST_STOCK_VALUATION",
        Module.ST,
        "Stock value per item by its cost method (FIFO, average, standard), tied to the stock control account.",
        params=_frozen({"warehouse": "ALL", **_REPORT}),
        timeout_seconds=3600,
        priority=700,
        resources=(shared("ledger:ST"),),
        schedule=month_end("06:00"),
    ),
    JobDef(
        "ST_DEMAND_FORECAST",
        Module.ST,
        "Monthly demand forecast per item (Croston for intermittent demand, else the best smoothing method).",
        params=_frozen({"warehouse": "ALL", "horizon": 12, "history_months": 24}),
        timeout_seconds=7200,
        priority=200,
        resources=(shared("ledger:ST"),),
        schedule=month_end("07:00"),
    ),
    JobDef(
        "ST_LOCATION_REPLENISHMENT",
        Module.ST,
        "Tasks to refill pick bins at or below minimum from bulk stock, earliest expiry first.",
        params=_frozen({"warehouse": "ALL"}),
        timeout_seconds=1800,
        priority=400,
        resources=(exclusive("ledger:ST"),),
        depends_on=(trigger("ST_REORDER_CALCULATION"),),
    ),
    JobDef(
        "ST_EXPIRY_MONITORING",
        Module.ST,
        "Quarantines expired lots; lists stock expiring within 30, 60 and 90 days with value at risk.",
        params=_frozen({"warehouse": "ALL", "warn_days": [30, 60, 90]}),
        timeout_seconds=1800,
        priority=500,
        resources=(exclusive("ledger:ST"),),
        schedule=daily("07:00", **_LATEST),
    ),
    # ---- System ---------------------------------------------------------------------
    JobDef(
        "SYS_DATABASE_BACKUP",
        Module.SYS,
        "Consistent online backup, compressed and checksummed, verified by a test restore; retention applied.",
        params=_frozen({"keep_daily": 7, "keep_weekly": 5, "keep_monthly": 12, "verify": True}),
        timeout_seconds=7200,
        max_attempts=2,
        priority=600,
        resources=(exclusive("database"),),
        schedule=weekly_sunday("01:00", **_LATEST),
    ),
    JobDef(
        "SYS_LOG_CLEANUP",
        Module.SYS,
        "Deletes execution logs past their retention (errors kept longer) and old output files.",
        params=_frozen({"debug_days": 7, "info_days": 30, "warning_days": 90, "error_days": 365, "output_days": 90}),
        timeout_seconds=3600,
        priority=100,
        schedule=month_end("03:00", **_LATEST),
    ),
    JobDef(
        "SYS_ARCHIVE_DATA",
        Module.SYS,
        "Moves transactions of closed financial years into archive tables, keeping balances brought forward.",
        params=_frozen({"retention_years": 6, "chunk_size": 500}),
        timeout_seconds=14400,
        max_attempts=2,
        priority=150,
        resources=(shared("database"), *_ALL_LEDGERS),
        depends_on=(wait("SYS_DATABASE_BACKUP", lookback_days=8),),
        schedule=month_end("02:00", **_LATEST),
    ),
    JobDef(
        "SYS_PERFORMANCE_STATS",
        Module.SYS,
        "Per-job runs, success rate, duration percentiles and trend over a window; table sizes.",
        params=_frozen({"window_days": 7}),
        timeout_seconds=1800,
        priority=100,
        schedule=weekly_sunday("05:00", **_LATEST),
    ),
    JobDef(
        "SYS_HEALTH_CHECK",
        Module.SYS,
        "Database, disk, heartbeats, stuck executions, backup age, migrations and output folder; "
        "fails on critical findings.",
        params=_frozen({}),
        timeout_seconds=300,
        max_attempts=1,
        priority=990,
        schedule=daily("05:00", **_LATEST, misfire_grace_seconds=600),
    ),
    JobDef(
        "SYS_USER_SESSION_CLEANUP",
        Module.SYS,
        "Expires idle sessions and deletes sessions and API tokens past their lifetime.",
        params=_frozen({"idle_minutes": 480, "keep_expired_days": 7}),
        timeout_seconds=600,
        priority=100,
        schedule=daily("02:00", **_LATEST),
    ),
)

JOBS_BY_NAME: Mapping[str, JobDef] = MappingProxyType({j.name: j for j in STANDARD_JOBS})


def scheduled_jobs(jobs: Iterable[JobDef] = STANDARD_JOBS) -> list[JobDef]:
    return [j for j in jobs if j.schedule is not None]


def dependency_problems(jobs: Iterable[JobDef] = STANDARD_JOBS) -> list[str]:
    """Every dangling upstream and every cycle in the catalogue, as messages (empty: sound)."""
    by_name = {j.name: j for j in jobs}
    problems = [
        f"{j.name} depends on unknown job {d.upstream}"
        for j in by_name.values()
        for d in j.depends_on
        if d.upstream not in by_name
    ]
    problems += [
        f"{j.name} depends on itself" for j in by_name.values() if any(d.upstream == j.name for d in j.depends_on)
    ]
    if problems:
        return problems
    try:
        topological_order(by_name.values())
    except ValueError as exc:
        problems.append(str(exc))
    return problems


def topological_order(jobs: Iterable[JobDef] = STANDARD_JOBS) -> list[str]:
    """Job names with every upstream before its dependants; ties broken by name.

    Raises:
        ValueError: naming the jobs on a cycle.
    """
    by_name = {j.name: j for j in jobs}
    pending = {name: {d.upstream for d in j.depends_on if d.upstream in by_name} for name, j in by_name.items()}
    order: list[str] = []
    while pending:
        ready = sorted(name for name, ups in pending.items() if not ups)
        if not ready:
            raise ValueError("dependency cycle among " + ", ".join(sorted(pending)))
        for name in ready:
            order.append(name)
            del pending[name]
        for ups in pending.values():
            ups.difference_update(ready)
    return order


@dataclass(frozen=True)
class EffectiveStart:
    """When a job due on one day can start: its own time, or after the upstream it waits for."""

    job: str
    nominal: str
    after: tuple[str, ...]


def order_day(nominal: Mapping[str, str], waits: Mapping[str, Iterable[str]]) -> list[EffectiveStart]:
    """The order in which jobs due on one business date can start.

    ``nominal`` maps each due job to its local time (``HH:MM``, "" for none); ``waits`` maps
    a job to the jobs it waits for on the same business date. Jobs are taken by nominal
    time, but none before every due job it waits for: a wait beats a default time.

    Raises:
        ValueError: the waits among the due jobs form a cycle.
    """
    remaining = sorted(nominal, key=lambda n: (nominal[n] or "99:99", n))
    placed: list[EffectiveStart] = []
    done: set[str] = set()
    while remaining:
        for name in remaining:
            upstream = tuple(sorted(u for u in waits.get(name, ()) if u in nominal))
            if set(upstream) <= done:
                placed.append(EffectiveStart(name, nominal[name], upstream))
                done.add(name)
                remaining.remove(name)
                break
        else:
            raise ValueError("dependency cycle among " + ", ".join(sorted(remaining)))
    return placed


def effective_order(due: Iterable[str], jobs: Mapping[str, JobDef] = JOBS_BY_NAME) -> list[EffectiveStart]:
    """:func:`order_day` for catalogue jobs due on one day (GL_PERIOD_CLOSE at 22:00 comes
    after GL_DAILY_CLOSE at 23:00). Lookback waits are met by earlier runs, not that day's."""
    names = set(due)
    nominal = {n: (s.at if (s := jobs[n].schedule) is not None else "") for n in names}
    waits = {
        n: [d.upstream for d in jobs[n].depends_on if d.kind is DependencyKind.WAIT and d.lookback_days == 0]
        for n in names
    }
    return order_day(nominal, waits)

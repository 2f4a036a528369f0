"""The standard catalogue is the spec's: 32 jobs, 25 default schedules, a sound dependency graph."""

from __future__ import annotations

from acas_batch.jobs.catalogue import (
    JOBS_BY_NAME,
    STANDARD_JOBS,
    JobDef,
    dependency_problems,
    effective_order,
    scheduled_jobs,
    topological_order,
    trigger,
    wait,
)
from acas_batch.models import DependencyKind, Module, ScheduleKind

# The spec's "Pre-defined Batch Jobs", verbatim.
SPEC_JOBS = {
    Module.GL: [
        "GL_DAILY_CLOSE",
        "GL_PERIOD_CLOSE",
        "GL_YEAR_END_CLOSE",
        "GL_TRIAL_BALANCE",
        "GL_BUDGET_VARIANCE",
        "GL_ACCOUNT_RECONCILIATION",
    ],
    Module.SL: [
        "SL_AGED_DEBTORS",
        "SL_STATEMENT_GENERATION",
        "SL_CREDIT_LIMIT_CHECK",
        "SL_OVERDUE_REMINDERS",
        "SL_COMMISSION_CALCULATION",
        "SL_VAT_RETURN",
    ],
    Module.PL: [
        "PL_AGED_CREDITORS",
        "PL_PAYMENT_RUN",
        "PL_REMITTANCE_ADVICE",
        "PL_THREE_WAY_MATCHING",
        "PL_ACCRUALS_CALCULATION",
        "PL_VAT_RETURN",
    ],
    Module.ST: [
        "ST_REORDER_CALCULATION",
        "ST_ABC_ANALYSIS",
        "ST_CYCLE_COUNT_SCHEDULE",
        "ST_DEAD_STOCK_ANALYSIS",
        "ST_STOCK_VALUATION",
        "ST_DEMAND_FORECAST",
        "ST_LOCATION_REPLENISHMENT",
        "ST_EXPIRY_MONITORING",
    ],
    Module.SYS: [
        "SYS_DATABASE_BACKUP",
        "SYS_LOG_CLEANUP",
        "SYS_ARCHIVE_DATA",
        "SYS_PERFORMANCE_STATS",
        "SYS_HEALTH_CHECK",
        "SYS_USER_SESSION_CLEANUP",
    ],
}

# The spec's "Default Schedules", verbatim: (kind, job, time).
SPEC_SCHEDULES = {
    ("daily", "GL_DAILY_CLOSE", "23:00"),
    ("daily", "SL_CREDIT_LIMIT_CHECK", "08:00"),
    ("daily", "PL_THREE_WAY_MATCHING", "09:00"),
    ("daily", "ST_REORDER_CALCULATION", "06:00"),
    ("daily", "ST_EXPIRY_MONITORING", "07:00"),
    ("daily", "SYS_HEALTH_CHECK", "05:00"),
    ("daily", "SYS_USER_SESSION_CLEANUP", "02:00"),
    ("weekly", "SL_AGED_DEBTORS", "08:00"),
    ("weekly", "PL_AGED_CREDITORS", "09:00"),
    ("weekly", "ST_ABC_ANALYSIS", "06:00"),
    ("weekly", "ST_CYCLE_COUNT_SCHEDULE", "07:00"),
    ("weekly", "ST_DEAD_STOCK_ANALYSIS", "10:00"),
    ("weekly", "SYS_DATABASE_BACKUP", "01:00"),
    ("weekly", "SYS_PERFORMANCE_STATS", "05:00"),
    ("monthly", "GL_PERIOD_CLOSE", "22:00"),
    ("monthly", "SL_STATEMENT_GENERATION", "08:00"),
    ("monthly", "SL_COMMISSION_CALCULATION", "10:00"),
    ("monthly", "PL_PAYMENT_RUN", "14:00"),
    ("monthly", "PL_ACCRUALS_CALCULATION", "16:00"),
    ("monthly", "ST_STOCK_VALUATION", "06:00"),
    ("monthly", "ST_DEMAND_FORECAST", "07:00"),
    ("monthly", "SYS_ARCHIVE_DATA", "02:00"),
    ("monthly", "SYS_LOG_CLEANUP", "03:00"),
    ("quarterly", "SL_VAT_RETURN", "10:00"),
    ("quarterly", "PL_VAT_RETURN", "11:00"),
}


def test_the_catalogue_holds_exactly_the_spec_jobs_by_module() -> None:
    assert len(STANDARD_JOBS) == 32
    assert len(JOBS_BY_NAME) == 32
    for module, names in SPEC_JOBS.items():
        assert sorted(j.name for j in STANDARD_JOBS if j.module is module) == sorted(names)
    assert all(j.handler == j.name for j in STANDARD_JOBS)
    assert all(j.description and 0 <= j.priority <= 1000 and j.timeout_seconds > 0 for j in STANDARD_JOBS)


def test_the_default_schedules_are_the_spec_ones_plus_a_held_year_end() -> None:
    regular = {
        (j.schedule.kind.value, j.name, j.schedule.at)
        for j in scheduled_jobs()
        if j.schedule is not None and j.schedule.kind is not ScheduleKind.YEARLY
    }
    assert regular == SPEC_SCHEDULES
    assert len(regular) == 25
    yearly = [j for j in scheduled_jobs() if j.schedule is not None and j.schedule.kind is ScheduleKind.YEARLY]
    assert [j.name for j in yearly] == ["GL_YEAR_END_CLOSE"]
    assert yearly[0].schedule is not None and yearly[0].schedule.start_held
    assert yearly[0].schedule.rule["fy_start_month"] == 4
    held = [j.name for j in scheduled_jobs() if j.schedule is not None and j.schedule.start_held]
    assert held == ["GL_YEAR_END_CLOSE"]


def test_rule_shapes_are_the_ones_the_calendar_reads() -> None:
    for j in scheduled_jobs():
        assert j.schedule is not None
        rule, kind = dict(j.schedule.rule), j.schedule.kind
        assert j.schedule.timezone == "Europe/London"
        if kind is ScheduleKind.DAILY:
            assert set(rule) == {"at"}
        elif kind is ScheduleKind.WEEKLY:
            assert rule["weekdays"] == ["sun"]
        elif kind in (ScheduleKind.MONTHLY, ScheduleKind.QUARTERLY):
            assert rule["day"] == "last"
        else:
            assert kind is ScheduleKind.YEARLY


def test_the_seven_unscheduled_jobs_run_through_triggers_or_on_demand() -> None:
    unscheduled = {j.name for j in STANDARD_JOBS if j.schedule is None}
    assert unscheduled == {
        "GL_TRIAL_BALANCE",
        "GL_BUDGET_VARIANCE",
        "GL_ACCOUNT_RECONCILIATION",
        "SL_OVERDUE_REMINDERS",
        "PL_REMITTANCE_ADVICE",
        "ST_LOCATION_REPLENISHMENT",
    }, "the year-end close has its held yearly schedule; the rest are triggered"
    for name in unscheduled:
        assert [d.kind for d in JOBS_BY_NAME[name].depends_on] == [DependencyKind.TRIGGER]


def _edges(kind: DependencyKind) -> set[tuple[str, str]]:
    return {(j.name, d.upstream) for j in STANDARD_JOBS for d in j.depends_on if d.kind is kind}


def test_dependencies_make_accounting_sense() -> None:
    assert _edges(DependencyKind.WAIT) == {
        ("GL_PERIOD_CLOSE", "GL_DAILY_CLOSE"),
        ("GL_PERIOD_CLOSE", "PL_ACCRUALS_CALCULATION"),
        ("GL_PERIOD_CLOSE", "ST_STOCK_VALUATION"),
        ("PL_PAYMENT_RUN", "PL_THREE_WAY_MATCHING"),
        ("ST_CYCLE_COUNT_SCHEDULE", "ST_ABC_ANALYSIS"),
        ("SL_VAT_RETURN", "GL_PERIOD_CLOSE"),
        ("PL_VAT_RETURN", "SL_VAT_RETURN"),
        ("SYS_ARCHIVE_DATA", "SYS_DATABASE_BACKUP"),
        ("GL_YEAR_END_CLOSE", "GL_PERIOD_CLOSE"),
    }
    assert _edges(DependencyKind.TRIGGER) == {
        ("PL_REMITTANCE_ADVICE", "PL_PAYMENT_RUN"),
        ("GL_TRIAL_BALANCE", "GL_PERIOD_CLOSE"),
        ("GL_BUDGET_VARIANCE", "GL_PERIOD_CLOSE"),
        ("GL_ACCOUNT_RECONCILIATION", "GL_DAILY_CLOSE"),
        ("SL_OVERDUE_REMINDERS", "SL_AGED_DEBTORS"),
        ("ST_LOCATION_REPLENISHMENT", "ST_REORDER_CALCULATION"),
    }
    (archive_wait,) = JOBS_BY_NAME["SYS_ARCHIVE_DATA"].depends_on
    assert archive_wait.lookback_days == 8
    assert {"name": "database", "mode": "exclusive"} in [dict(r) for r in JOBS_BY_NAME["SYS_DATABASE_BACKUP"].resources]


def test_the_graph_is_sound_and_a_cycle_or_dangling_edge_is_reported() -> None:
    assert dependency_problems() == []
    order = topological_order()
    assert len(order) == 32
    for j in STANDARD_JOBS:
        for d in j.depends_on:
            assert order.index(d.upstream) < order.index(j.name)

    a = JobDef("A", Module.GL, "a", depends_on=(wait("B"),))
    b = JobDef("B", Module.GL, "b", depends_on=(trigger("A"),))
    assert dependency_problems([a, b]) == ["dependency cycle among A, B"]
    assert dependency_problems([a]) == ["A depends on unknown job B"]


def test_a_wait_beats_the_default_time_in_the_effective_order() -> None:
    # Given the jobs due on 31 March (month end, quarter end and financial year end)
    due = [j.name for j in scheduled_jobs() if j.schedule is not None and j.schedule.kind is not ScheduleKind.WEEKLY]
    # When they are ordered for the day
    order = [s.job for s in effective_order(due)]
    # Then the period close (22:00) comes after the daily close (23:00), and the VAT returns
    # (10:00, 11:00) and the year-end close after the period close.
    assert order.index("GL_DAILY_CLOSE") < order.index("GL_PERIOD_CLOSE")
    assert order.index("GL_PERIOD_CLOSE") < order.index("SL_VAT_RETURN") < order.index("PL_VAT_RETURN")
    assert order.index("GL_PERIOD_CLOSE") < order.index("GL_YEAR_END_CLOSE")
    assert order[:2] == ["SYS_ARCHIVE_DATA", "SYS_USER_SESSION_CLEANUP"]  # 02:00; the archive waits on last week
    by_job = {s.job: s for s in effective_order(due)}
    assert set(by_job["GL_PERIOD_CLOSE"].after) == {"GL_DAILY_CLOSE", "PL_ACCRUALS_CALCULATION", "ST_STOCK_VALUATION"}


def test_registered_job_code_accepts_the_catalogue_defaults() -> None:
    from acas_batch.batch.registry import REGISTRY
    from acas_batch.jobs import load_standard_jobs

    load_standard_jobs()
    registered = [j for j in STANDARD_JOBS if j.handler in REGISTRY]
    assert {j.name for j in registered} >= {
        "SYS_DATABASE_BACKUP",
        "SYS_LOG_CLEANUP",
        "SYS_PERFORMANCE_STATS",
        "SYS_HEALTH_CHECK",
        "SYS_USER_SESSION_CLEANUP",
    }
    for j in registered:
        spec = REGISTRY.get(j.handler)
        spec.validate_params(dict(j.params))
        assert spec.module is j.module
        assert spec.timeout_seconds == j.timeout_seconds and spec.max_attempts == j.max_attempts
        assert [dict(r) for r in spec.resources] == [dict(r) for r in j.resources]


def test_every_default_schedule_is_a_rule_the_calendar_reads() -> None:
    from acas_batch.batch.rules import rule_from_json

    for j in scheduled_jobs():
        assert j.schedule is not None
        rule = rule_from_json(j.schedule.kind, dict(j.schedule.rule))
        assert rule is not None, j.name


def test_on_31_march_the_calendar_fires_month_quarter_and_year_end_jobs_at_their_times() -> None:
    from datetime import UTC, datetime

    from acas_batch.batch.business_days import BusinessCalendar
    from acas_batch.batch.calendar import ScheduleSpec, occurrences
    from acas_batch.batch.rules import rule_from_json

    # Given the default schedules, in London, over 31 March 2027 (a Wednesday, BST from the 28th)
    after, until = datetime(2027, 3, 30, 23, 0, tzinfo=UTC), datetime(2027, 3, 31, 23, 0, tzinfo=UTC)
    fired: dict[str, str] = {}
    for j in scheduled_jobs():
        assert j.schedule is not None
        spec = ScheduleSpec(rule_from_json(j.schedule.kind, dict(j.schedule.rule)), j.schedule.timezone)
        for occ in occurrences(spec, BusinessCalendar(), after, until):
            fired[j.name] = occ.local.strftime("%H:%M")
    # Then every daily, month-end, quarter-end and year-end job fires that day at its local time
    expected = {
        j.name: j.schedule.at for j in scheduled_jobs() if j.schedule and j.schedule.kind is not ScheduleKind.WEEKLY
    }
    assert fired == expected
    assert fired["GL_YEAR_END_CLOSE"] == "23:30" and fired["SL_VAT_RETURN"] == "10:00"

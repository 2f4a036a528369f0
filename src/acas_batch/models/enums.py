"""The states and policies of the batch system, one documented member each."""

from __future__ import annotations

from enum import StrEnum


class Module(StrEnum):
    """The ACAS ledger a job belongs to."""

    GL = "GL"  # General Ledger
    SL = "SL"  # Sales Ledger
    PL = "PL"  # Purchase Ledger
    ST = "ST"  # Stock Control
    SYS = "SYS"  # System maintenance


class ExecutionState(StrEnum):
    """Where an execution is in its life. Terminal states never change again."""

    PENDING = "pending"  # waiting for its time, its upstream jobs or a resource
    QUEUED = "queued"  # ready; any worker may claim it
    RUNNING = "running"  # claimed; the lease says by whom and until when
    RETRY_WAIT = "retry_wait"  # failed retryably; becomes QUEUED at not_before
    HELD = "held"  # an operator hold; RELEASE puts it back where it was (held_from)
    SUCCEEDED = "succeeded"  # finished; the work is done (terminal)
    WARNING = "warning"  # finished and the work is done, but something needs a person (terminal)
    FAILED = "failed"  # finished without doing its work, no retry left (terminal)
    TIMED_OUT = "timed_out"  # killed at its time limit (terminal)
    CANCELLED = "cancelled"  # stopped by an operator, or never started (terminal)
    SKIPPED = "skipped"  # an occurrence deliberately not run (misfire or shift policy); reason kept (terminal)

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset(
    {
        ExecutionState.SUCCEEDED,
        ExecutionState.WARNING,
        ExecutionState.FAILED,
        ExecutionState.TIMED_OUT,
        ExecutionState.CANCELLED,
        ExecutionState.SKIPPED,
    }
)


class TriggerKind(StrEnum):
    """What created an execution."""

    SCHEDULE = "schedule"  # an occurrence of a schedule
    MANUAL = "manual"  # run now, by a user or the API
    DEPENDENCY = "dependency"  # started by an upstream job's success (a trigger edge)
    RETRY = "retry"  # a further attempt of a failed execution
    RERUN = "rerun"  # an operator's rerun of a finished execution
    RECOVERY = "recovery"  # re-created after its worker died (lease expired)


class ScheduleKind(StrEnum):
    """The family of a schedule rule; the rule's details live in its JSON."""

    DAILY = "daily"  # every day (or every business day) at HH:MM
    WEEKLY = "weekly"  # chosen weekdays at HH:MM
    MONTHLY = "monthly"  # day N, last day, last or N-th business day of each month
    QUARTERLY = "quarterly"  # quarter end: calendar or financial-year quarters
    YEARLY = "yearly"  # financial year end
    CRON = "cron"  # a five-field cron expression, in the schedule's time zone
    INTERVAL = "interval"  # every fixed interval from an anchor
    ONCE = "once"  # a single instant


class ShiftPolicy(StrEnum):
    """What a schedule does when an occurrence falls on a weekend or bank holiday."""

    RUN_ANYWAY = "run_anyway"  # run on the non-business day as computed
    PREVIOUS = "previous"  # run on the previous business day, same local time
    NEXT = "next"  # run on the next business day, same local time
    SKIP = "skip"  # do not run; recorded as SKIPPED with the reason


class MisfirePolicy(StrEnum):
    """What the scheduler does with occurrences it missed while it was down."""

    RUN_ALL = "run_all"  # run every missed occurrence, oldest first
    RUN_LATEST = "run_latest"  # run only the most recent; record the others as SKIPPED
    SKIP = "skip"  # run none past the grace period; record each as SKIPPED


class RecoveryPolicy(StrEnum):
    """What happens to an execution whose worker died (its lease expired)."""

    RETRY = "retry"  # a new attempt, resuming from the last checkpoint, if attempts remain
    FAIL = "fail"  # marked FAILED with the reason; dependants see a failure
    HOLD = "hold"  # a new attempt created HELD: an operator decides


class DependencyCondition(StrEnum):
    """Which upstream outcome satisfies a dependency edge."""

    SUCCESS = "success"  # upstream SUCCEEDED or WARNING
    COMPLETION = "completion"  # upstream reached any terminal state
    FAILURE = "failure"  # upstream FAILED or TIMED_OUT


class DependencyKind(StrEnum):
    """How a dependency edge acts."""

    WAIT = "wait"  # the downstream execution waits for the upstream one of its business date
    TRIGGER = "trigger"  # the upstream outcome creates the downstream execution


class LogLevel(StrEnum):
    """Severity of a log line."""

    DEBUG = "DEBUG"  # detail for developers
    INFO = "INFO"  # normal progress
    WARNING = "WARNING"  # the run goes on but someone should look
    ERROR = "ERROR"  # the run, or part of it, failed
    CRITICAL = "CRITICAL"  # the system itself is in trouble


class AlertSeverity(StrEnum):
    """How urgent an alert is."""

    INFO = "info"  # for the record
    WARNING = "warning"  # look today
    CRITICAL = "critical"  # look now


class AlertState(StrEnum):
    """The life of an alert."""

    OPEN = "open"  # raised, nobody has acted
    ACKNOWLEDGED = "acknowledged"  # someone is on it
    RESOLVED = "resolved"  # the cause is gone (terminal)


class WorkerRole(StrEnum):
    """What a registered process does."""

    SCHEDULER = "scheduler"  # turns occurrences into executions, recovers leases
    WORKER = "worker"  # claims and runs executions


class WorkerState(StrEnum):
    """The life of a registered process."""

    RUNNING = "running"  # heartbeating
    STOPPING = "stopping"  # graceful shutdown: no new claims
    STOPPED = "stopped"  # exited cleanly (terminal)
    LOST = "lost"  # silent past its lease plus a margin: presumed dead, marked by a live process


class BackupGeneration(StrEnum):
    """Which retention generation a backup belongs to (grandfather-father-son)."""

    DAILY = "daily"  # any backup not the first of its week or month; the shortest-kept
    WEEKLY = "weekly"  # the first backup of its ISO week (Monday to Sunday, UTC)
    MONTHLY = "monthly"  # the first backup of its calendar month (UTC); the longest-kept

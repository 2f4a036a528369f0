"""One error tree for the whole package.

Every error names the offending value. Each class maps to an HTTP status and a CLI exit
code here and nowhere else.
"""

from __future__ import annotations


class AcasBatchError(Exception):
    """Base of every error acas-batch raises on purpose."""

    http_status: int = 500
    exit_code: int = 1


#: Exit codes of the command line beyond the errors' own: an interrupt, and a fault of
#: acas-batch itself (reported in one line; ``ACAS_DEBUG=1`` shows the traceback).
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70  # EX_SOFTWARE


class ConfigError(AcasBatchError, ValueError):
    """The settings (environment, TOML file or flags) are invalid."""

    http_status = 500
    exit_code = 78  # EX_CONFIG


class ValidationError(AcasBatchError, ValueError):
    """Input (a parameter, a schedule, a request) is invalid; nothing was changed.

    ``fields`` names each offending field and what is wrong with it, when the input had fields
    (a form shows each message next to its field; the API returns them as problem details).
    """

    http_status = 422
    exit_code = 65  # EX_DATAERR

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields: dict[str, str] = dict(fields or {})


class NotFound(AcasBatchError, LookupError):
    """Something named by the caller does not exist."""

    http_status = 404
    exit_code = 66  # EX_NOINPUT


class JobNotFound(NotFound):
    """No job definition has this name."""


class ExecutionNotFound(NotFound):
    """No execution has this id."""


class ScheduleNotFound(NotFound):
    """No schedule has this id."""


class Conflict(AcasBatchError, RuntimeError):
    """The request conflicts with the current state (a duplicate, a wrong state, a cycle)."""

    http_status = 409
    exit_code = 75  # EX_TEMPFAIL


class PreconditionFailed(Conflict):
    """An edit named a version (``If-Match``) that is no longer the current one; nothing was changed."""

    http_status = 412


class PreconditionRequired(AcasBatchError, ValueError):
    """An edit did not say which version it changes (``If-Match``); nothing was changed."""

    http_status = 428
    exit_code = 65


class DependencyCycle(Conflict):
    """A dependency would close a cycle between jobs."""


class RunKeyAlreadySucceeded(Conflict):
    """The business work this run names has already succeeded; force it with a reason."""


class InvalidStateTransition(Conflict):
    """The execution is not in a state that allows this action."""


class LeaseLost(Conflict):
    """A worker tried to write through a lease it no longer holds."""


class PermissionDenied(AcasBatchError, PermissionError):
    """The user may not do this: names who, what, and the permission they lack."""

    http_status = 403
    exit_code = 77  # EX_NOPERM

    def __init__(
        self, message: str, *, who: str | None = None, what: str | None = None, permission: str | None = None
    ) -> None:
        super().__init__(message)
        self.who = who
        self.what = what
        self.permission = permission


class ApprovalRequired(AcasBatchError, PermissionError):
    """A four-eyes action was requested, not done: another user must approve it first."""

    http_status = 202
    exit_code = 3

    def __init__(self, message: str, *, approval_id: int) -> None:
        super().__init__(message)
        self.approval_id = approval_id


class AuthenticationRequired(AcasBatchError, PermissionError):
    """No valid credentials were given."""

    http_status = 401
    exit_code = 77


class DatabaseError(AcasBatchError, RuntimeError):
    """The database is unreachable or its schema is not what this version expects."""

    http_status = 503
    exit_code = 69  # EX_UNAVAILABLE


class DatabaseUnreachable(DatabaseError):
    """The database server does not answer: down, a wrong host or port, refused."""

    exit_code = 69  # EX_UNAVAILABLE


class DatabaseMissing(DatabaseError):
    """No database exists where the settings point (no SQLite file, no such PostgreSQL database)."""

    exit_code = 80


class DatabaseNotInitialised(DatabaseError):
    """The database exists but holds no acas-batch schema: ``acas-batch init`` was not run."""

    exit_code = 81


class NotADatabase(DatabaseError):
    """The file the settings name is not a SQLite database."""

    exit_code = 82


class DatabaseReadOnly(DatabaseError):
    """The database may only be read (file permissions, a read-only role) and the command writes."""

    http_status = 403
    exit_code = 83


class DatabaseLocked(DatabaseError):
    """Another process held the database past the busy timeout."""

    exit_code = 84


class OutputError(AcasBatchError, OSError):
    """A file or folder the command writes cannot be created there."""

    http_status = 500
    exit_code = 73  # EX_CANTCREAT


class BackupError(AcasBatchError, RuntimeError):
    """A backup could not be made, verified or restored: a corrupt file, a failed tool, a mismatch."""

    http_status = 500
    exit_code = 74  # EX_IOERR


class ArchiveRefused(Conflict):
    """Archiving was refused: no verified backup is newer than the data it would move."""


class HealthCheckFailed(AcasBatchError, RuntimeError):
    """The health check found at least one critical problem."""

    http_status = 503
    exit_code = 69  # EX_UNAVAILABLE


class LedgerError(AcasBatchError, ValueError):
    """A posting or ledger operation breaks an accounting rule; nothing was written."""

    http_status = 422
    exit_code = 65


class UnbalancedJournal(LedgerError):
    """A journal's debits and credits differ, or a line is neither a debit nor a credit."""


class PeriodClosed(LedgerError):
    """The posting date falls in a closed or locked accounting period."""


class PeriodNotFound(LedgerError, LookupError):
    """No accounting period covers the posting date."""


class UnknownAccount(LedgerError, LookupError):
    """An account (or a control account role) does not exist or accepts no postings."""


class UnknownDocument(LedgerError, LookupError):
    """A customer, supplier, item, invoice, receipt or order named by the caller does not exist."""


class InvalidQuantity(LedgerError):
    """A quantity or amount is zero or negative where only a positive one is allowed."""


class InsufficientStock(LedgerError):
    """An issue asks for more stock than is on hand and pickable."""


class OverAllocation(LedgerError):
    """An allocation exceeds what is still open on the invoice, receipt, payment or credit note."""


class StaleDocuments(OverAllocation):
    """Documents no longer hold the open amount they were read with: something else allocated them meanwhile."""

    def __init__(self, message: str, document_ids: frozenset[int]) -> None:
        super().__init__(message)
        self.document_ids = document_ids


class CloseRefused(LedgerError):
    """A period or year close is refused: journals pending, subledgers out of step, periods open, or already closed."""


class VatSettlementRefused(LedgerError):
    """A VAT return may not be settled with HMRC: it is not submitted yet, or it was settled already."""


class TrialBalanceOutOfBalance(LedgerError):
    """Total debits differ from total credits: a ledger fault, never a report to file."""


class DemoDataExists(Conflict):
    """The database already holds a company; the demo generator writes only into an empty ledger."""


class ReturnSubmitted(Conflict):
    """A VAT return already sent to HMRC: it is never changed again."""


#: Errors that say the data or the request is wrong (a ledger rule refused, a value is
#: invalid, an archive is refused): a retry minutes later would only say the same again, so
#: the execution fails at once and an operator looks.
#: The builtin errors of the same kind are faults of the code or of its input (a date out of
#: range, a None where a value belongs): the same input fails the same way every time.
NEVER_RETRIED: tuple[type[BaseException], ...] = (
    LedgerError,
    ValidationError,
    ArchiveRefused,
    ArithmeticError,
    TypeError,
    AttributeError,
    NameError,
)


def never_retried(exc: BaseException) -> bool:
    """Whether ``exc`` is a refusal a retry would only repeat (a race lost to another run is not)."""
    return isinstance(exc, NEVER_RETRIED) and not isinstance(exc, StaleDocuments)

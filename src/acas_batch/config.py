"""Settings: one validated object from an optional TOML file and ``ACAS_*`` variables.

Precedence, lowest first: defaults, the TOML file (``--config`` or ``ACAS_CONFIG``),
environment variables, then explicit overrides (command-line flags).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from acas_batch.errors import ConfigError

ENV_PREFIX = "ACAS_"
DEFAULT_SQLITE_PATH = Path("var") / "acas.db"

_ACCEPTED_URLS = "sqlite:///PATH (default var/acas.db) or postgresql+psycopg://USER@HOST:PORT/DBNAME"


def normalise_database_url(url: str) -> str:
    """Check a database URL and give it the one driver per database we support.

    ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://``.

    Raises:
        ConfigError: the scheme is not SQLite or PostgreSQL, or the URL is malformed.
    """
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"database URL {url!r} is malformed (no '://'); accepted: {_ACCEPTED_URLS}")
    scheme = scheme.lower()
    if scheme in ("sqlite", "sqlite+pysqlite"):
        if not rest.startswith("/"):
            raise ConfigError(
                f"database URL {url!r}: SQLite URLs need three slashes (sqlite:///relative/path.db or "
                f"sqlite:////absolute/path.db); accepted: {_ACCEPTED_URLS}"
            )
        return f"sqlite://{rest}"
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        if not rest or rest.startswith("/"):
            raise ConfigError(f"database URL {url!r} names no host; accepted: {_ACCEPTED_URLS}")
        return f"postgresql+psycopg://{rest}"
    raise ConfigError(f"database URL scheme {scheme!r} is not supported; accepted: {_ACCEPTED_URLS}")


def parse_slots(value: str) -> dict[str, int]:
    """Parse ``'cpu=2,printer=1'`` into capacities.

    Raises:
        ValueError: an item is not ``name=N`` with N a positive integer.
    """
    slots: dict[str, int] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        name, sep, count = item.partition("=")
        if not sep or not name.strip() or not count.strip().isdigit() or int(count) < 1:
            raise ValueError(f"resource slot {item.strip()!r} is not name=N with N >= 1")
        slots[name.strip()] = int(count)
    return slots


def _parse_hhmm(value: str, name: str) -> tuple[int, int]:
    hh, sep, mm = value.strip().partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or int(hh) > 23 or int(mm) > 59:
        raise ValueError(f"{name} {value!r} is not a time HH:MM")
    return int(hh), int(mm)


class Settings(BaseModel):
    """Every setting of acas-batch. Each field ``x`` is also read from ``ACAS_X``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_SQLITE_PATH.as_posix()}",
        description="SQLAlchemy URL of the database: SQLite (default) or PostgreSQL with psycopg 3.",
    )
    data_dir: Path = Field(default=Path("var"), description="Folder for the database, outputs and backups.")
    output_dir: Path | None = Field(default=None, description="Folder for job output files (data_dir/output).")
    timezone: str = Field(default="Europe/London", description="Default time zone of schedules.")
    holiday_country: str = Field(default="GB", description="Country of the bank-holiday calendar.")
    holiday_subdivision: str | None = Field(default="ENG", description="Subdivision of that country.")
    log_level: str = Field(default="INFO", description="Level of the application log.")
    workers: int = Field(default=2, ge=1, le=256, description="Worker processes started by the scheduler.")
    lease_seconds: float = Field(default=60, gt=0, le=3600, description="How long a claim lasts unrenewed.")
    job_modules: str = Field(
        default="acas_batch.jobs", description="Comma-separated modules imported to register job code."
    )
    poll_seconds: float = Field(default=0.5, gt=0, le=60, description="How often idle workers and schedulers look.")
    lost_margin_seconds: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="A scheduler or worker silent for its lease plus this long is marked lost by a live one.",
    )
    max_running: int = Field(
        default=0, ge=0, description="Executions running at once across all workers (0: no limit)."
    )
    priority_ageing_seconds: int = Field(
        default=600, ge=1, description="Waiting this long raises a queued execution's priority by one."
    )
    dependency_wait_seconds: int = Field(
        default=86_400, ge=1, description="How long an execution waits for upstream jobs when its job sets no limit."
    )
    shutdown_grace_seconds: float = Field(
        default=30, ge=0, description="On SIGTERM/SIGINT, how long running jobs may finish before interruption."
    )
    prefetch: int = Field(
        default=32, ge=0, le=1000, description="Executions a worker claims ahead of its free job processes."
    )
    short_job_seconds: float = Field(
        default=0.5,
        ge=0,
        le=3600,
        description="Claims wait in a job process only behind jobs this worker saw finish within this time, and a"
        " job running longer hands back what waits behind it (0: behind any job).",
    )
    clock_file: Path | None = Field(
        default=None, description="Simulated time shared by processes, read from this file (tests, simulations)."
    )
    resource_slots: str = Field(
        default="", description="Capacity of counted resources, e.g. 'cpu=2,printer=1' (undeclared: 1)."
    )
    busy_timeout_seconds: float = Field(
        default=30, ge=0, le=3600, description="How long a SQLite statement waits for another process's lock."
    )
    http_host: str = Field(default="127.0.0.1", description="Address the dashboard and API listen on.")
    http_port: int = Field(default=8000, ge=1, le=65535, description="Port of the dashboard and API.")
    smtp_host: str = Field(default="localhost", description="SMTP server for alert e-mail.")
    mail_documents: bool = Field(
        default=True,
        description="E-mail statements, reminders and remittance advices to customers and suppliers "
        "(false: each is recorded as printed only; a simulation always runs with false).",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="Port of the SMTP server (587 STARTTLS, 465 TLS).")
    smtp_from: str = Field(default="acas-batch@localhost", description="Sender address of alert e-mail.")
    secret_key: str | None = Field(
        default=None, description="Key that encrypts secret job parameters (a Fernet key; default: a key file)."
    )
    secret_key_file: Path | None = Field(
        default=None, description="File holding the secret parameters' key(s) (default: data_dir/secret.key)."
    )
    alert_email_to: str = Field(default="", description="Comma-separated recipients of alert e-mail.")
    notify_allowed: str = Field(
        default="",
        description="Comma-separated domains (example.co.uk) or addresses a job's notify.recipients may name "
        "(empty: any).",
    )
    smtp_tls: Literal["starttls", "implicit", "none"] = Field(
        default="starttls",
        description="TLS to the mail server: starttls, implicit (port 465) or none (a local relay; no login).",
    )
    smtp_ca_file: Path | None = Field(
        default=None, description="CA certificates (PEM) that verify the mail server, instead of the system's."
    )
    smtp_username: str | None = Field(default=None, description="SMTP login, if the server needs one.")
    smtp_password: str | None = Field(default=None, description="SMTP password (never logged).")
    alert_repeat_minutes: int = Field(
        default=240, ge=0, description="Send an alert still open (not acknowledged) again after this long (0: never)."
    )
    alert_cap_per_job_hour: int = Field(
        default=5, ge=1, description="At most this many alerts per job per hour; the rest are counted as suppressed."
    )
    alert_digest_time: str = Field(
        default="08:00", description="Local time of the daily digest of non-critical alerts for digest routes."
    )
    office_hours: str = Field(default="08:00-18:00", description="Office hours on business days, for escalation.")
    scheduler_silence_seconds: int = Field(
        default=300, ge=10, description="A scheduler tick older than this is a dead scheduler (critical alert)."
    )
    alert_link_base_url: str = Field(
        default="", description="Dashboard address for acknowledge/resolve links in alert mail ('' : no links)."
    )
    alert_link_hours: int = Field(default=72, ge=1, description="How long an acknowledge/resolve link stays valid.")
    smime_cert_dir: Path | None = Field(
        default=None, description="Folder of recipients' S/MIME certificates (<address>.pem): their mail is encrypted."
    )
    four_eyes: str = Field(
        default="execution.force_rerun:PL_PAYMENT_RUN,execution.release:GL_YEAR_END_CLOSE,"
        "execution.mark_succeeded:*,system.restore:*",
        description="Actions a second user must approve: comma-separated ACTION:JOB (JOB * for every job); "
        "empty: none.",
    )
    monitor_interval_seconds: int = Field(
        default=60,
        ge=0,
        le=86400,
        description="How often a running scheduler checks for problems and sends alerts and run notices (0: never).",
    )

    @property
    def alert_recipients(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.alert_email_to.split(",") if a.strip())

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/London)") from exc
        return value

    @field_validator("alert_digest_time")
    @classmethod
    def _check_digest_time(cls, value: str) -> str:
        _parse_hhmm(value, "alert_digest_time")
        return value

    @field_validator("office_hours")
    @classmethod
    def _check_office_hours(cls, value: str) -> str:
        start, sep, end = value.partition("-")
        if not sep or _parse_hhmm(start, "office_hours") >= _parse_hhmm(end, "office_hours"):
            raise ValueError(f"office hours {value!r} are not HH:MM-HH:MM with the start before the end")
        return value

    @property
    def office_hours_range(self) -> tuple[tuple[int, int], tuple[int, int]]:
        start, _, end = self.office_hours.partition("-")
        return _parse_hhmm(start, "office_hours"), _parse_hhmm(end, "office_hours")

    @property
    def digest_time(self) -> tuple[int, int]:
        return _parse_hhmm(self.alert_digest_time, "alert_digest_time")

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"unknown log level {value!r} (DEBUG, INFO, WARNING, ERROR or CRITICAL)")
        return level

    @field_validator("resource_slots")
    @classmethod
    def _check_slots(cls, value: str) -> str:
        parse_slots(value)
        return value

    @property
    def slot_capacity(self) -> dict[str, int]:
        """Counted resources and how many slots each has."""
        return parse_slots(self.resource_slots)

    @property
    def job_module_names(self) -> tuple[str, ...]:
        return tuple(m.strip() for m in self.job_modules.split(",") if m.strip())

    @property
    def outputs(self) -> Path:
        """Where job output files go."""
        return self.output_dir if self.output_dir is not None else self.data_dir / "output"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {str(path)!r} does not exist") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"config file {str(path)!r} is a folder, not a TOML file") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from exc
    # Accept both a flat file and one with an [acas] table.
    section = data.get("acas", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {str(path)!r}: [acas] must be a table")
    return dict(section)


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        key = ENV_PREFIX + name.upper()
        if key in environ and environ[key] != "":
            values[name] = environ[key]
    return values


def load_settings(
    config_file: Path | str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings from a TOML file, the environment and explicit overrides.

    Raises:
        ConfigError: a file is missing or malformed, or a value is invalid; the message
            names the setting and the environment variable behind it.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config_file if config_file is not None else env.get(ENV_PREFIX + "CONFIG") or None
    if path is not None:
        values.update(_read_toml(Path(path)))
    values.update(_from_env(env))
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except PydanticValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown setting"
            problems.append(f"{field} ({ENV_PREFIX}{field.upper()}): {msg}")
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None

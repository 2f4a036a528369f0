"""The job registry: job code declares itself with :func:`job`.

The registry maps a job's handler key to its code, its parameter model and the way its
run key is formed. Definitions in the database (``batch_job_rec``) point at handlers
by key, so operators can tune timeouts and priorities without touching code.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, SecretBytes, SecretStr
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.errors import JobNotFound, ValidationError
from acas_batch.models.enums import Module

SEALED_PREFIX = "enc:v1:"  # acas_batch.secretbox.PREFIX


def _is_secret_annotation(annotation: Any) -> bool:
    if annotation in (SecretStr, SecretBytes):
        return True
    return any(_is_secret_annotation(a) for a in get_args(annotation))


def secret_fields(model: type[BaseModel]) -> frozenset[str]:
    """The names of ``model``'s secret fields (top level)."""
    names = set()
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("secret") is True or _is_secret_annotation(info.annotation):
            names.add(name)
    return frozenset(names)


class NoParams(BaseModel):
    """The parameter model of a job that takes none."""

    model_config = ConfigDict(extra="forbid")


JobFunc = Callable[[Any], JobResult | dict[str, Any] | None]
RunKeyFunc = Callable[[Any, date], str]
#: A run key that depends on the books too (e.g. which months the company's VAT quarters end in).
BooksRunKeyFunc = Callable[[Session, Any, date], str]


@dataclass(frozen=True)
class Upstream:
    """The run whose outcome triggered a job: what the triggered run inherits from it."""

    execution_id: int
    run_key: str  # e.g. ``GL_PERIOD_CLOSE:month:2026-11``
    business_date: date

    @property
    def job_name(self) -> str:
        return self.run_key.split(":", 1)[0]

    @property
    def key_part(self) -> str:
        """The run key without the job name: ``month:2026-11``."""
        return self.run_key.split(":", 1)[1] if ":" in self.run_key else ""


#: Parameters a triggered job takes from the run that triggered it (over its defaults).
FromUpstreamFunc = Callable[[Upstream], dict[str, Any]]


def business_date_key(_params: BaseModel, business_date: date) -> str:
    """Run key part for daily jobs: the business date."""
    return business_date.isoformat()


@dataclass(frozen=True)
class JobSpec:
    """What the code of a job declares about itself."""

    key: str
    func: JobFunc
    module: Module
    params_model: type[BaseModel] = NoParams
    description: str = ""
    run_key: RunKeyFunc = business_date_key
    timeout_seconds: int | None = 3600
    max_attempts: int = 3
    retry_on: tuple[str, ...] | None = None
    resources: tuple[Mapping[str, Any], ...] = ()
    tags: frozenset[str] = field(default_factory=frozenset)
    books_run_key: BooksRunKeyFunc | None = None
    from_upstream: FromUpstreamFunc | None = None

    def validate_params(self, raw: Mapping[str, Any]) -> BaseModel:
        """Parse raw parameters into the job's model.

        Raises:
            ValidationError: naming each offending field and why.
        """
        try:
            return self.params_model.model_validate(dict(raw))
        except PydanticValidationError as exc:
            problems = []
            fields: dict[str, str] = {}
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "parameters"
                msg = str(err["msg"]).removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = "unknown parameter"
                problems.append(f"{where}: {msg}")
                fields.setdefault(str(err["loc"][0]) if err["loc"] else "parameters", msg)
            raise ValidationError(f"invalid parameters for {self.key}: " + "; ".join(problems), fields=fields) from None

    @property
    def secret_fields(self) -> frozenset[str]:
        """Parameters marked secret: typed ``SecretStr`` or declared ``Field(json_schema_extra={"secret": True})``."""
        return secret_fields(self.params_model)

    def dump_params(self, model: BaseModel, seal: Callable[[str], str] | None) -> dict[str, Any]:
        """The parameters as stored: JSON, with each secret value sealed (never in clear).

        Raises:
            ValidationError: a secret value is given and no ``seal`` (no key) is available.
        """
        data: dict[str, Any] = model.model_dump(mode="json")
        for name in self.secret_fields:
            value = getattr(model, name, None)
            clear = value.get_secret_value() if isinstance(value, SecretStr | SecretBytes) else value
            if clear is None or clear == "":
                continue
            if isinstance(clear, bytes):
                clear = clear.decode()
            if isinstance(clear, str) and clear.startswith(SEALED_PREFIX):
                data[name] = clear  # sealed already (a rerun or a retry)
                continue
            if seal is None:
                raise ValidationError(f"{self.key}: secret parameter {name} needs the secret key to be stored")
            data[name] = seal(str(clear))
        return data

    def refuse_clear_secrets(self, raw: Mapping[str, Any], where: str) -> None:
        """Secret values kept in a job's defaults or a schedule must be sealed (``acas-batch secrets seal``).

        Raises:
            ValidationError: naming the parameter; the value itself is never echoed.
        """
        for name in sorted(self.secret_fields):
            value = raw.get(name)
            if value not in (None, "") and not (isinstance(value, str) and value.startswith(SEALED_PREFIX)):
                raise ValidationError(
                    f"{where}: secret parameter {name} must be sealed (acas-batch secrets seal), not kept in clear",
                    fields={name: "secret value in clear"},
                )

    def open_params(self, raw: Mapping[str, Any], open_: Callable[[str], str]) -> dict[str, Any]:
        """``raw`` with its sealed secret values opened (only in the job's own process)."""
        out = dict(raw)
        for name in self.secret_fields:
            value = out.get(name)
            if isinstance(value, str) and value.startswith(SEALED_PREFIX):
                out[name] = open_(value)
        return out

    def make_run_key(self, params: BaseModel, business_date: date, session: Session | None = None) -> str:
        """``KEY:part``: one live success per run key.

        Raises:
            TypeError: when the key is read from the books and no session is given.
        """
        if self.books_run_key is not None:
            if session is None:
                raise TypeError(f"the run key of {self.key} is read from the books: pass a session")
            return f"{self.key}:{self.books_run_key(session, params, business_date)}"
        return f"{self.key}:{self.run_key(params, business_date)}"


class Registry:
    """Handler key → :class:`JobSpec`."""

    def __init__(self) -> None:
        self._specs: dict[str, JobSpec] = {}

    def add(self, spec: JobSpec) -> None:
        if spec.key in self._specs and self._specs[spec.key].func is not spec.func:
            raise ValueError(f"job handler {spec.key!r} is registered twice")
        self._specs[spec.key] = spec

    def get(self, key: str) -> JobSpec:
        try:
            return self._specs[key]
        except KeyError:
            raise JobNotFound(f"no job code is registered under {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._specs

    def __iter__(self) -> Iterator[JobSpec]:
        return iter(sorted(self._specs.values(), key=lambda s: s.key))

    def __len__(self) -> int:
        return len(self._specs)


#: The registry the standard jobs declare themselves in (code, not state).
REGISTRY = Registry()


def job(
    key: str,
    *,
    module: Module,
    params: type[BaseModel] = NoParams,
    description: str = "",
    run_key: RunKeyFunc = business_date_key,
    books_run_key: BooksRunKeyFunc | None = None,
    timeout_seconds: int | None = 3600,
    max_attempts: int = 3,
    retry_on: tuple[str, ...] | None = None,
    resources: tuple[Mapping[str, Any], ...] = (),
    from_upstream: FromUpstreamFunc | None = None,
    registry: Registry | None = None,
) -> Callable[[Callable[[JobContext[Any]], Any]], Callable[[JobContext[Any]], Any]]:
    """Declare a function as the code of job ``key``.

    ``run_key`` forms the run key from the parameters and the business date;
    ``books_run_key``, when given, replaces it for a key that also reads the books;
    ``from_upstream`` gives a triggered run the parameters it takes from the run that
    triggered it (the period a close closed, the payment run to advise).
    """

    def decorate(func: Callable[[JobContext[Any]], Any]) -> Callable[[JobContext[Any]], Any]:
        (registry if registry is not None else REGISTRY).add(
            JobSpec(
                key=key,
                func=func,
                module=module,
                params_model=params,
                description=description or (func.__doc__ or "").strip().split("\n")[0],
                run_key=run_key,
                books_run_key=books_run_key,
                timeout_seconds=timeout_seconds,
                max_attempts=max_attempts,
                retry_on=retry_on,
                resources=resources,
                from_upstream=from_upstream,
            )
        )
        return func

    return decorate


def load_job_modules(names: Iterable[str]) -> None:
    """Import the named modules so that their ``@job`` declarations fill the registry.

    The one way job code is registered: a module is imported; a package is imported with
    every module below it (``acas_batch.jobs`` loads all 32 standard jobs,
    ``acas_batch.jobs.sl`` the sales ledger's). Importing twice registers nothing twice.
    """
    for name in names:
        module = importlib.import_module(name)
        path = getattr(module, "__path__", None)
        if path is not None:
            for info in pkgutil.walk_packages(path, prefix=f"{module.__name__}."):
                importlib.import_module(info.name)

"""Job code for the engine's tests, imported by worker children via ``ACAS_JOB_MODULES``.

Each job does real, observable work (rows written, files created) except ``TEST_SLEEP``,
which exists to be killed at its timeout, and ``TEST_CHECKPOINT``'s pause, which exists to
be killed mid-run.
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy import func, select

from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.errors import CloseRefused
from acas_batch.jobs.params import Notify
from acas_batch.models import BatchMetric
from acas_batch.models.enums import Module


class NoopParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tag: str = "x"


def _tag_key(params: NoopParams, business_date: date) -> str:
    return f"{business_date.isoformat()}/{params.tag}"


@job("TEST_NOOP", module=Module.SYS, params=NoopParams, run_key=_tag_key, timeout_seconds=60)
def noop(ctx: JobContext[NoopParams]) -> JobResult:
    """Do nothing, successfully."""
    return JobResult(summary=f"noop {ctx.params.tag}")


class GateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tag: str = "x"
    gate: str = ""  # a file: the job runs until it exists (none: it ends at once)


@job("TEST_GATE", module=Module.SYS, params=GateParams, run_key=_tag_key, timeout_seconds=120, max_attempts=1)
def gate(ctx: JobContext[GateParams]) -> JobResult:
    """Run until the file ``gate`` exists: as long as a test wants."""
    while ctx.params.gate and not os.path.exists(ctx.params.gate):
        time.sleep(0.02)
    return JobResult(summary=f"gate {ctx.params.tag} passed")


class WriteParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: int = Field(default=3, ge=1, le=10_000)
    label: str = "written"


@job("TEST_WRITE", module=Module.SYS, params=WriteParams)
def write(ctx: JobContext[WriteParams]) -> JobResult:
    """Write rows, a log line, progress and an output file."""
    for i in range(ctx.params.rows):
        ctx.session.add(
            BatchMetric(name=ctx.params.label, recorded_at=ctx.now, value=float(i), execution_id=ctx.execution_id)
        )
        ctx.progress(i + 1, ctx.params.rows)
    ctx.log.info(f"wrote {ctx.params.rows} rows", event="rows_written", rows=ctx.params.rows)
    path = ctx.output("report.csv")
    path.write_text(f"business_date,rows\n{ctx.business_date.isoformat()},{ctx.params.rows}\n")
    return JobResult(summary="written", counts={"rows": ctx.params.rows}, files=[str(path)])


@job("TEST_SLEEP", module=Module.SYS, timeout_seconds=1, max_attempts=1)
def sleep_forever(ctx: JobContext[Any]) -> None:
    """Hang, to be killed at the time limit."""
    ctx.log.info("going to sleep", event="sleeping")
    while True:
        time.sleep(0.05)


class FailParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    failures: int = 2
    error: str = "ValueError"
    notify: Notify = Field(default_factory=Notify)


class FlakyError(RuntimeError):
    """A failure the job's retry policy may or may not accept."""


@job("TEST_FAIL", module=Module.SYS, params=FailParams, max_attempts=3)
def fail_n_times(ctx: JobContext[FailParams]) -> JobResult:
    """Fail on the first ``failures`` attempts, then succeed."""
    if ctx.attempt <= ctx.params.failures:
        if ctx.params.error == "FlakyError":
            raise FlakyError(f"flaky failure on attempt {ctx.attempt}")
        if ctx.params.error == "CloseRefused":
            raise CloseRefused(f"period not closed: refused on attempt {ctx.attempt}")
        raise ValueError(f"planned failure on attempt {ctx.attempt}")
    return JobResult(summary=f"succeeded on attempt {ctx.attempt}")


class CheckpointParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    chunks: int = 5
    pause_after: int = -1  # on the first attempt, pause after this chunk (to be killed)
    pause_seconds: float = 30


@job("TEST_CHECKPOINT", module=Module.SYS, params=CheckpointParams, max_attempts=3)
def checkpointing(ctx: JobContext[CheckpointParams]) -> JobResult:
    """Write one row per chunk, checkpointing after each; resumes where the last attempt stopped."""
    start = int((ctx.last_checkpoint or {}).get("next", 0))
    for chunk in range(start, ctx.params.chunks):
        ctx.session.add(
            BatchMetric(
                name="chunk",
                recorded_at=ctx.now,
                value=float(chunk),
                execution_id=ctx.execution_id,
                labels={"attempt": ctx.attempt, "pid": os.getpid()},
            )
        )
        ctx.checkpoint({"next": chunk + 1})
        if ctx.attempt == 1 and chunk == ctx.params.pause_after:
            ctx.log.info("pausing to be killed", event="pausing")
            deadline = time.monotonic() + ctx.params.pause_seconds
            while time.monotonic() < deadline:
                time.sleep(0.05)
    total = ctx.session.scalar(select(func.count()).select_from(BatchMetric).where(BatchMetric.name == "chunk"))
    return JobResult(summary="chunks written", counts={"resumed_at": start, "chunks_total": int(total or 0)})


@job("TEST_WARN", module=Module.SYS)
def warn(ctx: JobContext[Any]) -> None:
    """Finish with a warning."""
    ctx.warn_outcome("2 journals were not posted")


@job("TEST_CRASH", module=Module.SYS, max_attempts=1)
def crash(ctx: JobContext[Any]) -> None:
    """Kill its own process, as a segfault would."""
    os._exit(3)


class LeakyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    secret: str = "hunter2-leaked"


@job("TEST_LEAKY", module=Module.SYS, params=LeakyParams, max_attempts=1)
def leaky(ctx: JobContext[LeakyParams]) -> JobResult:
    """Log, return and fail with a secret in the text, as careless job code would."""
    ctx.log.info(f"connecting with password={ctx.params.secret}", event="connecting", db_password=ctx.params.secret)
    ctx.log.info("paying 20-00-00 55779911", event="paying", detail=f"token={ctx.params.secret}")
    if ctx.params.secret.startswith("fail"):
        raise RuntimeError(f"login refused for api_key={ctx.params.secret}")
    return JobResult(summary=f"done, access_token={ctx.params.secret}")


class SecretParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_key: SecretStr
    bank_token: str = Field(default="", json_schema_extra={"secret": True})
    label: str = "secret"


@job("TEST_SECRET", module=Module.SYS, params=SecretParams, max_attempts=1)
def uses_secret(ctx: JobContext[SecretParams]) -> JobResult:
    """Use its secrets (proving it got the clear values) without ever writing them."""
    clear = ctx.params.api_key.get_secret_value() + "|" + ctx.params.bank_token
    ctx.log.info(f"signed in as {ctx.params.label} with {ctx.params.api_key}", event="signed_in")
    digest = hashlib.sha256(clear.encode()).hexdigest()
    return JobResult(summary=f"digest {digest}")


class ReportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: int = Field(default=3, ge=1, le=10_000)
    lines: int = Field(default=10, ge=1, le=1_000_000)


@job("TEST_REPORT", module=Module.SYS, params=ReportParams, timeout_seconds=60, max_attempts=1)
def report(ctx: JobContext[ReportParams]) -> JobResult:
    """Write rows, then a CSV report of ``lines`` lines through ``reports`` (as a ledger job writes its report)."""
    from acas_batch.reports.render import write_csv

    for i in range(ctx.params.rows):
        ctx.session.add(BatchMetric(name="report", recorded_at=ctx.now, value=float(i), execution_id=ctx.execution_id))
    path = ctx.output("report.csv")
    write_csv(path, ["line", "text"], ((i, f"line {i} of the report") for i in range(ctx.params.lines)))
    return JobResult(summary="reported", counts={"rows": ctx.params.rows, "lines": ctx.params.lines}, files=[str(path)])


class CampaignParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tag: str
    chunks: int = Field(default=4, ge=1, le=100)
    chunk_seconds: float = Field(default=0.1, ge=0, le=10)


def _campaign_key(params: CampaignParams, _business_date: date) -> str:
    return f"campaign/{params.tag}"


@job("TEST_CAMPAIGN", module=Module.SYS, params=CampaignParams, run_key=_campaign_key, timeout_seconds=120)
def campaign(ctx: JobContext[CampaignParams]) -> JobResult:
    """One row per chunk, each committed with its checkpoint: killed anywhere, no chunk is lost or written twice."""
    start = int((ctx.last_checkpoint or {}).get("next", 0))
    for chunk in range(start, ctx.params.chunks):
        time.sleep(ctx.params.chunk_seconds)
        name = f"campaign/{ctx.params.tag}"
        ctx.session.add(BatchMetric(name=name, recorded_at=ctx.now, value=float(chunk), execution_id=ctx.execution_id))
        ctx.checkpoint({"next": chunk + 1})
    return JobResult(summary=f"campaign {ctx.params.tag}", counts={"chunks": ctx.params.chunks})


class LongReadParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gate: str  # a file: the job reads until it exists
    reading: str  # a file the job creates once its transaction has read


@job("TEST_LONG_READ", module=Module.SYS, params=LongReadParams, timeout_seconds=300, max_attempts=1)
def long_read(ctx: JobContext[LongReadParams]) -> JobResult:
    """Read in its transaction until the file ``gate`` exists (a long read phase, or a slow phase
    such as laying out PDFs with the transaction open), then write a row with a checkpoint."""
    reads = 0
    while not os.path.exists(ctx.params.gate):
        reads += ctx.session.scalar(select(func.count()).select_from(BatchMetric)) is not None
        if reads == 1:
            Path(ctx.params.reading).touch()
        time.sleep(0.05)
    row = BatchMetric(name="long_read", recorded_at=ctx.now, value=float(reads), execution_id=ctx.execution_id)
    ctx.session.add(row)
    ctx.checkpoint({"reads": reads})
    return JobResult(summary=f"{reads} reads", counts={"reads": reads})

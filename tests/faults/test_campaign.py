"""The fault campaign: real schedulers and workers killed with SIGKILL at random moments, on both databases.

Two schedulers and two workers (two job processes each) run a stream of checkpointing jobs
while the campaign, each time work has started since its last fault, kills at random a
worker, one of its job processes or a scheduler, and starts it again; on PostgreSQL it also
restarts the server (a private cluster) or cuts a worker's connections. At the end nothing
may be lost, duplicated or stuck: each run key succeeded exactly once, each chunk of each run
was written exactly once, nothing waits or runs. It prints the runs, the kills and the
recovery times (kill to the next attempt's start).

Sizes from the environment (``make faults FAULT_KILLS=300``): ``FAULT_KILLS`` kills per
database (default 6, the short form run by ``make test``), ``FAULT_PAUSE`` the most seconds
between work seen in flight and the fault (default 0.5), ``FAULT_RESTART_EVERY`` a server
restart every so many kills on PostgreSQL (default 5), ``FAULT_SECONDS`` a time after which
it strikes no more (default none; the mail outage then spans the middle third of that time).

The alerts the campaign raises (processes marked lost, among others) are e-mailed to a real
local SMTP server by a third scheduler's monitor (every second), which the campaign does not
kill: the mail server itself goes down a third of the way through and comes back at two
thirds. Every alert queued must reach it exactly once, the outage be logged once with its
reason and shown by the health check while it lasts. (A sender killed between the server's
acceptance and its own record sends that message again, with the same Message-ID; the outbox
says so. Here the mail outage is the fault, not the sender's death.)
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from sqlalchemy import Engine, select

from acas_batch.batch.operations import enqueue
from acas_batch.batch.retry import INFRA_RETRY
from acas_batch.db import make_engine, transaction
from acas_batch.models import AlertState, BatchAlert, BatchExecution, BatchMetric, BatchWorker, NotificationOutbox
from acas_batch.models.enums import ExecutionState, RecoveryPolicy, WorkerState
from acas_batch.monitoring.outbox import CLAIM, DELIVERY_RULE
from acas_batch.system.health import HealthLimits, check_outbox
from tests.acceptance.processes import Processes, engine_env, processes
from tests.engine_helpers import NOW, define, wait_until
from tests.faults.support import MailServer, PrivateServer, terminate_backends
from tests.faults.test_database_outage import restartable_url  # noqa: F401  (a fixture)

KILLS = int(os.environ.get("FAULT_KILLS", "6"))
PAUSE = float(os.environ.get("FAULT_PAUSE", "0.5"))
RESTART_EVERY = int(os.environ.get("FAULT_RESTART_EVERY", "5"))
#: Strike no more after this many seconds (0: no limit), however many of FAULT_KILLS are left.
SECONDS = float(os.environ.get("FAULT_SECONDS", "0"))
CHUNKS = 4
#: A run struck this many times (half its budget of infrastructure failures) is spared.
SPARE_AFTER = INFRA_RETRY.max_attempts // 2
OTHER_FAULTS = ("server restart", "backends cut", "mail outage")
UNSETTLED = (ExecutionState.PENDING, ExecutionState.QUEUED, ExecutionState.RUNNING, ExecutionState.RETRY_WAIT)


@pytest.fixture
def campaign_url(backend: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, PrivateServer | None]]:
    if backend == "sqlite":
        yield request.getfixturevalue("db_url"), None
        return
    yield request.getfixturevalue("restartable_url"), request.getfixturevalue("private_pg")


class Campaign:
    def __init__(
        self, engine: Engine, procs: Processes, server: PrivateServer | None, url: str, mail: MailServer
    ) -> None:
        self.engine, self.procs, self.server, self.url, self.mail = engine, procs, server, url, mail
        self.rng = random.Random(int(os.environ.get("FAULT_SEED", "20")))
        # the office's monitor, e-mailing alerts: never killed (the mail server is its fault)
        self.monitor = procs.start(
            "scheduler", "start", "--workers", "0", "--no-web", env={**procs.env, "ACAS_MONITOR_INTERVAL_SECONDS": "1"}
        )
        self.outage_health: str | None = None
        self.mail_was_down = False
        # two schedulers, as a site may run them: one killed, the other carries on meanwhile
        self.schedulers = [procs.start("scheduler", "start", "--workers", "0", "--no-web") for _ in range(2)]
        self.workers = [procs.start("worker", "start", "--slots", "2") for _ in range(2)]
        self.tags = 0
        self.kills: Counter[str] = Counter()
        self.in_flight: list[tuple[datetime, list[int]]] = []  # (kill time, executions its victim ran)
        self.last = datetime.now(UTC)  # the last fault

    def top_up(self) -> None:
        # Runs waiting out a recovery backoff are not counted: fresh work keeps flowing, so the kills
        # spread over many runs instead of falling again and again on the few that start
        with transaction(self.engine) as s:
            ready = (ExecutionState.PENDING, ExecutionState.QUEUED, ExecutionState.RUNNING)
            waiting = len(s.scalars(select(BatchExecution.id).where(BatchExecution.state.in_(ready))).all())
        if waiting >= 6:
            return
        with transaction(self.engine, write=True) as s:
            for _ in range(6 - waiting):
                self.tags += 1
                params = {"tag": f"r{self.tags}", "chunks": CHUNKS, "chunk_seconds": 0.1}
                enqueue(s, "TEST_CAMPAIGN", params, now=NOW, business_date=NOW.date())

    def mail_down(self) -> None:
        self.mail.stop()
        self.mail_was_down = True
        self.kills["mail outage"] += 1

    def mail_back(self) -> None:
        """Once the outage is known (a message failed, the outage alert is open), the server comes back."""
        wait_until(lambda: _open_outage(self.engine) is not None, timeout=180, interval=0.2)
        with transaction(self.engine) as s:
            self.outage_health = check_outbox(s, datetime.now(UTC), HealthLimits()).message
        self.mail.start()

    def recovered(self) -> bool:
        """Whether work started since the last fault; if not, fresh work is queued for it."""
        if _running(self.engine, self.last):
            return True
        self.top_up()
        return False

    def stall_report(self) -> str:
        """What every process and the queue were doing when nothing started for too long."""
        lines = [f"STALL after {sum(self.kills.values())} faults {dict(self.kills)}; last at {self.last:%H:%M:%S.%f}"]
        with transaction(self.engine) as s:
            states = Counter(s.scalars(select(BatchExecution.state)))
            lines.append(f"executions by state: {dict(states)}")
            for w in s.scalars(select(BatchWorker).where(BatchWorker.state != WorkerState.LOST)):
                lines.append(f"process row {w.id} pid {w.pid} {w.state} heartbeat {w.heartbeat_at}")
            for r in s.scalars(select(BatchExecution).where(BatchExecution.state.in_(UNSETTLED))):
                lines.append(
                    f"execution {r.id} {r.state} attempt {r.attempt} not_before {r.not_before} "
                    f"lease_owner {r.lease_owner} lease_until {r.lease_expires_at}"
                )
        spy = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which("py-spy")
        for proc in self.procs.started:
            if proc.poll() is not None:
                continue
            lines.append(f"--- pid {proc.pid} {proc.args!r}, log tail:")
            lines += self.procs.log_of(proc).read_text(errors="replace").splitlines()[-15:]
            if spy:
                dump = subprocess.run(
                    [spy, "dump", "--pid", str(proc.pid)], check=False, capture_output=True, text=True
                )
                lines.append(dump.stdout + dump.stderr)
        return "\n".join(lines)

    def _running_of(self, pid: int) -> list[int]:
        return [eid for eid, _ in self._runs_of(pid)]

    def _runs_of(self, pid: int) -> list[tuple[int, int]]:
        """The executions the process runs, each with the infrastructure failures of its run so far."""
        with transaction(self.engine) as s:
            ids = s.scalars(select(BatchWorker.id).where(BatchWorker.pid == pid)).all()
            running = select(BatchExecution.id, BatchExecution.infra_failures).where(
                BatchExecution.state == ExecutionState.RUNNING, BatchExecution.lease_owner.in_(ids)
            )
            return [(eid, n) for eid, n in s.execute(running)]

    def strike(self, n: int) -> None:
        self.last = datetime.now(UTC)
        if self.server is not None and n % RESTART_EVERY == RESTART_EVERY - 1:
            self.server.ctl("restart")
            self.kills["server restart"] += 1
            return
        if self.server is not None and n % RESTART_EVERY == 1:
            self.kills["backends cut"] += 1 if terminate_backends(self.url, self.rng.choice(self.workers).pid) else 0
        victim = self.rng.choice(["worker", "job process", "job process", "scheduler"])
        worker = self.rng.choice(self.workers)
        children = _job_processes(worker.pid)
        if victim == "job process" and not children:  # its worker is still starting them: kill the worker
            victim = "worker"
        if victim != "scheduler" and any(n >= SPARE_AFTER for _, n in self._runs_of(worker.pid)):
            # faults fall on one run again and again only by chance; past half its recovery budget it is
            # spared (a run struck ten times in a row fails for good, as designed: an operator reruns it)
            victim = "scheduler"
        if victim == "scheduler":
            i = self.rng.randrange(len(self.schedulers))
            self.schedulers[i].send_signal(signal.SIGKILL)
            self.schedulers[i].wait(timeout=10)
            self.schedulers[i] = self.procs.start("scheduler", "start", "--workers", "0", "--no-web")
        elif victim == "worker":
            i = self.workers.index(worker)
            running = self._running_of(self.workers[i].pid)
            self.workers[i].send_signal(signal.SIGKILL)
            self.in_flight.append((datetime.now(UTC), running))
            self.workers[i].wait(timeout=10)
            self.workers[i] = self.procs.start("worker", "start", "--slots", "2")
        else:
            running = self._running_of(worker.pid)
            try:
                self.rng.choice(children).send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:  # it ended on its own meanwhile
                return
            self.in_flight.append((datetime.now(UTC), running))
        self.kills[victim] += 1


def _job_processes(pid: int) -> list[psutil.Process]:
    """The worker's live job processes (one killed a moment ago may be a zombie until its worker reaps it)."""
    found = []
    for child in psutil.Process(pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def _open_outage(engine: Engine) -> BatchAlert | None:
    with transaction(engine) as s:
        return s.scalars(
            select(BatchAlert).where(BatchAlert.rule == DELIVERY_RULE, BatchAlert.state != AlertState.RESOLVED)
        ).first()


def _mail_settled(engine: Engine) -> bool:
    with transaction(engine) as s:
        waiting = select(NotificationOutbox.id).where(NotificationOutbox.state.in_(("pending", "sending")))
        return s.scalars(waiting.limit(1)).first() is None and _open_outage(engine) is None


def _running(engine: Engine, since: datetime) -> bool:
    with transaction(engine) as s:
        running = select(BatchExecution.id).where(
            BatchExecution.state == ExecutionState.RUNNING, BatchExecution.started_at > since
        )
        return s.scalars(running.limit(1)).first() is not None


def _settled(engine: Engine) -> bool:
    with transaction(engine) as s:
        return s.scalars(select(BatchExecution.id).where(BatchExecution.state.in_(UNSETTLED)).limit(1)).first() is None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_campaign_of_kills_loses_duplicates_and_strands_nothing(
    backend: str, campaign_url: tuple[str, PrivateServer | None], tmp_path: Path
) -> None:
    url, server = campaign_url
    engine = make_engine(url)
    define(engine, "TEST_CAMPAIGN", recovery_policy=RecoveryPolicy.RETRY, max_attempts=1, max_concurrency=100)
    mail = MailServer()
    env = engine_env(
        url,
        tmp_path,
        ACAS_LEASE_SECONDS="2",
        ACAS_LOST_MARGIN_SECONDS="1",
        ACAS_MONITOR_INTERVAL_SECONDS="0",
        ACAS_SMTP_HOST="127.0.0.1",
        ACAS_SMTP_PORT=str(mail.port),
        ACAS_SMTP_TLS="none",
        ACAS_ALERT_EMAIL_TO="ops@acme.test",
    )
    started = time.monotonic()
    mail.start()
    try:
        with processes(env, tmp_path) as procs:
            campaign = Campaign(engine, procs, server, url, mail)
            struck = 0
            for n in range(KILLS):
                elapsed = time.monotonic() - started
                if SECONDS and elapsed > SECONDS:
                    break
                # the mail server goes down a third of the way through and comes back at two thirds
                if not campaign.mail_was_down and (elapsed > SECONDS / 3 if SECONDS else n == max(1, KILLS // 3)):
                    campaign.mail_down()
                if (
                    campaign.mail_was_down
                    and campaign.outage_health is None
                    and (elapsed > 2 * SECONDS / 3 if SECONDS else n == max(2, 2 * KILLS // 3))
                ):
                    campaign.mail_back()
                # strike while work is in flight, work started since the last fault (the system recovered);
                # topped up meanwhile: the runs in flight at a server restart live through it and may all end
                # before anything new starts
                try:
                    wait_until(campaign.recovered, timeout=120, interval=0.05)
                except AssertionError:
                    print(campaign.stall_report())
                    raise
                time.sleep(campaign.rng.uniform(0.0, PAUSE))
                campaign.strike(n)
                struck += 1
            if not campaign.mail_was_down:
                campaign.mail_down()
            if campaign.outage_health is None:
                campaign.mail_back()
            # Then, left alone, everything settles, the alerts waiting in the outbox delivered
            wait_until(lambda: _settled(engine), timeout=420, interval=0.2)  # a backoff lasts up to 300 s
            # (a message claimed just before a server restart cut its pass waits out its claim: 5 min)
            wait_until(lambda: _mail_settled(engine), timeout=CLAIM.total_seconds() + 120, interval=0.2)
            monitor_log = procs.log_of(campaign.monitor)
        with transaction(engine) as s:
            rows = s.scalars(select(BatchExecution).order_by(BatchExecution.id)).all()
            chunks: dict[str, list[int]] = defaultdict(list)
            for name, value in s.execute(select(BatchMetric.name, BatchMetric.value)):
                chunks[name].append(int(value))
            lost_procs = s.scalars(select(BatchWorker.id).where(BatchWorker.state == WorkerState.LOST)).all()
            outbox = s.scalars(select(NotificationOutbox).order_by(NotificationOutbox.id)).all()
            alerts = s.scalars(select(BatchAlert).where(BatchAlert.muted_reason.is_(None))).all()
    finally:
        engine.dispose()
        mail.stop()
    succeeded = Counter(r.run_key for r in rows if r.state is ExecutionState.SUCCEEDED)
    keys = {r.run_key for r in rows}
    by_id = {r.id: r for r in rows}
    successors = {r.previous_execution_id: r for r in rows if r.previous_execution_id is not None}
    recoveries = []
    # where the time goes: the kill noticed and recorded, the backoff, the wait to be queued
    # again (a scheduler's tick) and in the queue (a worker's claim)
    parts: dict[str, list[float]] = defaultdict(list)
    for at, ids in campaign.in_flight:
        for eid in ids:
            nxt = successors.get(eid)
            if by_id[eid].state is ExecutionState.FAILED and nxt is not None and nxt.started_at is not None:
                recoveries.append((nxt.started_at.astimezone(UTC) - at).total_seconds())
                failed_at = by_id[eid].finished_at or at
                due = max(failed_at, nxt.not_before or failed_at)
                parts["noticed"].append((failed_at.astimezone(UTC) - at).total_seconds())
                parts["backoff"].append((due - failed_at).total_seconds())
                queued = max(due, nxt.queued_at or due)
                parts["promoted"].append((queued - due).total_seconds())
                parts["queued"].append((nxt.started_at - queued).total_seconds())
                if os.environ.get("FAULT_DETAIL"):
                    ahead = sum(1 for r in rows if r.queued_at and r.queued_at <= queued and r.id < nxt.id
                                and r.started_at and r.started_at > queued)  # fmt: skip
                    print(f"recovery of {eid}: {[round(v[-1], 1) for v in parts.values()]} ahead {ahead}")
    print(  # the campaign's figures, shown by `make faults`
        f"\nfault campaign ({backend}): {len(keys)} runs, {len(rows)} executions, "
        f"{sum(v for k, v in campaign.kills.items() if k not in OTHER_FAULTS)} kills "
        f"{dict(campaign.kills)}, {len(lost_procs)} processes marked lost, "
        f"recovery p50 {statistics.median(recoveries) if recoveries else 0:.1f} s "
        f"p95 {_p95(recoveries):.1f} s max {max(recoveries, default=0):.1f} s over {len(recoveries)} recovered runs, "
        f"of which {', '.join(f'{k} p50 {statistics.median(v):.1f} s max {max(v):.1f} s' for k, v in parts.items())}; "
        f"{len(outbox)} alert messages (longest wait {_longest_wait(outbox):.0f} s), "
        f"{time.monotonic() - started:.0f} s"
    )
    # Then nothing was lost, nothing done twice, nothing stuck
    assert [k for k in keys if succeeded[k] != 1] == []  # each run key succeeded exactly once
    assert {r.state for r in rows} <= {ExecutionState.SUCCEEDED, ExecutionState.FAILED}
    tags = {f"campaign/{r.params['tag']}" for r in rows}
    assert {t: sorted(chunks[t]) for t in tags if sorted(chunks[t]) != list(range(CHUNKS))} == {}
    assert [r.error_type for r in rows if r.state is ExecutionState.FAILED and r.id not in successors] == []
    assert sum(v for k, v in campaign.kills.items() if k != "mail outage") >= struck
    assert struck == KILLS or SECONDS  # all asked for, unless the campaign was given a time
    # and every alert raised reached the mail server exactly once, through the outage
    assert [a.id for a in alerts if a.notified_at is None] == []
    assert {r.state for r in outbox} == {"delivered"}
    assert sorted(mail.keys) == sorted(r.idempotency_key for r in outbox)  # none lost, none twice
    assert any(r.attempts > 1 for r in outbox), "some alert waited out the outage"
    # no process, killed or not, said more than one line about any of it: no traceback in any log
    # (a job process whose worker was killed under it ends quietly)
    assert [log.name for log in sorted(tmp_path.glob("proc*.log")) if _tracebacks(log.read_text())] == []
    # the outage logged once, with its reason, and shown by the health check while it lasted
    lines = [ln for ln in monitor_log.read_text().splitlines() if "notification_delivery_failed" in ln]
    assert len(lines) == 1 and "reason=" in lines[0] and "refused" in lines[0].lower(), lines
    assert campaign.outage_health is not None and "email delivery is down since" in campaign.outage_health


def _tracebacks(log: str) -> list[str]:
    """The tracebacks in a process's log, but for Python's own start of a job process whose worker was
    killed while it started it (``spawn_main`` finds the pipe closed before it could read what to run,
    before any of the project's code runs: nothing of it can be quieted from here)."""
    found = log.split("Traceback (most recent call last):")[1:]
    return [t for t in found if not ('multiprocessing/spawn.py", line' in t and "EOFError: Ran out of input" in t)]


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) >= 2 else max(values, default=0.0)


def _longest_wait(rows: list[NotificationOutbox]) -> float:
    waits = [(r.delivered_at - r.created_at).total_seconds() for r in rows if r.delivered_at is not None]
    return max(waits, default=0.0)

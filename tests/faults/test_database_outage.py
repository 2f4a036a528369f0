"""The database goes away under a running worker: its connections are cut, or the server restarts.

The worker must notice, fall back to polling, reconnect with backoff, still collect the
outcome of the job it was running, keep claiming, stop cleanly on SIGTERM, and say so
in one warning per outage rather than a traceback per poll.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from acas_batch.batch.operations import enqueue
from acas_batch.db import make_engine, transaction
from acas_batch.models import NotificationOutbox
from acas_batch.models.enums import ExecutionState, RecoveryPolicy
from acas_batch.models.migrate import upgrade
from acas_batch.monitoring import outbox
from acas_batch.monitoring.outbox import CLAIM, Deliverer, Outgoing
from acas_batch.monitoring.outbox import enqueue as enqueue_message
from tests.acceptance.processes import engine_env, processes
from tests.engine_helpers import NOW, define, executions, wait_until
from tests.faults.support import MailServer, PrivateServer, terminate_backends
from tests.support.alerting import local_smtp


@pytest.fixture
def pg_url(db_url: str, backend: str) -> str:
    if backend != "postgresql":
        pytest.skip("a LISTEN connection exists on PostgreSQL only")
    return db_url


def _enqueue(engine: Engine, job: str, params: dict[str, object]) -> int:
    with transaction(engine, write=True) as s:
        return enqueue(s, job, params, now=NOW, business_date=NOW.date()).id


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_worker_whose_connections_are_cut_collects_its_job_and_claims_again(
    engine: Engine, pg_url: str, tmp_path: Path
) -> None:
    define(engine, "TEST_CHECKPOINT", timeout_seconds=120)
    define(engine, "TEST_NOOP")
    running = _enqueue(engine, "TEST_CHECKPOINT", {"chunks": 2, "pause_after": 0, "pause_seconds": 3})
    env = engine_env(pg_url, tmp_path, ACAS_LEASE_SECONDS="6")
    with processes(env, tmp_path) as procs:
        procs.start("scheduler", "start", "--workers", "0", "--no-web")
        worker = procs.start("worker", "start", "--slots", "1")
        # Given the worker's one job process is in the middle of a job
        wait_until(lambda: executions(engine, id=running)[0].checkpoint == {"next": 1}, timeout=60)
        # When every connection of the worker itself (its pool and its LISTEN connection) is cut
        assert terminate_backends(pg_url, worker.pid) >= 1
        # Then the job it was running still finishes and the worker takes in its outcome:
        # with its only slot free again it runs what is queued next
        wait_until(lambda: executions(engine, id=running)[0].state is ExecutionState.SUCCEEDED, timeout=30)
        later = [_enqueue(engine, "TEST_NOOP", {"tag": f"after-{i}"}) for i in range(3)]
        wait_until(
            lambda: all(executions(engine, id=e)[0].state is ExecutionState.SUCCEEDED for e in later), timeout=30
        )
        # ... and a second outage is survived as the first was
        time.sleep(0.5)
        terminate_backends(pg_url, worker.pid)
        again = _enqueue(engine, "TEST_NOOP", {"tag": "after-second-outage"})
        wait_until(lambda: executions(engine, id=again)[0].state is ExecutionState.SUCCEEDED, timeout=30)
        # When it is asked to stop
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=20)
    log = (tmp_path / "proc1.log").read_text()
    assert code == 0, log
    assert "Traceback" not in log, log
    # one line per outage (the two here come close together: one outage), not a traceback per poll
    assert 1 <= log.count("database unavailable") <= 2, log


@pytest.fixture
def restartable_url(private_pg: PrivateServer) -> Iterator[str]:
    """A database at head on the private server, which the test may restart."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(private_pg.url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(private_pg.url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        private_pg.ctl("start") if not _is_up(private_pg) else None
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _is_up(server: PrivateServer) -> bool:
    try:
        e = make_engine(server.url)
        with e.connect():
            pass
        e.dispose()
    except Exception:
        return False
    return True


def test_a_server_restart_under_a_scheduler_and_a_worker_loses_and_repeats_nothing(
    restartable_url: str, private_pg: PrivateServer, tmp_path: Path
) -> None:
    engine = make_engine(restartable_url)
    try:
        define(engine, "TEST_CHECKPOINT", timeout_seconds=120, recovery_policy=RecoveryPolicy.RETRY)
        define(engine, "TEST_NOOP")
        long = _enqueue(engine, "TEST_CHECKPOINT", {"chunks": 3, "pause_after": 0, "pause_seconds": 3})
        before = [_enqueue(engine, "TEST_NOOP", {"tag": f"before-{i}"}) for i in range(5)]
        env = engine_env(restartable_url, tmp_path, ACAS_LEASE_SECONDS="4")
        with processes(env, tmp_path) as procs:
            scheduler = procs.start("scheduler", "start", "--workers", "0", "--no-web")
            worker = procs.start("worker", "start", "--slots", "2")
            # Given a job in the middle of its run
            wait_until(lambda: executions(engine, id=long)[0].checkpoint == {"next": 1}, timeout=60)
            # When the database server restarts under it
            private_pg.ctl("restart")
            after = [_enqueue(engine, "TEST_NOOP", {"tag": f"after-{i}"}) for i in range(5)]

            # Then everything queued before and after runs, the interrupted job to its end
            def settled() -> bool:
                rows = executions(engine)
                done = {r.run_key for r in rows if r.state is ExecutionState.SUCCEEDED}
                wanted = {r.run_key for r in rows if r.id in {long, *before, *after}}
                live = [r for r in rows if not r.state.is_terminal]
                return wanted <= done and not live

            wait_until(settled, timeout=90)
            for proc in (worker, scheduler):
                proc.send_signal(signal.SIGTERM)
            codes = [worker.wait(timeout=30), scheduler.wait(timeout=30)]
        rows = executions(engine)
    finally:
        engine.dispose()
    logs = [(tmp_path / f"proc{i}.log").read_text() for i in (0, 1)]
    assert codes == [0, 0], logs
    succeeded = [r.run_key for r in rows if r.state is ExecutionState.SUCCEEDED]
    assert len(succeeded) == len(set(succeeded)) == 11  # each once, none twice
    for log in logs:
        assert "Traceback" not in log, log
        assert log.count("database unavailable") <= 2, log


def test_a_message_the_mail_server_took_just_before_a_database_restart_is_sent_once(
    restartable_url: str, private_pg: PrivateServer
) -> None:
    engine = make_engine(restartable_url)
    mail = MailServer()
    mail.start()

    class CutAfterSending(Deliverer):
        """Really sends; then the database goes down before the delivery is recorded, back 2 s later."""

        def send(self, row: NotificationOutbox) -> None:
            super().send(row)
            if len(mail.keys) == 1:
                private_pg.ctl("stop")
                threading.Timer(2.0, private_pg.ctl, args=("start",)).start()

    deliverer = CutAfterSending(local_smtp(mail.port))
    try:
        with transaction(engine, write=True) as s:
            outgoing = Outgoing("alert-1", "alert", ("ops@acme.test",), "disk low", "the disk is low")
            enqueue_message(s, outgoing, now=NOW)
        # When the mail server accepts the message and the database restarts before its delivery is recorded
        with contextlib.suppress(OperationalError):
            deliverer.deliver_due(engine, now=NOW)
        wait_until(lambda: _is_up(private_pg), timeout=60)
        # and a later pass looks again, after any claim on the message has expired
        deliverer.deliver_due(engine, now=NOW + CLAIM + timedelta(minutes=1))
        # Then the server received it once, and it is recorded as delivered
        with transaction(engine) as s:
            rows = s.scalars(select(NotificationOutbox)).all()
    finally:
        mail.stop()
        engine.dispose()
    assert mail.keys == ["alert-1"]
    assert [(r.state, r.attempts) for r in rows] == [("delivered", 1)]


def test_messages_claimed_by_a_pass_that_a_database_restart_cut_short_go_with_the_senders_next_pass(
    restartable_url: str, private_pg: PrivateServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(restartable_url)
    mail = MailServer()
    mail.start()
    real_claim = outbox.claim_due

    def claim_then_restart(session: Session, **kw: Any) -> list[int]:
        # The database goes down the moment the claim is committed, before a message is read
        event.listen(session, "after_commit", lambda _: private_pg.ctl("stop"), once=True)
        return real_claim(session, **kw)

    deliverer = Deliverer(local_smtp(mail.port))
    try:
        with transaction(engine, write=True) as s:
            for key in ("alert-1", "alert-2"):
                enqueue_message(s, Outgoing(key, "alert", ("ops@acme.test",), key, "the disk is low"), now=NOW)
        # When a pass claims the messages and the database restarts before it has sent them
        monkeypatch.setattr(outbox, "claim_due", claim_then_restart)
        with pytest.raises(OperationalError):
            deliverer.deliver_due(engine, now=NOW)
        monkeypatch.setattr(outbox, "claim_due", real_claim)
        private_pg.ctl("start")
        wait_until(lambda: _is_up(private_pg), timeout=60)
        with transaction(engine) as s:
            claimed = s.scalars(select(NotificationOutbox.state)).all()
        # and the same sender's next pass comes ten seconds later, the claim 5 minutes long
        report = deliverer.deliver_due(engine, now=NOW + timedelta(seconds=10))
        with transaction(engine) as s:
            rows = s.scalars(select(NotificationOutbox).order_by(NotificationOutbox.id)).all()
    finally:
        mail.stop()
        engine.dispose()
    # Then that pass sends them, each once, instead of waiting out its own claim
    assert claimed == ["sending", "sending"]
    assert report.delivered == 2
    assert sorted(mail.keys) == ["alert-1", "alert-2"]
    assert [(r.state, r.attempts) for r in rows] == [("delivered", 1), ("delivered", 1)]

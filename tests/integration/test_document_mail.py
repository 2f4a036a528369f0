"""Statements, reminders and remittance advices really e-mailed, PDF attached, once each
(a real local SMTP server, both databases): reruns, crashes and a mail server that is away."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acas_batch.config import Settings, load_settings
from acas_batch.db import transaction
from acas_batch.errors import ValidationError
from acas_batch.jobs import mailing
from acas_batch.jobs.sl import statement_generation as sl_statements
from acas_batch.models import Customer, ExecutionState, MailedDocument, NotificationOutbox, Supplier
from acas_batch.monitoring import Deliverer
from acas_batch.services import JobSchedulerService
from acas_batch.services.documents import documents_list
from tests.books import Books
from tests.engine_helpers import engine_settings
from tests.integration.conftest import Inbox, free_port
from tests.integration.test_jobs_pl_payments import DAY as PAY_DAY
from tests.integration.test_jobs_pl_payments import NOW as PAY_NOW
from tests.integration.test_jobs_pl_payments import PAY, _payables, _supersede
from tests.sl_support import at, open_books
from tests.support.alerting import local_smtp
from tests.support.context import run_job
from tests.support.users import user

DAY = date(2026, 6, 30)
STATEMENTS = "SL_STATEMENT_GENERATION"


def _settings(db_url: str, tmp_path: Path, port: int) -> Settings:
    """The installation's mail settings pointing at the test's server (plain: it offers no TLS)."""
    return load_settings(
        environ={}, database_url=db_url, data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none"
    )


@pytest.fixture
def books(engine: Engine) -> Iterator[Books]:
    yield from open_books(engine)


@pytest.fixture
def customers(books: Books) -> dict[str, int]:
    """A (statement address accounts@a.example) and B (no address) each owe £120.00 due 31/05/2026."""
    a, b = books.customer(), books.customer()
    books.session.execute(update(Customer).where(Customer.id == a).values(statement_email="accounts@a.example"))
    books.invoice(a, 10_000, on=date(2026, 5, 1))
    books.invoice(b, 10_000, on=date(2026, 5, 1))
    books.session.commit()
    return {"A": a, "B": b}


def _attachment(mail: object) -> tuple[str, bytes]:
    (part,) = list(mail.iter_attachments())  # type: ignore[attr-defined]
    return str(part.get_filename()), bytes(part.get_content())


def _statuses(engine: Engine, **filters: object) -> dict[str, str]:
    return {d["party_code"]: d["status"] for d in documents_list(engine, now=at(DAY), **filters)}  # type: ignore[arg-type]


def _outbox(engine: Engine) -> list[NotificationOutbox]:
    with transaction(engine) as s:
        return list(s.scalars(select(NotificationOutbox).order_by(NotificationOutbox.id)))


def test_statements_reach_the_customers_with_an_address_with_their_pdf_once(
    engine: Engine, db_url: str, tmp_path: Path, customers: dict[str, int], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = _settings(db_url, tmp_path, port)
    # When the June statements are made
    run = run_job(engine, settings, STATEMENTS, now=at(DAY))
    assert run.state is ExecutionState.SUCCEEDED, run.error
    # Then A's arrives at A's address with its own PDF attached, byte for byte
    assert inbox.envelopes == [["accounts@a.example"]]
    mail = inbox.messages[0]
    assert str(mail["Subject"]).strip().startswith("Statement of account from")
    assert "£120.00" in mail.get_body(("plain",)).get_content()
    name, data = _attachment(mail)
    assert (name, data) == ("statement_C00001.pdf", run.context.output("statement_C00001.pdf").read_bytes())
    # and the run says what happened, B counted as not e-mailed for want of an address
    assert run.result is not None
    assert run.result.counts == {
        "statements": 2,
        "emailed": 1,
        "email_queued": 0,
        "email_failed": 0,
        "not_emailed_no_address": 1,
    }
    assert "1 e-mailed, 1 not e-mailed (no address)" in run.result.summary
    assert _statuses(engine, execution_id=run.execution_id) == {
        "C00001": "e-mailed",
        "C00002": "not e-mailed (no address)",
    }
    # When the statements are made again (a forced rerun of the same period)
    _supersede(engine, run.execution_id)
    again = run_job(engine, settings, STATEMENTS, now=at(DAY) + timedelta(hours=2))
    # Then nobody gets a second copy, and the run says why
    assert again.state is ExecutionState.SUCCEEDED, again.error
    assert len(inbox.messages) == 1
    assert again.result is not None and again.result.counts["emailed_by_earlier_run"] == 1
    assert "1 already e-mailed or queued by an earlier run (not sent again)" in again.result.summary
    # When they are made once more without PDFs, then with e-mail off (each recorded in SQL, none e-mailable)
    for params in ({"output_format": "csv"}, {"output_format": "csv", "email": False}):
        _supersede(engine, again.execution_id)
        again = run_job(engine, settings, STATEMENTS, now=at(DAY) + timedelta(hours=3), params=params)
        # Then A's still counts as e-mailed by the earlier run, B's record is the first run's, nothing is sent
        assert again.state is ExecutionState.SUCCEEDED, again.error
        assert len(inbox.messages) == 1 and len(_outbox(engine)) == 1
        assert again.result is not None
        assert again.result.counts == {
            "statements": 2,
            "emailed": 1,
            "email_queued": 0,
            "email_failed": 0,
            "not_emailed_no_address": 1,
            "emailed_by_earlier_run": 1,
        }
        assert _statuses(engine) == {"C00001": "e-mailed", "C00002": "not e-mailed (no address)"}


def test_statements_read_back_a_page_at_a_time_are_each_sent_and_counted_once(
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    books: Books,
    customers: dict[str, int],
    smtp: tuple[Inbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, port = smtp
    # Given a third customer with an address, and the run's statements and their keys read one at a time
    c = books.customer()
    books.session.execute(update(Customer).where(Customer.id == c).values(statement_email="ledger@c.example"))
    books.invoice(c, 5_000, on=date(2026, 5, 2))
    books.session.commit()
    monkeypatch.setattr(sl_statements, "CHUNK", 1)
    # When the June statements are made
    run = run_job(engine, _settings(db_url, tmp_path, port), STATEMENTS, now=at(DAY))
    # Then A and C each get theirs once, and every statement is counted once
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert sorted(inbox.envelopes) == [["accounts@a.example"], ["ledger@c.example"]]
    assert run.result is not None
    assert run.result.counts == {
        "statements": 3,
        "emailed": 2,
        "email_queued": 0,
        "email_failed": 0,
        "not_emailed_no_address": 1,
    }


def test_an_installation_that_does_not_mail_documents_queues_none(
    engine: Engine, db_url: str, tmp_path: Path, customers: dict[str, int], smtp: tuple[Inbox, int]
) -> None:
    # Given an installation (or a simulation) that does not mail documents, and a customer with an address
    inbox, port = smtp
    settings = _settings(db_url, tmp_path, port).model_copy(update={"mail_documents": False})
    # When the June statements are made
    run = run_job(engine, settings, STATEMENTS, now=at(DAY))
    # Then both are made, none is queued or sent, and the run says so
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert inbox.messages == [] and _outbox(engine) == []
    assert run.result is not None
    assert run.result.counts["statements"] == 2 and run.result.counts["emailed"] == 0
    assert run.result.counts["email_queued"] == 0
    assert run.result.counts["not_emailed_email_off"] == 2
    assert _statuses(engine, execution_id=run.execution_id) == {
        "C00001": "not e-mailed (e-mail off)",
        "C00002": "not e-mailed (e-mail off)",
    }


def test_a_crash_between_queueing_and_sending_sends_each_statement_once(
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    customers: dict[str, int],
    smtp: tuple[Inbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, port = smtp
    settings = _settings(db_url, tmp_path, port)

    def killed(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the worker process was killed")

    # Given a run that dies after its e-mails were committed to the outbox, before it sent them
    monkeypatch.setattr(mailing.documents, "deliver", killed)
    first = run_job(engine, settings, STATEMENTS, now=at(DAY))
    monkeypatch.undo()
    assert first.state is ExecutionState.FAILED and inbox.messages == []
    assert [(r.idempotency_key, r.state) for r in _outbox(engine)] == [
        ("statement:SL_STATEMENT_GENERATION:2026-06:C00001", "pending")
    ]
    # When the run is retried, and the monitor's next pass delivers what waits
    retry = run_job(engine, settings, STATEMENTS, now=at(DAY) + timedelta(minutes=5))
    Deliverer(local_smtp(port)).deliver_due(engine, now=at(DAY) + timedelta(minutes=10))
    # Then A got exactly one statement, and the retry counted it as e-mailed
    assert retry.state is ExecutionState.SUCCEEDED, retry.error
    assert inbox.envelopes == [["accounts@a.example"]]
    assert retry.result is not None and retry.result.counts["emailed"] == 1
    assert [r.state for r in _outbox(engine)] == ["delivered"]


def test_a_mail_server_that_is_away_leaves_them_queued_until_the_monitor_sends_them_once(
    engine: Engine, db_url: str, tmp_path: Path, customers: dict[str, int], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    # Given a mail server that does not answer when the statements are made
    run = run_job(engine, _settings(db_url, tmp_path, free_port()), STATEMENTS, now=at(DAY))
    # Then the run succeeds and says the e-mail waits, naming none as sent
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert run.result is not None
    assert (run.result.counts["emailed"], run.result.counts["email_queued"]) == (0, 1)
    assert "1 waiting in the outbox" in run.result.summary
    assert _statuses(engine)["C00001"] == "queued"
    # When the server is back and the monitor passes twice
    for minutes in (5, 10):
        Deliverer(local_smtp(port)).deliver_due(engine, now=at(DAY) + timedelta(minutes=minutes))
    # Then the statement went once
    assert inbox.envelopes == [["accounts@a.example"]]
    assert _statuses(engine)["C00001"] == "e-mailed"


def test_a_pdf_changed_after_it_was_queued_is_refused_never_sent(
    engine: Engine, db_url: str, tmp_path: Path, customers: dict[str, int], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    run = run_job(engine, _settings(db_url, tmp_path, free_port()), STATEMENTS, now=at(DAY))
    assert run.state is ExecutionState.SUCCEEDED, run.error
    # Given the queued statement's file altered before the server is reached
    run.context.output("statement_C00001.pdf").write_bytes(b"%PDF-1.7 someone else's statement")
    # When the monitor delivers
    Deliverer(local_smtp(port)).deliver_due(engine, now=at(DAY) + timedelta(minutes=5))
    # Then nothing is sent, the message failed for good at once, and the listing says why
    assert inbox.messages == []
    (row,) = _outbox(engine)
    assert (row.state, row.attempts) == ("failed", 2)  # the server away in the run, then refused: no retry
    assert row.last_error is not None and "changed since it was queued" in row.last_error
    (doc,) = [d for d in documents_list(engine, now=at(DAY)) if d["party_code"] == "C00001"]
    assert doc["status"] == "e-mail failed" and "SHA-256" in doc["last_error"]


def test_reminders_are_emailed_with_the_letter_attached(
    engine: Engine, db_url: str, tmp_path: Path, customers: dict[str, int], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    run = run_job(engine, _settings(db_url, tmp_path, port), "SL_OVERDUE_REMINDERS", now=at(DAY))
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert run.result is not None
    assert (run.result.counts["letters"], run.result.counts["emailed"]) == (2, 1)
    assert run.result.counts["not_emailed_no_address"] == 1
    assert inbox.envelopes == [["accounts@a.example"]]
    assert str(inbox.messages[0]["Subject"]).strip().startswith("Second payment reminder from")
    name, data = _attachment(inbox.messages[0])
    assert (name, data) == ("reminder_C00001.pdf", run.context.output("reminder_C00001.pdf").read_bytes())
    with Session(engine) as s:
        kinds = {(d.kind, d.party_code, d.delivery) for d in s.scalars(select(MailedDocument))}
    assert kinds == {("reminder", "C00001", "email"), ("reminder", "C00002", "no_address")}


def test_remittance_advices_are_emailed_to_the_suppliers_with_an_address(
    engine: Engine, db_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    ids = _payables(engine)
    with transaction(engine, write=True) as s:
        s.execute(update(Supplier).where(Supplier.id == ids["a"]).values(remittance_email="ap@a.example"))
    settings = _settings(db_url, tmp_path, port)
    paid = run_job(
        engine, settings, "PL_PAYMENT_RUN", now=PAY_NOW, business_date=PAY_DAY, params={"payment_date": str(PAY)}
    )
    assert paid.state is ExecutionState.SUCCEEDED, paid.error
    run = run_job(engine, settings, "PL_REMITTANCE_ADVICE", now=PAY_NOW, business_date=PAY_DAY)
    assert run.state is ExecutionState.SUCCEEDED, run.error
    assert run.result is not None
    assert run.result.counts == {
        "remittances": 3,
        "emailed": 1,
        "email_queued": 0,
        "email_failed": 0,
        "not_emailed_no_address": 2,
    }
    assert inbox.envelopes == [["ap@a.example"]]
    name, data = _attachment(inbox.messages[0])
    assert name == "remittance_S00001.pdf" and data == (Path(run.result.files[0]).parent / name).read_bytes()


def test_documents_list_refuses_an_unknown_kind(engine: Engine) -> None:
    with pytest.raises(ValidationError, match="'invoice' is not one of statement, reminder, remittance"):
        documents_list(engine, kind="invoice", now=at(DAY))


def test_a_worker_runs_the_statements_and_sends_them(
    engine: Engine, db_url: str, tmp_path: Path, customers: dict[str, int], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = engine_settings(
        db_url, tmp_path, job_modules="acas_batch.jobs.sl", smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none"
    )
    svc = JobSchedulerService(engine, settings=settings, actor=user(engine, "ann"))
    assert svc.create_job(STATEMENTS, "SL", handler=STATEMENTS)[0]
    # When a real worker process runs the statements (its own transaction holds SQLite's write lock)
    ok, execution_id = svc.execute_job_now(STATEMENTS, {"business_date": "2026-06-30", "pdf_workers": 1})
    assert ok, execution_id
    ok, detail = svc.wait_for(execution_id, timeout=120)
    # Then the run succeeds having handed A's statement to the mail server itself
    assert ok and detail["state"] == "succeeded", detail
    assert inbox.envelopes == [["accounts@a.example"]]
    assert _statuses(engine, execution_id=execution_id) == {
        "C00001": "e-mailed",
        "C00002": "not e-mailed (no address)",
    }


class Peers(Inbox):
    """An inbox that also notes the client end of the connection each message came over."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


def test_a_batch_of_documents_goes_over_one_connection_and_alerts_over_their_own() -> None:
    peers, port = Peers(), free_port()
    controller = Controller(peers, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        notifier = local_smtp(port)

        def send(n: int) -> None:
            msg = EmailMessage()
            msg["Subject"], msg["From"], msg["To"] = f"statement {n}", "batch@acme.test", "a@a.example"
            msg.set_content("attached")
            notifier.deliver(msg, ["a@a.example"])

        # When three documents are sent in a batch, then two messages outside one
        with notifier.batch():
            for n in range(3):
                send(n)
        for n in range(3, 5):
            send(n)
    finally:
        controller.stop()
    # Then the batch used one connection and each message outside it its own
    assert len(peers.messages) == 5
    assert len(set(peers.peers[:3])) == 1 and len(set(peers.peers)) == 3

"""Shared pieces of the sales ledger job tests: the books, receipts, credit notes, settings."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acas_batch.config import Settings, load_settings
from acas_batch.ledger import balances
from acas_batch.ledger.sl import SalesLine, allocate_receipt, post_receipt, post_sales_invoice
from acas_batch.models import DocumentKind
from tests.books import Books, S


def settings_for(db_url: str, tmp_path: Path) -> Settings:
    """Settings for the test database; mail goes to a local port where no server listens
    (documents wait in the outbox, whatever runs on this machine's port 587)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = int(probe.getsockname()[1])
    return load_settings(
        environ={}, database_url=db_url, data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=closed, smtp_tls="none"
    )


def at(day: date) -> datetime:
    """The run's nominal time on ``day`` (08:00 UTC)."""
    return datetime.combine(day, time(8), tzinfo=UTC)


def open_books(engine: Engine) -> Iterator[Books]:
    """The body of each SL test module's ``books`` fixture."""
    with Session(engine, expire_on_commit=False) as session:
        b = Books.open(session)
        session.commit()
        yield b


def credit_note(b: Books, customer: int, net: int, on: date, vat: int = S) -> int:
    return post_sales_invoice(
        b.session,
        customer_id=customer,
        number=b.next("CRN"),
        invoice_date=on,
        lines=[SalesLine(1, net, vat, b.sales)],
        kind=DocumentKind.CREDIT_NOTE,
    )


def receipt(b: Books, customer: int, amount: int, on: date, *allocations: tuple[int, int]) -> int:
    """Money in; ``allocations`` are ``(invoice id, pence)`` set against it the same day."""
    rid = post_receipt(b.session, customer_id=customer, amount_pence=amount, receipt_date=on)
    for invoice, pence in allocations:
        allocate_receipt(b.session, receipt_id=rid, invoice_id=invoice, amount_pence=pence, on=on)
    return rid


def assert_ledger_sound(engine: Engine) -> None:
    """Trial balance sums to zero; every control account reconciles with its subledger."""
    with Session(engine) as s:
        assert balances.unbalanced_journals(s) == []
        tb = balances.trial_balance(s)
        assert sum(r.balance_pence for r in tb) == 0
        assert [r.difference_pence for r in balances.reconcile(s)] == [0, 0, 0, 0, 0]

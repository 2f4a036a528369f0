"""The sales ledger's open items and exposures as set-based queries (shared by the SL jobs).

Each query aggregates inside the database and is streamed by the caller; no query is
issued per customer.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import Select, Subquery, and_, case, func, literal, select, union_all

from acas_batch.models import Customer, DocumentKind, Journal, JournalStatus, Receipt, SalesInvoice

AgeBy = Literal["due_date", "invoice_date"]


def _open_items(age_by: AgeBy) -> Any:
    """Every open item as ``(customer_id, age_date, amount)``: invoices positive; open credit
    notes and unallocated receipts negative. Receipts age from their receipt date whatever
    ``age_by`` says (they have no due date)."""
    age_date = SalesInvoice.due_date if age_by == "due_date" else SalesInvoice.invoice_date
    sign = case((SalesInvoice.kind == DocumentKind.INVOICE, 1), else_=-1)
    docs = select(
        SalesInvoice.customer_id.label("customer_id"),
        age_date.label("age_date"),
        (sign * SalesInvoice.outstanding_pence).label("amount"),
    ).where(SalesInvoice.outstanding_pence > 0)
    receipts = select(
        Receipt.customer_id.label("customer_id"),
        Receipt.receipt_date.label("age_date"),
        (literal(0) - Receipt.unallocated_pence).label("amount"),
    ).where(Receipt.unallocated_pence > 0)
    return union_all(docs, receipts).subquery()


def aged_sums(age_by: AgeBy, day: date, bounds: Sequence[int]) -> Subquery:
    """Per customer with open items: ``(customer_id, b0 .. bn, total, items)``.

    The buckets of ``analysis.ageing`` (inclusive upper bounds in days past the ageing date),
    summed in the database: an item ``days`` old is in bucket ``i`` when ``bounds[i-1] < days
    <= bounds[i]``, that is when ``day - bounds[i] <= age_date < day - bounds[i-1]``, so the
    buckets are date comparisons, the same on both databases.
    """
    items = _open_items(age_by)
    age, amount = items.c.age_date, items.c.amount
    limits = [day - timedelta(days=b) for b in bounds]
    conditions = [age >= limits[0]]
    conditions += [and_(age >= lo, age < hi) for hi, lo in itertools.pairwise(limits)]
    conditions.append(age < limits[-1])
    return (
        select(
            items.c.customer_id.label("customer_id"),
            *(func.sum(case((c, amount), else_=0)).label(f"b{i}") for i, c in enumerate(conditions)),
            func.sum(amount).label("total"),
            func.count().label("items"),
        )
        .group_by(items.c.customer_id)
        .subquery()
    )


def aged_by_customer(age_by: AgeBy, day: date, bounds: Sequence[int]) -> Select[Any]:
    """``(customer_id, code, name, credit_limit, bucket 0 .. bucket n, total, items)`` in code order
    (:func:`aged_sums` of each customer with open items)."""
    per = aged_sums(age_by, day, bounds)
    return (
        select(Customer.id, Customer.code, Customer.name, Customer.credit_limit_pence, *list(per.c)[1:])
        .join(per, per.c.customer_id == Customer.id)
        .order_by(Customer.code)
    )


def exposures(as_of: date) -> Select[Any]:
    """Per customer: ``(id, code, name, limit, on_stop, balance, unposted, oldest_overdue_due_date)``.

    ``balance`` is what the customer owes on posted documents (pending credit notes and
    every unallocated receipt count against it); ``unposted`` is the outstanding amount of
    invoices whose journal the daily close has not yet posted. Disputed invoices do not
    make a customer overdue.
    """
    posted = Journal.status != JournalStatus.PENDING
    is_invoice = SalesInvoice.kind == DocumentKind.INVOICE
    docs = (
        select(
            SalesInvoice.customer_id.label("customer_id"),
            func.sum(
                case(
                    (and_(is_invoice, posted), SalesInvoice.outstanding_pence),
                    (is_invoice, 0),
                    else_=-SalesInvoice.outstanding_pence,
                )
            ).label("balance"),
            func.sum(case((and_(is_invoice, ~posted), SalesInvoice.outstanding_pence), else_=0)).label("unposted"),
            func.min(
                case(
                    (
                        and_(is_invoice, SalesInvoice.disputed.is_(False), SalesInvoice.due_date < as_of),
                        SalesInvoice.due_date,
                    ),
                    else_=None,
                )
            ).label("oldest_due"),
        )
        .join(Journal, Journal.id == SalesInvoice.journal_id)
        .where(SalesInvoice.outstanding_pence > 0)
        .group_by(SalesInvoice.customer_id)
        .subquery()
    )
    receipts = (
        select(Receipt.customer_id.label("customer_id"), func.sum(Receipt.unallocated_pence).label("unallocated"))
        .where(Receipt.unallocated_pence > 0)
        .group_by(Receipt.customer_id)
        .subquery()
    )
    return (
        select(
            Customer.id,
            Customer.code,
            Customer.name,
            Customer.credit_limit_pence,
            Customer.on_stop,
            func.coalesce(docs.c.balance, 0) - func.coalesce(receipts.c.unallocated, 0),
            func.coalesce(docs.c.unposted, 0),
            docs.c.oldest_due,
        )
        .outerjoin(docs, docs.c.customer_id == Customer.id)
        .outerjoin(receipts, receipts.c.customer_id == Customer.id)
        .order_by(Customer.id)
    )


def as_date(value: date | str | None) -> date | None:
    """A date read back from an aggregate (SQLite returns MIN() of dates as text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)

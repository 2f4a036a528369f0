"""SL_OVERDUE_REMINDERS: dunning letters at levels 1-3 by days overdue (as ACAS sl190)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import CursorResult, and_, insert, select, update

from acas_batch.analysis.late_payment import statutory_claim
from acas_batch.analysis.money import format_pounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import job
from acas_batch.jobs.mailing import Document, Recorded, email_field, queue_documents, send_documents
from acas_batch.jobs.params import Notify, OutputFormat
from acas_batch.jobs.sl.aged_debtors import company_name
from acas_batch.models import Customer, DocumentKind, Module, Reminder, SalesInvoice
from acas_batch.reports.files import atomic_files
from acas_batch.reports.letters import REMINDER_TITLES, reminder_pages
from acas_batch.reports.pdf import combined_pdf, write_pages
from acas_batch.reports.render import write_csv

CHUNK = 500


def _levels(values: list[int]) -> list[int]:
    if len(values) != 3 or values[0] < 1 or any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError(f"{values} must be three increasing day counts, the first at least 1")
    return values


class ReminderParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level_days: Annotated[list[int], AfterValidator(_levels)] = Field(
        default_factory=lambda: [7, 30, 60], description="Days overdue that reach letter levels 1, 2 and 3."
    )
    repeat_days: int = Field(14, ge=1, le=365, description="A level is not sent again within this many days.")
    statutory_interest: bool = Field(False, description="State Late Payment Act interest and compensation.")
    output_format: OutputFormat = OutputFormat.PDF
    email: bool = email_field("the customer's statement address")
    notify: Notify = Field(default_factory=Notify)


@dataclass
class Letter:
    """One customer's reminder: the level, the overdue invoices and what they add up to."""

    customer_id: int
    code: str
    name: str
    email: str | None
    level: int
    days_overdue: int
    oldest_invoice_id: int
    invoices: list[dict[str, Any]] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return sum(i["outstanding"] for i in self.invoices)

    @property
    def interest(self) -> int:
        return sum(i["interest"] for i in self.invoices)

    @property
    def compensation(self) -> int:
        return sum(i["compensation"] for i in self.invoices)


def level_for(days_overdue: int, level_days: list[int]) -> int:
    """0 (no letter yet) to 3: how many thresholds the oldest item has reached."""
    return sum(days_overdue >= d for d in level_days)


def _overdue_query(day: date) -> Any:
    """Overdue, undisputed, not-held invoices of customers with dunning on, oldest first per customer."""
    return (
        select(
            Customer.id,
            Customer.code,
            Customer.name,
            Customer.statement_email,
            SalesInvoice.id,
            SalesInvoice.number,
            SalesInvoice.invoice_date,
            SalesInvoice.due_date,
            SalesInvoice.outstanding_pence,
        )
        .join(SalesInvoice, SalesInvoice.customer_id == Customer.id)
        .where(
            Customer.dunning_enabled.is_(True),
            SalesInvoice.kind == DocumentKind.INVOICE,
            SalesInvoice.outstanding_pence > 0,
            SalesInvoice.due_date < day,
            SalesInvoice.disputed.is_(False),
            SalesInvoice.on_hold.is_(False),
        )
        .order_by(Customer.code, SalesInvoice.due_date, SalesInvoice.id)
        .execution_options(yield_per=5000)
    )


@dataclass
class History:
    """What the reminder history says about one customer today.

    ``floor`` is the highest level already sent about an item that is still open and overdue
    (a level never goes down while its item stays overdue; a paid item's level goes with it);
    ``recent`` the highest level sent within the repeat days (a letter at that level or below
    waits: the customer was written to at least as firmly a few days ago).
    """

    floor: int = 0
    recent: int = 0


def _history(ctx: JobContext[ReminderParams], open_items: dict[int, set[int]]) -> dict[int, History]:
    """Each overdue customer's reminder history: levels per open item and letters within the repeat days."""
    day, since = ctx.business_date, ctx.business_date - timedelta(days=ctx.params.repeat_days - 1)
    out: dict[int, History] = {}
    customers = sorted(open_items)
    for start in range(0, len(customers), CHUNK):
        part = customers[start : start + CHUNK]
        rows = ctx.session.execute(
            select(Reminder.customer_id, Reminder.invoice_id, Reminder.level, Reminder.sent_on).where(
                Reminder.customer_id.in_(part), Reminder.sent_on <= day
            )
        )
        for cid, invoice_id, level, sent_on in rows:
            h = out.setdefault(cid, History())
            if invoice_id in open_items[cid]:
                h.floor = max(h.floor, level)
            if sent_on >= since:
                h.recent = max(h.recent, level)
    return out


def _letters(ctx: JobContext[ReminderParams]) -> tuple[list[Letter], set[int], int]:
    """Letters due today; every customer with something overdue; letters held back by repeat_days."""
    p, day = ctx.params, ctx.business_date
    overdue = {
        cid: list(group)
        for cid, group in itertools.groupby(ctx.session.execute(_overdue_query(day)), key=lambda r: r[0])
    }
    history = _history(ctx, {cid: {r[4] for r in rows} for cid, rows in overdue.items()})
    letters: list[Letter] = []
    held = 0
    for cid, invoices in overdue.items():
        _, code, name, email, oldest_id, *_ = invoices[0]
        days = (day - invoices[0][7]).days
        h = history.get(cid, History())
        level = max(level_for(days, p.level_days), h.floor)
        if level == 0:
            continue
        if level <= h.recent:
            held += 1
            continue
        letter = Letter(cid, code, name, email, level, days, oldest_id)
        for *_, number, invoice_date, due, outstanding in invoices:
            claim = statutory_claim(int(outstanding), due, day) if p.statutory_interest else None
            letter.invoices.append(
                {
                    "number": number,
                    "invoice_date": invoice_date,
                    "due_date": due,
                    "days": (day - due).days,
                    "outstanding": int(outstanding),
                    "interest": claim.interest_pence if claim else 0,
                    "compensation": claim.compensation_pence if claim else 0,
                }
            )
        letters.append(letter)
    return letters, set(overdue), held


@job(
    "SL_OVERDUE_REMINDERS",
    module=Module.SL,
    params=ReminderParams,
    timeout_seconds=1800,
    resources=({"name": "ledger:SL", "mode": "exclusive"},),
)
def overdue_reminders(ctx: JobContext[ReminderParams]) -> JobResult:
    """Dunning letters at levels 1-3 by days overdue, never repeated within the repeat days."""
    p, day, s = ctx.params, ctx.business_date, ctx.session
    letters, overdue_customers, held = _letters(ctx)
    # The letters are laid out before they are recorded: each chunk of the history commits with
    # the e-mails that carry its letters, so a letter recorded as sent is always one queued or posted.
    company = company_name(ctx)
    files = [ctx.output("reminders.csv")]
    write_csv(
        files[0],
        (
            "customer",
            "name",
            "level",
            "days_overdue",
            "overdue_pence",
            "interest_pence",
            "compensation_pence",
            "invoices",
        ),
        (
            [x.code, x.name, x.level, x.days_overdue, x.overdue, x.interest, x.compensation, len(x.invoices)]
            for x in letters
        ),
    )
    pdfs: list[Path | None] = [None] * len(letters)
    if p.output_format.pdf and letters:
        paths = [ctx.output(f"reminder_{x.code}.pdf") for x in letters]
        combined = ctx.output("reminders_all.pdf")
        # Each letter's file, and its pages into the combined file as they come (never all in memory)
        with atomic_files(batch=20) as out, combined_pdf(combined, title="Payment reminders") as everything:
            for x, path in zip(letters, paths, strict=True):
                pages = reminder_pages(x, company=company, day=day, statutory=p.statutory_interest)
                write_pages(path, pages, title=f"{REMINDER_TITLES[x.level]} {x.code}", files=out)
                everything.add_pages(pages)
        pdfs = list(paths)
        files += [*paths, combined]
    # Customers whose overdue items are all settled start again from level 0. The job's first
    # write, after the files: on SQLite the job holds the write lock from here to its commit,
    # not while it lays out the letters.
    reset = cast(
        "CursorResult[Any]",
        s.execute(
            update(Customer)
            .where(
                and_(
                    Customer.dunning_level > 0,
                    Customer.id.not_in(
                        select(SalesInvoice.customer_id).where(
                            SalesInvoice.kind == DocumentKind.INVOICE,
                            SalesInvoice.outstanding_pence > 0,
                            SalesInvoice.due_date < day,
                        )
                    ),
                )
            )
            .values(dunning_level=0, in_collection=False)
        ),
    ).rowcount
    run_key = f"{ctx.job_name}:{day.isoformat()}"
    recorded: list[Recorded] = []
    for start in range(0, len(letters), CHUNK):
        part = letters[start : start + CHUNK]
        s.execute(
            insert(Reminder),
            [
                {
                    "customer_id": x.customer_id,
                    "invoice_id": x.oldest_invoice_id,
                    "level": x.level,
                    "sent_on": day,
                    "days_overdue": x.days_overdue,
                    "overdue_pence": x.overdue,
                    "interest_pence": x.interest,
                    "compensation_pence": x.compensation,
                    "note": f"{ctx.job_name} execution {ctx.execution_id}",
                }
                for x in part
            ],
        )
        for level in (1, 2, 3):
            ids = [x.customer_id for x in part if x.level == level]
            if ids:
                values: dict[str, Any] = {"dunning_level": level, "last_dunning_on": day, "in_collection": level == 3}
                s.execute(update(Customer).where(Customer.id.in_(ids)).values(**values))
        docs = [_document(x, pdfs[start + i], day, company, run_key) for i, x in enumerate(part)]
        recorded.append(queue_documents(ctx, docs, run_key=run_key, email=p.email))
        ctx.checkpoint({"letters_written": start + len(part)})
    mail = send_documents(ctx, run_key, recorded)
    by_level = {n: sum(1 for x in letters if x.level == n) for n in (1, 2, 3)}
    ctx.log.info(
        f"{len(letters)} reminder(s): level 1 {by_level[1]}, level 2 {by_level[2]}, level 3 {by_level[3]}; "
        f"{held} held back (sent within {p.repeat_days} days); {reset} customer(s) back to level 0; "
        f"{mail.summary()}",
        event="reminders_written",
        customers_overdue=len(overdue_customers),
    )
    if by_level[3]:
        ctx.log.warning(f"{by_level[3]} customer(s) passed for collection", event="customers_to_collection")
    return JobResult(
        summary=f"{len(letters)} reminders ({by_level[3]} final); {held} held back; {mail.summary()}",
        counts={"letters": len(letters), "held": held, "reset": int(reset or 0)}
        | {f"level_{n}": c for n, c in by_level.items()}
        | mail.counts(),
        totals={"overdue_pence": sum(x.overdue for x in letters), "interest_pence": sum(x.interest for x in letters)},
        files=[str(f) for f in files],
    )


_SUBJECTS = {1: "Payment reminder", 2: "Second payment reminder", 3: "Final demand for payment"}


def _document(letter: Letter, pdf: Path | None, day: date, company: str, run_key: str) -> Document:
    """The e-mail that carries one customer's reminder."""
    body = (
        f"Dear {letter.name},\n\n"
        f"Our records show £{format_pounds(letter.overdue)} overdue on your account ({letter.code}), "
        f"the oldest item {letter.days_overdue} days past its due date. The attached letter lists the items.\n"
        "If you have paid in the last few days, please accept our thanks and disregard this reminder.\n\n"
        f"{company}\n"
    )
    return Document(
        kind="reminder",
        key=f"reminder:{run_key}:{letter.code}:level-{letter.level}",
        party="customer",
        party_id=letter.customer_id,
        party_code=letter.code,
        email_to=letter.email,
        file=pdf,
        subject=f"{_SUBJECTS[letter.level]} from {company}, {day:%d/%m/%Y}",
        body=body,
    )

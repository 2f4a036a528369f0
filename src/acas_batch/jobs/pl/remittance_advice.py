"""PL_REMITTANCE_ADVICE: a remittance advice per payment of a payment run, one PDF per supplier.

Runs after PL_PAYMENT_RUN (triggered by it, same business date; its run key names the
payment run's execution, so a forced rerun that pays more suppliers gets its advices too). Each payment gets one
``pl_remittance_rec`` row (unique per payment), marked sent with the supplier's remittance
address (or ``post`` when it has none); a rerun skips the payments already advised.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import insert, select
from sqlalchemy.orm import aliased

from acas_batch.analysis.money import format_pounds
from acas_batch.batch.context import JobContext, JobResult
from acas_batch.batch.registry import Upstream, job
from acas_batch.errors import NotFound
from acas_batch.jobs.mailing import Document, email_field, queue_documents, send_documents
from acas_batch.jobs.params import Notify, OutputFormat
from acas_batch.models import (
    Company,
    Module,
    PaymentRun,
    PurchaseAllocation,
    PurchaseInvoice,
    Remittance,
    Supplier,
    SupplierPayment,
)
from acas_batch.reports import write_csv
from acas_batch.reports.letters import remittance_pages
from acas_batch.reports.pdf import write_pages


class RemittanceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_run: str | None = Field(
        None, description="Run key of the payment run (default: the run of the same business date)."
    )
    payment_execution: int | None = Field(
        None,
        ge=1,
        description="The execution of the payment run advised (set when the payment run triggers this job): "
        "a forced rerun of a payment run is a run of its own and gets its own advices.",
    )
    output_format: OutputFormat = OutputFormat.PDF
    email: bool = email_field("the supplier's remittance address")
    notify: Notify = Field(default_factory=Notify)

    @field_validator("payment_run")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("PL_PAYMENT_RUN:"):
            raise ValueError(f"payment_run {value!r} must be a run key like PL_PAYMENT_RUN:2026-06-30")
        return value


def _payment_run_key(params: RemittanceParams, business_date: date) -> str:
    return params.payment_run or f"PL_PAYMENT_RUN:{business_date.isoformat()}"


def _remittance_run_key(params: Any, business_date: date) -> str:
    """The payment run advised: its business date and, when triggered, the execution that paid."""
    key = _payment_run_key(params, business_date).removeprefix("PL_PAYMENT_RUN:")
    return key if params.payment_execution is None else f"{key}/execution-{params.payment_execution}"


def _from_payment_run(upstream: Upstream) -> dict[str, Any]:
    """The payment run that triggered this run: the one it advises."""
    if upstream.job_name != "PL_PAYMENT_RUN":
        return {}
    return {"payment_run": upstream.run_key, "payment_execution": upstream.execution_id}


@job(
    "PL_REMITTANCE_ADVICE",
    module=Module.PL,
    params=RemittanceParams,
    run_key=_remittance_run_key,
    from_upstream=_from_payment_run,
    timeout_seconds=1800,
    resources=({"name": "ledger:PL", "mode": "shared"},),
)
def remittance_advice(ctx: JobContext[RemittanceParams]) -> JobResult:
    """A remittance advice per payment of the payment run that triggered it."""
    p, s = ctx.params, ctx.session
    run_key = _payment_run_key(p, ctx.business_date)
    if s.scalar(select(PaymentRun.id).where(PaymentRun.run_key == run_key)) is None:
        raise NotFound(f"payment_run: no payment run {run_key}")
    advised = select(Remittance.payment_id)
    payments = s.execute(
        select(SupplierPayment, Supplier)
        .join(Supplier, Supplier.id == SupplierPayment.supplier_id)
        .where(SupplierPayment.run_key == run_key, SupplierPayment.id.not_in(advised))
        .order_by(Supplier.code)
    ).all()
    ids = [pay.id for pay, _ in payments]
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for payment_id, number, on, amount, discount in s.execute(
        select(
            PurchaseAllocation.payment_id,
            PurchaseInvoice.number,
            PurchaseInvoice.invoice_date,
            PurchaseAllocation.amount_pence,
            PurchaseAllocation.discount_pence,
        )
        .join(PurchaseInvoice, PurchaseInvoice.id == PurchaseAllocation.invoice_id)
        .where(PurchaseAllocation.payment_id.in_(ids))
        .order_by(PurchaseInvoice.invoice_date, PurchaseInvoice.id)
    ):
        lines[int(payment_id or 0)].append(
            {"number": number, "invoice_date": on, "amount": amount, "discount": discount}
        )
    note, invoice = aliased(PurchaseInvoice), aliased(PurchaseInvoice)
    credits: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for supplier_id, number, target, amount in s.execute(
        select(note.supplier_id, note.number, invoice.number, PurchaseAllocation.amount_pence)
        .join(note, note.id == PurchaseAllocation.credit_note_id)
        .join(invoice, invoice.id == PurchaseAllocation.invoice_id)
        .where(invoice.id.in_(select(PurchaseAllocation.invoice_id).where(PurchaseAllocation.payment_id.in_(ids))))
    ):
        credits[supplier_id].append({"number": number, "invoice": target, "amount": amount})
    company = s.scalar(select(Company.name).limit(1)) or ""
    files: list[str] = []
    rows: list[list[Any]] = []
    records: list[dict[str, Any]] = []
    docs: list[Document] = []
    named: set[str] = set()
    for n, (pay, supplier) in enumerate(payments, start=1):
        mine = lines[pay.id]
        document = None
        if p.output_format.pdf:
            # A supplier paid twice in one run gets two advices, never one file written over the other.
            name = supplier.code if supplier.code not in named else f"{supplier.code}_{pay.id}"
            named.add(supplier.code)
            path = write_pages(
                ctx.output(f"remittance_{name}.pdf"),
                remittance_pages(
                    company=company,
                    supplier_name=supplier.name,
                    supplier_code=supplier.code,
                    payment_date=pay.payment_date,
                    method=pay.method.value.upper(),
                    reference=pay.reference,
                    lines=mine,
                    cleared=sum(ln["amount"] for ln in mine),
                    discount=pay.discount_pence,
                    paid=pay.amount_pence,
                    credits=credits[supplier.id],
                ),
                title=f"Remittance advice {supplier.code}",
            )
            document = str(path)
            files.append(document)
        sent_to = supplier.remittance_email or "post"
        records.append(
            {"payment_id": pay.id, "created_at": ctx.now, "sent_at": ctx.now, "sent_to": sent_to, "document": document}
        )
        docs.append(_document(pay, supplier, document, company, run_key))
        head = [supplier.code, pay.id, pay.payment_date, pay.method.value]
        rows += [
            [*head, ln["number"], ln["amount"], ln["discount"], ln["amount"] - ln["discount"], sent_to] for ln in mine
        ]
        ctx.progress(n, len(payments))
    path = ctx.output("remittances.csv")
    header = ["supplier", "payment_id", "payment_date", "method", "invoice", "cleared_pence", "discount_pence"]
    write_csv(path, [*header, "paid_pence", "sent_to"], rows)
    files.insert(0, str(path))
    own_key = f"{ctx.job_name}:{_remittance_run_key(p, ctx.business_date)}"
    if records:
        s.execute(insert(Remittance), records)
    recorded = queue_documents(ctx, docs, run_key=own_key, email=p.email)
    ctx.checkpoint({"remittances": len(records)})  # the advices commit with the e-mails that carry them
    mail = send_documents(ctx, own_key, [recorded])
    ctx.log.info(f"{len(records)} remittance advices for {run_key}: {mail.summary()}", event="remittances_done")
    return JobResult(
        summary=f"{len(records)} remittance advices for {run_key}; {mail.summary()}",
        counts={"remittances": len(records), **mail.counts()},
        totals={"paid_pence": sum(pay.amount_pence for pay, _ in payments)},
        files=files,
    )


def _document(pay: SupplierPayment, supplier: Supplier, pdf: str | None, company: str, run_key: str) -> Document:
    """The e-mail that carries one payment's remittance advice."""
    body = (
        f"Dear {supplier.name},\n\n"
        f"We have paid you £{format_pounds(pay.amount_pence)} by {pay.method.value.upper()} on "
        f"{pay.payment_date:%d/%m/%Y} (our reference {pay.reference}). "
        "The attached remittance advice lists the invoices it settles.\n\n"
        f"{company}\n"
    )
    return Document(
        kind="remittance",
        key=f"remittance:{run_key}:{supplier.code}:payment-{pay.id}",
        party="supplier",
        party_id=supplier.id,
        party_code=supplier.code,
        email_to=supplier.remittance_email,
        file=Path(pdf) if pdf else None,
        subject=f"Remittance advice from {company}: £{format_pounds(pay.amount_pence)} "
        f"paid {pay.payment_date:%d/%m/%Y}",
        body=body,
    )

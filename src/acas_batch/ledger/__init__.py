"""The accounting data the jobs work on, and the posting rules that keep it double-entry.

``posting`` writes journals (the only place), ``sl``/``pl``/``stock`` post subledger
transactions through it (``supplier_payments`` pays a payment run's chunk of suppliers at
once, ``vat`` settles VAT returns with HMRC), ``balances`` states the invariants as queries,
``money`` names the rounding, ``demo`` builds a deterministic demo company (import it from
``acas_batch.ledger.demo``: it is not loaded here).
"""

from __future__ import annotations

from acas_batch.ledger.balances import (
    AccountBalance,
    Reconciliation,
    account_balance,
    control_balance,
    customer_balances_total,
    grni_listing_total,
    reconcile,
    stock_valuation_total,
    supplier_balances_total,
    trial_balance,
    unbalanced_journals,
    vat_owed_total,
)
from acas_batch.ledger.money import percent_of, pro_rata, vat_for
from acas_batch.ledger.pl import (
    Delivery,
    OrderLine,
    PaymentAllocation,
    PurchaseLine,
    allocate_purchase_credit_note,
    create_purchase_order,
    post_purchase_invoice,
    post_supplier_payment,
    receive_goods,
)
from acas_batch.ledger.posting import (
    JournalDraft,
    LineDraft,
    control_account,
    cr,
    dr,
    journal_problems,
    open_period_for,
    period_for,
    post_journal,
    post_pending,
    reverse_journal,
)
from acas_batch.ledger.sl import SalesLine, allocate_credit_note, allocate_receipt, post_receipt, post_sales_invoice
from acas_batch.ledger.stock import adjust_stock, issue_stock, transfer_stock
from acas_batch.ledger.vat import settle_vat_return

__all__ = [
    "AccountBalance",
    "Delivery",
    "JournalDraft",
    "LineDraft",
    "OrderLine",
    "PaymentAllocation",
    "PurchaseLine",
    "Reconciliation",
    "SalesLine",
    "account_balance",
    "adjust_stock",
    "allocate_credit_note",
    "allocate_purchase_credit_note",
    "allocate_receipt",
    "control_account",
    "control_balance",
    "cr",
    "create_purchase_order",
    "customer_balances_total",
    "dr",
    "grni_listing_total",
    "issue_stock",
    "journal_problems",
    "open_period_for",
    "percent_of",
    "period_for",
    "post_journal",
    "post_pending",
    "post_purchase_invoice",
    "post_receipt",
    "post_sales_invoice",
    "post_supplier_payment",
    "pro_rata",
    "receive_goods",
    "reconcile",
    "reverse_journal",
    "settle_vat_return",
    "stock_valuation_total",
    "supplier_balances_total",
    "transfer_stock",
    "trial_balance",
    "unbalanced_journals",
    "vat_for",
    "vat_owed_total",
]

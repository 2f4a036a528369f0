"""Pure posting rules: a draft's checks, and the journals the sales rules build."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from acas_batch.ledger.documents import price_line
from acas_batch.ledger.posting import JournalDraft, LineDraft, cr, dr, journal_problems
from acas_batch.ledger.sl import SalesLine, sales_document_journal
from acas_batch.models import DocumentKind, JournalSource

DAY = date(2026, 5, 1)
DEBTORS, VAT_OUT, SALES, SERVICES = 3, 7, 12, 13
RATES = {1: Decimal("0.2000"), 2: Decimal("0.0500"), 3: Decimal("0")}


def _draft(*lines: LineDraft) -> JournalDraft:
    return JournalDraft(DAY, JournalSource.GL, "J1", lines)


def test_a_balanced_draft_has_no_problems() -> None:
    assert journal_problems(_draft(dr(1, 500), cr(2, 300), cr(3, 200))) == []


def test_an_unbalanced_draft_names_the_difference() -> None:
    (problem,) = journal_problems(_draft(dr(1, 500), cr(2, 499)))
    assert "does not balance" in problem and "difference 1" in problem


def test_a_line_on_both_sides_and_an_empty_journal_are_problems() -> None:
    assert any("both a debit and a credit" in p for p in journal_problems(_draft(LineDraft(1, 5, 5))))
    assert any("no non-zero line" in p for p in journal_problems(_draft(dr(1, 0), cr(2, 0))))


def test_negative_amounts_flip_sides() -> None:
    assert dr(1, -5) == LineDraft(1, 0, 5)
    assert cr(1, -5) == LineDraft(1, 5, 0)


line_strategy = st.builds(
    SalesLine,
    st.integers(min_value=1, max_value=500),
    st.integers(min_value=0, max_value=100_000),
    st.sampled_from(sorted(RATES)),
    st.sampled_from([SALES, SERVICES]),
)


@given(st.lists(line_strategy, min_size=1, max_size=12), st.sampled_from(list(DocumentKind)))
def test_sales_journals_balance_and_carry_the_vat_of_each_line(lines: list[SalesLine], kind: DocumentKind) -> None:
    priced = [(ln, price_line(ln.quantity, ln.unit_price_pence, ln.vat_code_id, RATES[ln.vat_code_id])) for ln in lines]
    draft = sales_document_journal(
        kind=kind, number="INV1", on=DAY, debtors_id=DEBTORS, vat_output_id=VAT_OUT, lines=priced
    )
    assert draft.debits == draft.credits
    gross = sum(p.net_pence + p.vat_pence for _, p in priced)
    vat = sum(p.vat_pence for _, p in priced)
    debtors = sum(x.debit_pence - x.credit_pence for x in draft.lines if x.account_id == DEBTORS)
    vat_side = sum(x.credit_pence - x.debit_pence for x in draft.lines if x.account_id == VAT_OUT)
    sign = 1 if kind == DocumentKind.INVOICE else -1
    assert debtors == sign * gross
    assert vat_side == sign * vat

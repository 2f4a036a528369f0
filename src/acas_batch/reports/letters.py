"""The layouts of the letters sent in bulk: statements of account, payment reminders, remittance advices.

Each layout is a function from plain values (money in integer pence) to the deflated
contents of its pages (:mod:`acas_batch.reports.pdf`), A4 with 18 mm margins above and
below and 14 mm at the sides; the company's name and "Page k of n" of the letter itself in
its footer. A letter longer than a page goes on over the next, its table's headings again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from acas_batch.analysis.money import format_pounds
from acas_batch.reports.pdf import MM, PAGE_HEIGHT, PAGE_WIDTH, Page, text_width

LEFT, RIGHT = 14 * MM, PAGE_WIDTH - 14 * MM
TOP, BOTTOM = 18 * MM, PAGE_HEIGHT - 18 * MM
FOOTER = PAGE_HEIGHT - 9 * MM + 3  # the footer's baseline, in the bottom margin
PAD = 1.5 * MM  # a cell's inner space at its sides
ROW = 15.0  # a table row's height
LEADING = 11.0  # between lines of 9 pt text
GRAY, LIGHT, FAINT = 0.2, 0.33, 0.87


def pounds(pence: int, *, blank_zero: bool = False) -> str:
    return "" if blank_zero and pence == 0 else format_pounds(int(pence))


def uk_date(day: date | None) -> str:
    return "" if day is None else day.strftime("%d/%m/%Y")


@dataclass(frozen=True)
class Column:
    """A table column: its heading, where it starts and ends, and how its text lines up."""

    heading: str
    start: float
    end: float
    right: bool = False

    def draw(self, page: Page, y: float, text: str, *, bold: bool = False, end: float | None = None) -> None:
        """``text`` in this column; a left-aligned one may run on to ``end`` (over empty cells)."""
        if self.right:
            page.text(self.end - PAD, y, text, bold=bold, align="right")
        else:
            page.text(self.start + PAD, y, text, bold=bold, width=(end or self.end) - self.start - 2 * PAD)


def columns(spec: Sequence[tuple[str, float, bool]], *, left: float = LEFT, right: float = RIGHT) -> list[Column]:
    """Columns from ``(heading, width in mm or 0 for the rest, right-aligned)``."""
    rest = (right - left - sum(w * MM for _, w, _ in spec)) / max(1, sum(1 for _, w, _ in spec if not w))
    out, x = [], left
    for heading, width, is_right in spec:
        end = x + (width * MM if width else rest)
        out.append(Column(heading, x, end, is_right))
        x = end
    return out


class Letter:
    """The pages of one letter as it is drawn, top to bottom, with a cursor ``y``.

    :meth:`room` starts a new page when what comes next does not fit; a page after the first
    starts with ``continued`` (the letter's title and whom it is for) and the headings of the
    table ``cols``, the one a long letter runs over with.
    """

    def __init__(self, company: str, continued: str = "", cols: Sequence[Column] = ()) -> None:
        self.company = company
        self.pages = [Page()]
        self.y = TOP
        self._continued = continued
        self._cols = cols

    @property
    def page(self) -> Page:
        return self.pages[-1]

    def room(self, height: float) -> None:
        if self.y + height > BOTTOM:
            self.pages.append(Page())
            self.y = TOP
            if self._continued:
                self.page.text(LEFT, TOP + 11, self._continued, size=11, bold=True, width=RIGHT - LEFT)
                self.y = TOP + 11 + 4 * MM
            if self._cols:
                self.table_head(self._cols)

    def end_table(self) -> None:
        """What follows is not the table: a page started from here repeats no headings."""
        self._cols = ()

    def line(self, text: str, *, size: float = 9, bold: bool = False, gap: float = LEADING) -> None:
        self.room(gap)
        self.y += gap
        self.page.text(LEFT, self.y, text, size=size, bold=bold)

    def paragraph(self, runs: Sequence[tuple[str, bool]], *, gap: float = 3 * MM) -> None:
        """Words of ``runs`` (text, bold) set across the page, a new line where the next word
        would pass the right margin; ``gap`` above it."""
        self.y += gap
        words = [(word, bold) for text, bold in runs for word in text.split()]
        x = LEFT
        self.room(LEADING)
        self.y += LEADING
        space = text_width(" ")
        for word, bold in words:
            w = text_width(word, bold=bold)
            if x > LEFT and x + w > RIGHT:
                self.room(LEADING)
                self.y += LEADING
                x = LEFT
            self.page.text(x, self.y, word, bold=bold)
            x += w + space

    def table_head(self, cols: Sequence[Column]) -> None:
        """The table's headings; one too long for its column goes on over more lines, broken
        between words (the row is as tall as the longest), as a browser lays out a table's head."""
        lines = [wrap_text(col.heading, col.end - col.start - 2 * PAD, bold=True) for col in cols]
        height = ROW + (max((len(x) for x in lines), default=1) - 1) * LEADING
        self.room(height + ROW)
        for col, texts in zip(cols, lines, strict=True):
            for k, text in enumerate(texts):
                col.draw(self.page, self.y + 10.5 + k * LEADING, text, bold=True)
        self.y += height
        self.page.rule(LEFT, self.y, RIGHT, gray=GRAY)

    def row(self, cols: Sequence[Column], cells: Sequence[str], *, total: bool = False, wrap: bool = False) -> None:
        """A row of ``cells`` (on a new page when this one is full: its heading repeats the table's).

        A text runs on over the empty cells after it; with ``wrap``, a text too long for its
        column goes on over more lines instead, and the row is as tall as its longest text.
        """
        lines = [
            wrap_text(cell, col.end - col.start - 2 * PAD, bold=total) if wrap and not col.right else [cell]
            for col, cell in zip(cols, cells, strict=True)
        ]
        height = ROW + (max((len(x) for x in lines), default=1) - 1) * LEADING
        self.room(height + 2)
        if total:
            self.page.rule(LEFT, self.y, RIGHT, gray=GRAY)
        for i, (col, texts) in enumerate(zip(cols, lines, strict=True)):
            end = None
            if not wrap and texts[0]:  # running on over the empty cells after it, as far as the next one's text
                end = next((c.start for c, x in zip(cols[i + 1 :], cells[i + 1 :], strict=True) if x), RIGHT)
            for k, text in enumerate(texts):
                if text:
                    col.draw(self.page, self.y + 10.5 + k * LEADING, text, bold=total, end=end)
        self.y += height
        if total:
            self.page.rule(LEFT, self.y, RIGHT, width=0.5, gray=GRAY)
            self.page.rule(LEFT, self.y + 1.5, RIGHT, width=0.5, gray=GRAY)
        else:
            self.page.rule(LEFT, self.y, RIGHT, width=0.4, gray=FAINT)

    def finish(self) -> list[bytes]:
        """The pages' contents, each with the footer: the company, "Page k of n"."""
        n = len(self.pages)
        for k, page in enumerate(self.pages, start=1):
            page.text(LEFT, FOOTER, self.company, size=8, gray=LIGHT)
            page.text(RIGHT, FOOTER, f"Page {k} of {n}", size=8, gray=LIGHT, align="right")
        return [page.content() for page in self.pages]


def wrap_text(text: str, width: float, *, size: float = 9, bold: bool = False) -> list[str]:
    """``text`` in lines no wider than ``width``, broken between words (a word too long for a
    line of its own is cut when drawn, ending in an ellipsis)."""
    if text_width(text, size=size, bold=bold) <= width:
        return [text]
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if line and text_width(candidate, size=size, bold=bold) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines or [""]


def _addressed(letter: Letter, title: str, left: Sequence[str], right: Sequence[str], *, size: float = 14) -> None:
    """The title, then the sender (bold, at the left) beside the addressee's lines (at the right)."""
    page = letter.page
    page.text(LEFT, TOP + size, title, size=size, bold=True)
    y = TOP + size + 8
    for i, text in enumerate(left):
        page.text(LEFT, y + 9 + i * LEADING, text, bold=i == 0, width=(RIGHT - LEFT) / 2 - PAD)
    x = RIGHT - max((min(text_width(t), (RIGHT - LEFT) / 2) for t in right), default=0)
    for i, text in enumerate(right):
        page.text(x, y + 9 + i * LEADING, text, width=RIGHT - x)
    letter.y = y + max(len(left), len(right)) * LEADING + 5 * MM


# --- statements -------------------------------------------------------------------------------


class StatementLike(Protocol):
    """What a statement prints: the customer, the balances, the aged buckets, the period's lines
    (``on``, ``kind``, ``ref``, ``debit``, ``credit``, ``balance``)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def opening(self) -> int: ...
    @property
    def closing(self) -> int: ...
    @property
    def aged(self) -> Sequence[int]: ...
    @property
    def lines(self) -> Sequence[dict[str, Any]]: ...


STATEMENT_COLUMNS = columns(
    [("Date", 28, False), ("Type", 24, False), ("Reference", 0, False), ("Debit", 30, True), ("Credit", 30, True),
     ("Balance", 32, True)]
)  # fmt: skip

#: The height of the aged summary and the remittance slip that close a statement.
_CLOSING = 20 + 2 * ROW + 10 * MM + 16 + 2 * LEADING + 14


def statement_pages(st: StatementLike, *, company: str, start: date, end: date, labels: Sequence[str]) -> list[bytes]:
    """One customer's statement of account: the period's transactions with a running balance
    from the balance brought forward, the balance now due, the aged summary and a slip."""
    cols = STATEMENT_COLUMNS
    letter = Letter(company, f"Statement (continued): {st.name}, account {st.code}", cols)
    period = f"Period {uk_date(start)} to {uk_date(end)}"
    _addressed(letter, "Statement", [company], [st.name, f"Account {st.code}", period])
    letter.table_head(cols)
    letter.row(cols, [uk_date(start), "Balance brought forward", "", "", "", pounds(st.opening)])
    for t in st.lines:
        letter.row(
            cols,
            [uk_date(t["on"]), t["kind"], str(t["ref"] or ""), pounds(t["debit"], blank_zero=True),
             pounds(t["credit"], blank_zero=True), pounds(t["balance"])],
        )  # fmt: skip
    letter.row(cols, [uk_date(end), "Balance now due", "", "", "", pounds(st.closing)], total=True)
    letter.room(_CLOSING)
    letter.line("Aged summary", size=10.5, bold=True, gap=20)
    letter.y += 4
    aged = columns([(label, 0, True) for label in [*labels, "Total"]])
    letter.table_head(aged)
    letter.row(aged, [pounds(v) for v in [*st.aged, sum(st.aged)]])
    letter.y += 10 * MM
    letter.page.rule(LEFT, letter.y, RIGHT, gray=GRAY, dash=2)
    letter.y += 4 * MM
    lead = "Remittance slip"
    w = letter.page.text(LEFT, letter.y + 9, lead, bold=True)
    letter.page.text(LEFT + w, letter.y + 9, f" \u2014 please return with your payment to {company}")
    letter.line(f"Account {st.code}, {st.name}; statement to {uk_date(end)}", gap=9 + LEADING)
    due = f"Amount due: {pounds(st.closing)}"
    letter.y += 16
    w = letter.page.text(LEFT, letter.y, due, size=12, bold=True)
    letter.page.text(LEFT + w + 8, letter.y, "Amount paid: ______________")
    return letter.finish()


# --- payment reminders ------------------------------------------------------------------------


class ReminderLike(Protocol):
    """What a reminder prints; ``invoices`` hold ``number``, ``invoice_date``, ``due_date``,
    ``days``, ``outstanding``, ``interest``, ``compensation``."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def level(self) -> int: ...
    @property
    def days_overdue(self) -> int: ...
    @property
    def overdue(self) -> int: ...
    @property
    def interest(self) -> int: ...
    @property
    def compensation(self) -> int: ...
    @property
    def invoices(self) -> Sequence[dict[str, Any]]: ...


REMINDER_TITLES = {1: "Payment reminder", 2: "Second reminder: payment overdue", 3: "Final notice before collection"}


def reminder_pages(r: ReminderLike, *, company: str, day: date, statutory: bool) -> list[bytes]:
    """A dunning letter at ``r.level`` (1-3): the overdue invoices, their total and, under the
    Late Payment Act, the interest and compensation claimed."""
    spec = [("Invoice", 0, False), ("Date", 26, False), ("Due", 26, False), ("Days overdue", 26, True),
            ("Outstanding", 30, True)]  # fmt: skip
    if statutory:
        spec += [("Interest", 26, True), ("Compensation", 30, True)]
    cols = columns(spec)
    letter = Letter(company, f"{REMINDER_TITLES[r.level]} (continued): {r.name}, account {r.code}", cols)
    page = letter.page
    page.text(LEFT, TOP + 9, company, bold=True)
    page.text(LEFT, TOP + 9 + 2 * LEADING, r.name, width=RIGHT - LEFT)
    page.text(LEFT, TOP + 9 + 3 * LEADING, f"Account {r.code}")
    page.text(LEFT, TOP + 9 + 5 * LEADING, uk_date(day))
    letter.y = TOP + 9 + 5 * LEADING + 8 * MM
    red = (0.6, 0.0, 0.0) if r.level == 3 else None
    page.text(LEFT, letter.y, REMINDER_TITLES[r.level], size=14, bold=True, color=red)
    count = len(r.invoices)
    letter.paragraph(
        [(f"Our records show {count} invoice{'s' if count != 1 else ''} unpaid past their due date, the oldest "
          f"{r.days_overdue} days overdue. The overdue total is", False), (f"{pounds(r.overdue)}.", True)]
    )  # fmt: skip
    letter.y += 3 * MM
    letter.table_head(cols)
    for i in r.invoices:
        cells = [str(i["number"]), uk_date(i["invoice_date"]), uk_date(i["due_date"]), str(i["days"]),
                 pounds(i["outstanding"])]  # fmt: skip
        if statutory:
            cells += [pounds(i["interest"]), pounds(i["compensation"])]
        letter.row(cols, cells)
    if statutory:
        letter.paragraph(
            [("Under the Late Payment of Commercial Debts (Interest) Act 1998 we are entitled to interest at 8% "
              "over the Bank of England reference rate and fixed compensation per invoice: interest "
              f"{pounds(r.interest)}, compensation {pounds(r.compensation)} to date.", False)]
        )  # fmt: skip
    if r.level == 3:
        closing = "Unless the overdue amount is paid within 7 days the account will be passed for collection."
    else:
        closing = "Please arrange payment, or let us know if you have already paid."
    letter.paragraph([(closing, False)])
    return letter.finish()


# --- remittance advices -----------------------------------------------------------------------


def remittance_pages(
    *,
    company: str,
    supplier_name: str,
    supplier_code: str,
    payment_date: date,
    method: str,
    reference: str,
    lines: Sequence[dict[str, Any]],
    cleared: int,
    discount: int,
    paid: int,
    credits: Sequence[dict[str, Any]],
) -> list[bytes]:
    """A remittance advice: the invoices one payment settles (``lines``: ``number``,
    ``invoice_date``, ``amount``, ``discount``), the total, and the credit notes set against them."""
    cols = columns([("Your invoice", 0, False), ("Date", 30, False), ("Amount", 32, True), ("Discount", 30, True),
                    ("Paid", 32, True)])  # fmt: skip
    letter = Letter(company, f"Remittance advice (continued): {supplier_name}", cols)
    page = letter.page
    page.text(LEFT, TOP + 14, "Remittance advice", size=14, bold=True)
    page.text(LEFT, TOP + 14 + 14, company, gray=0.27)
    y = TOP + 28 + 6 * MM
    middle = LEFT + (RIGHT - LEFT) * 0.52
    for x, label, texts in (
        (LEFT, "To", [supplier_name, f"Account {supplier_code}"]),
        (middle, "Payment", [f"{uk_date(payment_date)} by {method}", f"Reference {reference}"]),
    ):
        page.text(x, y, label, size=8, gray=LIGHT)
        for k, t in enumerate(texts, start=1):
            page.text(x, y + k * LEADING, t, width=(RIGHT - LEFT) * 0.46)
    letter.y = y + 2 * LEADING + 6 * MM
    letter.table_head(cols)
    for line in lines:
        amount, off = int(line["amount"]), int(line["discount"])
        letter.row(cols, [str(line["number"]), uk_date(line["invoice_date"]), pounds(amount),
                          pounds(off, blank_zero=True), pounds(amount - off)])  # fmt: skip
    letter.row(cols, ["Total", "", pounds(cleared), pounds(discount, blank_zero=True), pounds(paid)], total=True)
    if credits:
        letter.y += 3 * MM
    for c in credits:
        letter.line(f"Your credit note {c['number']} of {pounds(c['amount'])} was set against invoice {c['invoice']}.",
                    size=8)  # fmt: skip
    return letter.finish()

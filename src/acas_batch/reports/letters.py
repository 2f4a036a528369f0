"""The layouts of the letters sent in bulk: statements of account, payment reminders, remittance advices.

Each layout is a function from plain values (money in integer pence) to the deflated
contents of its pages (:mod:`acas_batch.reports.pdf`), A4 with 18 mm margins above and
below and 14 mm at the sides; the company's name and "Page k of n" of the letter itself in
its footer. A letter longer than a page goes on over the next, its table's headings again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

    ``heading`` draws what a page after the first starts with (and returns where the
    cursor is then); :meth:`room` starts a new page when what comes next does not fit.
    """

    def __init__(self, company: str, heading: Callable[[Page], float] | None = None) -> None:
        self.company = company
        self.pages = [Page()]
        self.y = TOP
        self._heading = heading

    @property
    def page(self) -> Page:
        return self.pages[-1]

    def room(self, height: float) -> None:
        if self.y + height > BOTTOM:
            self.pages.append(Page())
            self.y = self._heading(self.page) if self._heading else TOP

    def line(self, text: str, *, size: float = 9, bold: bool = False, gap: float = LEADING) -> None:
        self.room(gap)
        self.y += gap
        self.page.text(LEFT, self.y, text, size=size, bold=bold)

    def table_head(self, cols: Sequence[Column]) -> None:
        self.room(2 * ROW)
        for col in cols:
            col.draw(self.page, self.y + 10.5, col.heading, bold=True)
        self.y += ROW
        self.page.rule(LEFT, self.y, RIGHT, gray=GRAY)

    def row(self, cols: Sequence[Column], cells: Sequence[str], *, total: bool = False) -> None:
        """A row of ``cells`` (on a new page when this one is full: its heading repeats the table's)."""
        self.room(ROW + 2)
        if total:
            self.page.rule(LEFT, self.y, RIGHT, gray=GRAY)
        for i, (col, cell) in enumerate(zip(cols, cells, strict=True)):
            if cell:  # running on over the empty cells after it, as far as the next one's text
                end = next((c.start for c, x in zip(cols[i + 1 :], cells[i + 1 :], strict=True) if x), RIGHT)
                col.draw(self.page, self.y + 10.5, cell, bold=total, end=end)
        self.y += ROW
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

    def continued(page: Page) -> float:
        page.text(LEFT, TOP + 11, f"Statement (continued): {st.name}, account {st.code}", size=11, bold=True)
        letter.y = TOP + 11 + 4 * MM
        letter.table_head(cols)
        return letter.y

    letter = Letter(company, continued)
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

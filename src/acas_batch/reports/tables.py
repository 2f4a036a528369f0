"""The layout of a report of one table (trial balance, aged debtors, valuations, ...) for the PDF writer.

The page is the one ``table.html`` gives through WeasyPrint: the title and a subtitle, the
table with its headings repeated on every page it runs over, a bold total row between a
rule and a double rule, notes in small grey type, the company and "Page k of n" in the
footer. Columns are as wide as their widest text, the spare width shared out in proportion,
as a browser lays out a table of ``width: 100%``; a text too long for its column wraps
onto more lines of its row. When the table is too wide so, each column is made as wide as the
longest word it holds and the spare width shared out, the headings and texts wrapping between
words; when even that is too wide, the text columns share what the figures leave, a word too
long for its column cut with an ellipsis. A table whose figures alone do not fit across the page, or a
text with a character the report fonts lack, is not drawn here (:func:`table_pages` gives
``None``) and goes to WeasyPrint, which can fall back to other fonts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from acas_batch.reports.letters import LEADING, LEFT, PAD, RIGHT, TOP, Column, Letter, pounds, wrap_text
from acas_batch.reports.pdf import MM, fonts, text_width

#: The narrowest a text column is squeezed to, its words cut, when even its longest words do not fit.
MIN_TEXT = 18 * MM
NOTE_SIZE, NOTE_LEADING = 8.0, 10.0


def _cells(row: Sequence[Any], money: set[int]) -> list[str]:
    return [
        (pounds(int(cell)) if cell is not None else "") if i in money else ("" if cell is None else str(cell))
        for i, cell in enumerate(row)
    ]


def _longest_word(text: str, *, bold: bool = False) -> float:
    return max((text_width(word, bold=bold) for word in text.split()), default=0.0)


def _min_content_widths(
    columns: Sequence[str], body: list[list[str]], total: list[str] | None, money: set[int], natural: list[float]
) -> list[float] | None:
    """Widths for a table too wide with every text on one line, as a browser's automatic table
    layout gives them: each column at least as wide as the longest word it holds (its heading's,
    its texts'; a figure whole), the spare width shared in proportion to what each column would
    need more to hold its texts on one line. Headings and texts then wrap between words, and no
    word is cut; ``None`` when even those least widths do not fit across the page."""
    # A hundredth of a point more than the word: the columns' edges are sums of floats
    least = [_longest_word(heading, bold=True) + 2 * PAD + 0.01 for heading in columns]
    for row, bold in [*((cells, False) for cells in body), *([(total, True)] if total is not None else [])]:
        for i, cell in enumerate(row):
            word = text_width(cell, bold=bold) if i in money else _longest_word(cell, bold=bold)
            least[i] = max(least[i], word + 2 * PAD + 0.01)
    room = RIGHT - LEFT
    spare, grow = room - sum(least), [n - m for n, m in zip(natural, least, strict=True)]
    if spare < 0 or sum(grow) <= 0:
        return None
    return [m + spare * g / sum(grow) for m, g in zip(least, grow, strict=True)]


def _squeezed(natural: list[float], money: set[int], room: float) -> list[float] | None:
    """Widths when even the longest words do not fit: the figures keep theirs and the text
    columns share what is left in proportion, no narrower than :data:`MIN_TEXT`, a word too
    long for its column cut with an ellipsis (``None``: not even the figures fit)."""
    fixed = sum(w for i, w in enumerate(natural) if i in money)
    texts = [i for i in range(len(natural)) if i not in money]
    left = room - fixed
    if not texts or left < MIN_TEXT * len(texts):
        return None
    text_total = sum(natural[i] for i in texts)
    return [w if i in money else max(MIN_TEXT, left * w / text_total) for i, w in enumerate(natural)]


def table_pages(
    *,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    money_columns: Sequence[int] = (),
    totals: Sequence[Any] | None = None,
    subtitle: str = "",
    company: str = "",
    notes: Sequence[str] = (),
) -> list[bytes] | None:
    """The deflated pages of the report, or ``None`` when the writer cannot draw it (see above)."""
    money = set(money_columns)
    body = [_cells(row, money) for row in rows]
    total = _cells(totals, money) if totals is not None else None
    texts = [title, subtitle, company, *columns, *notes, *(c for row in body for c in row), *(total or ())]
    if not all(font.prints(t) for font in fonts() for t in texts):
        return None
    natural = [text_width(heading, bold=True) + 2 * PAD for heading in columns]
    for cells in body:
        for i, cell in enumerate(cells):
            natural[i] = max(natural[i], text_width(cell) + 2 * PAD)
    for i, cell in enumerate(total or ()):
        natural[i] = max(natural[i], text_width(cell, bold=True) + 2 * PAD)
    room = RIGHT - LEFT
    if sum(natural) <= room:
        widths: list[float] | None = [w * room / sum(natural) for w in natural] if sum(natural) else natural
    else:
        widths = _min_content_widths(columns, body, total, money, natural) or _squeezed(natural, money, room)
    if widths is None:
        return None
    cols, x = [], LEFT
    for i, (heading, width) in enumerate(zip(columns, widths, strict=True)):
        cols.append(Column(heading, x, x + width, i in money))
        x += width

    letter = Letter(company, cols=cols)
    page = letter.page
    page.text(LEFT, TOP + 14, title, size=14, bold=True, width=RIGHT - LEFT)
    letter.y = TOP + 14 + 2 * MM
    if subtitle:
        letter.y += LEADING
        page.text(LEFT, letter.y, subtitle, gray=0.27, width=RIGHT - LEFT)
    letter.y += 5 * MM
    letter.table_head(cols)
    for cells in body:
        letter.row(cols, cells, wrap=True)
    if total is not None:
        letter.row(cols, total, total=True, wrap=True)
    letter.end_table()
    if notes:
        letter.y += 5 * MM
        for note in notes:
            for line in wrap_text(note, RIGHT - LEFT, size=NOTE_SIZE):
                letter.room(NOTE_LEADING)
                letter.y += NOTE_LEADING
                letter.page.text(LEFT, letter.y, line, size=NOTE_SIZE, gray=0.27)
            letter.y += 2 * MM
    return letter.finish()

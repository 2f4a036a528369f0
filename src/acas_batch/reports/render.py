"""Rendering: Jinja2 templates to HTML, WeasyPrint HTML to PDF, rows to CSV.

Money reaches templates as integer pence and is shown with the ``pounds`` filter, so a
document can never print a float. Files are written to a temporary name in their
folder, synced and renamed into place (:func:`atomic_file`), so neither a crash nor a full disk
ever leaves half a document where a user looks.
"""

from __future__ import annotations

import csv
import io
import itertools
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from acas_batch.analysis.money import format_pounds
from acas_batch.reports.files import atomic_file
from acas_batch.reports.pdf import write_pages
from acas_batch.reports.tables import table_pages

#: The report fonts (a Latin subset of DejaVu Sans; see ``fonts/LICENSE``).
FONTS = Path(__file__).resolve().parent / "fonts"


def _pounds(pence: int | None, blank_zero: bool = False) -> str:
    if pence is None or (blank_zero and pence == 0):
        return ""
    return format_pounds(int(pence))


def _uk_date(value: date | datetime | None) -> str:
    return "" if value is None else value.strftime("%d/%m/%Y")


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("acas_batch.reports", "templates"),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["fonts"] = FONTS.as_uri()
    env.filters["pounds"] = _pounds
    env.filters["uk_date"] = _uk_date
    return env


def render_html(template: str, **context: Any) -> str:
    """Render ``templates/<template>`` with ``context``."""
    return environment().get_template(template).render(**context)


def _replace_atomically(path: Path, data: bytes) -> Path:
    with atomic_file(path) as fh:
        fh.write(data)
    return path


def write_text(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    """A text file written atomically, readable by its owner only (Bacs files, MTD JSON)."""
    return _replace_atomically(path, text.encode(encoding))


def _weasyprint_html() -> Any:
    with warnings.catch_warnings():
        # Without libharfbuzz-subset WeasyPrint subsets fonts itself; nothing to act on.
        warnings.filterwarnings("ignore", "HarfBuzz-Subset", DeprecationWarning)
        from weasyprint import HTML  # imported lazily: loading Pango takes a moment
    return HTML


def write_pdf(path: Path, template: str, **context: Any) -> Path:
    """Render a template to a PDF file at ``path`` (replaced atomically)."""
    html = render_html(template, **context)
    pdf = _weasyprint_html()(string=html, base_url=str(path.parent)).write_pdf()
    if pdf is None:
        raise RuntimeError(f"WeasyPrint produced no PDF for {template}")
    return _replace_atomically(path, pdf)


#: Documents laid out together by :func:`write_pdf_set`.
PDF_SET_CHUNK = 200


def write_pdf_set(
    template: str,
    items_name: str,
    items: Sequence[Any],
    paths: Sequence[Path],
    *,
    context: dict[str, Any],
    combined: Path | None = None,
    chunk: int = PDF_SET_CHUNK,
) -> list[Path]:
    """One PDF per item (``paths[i]`` for ``items[i]``), and optionally all of them in ``combined``.

    Writing a PDF costs far more than laying out a page (fonts are subset and embedded per
    file), so the items are laid out ``chunk`` at a time in one document, written once, and
    the pages of each item are cut out of it. The template loops over ``items_name`` and
    marks each item's first element with ``id="doc-{{ loop.index0 }}"``.

    Each item is numbered on its own ("Page 1 of 1" on a one-page letter, never the page of
    the chunk it was laid out in, which would also tell a customer how many others got
    one): the chunk is laid out without page numbers and each page gets its item's number
    laid over it. The combined file is the items one after another, each with its numbers.
    """
    from pypdf import PdfWriter

    if len(items) != len(paths):
        raise ValueError(f"{len(items)} documents but {len(paths)} file names")
    html_class = _weasyprint_html()
    everything = PdfWriter() if combined is not None else None
    base_url = str((combined or paths[0]).parent) if paths or combined else "."
    for first in range(0, len(items), chunk):
        part = items[first : first + chunk]
        html = render_html(template, **{**context, items_name: part, "document_pages": True})
        document = html_class(string=html, base_url=base_url).render()
        starts: dict[int, int] = {}
        for number, page in enumerate(document.pages):
            for anchor in page.anchors:
                if anchor.startswith("doc-"):
                    starts.setdefault(int(anchor[4:]), number)
        if sorted(starts) != list(range(len(part))):
            raise RuntimeError(f"{template} must mark each of its {items_name} with id=doc-<index>")
        pdf = document.write_pdf()
        if pdf is None:
            raise RuntimeError(f"WeasyPrint produced no PDF for {template}")
        reader = PdfWriter(clone_from=io.BytesIO(pdf))
        bounds = [starts[i] for i in range(len(part))] + [len(reader.pages)]
        _number_pages(reader, bounds)
        for i in range(len(part)):
            one = PdfWriter()
            for page in reader.pages[bounds[i] : bounds[i + 1]]:
                one.add_page(page)
            buffer = io.BytesIO()
            one.write(buffer)
            _replace_atomically(paths[first + i], buffer.getvalue())
        if everything is not None:
            for page in reader.pages:
                everything.add_page(page)
    if combined is not None and everything is not None and items:
        buffer = io.BytesIO()
        everything.write(buffer)
        _replace_atomically(combined, buffer.getvalue())
        return [*paths, combined]
    return list(paths)


def _number_pages(reader: Any, bounds: Sequence[int]) -> None:
    """Lay "Page k of n" over each page, ``n`` the pages of its own item (``bounds``: where each starts)."""
    from pypdf import PdfReader

    numbers = sorted({(k, b - a) for a, b in itertools.pairwise(bounds) for k in range(1, b - a + 1)})
    html = render_html("page_numbers.html", numbers=numbers)
    overlay = _weasyprint_html()(string=html, base_url=".").write_pdf()
    if overlay is None:
        raise RuntimeError("WeasyPrint produced no PDF for page_numbers.html")
    stamps = dict(zip(numbers, PdfReader(io.BytesIO(overlay)).pages, strict=True))
    for a, b in itertools.pairwise(bounds):
        for k in range(1, b - a + 1):
            reader.pages[a + k - 1].merge_page(stamps[(k, b - a)])


def write_table_pdf(
    path: Path,
    *,
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    money_columns: Sequence[int] = (),
    totals: Sequence[Any] | None = None,
    subtitle: str = "",
    company: str = "",
    notes: Sequence[str] = (),
) -> Path:
    """A titled report of one table; ``money_columns`` hold pence and print as pounds.

    Drawn by the PDF writer (:mod:`acas_batch.reports.tables`), which takes about a hundredth
    of WeasyPrint's time; WeasyPrint lays out the tables the writer cannot draw (a character
    outside the report fonts, figures wider than the page), with the same look.
    """
    table = [list(r) for r in rows]
    pages = table_pages(
        title=title,
        columns=columns,
        rows=table,
        money_columns=money_columns,
        totals=totals,
        subtitle=subtitle,
        company=company,
        notes=notes,
    )
    if pages is not None:
        return write_pages(path, pages, title=title)
    return write_pdf(
        path,
        "table.html",
        title=title,
        subtitle=subtitle,
        company=company,
        columns=list(columns),
        rows=table,
        money=set(money_columns),
        totals=list(totals) if totals is not None else None,
        notes=list(notes),
    )


def pence_header(header: Sequence[str], money_columns: Iterable[int]) -> list[str]:
    """A CSV header whose money columns say they hold integer pence (``total`` -> ``total_pence``).

    Every money column of every CSV the jobs write is named ``..._pence`` and holds whole
    pence; the PDF beside it prints the same figures as pounds under the plain name.
    """
    money = set(money_columns)
    return [
        name if i not in money or name.endswith("_pence") or name == "pence" else f"{name}_pence"
        for i, name in enumerate(header)
    ]


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Stream rows to a CSV file (written to a temporary name, then renamed). Returns the row count."""
    with open_csv(path, header) as out:
        out.writerows(rows)
    return out.count


def write_csv_blocks(path: Path, header: Sequence[str], blocks: Iterable[bytes]) -> None:
    """A CSV file of ``header`` and then ``blocks``, lines already formatted (as ``db.copy_csv``
    gives them): written to a temporary name, synced, then renamed, as :func:`write_csv`."""
    with atomic_file(path) as fh:
        fh.write((",".join(_csv_fields(header)) + "\r\n").encode())
        for block in blocks:
            fh.write(block)


class CsvRows:
    """Rows written to an open CSV file, counted; ``None`` is written as an empty field."""

    def __init__(self, fh: Any) -> None:
        self._writer = csv.writer(fh)
        self._fh = fh
        self.count = 0

    def writerows(self, rows: Iterable[Sequence[Any]]) -> None:
        def counted() -> Iterator[Sequence[Any]]:
            for row in rows:
                self.count += 1
                yield row

        self._writer.writerows(counted())

    def write_grid(self, keys: Sequence[Any], columns: Sequence[Any], values: npt.ArrayLike) -> None:
        """Rows ``(key, column, value)`` for every key (outer) and column (inner), as ``writerows``
        writes them, ``values[i][j]`` beside the i-th key and j-th column.

        Formatted with one ``%`` over a repeated line template rather than row by row through
        the writer (a forecast writes hundreds of thousands of such rows). Keys and columns are
        quoted by the writer's own rule; values must be numbers, or their text as ``str`` writes
        it (what the writer writes for a number), which is written as it is.
        """
        if not keys or not columns:
            return
        line = "".join(f"%s,{column.replace('%', '%%')},%s\r\n" for column in _csv_fields(columns))
        cells = np.empty((len(keys), len(columns), 2), dtype=object)
        cells[:, :, 0] = np.array(_csv_fields(keys), dtype=object)[:, None]
        cells[:, :, 1] = values
        self._fh.write(line * len(keys) % tuple(cells.ravel().tolist()))
        self.count += len(keys) * len(columns)


def _csv_fields(values: Sequence[Any]) -> list[str]:
    """Each value as a ``csv.writer`` row writes it among other fields (quoted only where it must be)."""
    buf = io.StringIO()
    writer = csv.writer(buf)  # the default line end: it decides which fields are quoted
    out = []
    for value in values:
        buf.seek(0)
        buf.truncate()
        writer.writerow([value, ""])  # two fields: a lone empty field would be written as ""
        out.append(buf.getvalue()[:-3])  # less the empty field's comma and the line end
    return out


@contextmanager
def open_csv(path: Path, header: Sequence[str]) -> Iterator[CsvRows]:
    """A CSV file written as rows come (to a temporary name, synced and renamed into place on success)."""
    with atomic_file(path, "w", newline="", encoding="utf-8") as fh:
        out = CsvRows(fh)
        out.writerows([header])
        out.count = 0
        yield out

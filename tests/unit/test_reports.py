from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from pypdf import PdfReader

from acas_batch.analysis.money import format_pounds
from acas_batch.reports import open_csv, render_html, write_csv, write_table_pdf
from acas_batch.reports.letters import reminder_pages
from acas_batch.reports.pdf import combined_pdf, write_pages
from acas_batch.reports.render import pence_header, write_pdf_set


def test_table_pdf_shows_pounds_totals_and_escapes_text(tmp_path: Path) -> None:
    path = write_table_pdf(
        tmp_path / "out" / "trial_balance.pdf",
        title="Trial balance at 30/11/2026",
        columns=["Account", "Name", "Debit", "Credit"],
        rows=[("1100", "Debtors <control>", 1_234_567, None), ("4000", "Sales", None, 1_234_567)],
        money_columns=(2, 3),
        totals=("", "Total", 1_234_567, 1_234_567),
        company="Acme Wholesale Ltd",
        notes=["Balances are in pounds sterling."],
    )
    assert path.read_bytes().startswith(b"%PDF")
    text = PdfReader(path).pages[0].extract_text()
    assert "Trial balance at 30/11/2026" in text
    assert text.count("12,345.67") == 4  # two lines and two totals
    assert "Debtors <control>" in text
    assert not list(path.parent.glob(".*tmp*"))  # nothing half-written left behind


def test_a_table_runs_over_pages_with_its_headings_and_wraps_long_texts(tmp_path: Path) -> None:
    long_name = (
        "Refurbished warehouse racking bought from the liquidator of a neighbouring firm,"
        " with its delivery and fitting by our own staff over two weekends in March"
    )
    rows = [(f"{1000 + i}", long_name if i % 10 == 0 else f"Account {i}", i * 100 + 1, None) for i in range(120)]
    arguments: dict[str, Any] = {
        "title": "Nominal ledger",
        "columns": ["Account", "Name", "Debit", "Credit"],
        "rows": rows,
        "money_columns": (2, 3),
        "totals": ("", "Total", sum(r[2] for r in rows), 0),
        "company": "Acme Wholesale Ltd",
    }
    path = write_table_pdf(tmp_path / "a.pdf", **arguments)
    reader = PdfReader(path)
    assert reader.metadata is not None and reader.metadata.producer == "acas-batch"  # the writer, not WeasyPrint
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) >= 3
    for k, text in enumerate(pages, start=1):  # every page: the headings, the company, its number
        assert "Account" in text and "Debit" in text and "Credit" in text, k
        assert f"Page {k} of {len(pages)}" in text and "Acme Wholesale Ltd" in text
    everything = " ".join(pages)
    assert all(f"{1000 + i}" in everything for i in range(120))  # no row lost at a page break
    assert everything.count("liquidator") == 12  # the long name wrapped, not cut: every word prints
    assert everything.count("two weekends in March") == 12 and "…" not in everything
    assert format_pounds(sum(r[2] for r in rows)) in pages[-1]
    assert write_table_pdf(tmp_path / "b.pdf", **arguments).read_bytes() == path.read_bytes()  # the same bytes


def test_headings_too_wide_on_one_line_wrap_and_the_writer_still_draws_the_table(tmp_path: Path) -> None:
    # Eight columns whose headings on one line are wider than the page, as the reconciliation's
    columns = ["Section", "Account", "Date", "Reference", "Amount", "Control / cash book", "Subledger", "Difference"]
    rows = [
        ("cashbook unmatched", "BANK1", date(2026, 11, 16), f"RC{i:05d}", 1_234_567 + i, None, None, None)
        for i in range(200)
    ]
    rows.append(("bank proof", "BANK1", date(2026, 11, 30), "", 8_188_121_349, 9_382_651_555, 9_382_651_555, 0))
    arguments: dict[str, Any] = {"title": "Account reconciliation", "columns": columns, "rows": rows}
    path = write_table_pdf(tmp_path / "rec.pdf", money_columns=(4, 5, 6, 7), **arguments)
    reader = PdfReader(path)
    assert reader.metadata is not None and reader.metadata.producer == "acas-batch"  # not WeasyPrint
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) >= 4
    for text in pages:  # the heading on two lines, on every page
        assert "Control /" in text and "cash book" in text and "Control / cash book" not in text
    everything = " ".join(pages)
    assert all(f"RC{i:05d}" in everything for i in range(200))
    assert "93,826,515.55" in pages[-1] and "…" not in everything
    # Headings that fit on one line stay on one line
    fits = write_table_pdf(
        tmp_path / "fits.pdf", title="T", columns=["Account", "Control / cash book"], rows=[("A", "B")]
    )
    assert "Control / cash book" in PdfReader(fits).pages[0].extract_text()


def test_a_word_too_long_for_any_layout_is_cut_and_the_writer_still_draws_the_table(tmp_path: Path) -> None:
    # A reference with no space in it, wider than the page left beside four columns of figures
    word = "REF" + "X" * 80
    rows = [("C001", word, 1_234_567, 7_654_321, 1_000, 2_000)]
    columns = ["Customer", "Reference", "Balance", "Limit", "Over", "Due"]
    path = write_table_pdf(tmp_path / "cut.pdf", title="T", columns=columns, rows=rows, money_columns=(2, 3, 4, 5))
    reader = PdfReader(path)
    assert reader.metadata is not None and reader.metadata.producer == "acas-batch"  # not WeasyPrint
    text = reader.pages[0].extract_text()
    assert "REFXXX" in text and "…" in text and word not in text  # the word cut, the figures whole
    assert "12,345.67" in text and "76,543.21" in text


def test_a_table_whose_figures_do_not_fit_across_the_page_is_laid_out_by_weasyprint(tmp_path: Path) -> None:
    columns = ["Customer", *(f"Bucket {n}" for n in range(12))]
    row = ("C001", *(123_456_789_00 for _ in range(12)))
    path = write_table_pdf(tmp_path / "wide.pdf", title="Wide", columns=columns, rows=[row], money_columns=range(1, 13))
    reader = PdfReader(path)
    assert reader.metadata is not None and reader.metadata.producer != "acas-batch"
    assert "Bucket 11" in reader.pages[0].extract_text()


def test_html_escapes_and_formats() -> None:
    html = render_html(
        "table.html",
        title="<script>",
        subtitle="",
        company="",
        columns=["A"],
        rows=[[-5]],
        money={0},
        totals=None,
        notes=[],
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "-0.05" in html


def test_csv_streams_rows(tmp_path: Path) -> None:
    path = tmp_path / "aged.csv"
    count = write_csv(path, ["customer", "total"], ((f"C{i}", i * 100) for i in range(1000)))
    assert count == 1000
    with path.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["customer", "total"] and rows[-1] == ["C999", "99900"] and len(rows) == 1001


def test_a_csv_grid_is_written_byte_for_byte_as_row_by_row(tmp_path: Path) -> None:
    # Given keys and columns the writer must quote (comma, quote, newline, empty) or that hold a
    # % sign, and values from a float matrix (rounded, whole, tiny, large) and plain ints
    keys = ["PLAIN", "A,B", 'SAY "HI"', "TWO\nLINES", "", "50%"]
    columns = ["2027-01-01", "x,y", "%s"]
    floats = np.array([[1.0, 2.5, 1e-05], [1234567.891, 0.1 + 0.2, 3.0], [0.0, 7.125, 1e16]] * 2)
    for values in (floats, [[1, 2, 3]] * 6):
        # When both are written, one as a grid and one row by row
        with open_csv(tmp_path / "grid.csv", ["k", "c", "v"]) as grid:
            grid.write_grid(keys, columns, values)
        with open_csv(tmp_path / "rows.csv", ["k", "c", "v"]) as rows:
            table = np.asarray(values).tolist()  # Python floats or ints, as a row-by-row writer gets them
            rows.writerows((k, c, table[i][j]) for i, k in enumerate(keys) for j, c in enumerate(columns))
        # Then the files are the same bytes and both counted every row
        assert (tmp_path / "grid.csv").read_bytes() == (tmp_path / "rows.csv").read_bytes()
        assert grid.count == rows.count == 18
    with (tmp_path / "grid.csv").open(newline="") as fh:
        assert list(csv.reader(fh))[12] == ["TWO\nLINES", "%s", "3"]


def _letter(code: str, invoices: int) -> SimpleNamespace:
    lines = [
        {"number": f"{code}-INV{i:03d}", "invoice_date": date(2026, 9, 1), "due_date": date(2026, 10, 1), "days": 30,
         "outstanding": 1_000, "interest": 0, "compensation": 0}
        for i in range(invoices)
    ]  # fmt: skip
    return SimpleNamespace(
        code=code, name=f"Customer {code}", level=1, invoices=lines, days_overdue=30, overdue=1_000 * invoices,
        interest=0, compensation=0,
    )  # fmt: skip


def _statement(code: str, lines: int) -> SimpleNamespace:
    moves = [
        {"on": date(2026, 10, 1), "kind": "invoice", "ref": f"{code}-INV{i:03d}", "debit": 1_000, "credit": 0,
         "balance": 1_000 * (i + 1)}
        for i in range(lines)
    ]  # fmt: skip
    return SimpleNamespace(code=code, name=f"Customer {code}", opening=0, closing=1_000 * lines,
                           aged=[1_000 * lines, 0, 0, 0, 0, 0], lines=moves)  # fmt: skip


def _own_pages(pages: dict[str, list[Any]], combined: Path, ref: str) -> None:
    """Each letter's file has its own pages, and only those, each numbered within the letter."""
    assert len(pages["A001"]) == 1 and len(pages["C003"]) == 1 and len(pages["B002"]) >= 2
    for code, own in pages.items():
        text = "".join(page.extract_text() for page in own)
        assert f"Account {code}" in text or f"account {code}" in text
        assert all(f"ccount {other}" not in text for other in pages if other != code)
    # B002's lines are all in its own file, none lost at a page break.
    b_text = "".join(page.extract_text() for page in pages["B002"])
    assert all(f"B002-{ref}{i:03d}" in b_text for i in range(90))
    assert len(PdfReader(combined).pages) == sum(len(p) for p in pages.values())
    # Each letter is numbered on its own: C003, laid out after the others, is "Page 1 of 1"
    assert "Page 1 of 1" in pages["C003"][0].extract_text() and "Page 2" not in pages["C003"][0].extract_text()
    n = len(pages["B002"])
    assert [f"Page {k} of {n}" in page.extract_text() for k, page in enumerate(pages["B002"], start=1)] == [True] * n
    assert "Page 1 of 1" in pages["A001"][0].extract_text()


def test_a_pdf_set_gives_each_document_exactly_its_own_pages(tmp_path: Path) -> None:
    # Three statements laid out two at a time by WeasyPrint; the middle one runs over several pages.
    statements = [_statement("A001", 2), _statement("B002", 90), _statement("C003", 1)]
    paths = [tmp_path / f"{x.code}.pdf" for x in statements]
    common = {"company": "Acme", "start": date(2026, 10, 1), "end": date(2026, 10, 31), "title": "Statement",
              "labels": ["current", "1-30", "31-60", "61-90", "91-120", "121+"]}  # fmt: skip
    written = write_pdf_set(
        "statement.html", "statements", statements, paths, context=common, combined=tmp_path / "all.pdf", chunk=2
    )
    assert written == [*paths, tmp_path / "all.pdf"]
    pages = {x.code: PdfReader(path).pages for x, path in zip(statements, paths, strict=True)}
    _own_pages(pages, tmp_path / "all.pdf", "INV")


def test_each_letter_gets_its_own_pages_numbered_on_its_own_and_all_go_into_the_combined_file(
    tmp_path: Path,
) -> None:
    # Three reminders by the PDF writer; the middle one runs over several pages.
    letters = [_letter("A001", 2), _letter("B002", 90), _letter("C003", 1)]
    with combined_pdf(tmp_path / "all.pdf") as everything:
        for x in letters:
            contents = reminder_pages(x, company="Acme", day=date(2026, 10, 31), statutory=False)
            write_pages(tmp_path / f"{x.code}.pdf", contents)
            everything.add_pages(contents)
    pages = {x.code: PdfReader(tmp_path / f"{x.code}.pdf").pages for x in letters}
    _own_pages(pages, tmp_path / "all.pdf", "INV")


def test_a_pdf_set_refuses_a_template_that_does_not_mark_its_documents(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="id=doc-<index>"):
        write_pdf_set(
            "table.html",
            "letters",
            [1],
            [tmp_path / "x.pdf"],
            context={
                "title": "t",
                "subtitle": "",
                "company": "",
                "columns": [],
                "rows": [],
                "money": set(),
                "totals": None,
                "notes": [],
            },
        )
    assert not (tmp_path / "x.pdf").exists()


def test_pdfs_use_the_small_report_font_and_fall_back_for_other_scripts(tmp_path: Path) -> None:
    path = write_table_pdf(
        tmp_path / "fonts.pdf", title="Debtors", columns=["Name"], rows=[("Łódź Trading",), ("Smith & Sons",)]
    )
    page = PdfReader(path).pages[0]
    fonts = {str(f.get_object()["/BaseFont"]).split("+")[-1] for f in page["/Resources"]["/Font"].values()}
    assert {"ACAS-Sans", "ACAS-Sans-Bold"} <= fonts  # body and headings in the shipped subset
    assert "DejaVu-Sans" in fonts  # Ł and ź are outside it and still print
    assert "Łódź Trading" in page.extract_text()


def test_a_csv_money_column_says_it_holds_pence() -> None:
    # Given a PDF's column names, money in columns 2 and 3 (one already named for pence)
    header = ["customer", "name", "1-30", "total_pence", "over_limit"]
    # Then the CSV's header names every money column ..._pence, and only those
    assert pence_header(header, (2, 3)) == ["customer", "name", "1-30_pence", "total_pence", "over_limit"]

from __future__ import annotations

import csv
from pathlib import Path

from pypdf import PdfReader

from acas_batch.reports import render_html, write_csv, write_table_pdf


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

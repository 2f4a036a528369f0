"""Documents people read and files machines read: PDF from HTML templates, CSV streams."""

from __future__ import annotations

from acas_batch.reports.render import open_csv, render_html, write_csv, write_csv_blocks, write_pdf, write_table_pdf

__all__ = ["open_csv", "render_html", "write_csv", "write_csv_blocks", "write_pdf", "write_table_pdf"]

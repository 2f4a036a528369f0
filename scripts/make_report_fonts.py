"""Rebuild the report fonts from the system's DejaVu Sans (run by hand; the output is committed).

Report PDFs embed a subset of each font they use, and subsetting the full DejaVu Sans
(thousands of glyphs, large layout tables) costs about 0.3 s per PDF. These fonts hold
only the Latin-1 range and the punctuation a ledger document prints, without layout
tables, so each PDF is about four times quicker to write. Templates name them first and
DejaVu Sans after, so a character outside the subset still prints.

Renamed "ACAS Sans", as the Bitstream Vera licence asks of modified fonts (see LICENSE).

    python scripts/make_report_fonts.py [/usr/share/fonts/truetype/dejavu]
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

UNICODES = "U+0020-007E,U+00A0-00FF,U+2013-2014,U+2018-201D,U+2022,U+2026,U+20AC,U+2212"
STYLES = {"Regular": "DejaVuSans", "Bold": "DejaVuSans-Bold", "Oblique": "DejaVuSans-Oblique",
          "BoldOblique": "DejaVuSans-BoldOblique"}  # fmt: skip


def build(source: Path, target: Path) -> None:
    for style, name in STYLES.items():
        out = target / f"AcasSans-{style}.ttf"
        subset.main([
            str(source / f"{name}.ttf"), f"--unicodes={UNICODES}", "--layout-features=", "--no-hinting",
            "--drop-tables+=GSUB,GPOS,GDEF,kern,FFTM", f"--output-file={out}",
        ])  # fmt: skip
        font = TTFont(out)
        label = {"Regular": "Book", "BoldOblique": "Bold Oblique"}.get(style, style)
        for record in font["name"].names:
            if record.nameID in (1, 16):
                record.string = "ACAS Sans"
            elif record.nameID == 4:
                record.string = f"ACAS Sans {label}"
            elif record.nameID == 6:
                record.string = f"ACASSans-{style}"
        font.save(out)


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/truetype/dejavu")
    build(source, Path(__file__).resolve().parents[1] / "src/acas_batch/reports/fonts")

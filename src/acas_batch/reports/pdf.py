"""A small PDF writer for the fixed layouts of the business letters (statements, reminders, advices).

Pages are drawn with a handful of operations (text in the report fonts, rules, boxes) on
A4 and written as PDF 1.4 with the two report fonts embedded as simple TrueType fonts in
WinAnsi encoding. The fonts (``fonts/``, already a Latin subset of DejaVu Sans) are read,
measured and compressed once per process; a document then costs its own page content only.

Every file is a pure function of what is drawn on it: no creation date, no random
identifier, the font's subset tag derived from the font itself; so a document is the same
to the byte whichever process or run writes it. :class:`PdfWriter` writes to any binary
file as pages come, so a file of 25,000 letters is streamed, never held in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import struct
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO

from acas_batch.reports.files import AtomicFiles, atomic_file

#: The report fonts (a Latin subset of DejaVu Sans; see ``fonts/LICENSE``).
FONTS = Path(__file__).resolve().parent / "fonts"

#: A4 in points (1/72 in).
PAGE_WIDTH, PAGE_HEIGHT = 595.28, 841.89
MM = 72 / 25.4

#: Characters WinAnsi cannot carry, or the fonts do not have, print as this.
MISSING = "?"


@dataclass(frozen=True)
class Font:
    """One embedded face: its resource name, widths (per 1,000 em) and PDF objects."""

    resource: str  # the name pages use (/F1)
    base_name: str  # /BaseFont, with a subset tag
    widths: tuple[float, ...]  # of the codes 0..255 in WinAnsi
    ascent: int
    descent: int
    cap_height: int
    bbox: tuple[int, int, int, int]
    program: bytes  # the TrueType file, deflated
    program_length: int
    codes: bytes = field(repr=False)  # 256-byte translation: code -> code, or MISSING's code

    def encode(self, text: str) -> bytes:
        return text.encode("cp1252", "replace").translate(self.codes)

    def width(self, text: str, size: float) -> float:
        return sum(map(self.widths.__getitem__, self.encode(text))) * size / 1000

    def prints(self, text: str) -> bool:
        """Whether every character of ``text`` is one this font draws (none would print as ``?``)."""
        try:
            raw = text.encode("cp1252")
        except UnicodeEncodeError:
            return False
        return raw.translate(self.codes) == raw


def _load_font(resource: str, style: str) -> Font:
    from fontTools.ttLib import TTFont

    # recalcTimestamp off: fontTools would stamp the time of saving into the file (and so every PDF)
    face = TTFont(str(FONTS / f"AcasSans-{style}.ttf"), recalcTimestamp=False)
    for table in ("MATH", "GSUB", "GPOS", "GDEF"):  # not used by a simple font
        if table in face:
            del face[table]
    buffer = io.BytesIO()
    face.save(buffer)
    raw = buffer.getvalue()
    scale = 1000 / face["head"].unitsPerEm
    cmap = face.getBestCmap()
    advance = face["hmtx"].metrics
    widths: list[float] = []
    codes = bytearray(range(256))
    question = ord(MISSING)
    for code in range(256):
        try:
            char = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            char = ""
        glyph = cmap.get(ord(char)) if char and code >= 32 else None
        if glyph is None:
            codes[code] = question
            widths.append(0.0)
        else:
            widths.append(round(advance[glyph][0] * scale, 1))
    widths = [w if codes[c] == c else widths[question] for c, w in enumerate(widths)]
    head, os2 = face["head"], face["OS/2"]
    tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(raw).digest()[:6])  # the same file, the same tag
    return Font(
        resource=resource,
        base_name=f"{tag}+AcasSans{'' if style == 'Regular' else '-' + style}",
        widths=tuple(widths),
        ascent=round(face["hhea"].ascent * scale),
        descent=round(face["hhea"].descent * scale),
        cap_height=round(getattr(os2, "sCapHeight", 0) * scale) or 729,
        bbox=(
            round(head.xMin * scale),
            round(head.yMin * scale),
            round(head.xMax * scale),
            round(head.yMax * scale),
        ),
        program=zlib.compress(raw, 9),
        program_length=len(raw),
        codes=bytes(codes),
    )


@dataclass(frozen=True)
class Fonts:
    regular: Font
    bold: Font

    def __iter__(self) -> Iterator[Font]:
        return iter((self.regular, self.bold))


@cache
def fonts() -> Fonts:
    """The report fonts, read and compressed once per process."""
    return Fonts(_load_font("F1", "Regular"), _load_font("F2", "Bold"))


def _num(value: float) -> bytes:
    return b"%.2f" % value


def _escape(data: bytes) -> bytes:
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)").replace(b"\r", b"\\r")


class Page:
    """One A4 page being drawn; coordinates in points from the top left corner."""

    def __init__(self) -> None:
        self._ops: list[bytes] = []

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 9,
        bold: bool = False,
        gray: float = 0.07,
        color: tuple[float, float, float] | None = None,
        align: str = "left",
        width: float | None = None,
    ) -> float:
        """Draw ``text`` with its baseline at ``y``; ``align`` right puts its end at ``x``.

        A ``width`` cuts the text to fit it (ending in an ellipsis); ``color`` (red, green, blue)
        replaces the shade of ``gray``. Returns the text's width.
        """
        font = fonts().bold if bold else fonts().regular
        if width is not None and font.width(text, size) > width:
            while text and font.width(text + "…", size) > width:
                text = text[:-1]
            text = text.rstrip() + "…"
        w = font.width(text, size)
        if align == "right":
            x -= w
        elif align == "center":
            x -= w / 2
        self._ops.append(
            b"BT /%s %s Tf %s g 1 0 0 1 %s %s Tm (%s) Tj ET"
            % (
                font.resource.encode(),
                _num(size),
                _num(gray),
                _num(x),
                _num(PAGE_HEIGHT - y),
                _escape(font.encode(text)),
            )
        )
        return w

    def rule(self, x0: float, y: float, x1: float, *, width: float = 0.75, gray: float = 0.2, dash: float = 0) -> None:
        """A horizontal line at ``y`` from ``x0`` to ``x1``; ``dash`` its dash length (0: solid)."""
        pattern = b"[%s] 0 d " % _num(dash) if dash else b""
        self._ops.append(
            b"q %s%s w %s G %s %s m %s %s l S Q"
            % (pattern, _num(width), _num(gray), _num(x0), _num(PAGE_HEIGHT - y), _num(x1), _num(PAGE_HEIGHT - y))
        )

    def content(self) -> bytes:
        """The page's content stream, deflated."""
        return zlib.compress(b"\n".join(self._ops), 6)


def text_width(text: str, *, size: float = 9, bold: bool = False) -> float:
    return (fonts().bold if bold else fonts().regular).width(text, size)


class PdfWriter:
    """A PDF written to ``out`` as pages are added; :meth:`close` writes the page tree and index.

    Objects 1 and 2 are the catalogue and the page tree (written last, numbered first, so
    every page can name its parent before the tree exists); the fonts follow; then two
    objects per page, its dictionary and its content. Only offsets are kept, eight bytes a
    page object.
    """

    def __init__(self, out: IO[bytes], *, title: str = "") -> None:
        self._out = out
        self._offsets = array("Q", [0, 0, 0])  # object 0 is the free list's head; 1 and 2 come at the end
        self._pages = array("Q")
        self._position = 0
        self._title = title
        head, offsets, self._resources = _prefix()
        self._offsets.extend(offsets)
        self._write(head)

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._position += len(data)

    def _object(self, body: bytes, stream: bytes | None = None, number: int | None = None) -> int:
        if number is None:
            number = len(self._offsets)
            self._offsets.append(self._position)
        else:
            self._offsets[number] = self._position
        if stream is None:
            self._write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
        else:
            self._write(b"%d 0 obj\n%s\nstream\n" % (number, body) + stream + b"\nendstream\nendobj\n")
        return number

    def fonts(self) -> bytes:
        """Write the fonts; the resources dictionary that names them."""
        refs = [(font.resource, self._font(font)) for font in fonts()]
        return b"<< /Font << %s >> >>" % b" ".join(b"/%s %d 0 R" % (name.encode(), number) for name, number in refs)

    def _font(self, font: Font) -> int:
        program = self._object(
            b"<< /Length %d /Length1 %d /Filter /FlateDecode >>" % (len(font.program), font.program_length),
            font.program,
        )
        descriptor = self._object(
            b"<< /Type /FontDescriptor /FontName /%s /Flags 32 /FontBBox [%d %d %d %d] /ItalicAngle 0"
            b" /Ascent %d /Descent %d /CapHeight %d /StemV 80 /FontFile2 %d 0 R >>"
            % (font.base_name.encode(), *font.bbox, font.ascent, font.descent, font.cap_height, program)
        )
        widths = b" ".join(_num(w) for w in font.widths[32:])
        return self._object(
            b"<< /Type /Font /Subtype /TrueType /BaseFont /%s /FirstChar 32 /LastChar 255 /Widths [%s]"
            b" /Encoding /WinAnsiEncoding /FontDescriptor %d 0 R >>" % (font.base_name.encode(), widths, descriptor)
        )

    def add_page(self, content: bytes) -> None:
        """A page whose deflated content stream is ``content`` (:meth:`Page.content`)."""
        number = len(self._offsets)
        self._object(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources %s /Contents %d 0 R >>"
            % (_num(PAGE_WIDTH), _num(PAGE_HEIGHT), self._resources, number + 1)
        )
        self._object(b"<< /Length %d /Filter /FlateDecode >>" % len(content), content)
        self._pages.append(number)

    def add_pages(self, contents: Iterable[bytes]) -> None:
        for content in contents:
            self.add_page(content)

    def close(self) -> None:
        """Write the page tree, the catalogue, the document's title and the cross-reference table."""
        self._object(b"<< /Type /Catalog /Pages 2 0 R >>", number=1)
        self._offsets[2] = self._position
        self._write(b"2 0 obj\n<< /Type /Pages /Count %d /Kids [" % len(self._pages))
        for first in range(0, len(self._pages), 1000):
            self._write(b" ".join(b"%d 0 R" % n for n in self._pages[first : first + 1000]) + b"\n")
        self._write(b"] >>\nendobj\n")
        info = self._object(
            b"<< /Title (%s) /Producer (acas-batch) >>" % _escape(self._title.encode("cp1252", "replace"))
        )
        xref = self._position
        self._write(b"xref\n0 %d\n0000000000 65535 f \n" % len(self._offsets))
        for first in range(1, len(self._offsets), 1000):
            self._write(b"".join(b"%010d 00000 n \n" % o for o in self._offsets[first : first + 1000]))
        self._write(
            b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(self._offsets), info, xref)
        )


@cache
def _prefix() -> tuple[bytes, list[int], bytes]:
    """The start of every file (its header and the fonts), written once per process: its
    bytes, the fonts' objects' offsets, the resources dictionary naming them."""
    buffer = io.BytesIO()
    writer = PdfWriter.__new__(PdfWriter)
    writer._out, writer._position, writer._offsets = buffer, 0, array("Q", [0, 0, 0])
    writer._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    resources = writer.fonts()
    return buffer.getvalue(), list(writer._offsets[3:]), resources


def pdf_bytes(pages: Sequence[bytes], *, title: str = "") -> bytes:
    """A whole (small) PDF of deflated page contents, in memory."""
    buffer = io.BytesIO()
    writer = PdfWriter(buffer, title=title)
    for content in pages:
        writer.add_page(content)
    writer.close()
    return buffer.getvalue()


def write_pages(path: Path, pages: Sequence[bytes], *, title: str = "", files: AtomicFiles | None = None) -> Path:
    """A PDF file of ``pages`` (replaced atomically; with ``files``, when they are committed)."""
    data = pdf_bytes(pages, title=title)
    if files is not None:
        files.write(path, data)
        return path
    with atomic_file(path) as fh:
        fh.write(data)
    return path


_LENGTH = struct.Struct("!I")


@contextmanager
def write_parts(path: Path) -> Iterator[list[bytes]]:
    """A piece of a combined file: the pages put in the list, written to ``path`` (atomically)
    when the block ends, as a length and the deflated content of each page."""
    pages: list[bytes] = []
    yield pages
    with atomic_file(path) as fh:
        for content in pages:
            fh.write(_LENGTH.pack(len(content)) + content)


def _read_parts(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while header := fh.read(_LENGTH.size):
            (size,) = _LENGTH.unpack(header)
            yield fh.read(size)


@contextmanager
def combined_pdf(path: Path, *, title: str = "") -> Iterator[PdfWriter]:
    """A PDF written at ``path`` as pages are added (replaced atomically when the block ends)."""
    with atomic_file(path) as fh:
        writer = PdfWriter(fh, title=title)
        yield writer
        writer.close()


def write_combined(path: Path, parts: Sequence[Path], *, title: str = "") -> Path:
    """One PDF of the pages of ``parts`` (:func:`write_parts`) in order, streamed part by part
    (replaced atomically); the parts are removed once it is written."""
    with combined_pdf(path, title=title) as writer:
        for part in parts:
            for content in _read_parts(part):
                writer.add_page(content)
    for part in parts:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    return path

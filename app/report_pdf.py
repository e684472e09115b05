"""The lab report as a PDF, drawn with Qt's own writer (QPdfWriter + QPainter): no new dependency.

The same core.report.model.Report as the HTML: a title page (the run's facts and the contents),
then each section's tables (split across pages between rows, the header repeated), sentences
and figures. A figure (its question title, picture, caption and note) is never cut by a page
break: it starts a new page when it does not fit, and is scaled down when a page is too small.
SVG charts are drawn as vectors by QtSvg's renderer (part of PySide6-Essentials); PNG pictures
through QImage. The file is built in memory and written atomically.

`python -m app.report_pdf SOURCE OUT.pdf` writes the report of a run or study folder.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, Qt
from PySide6.QtGui import (QColor, QFont, QFontMetricsF, QImage, QPageLayout, QPageSize,
                           QPainter, QPdfWriter, QPen)
from PySide6.QtSvg import QSvgRenderer

from core import files, report
from core.report.model import Answer, Figure, Report, Table, Text

DPI = 144                 # device pixels per inch of the page (Qt scales fonts given in points)
SVG_SCALE = DPI / 96      # an SVG pixel is 1/96 inch, as in a browser
PNG_SCALE = 1.25          # a picture's pixel: a window grab of ~600 px is about 4 inches wide
FIGURE_MAX_HEIGHT = 0.62  # of the page: a figure leaves room for its title, caption and note
FOOTER = 36               # device pixels kept at the page's bottom for its number
WRAP = Qt.TextFlag.TextWordWrap


@dataclass
class PdfResult:
    """What was written: the file, its pages, its pictures and where each figure went."""
    path: Path
    pages: int
    images: int
    boxes: dict[str, tuple[int, QRectF]] = field(default_factory=dict)  # figure id → (page, rect)
    page_size: tuple[float, float] = (0.0, 0.0)


def _font(size: float, bold: bool = False) -> QFont:
    f = QFont("DejaVu Sans")
    f.setPointSizeF(size)
    f.setBold(bold)
    return f


class _Page:
    """A cursor down the pages of a QPdfWriter: what fits where, and the page breaks."""

    def __init__(self, writer: QPdfWriter, painter: QPainter, title: str):
        self.writer, self.p, self.title = writer, painter, title
        self.width, self.height = float(writer.width()), float(writer.height()) - FOOTER
        self.y, self.page, self.images = 0.0, 1, 0
        self.boxes: dict[str, tuple[int, QRectF]] = {}

    # -- measuring and breaking
    def text_height(self, text: str, font: QFont, width: float | None = None) -> float:
        metrics = QFontMetricsF(font, self.writer)
        rect = metrics.boundingRect(QRectF(0, 0, width or self.width, 1e6), WRAP, text)
        return rect.height()

    def room(self) -> float:
        return self.height - self.y

    def new_page(self) -> None:
        self._footer()
        self.writer.newPage()
        self.page += 1
        self.y = 0.0

    def need(self, height: float) -> None:
        """Start a new page unless `height` fits below the cursor (or the page is still empty)."""
        if height > self.room() and self.y > 0:
            self.new_page()

    def _footer(self) -> None:
        self.p.setFont(_font(8))
        self.p.setPen(QColor("#777777"))
        rect = QRectF(0, self.height + 8, self.width, FOOTER - 8)
        self.p.drawText(rect, Qt.AlignmentFlag.AlignLeft, self.title)
        self.p.drawText(rect, Qt.AlignmentFlag.AlignRight, f"page {self.page}")

    def finish(self) -> None:
        self._footer()

    # -- drawing
    def text(self, text: str, font: QFont, colour: str = "#222222", gap: float = 10,
             indent: float = 0) -> None:
        width = self.width - indent
        h = self.text_height(text, font, width)
        self.need(h)
        self.p.setFont(font)
        self.p.setPen(QColor(colour))
        self.p.drawText(QRectF(indent, self.y, width, h), WRAP, text)
        self.y += h + gap

    def heading(self, text: str, next_height: float) -> None:
        """A section heading, kept on the page of what follows it."""
        font = _font(15, bold=True)
        h = self.text_height(text, font)
        self.need(h + 24 + min(next_height, 0.5 * self.height))
        self.y += 8 if self.y > 0 else 0
        self.text(text, font, "#1a1a1a", gap=4)
        self.p.setPen(QPen(QColor("#bbbbbb"), 2))
        self.p.drawLine(0, int(self.y), int(self.width), int(self.y))
        self.y += 14


class _Tables:
    """Tables drawn row by row: column widths from their text, cells wrapped when too wide."""

    PAD = 8

    def __init__(self, page: _Page):
        self.page = page
        self.font, self.bold = _font(8.5), _font(8.5, bold=True)

    def widths(self, t: Table) -> list[float]:
        m, mb = QFontMetricsF(self.font, self.page.writer), QFontMetricsF(self.bold, self.page.writer)
        cols = len(t.header)
        natural = [max([mb.horizontalAdvance(t.header[c])] +
                       [m.horizontalAdvance(r[c]) for r in t.rows if c < len(r)]) + 2 * self.PAD
                   for c in range(cols)]
        total, room = sum(natural), self.page.width
        if total <= room:
            return natural
        # the narrow columns keep their width; the wide ones share what is left
        fair = room / cols
        narrow = sum(w for w in natural if w <= fair)
        wide = sum(w for w in natural if w > fair)
        widths = [w if w <= fair else max(fair, w * (room - narrow) / wide) for w in natural]
        squeeze = min(1.0, room / sum(widths))  # still too wide: every column gives its share
        return [w * squeeze for w in widths]

    def row_height(self, cells, widths, font) -> float:
        return max(self.page.text_height(c, font, w - 2 * self.PAD) for c, w in zip(cells, widths)) + 8

    def height(self, t: Table) -> float:
        widths = self.widths(t)
        return self.row_height(t.header, widths, self.bold) + sum(
            self.row_height(r, widths, self.font) for r in t.rows)

    def draw(self, t: Table) -> None:
        page = self.page
        title_font = _font(10, bold=True)
        widths = self.widths(t)
        headed = any(t.header)  # the title page's facts have none
        head = self.row_height(t.header, widths, self.bold) if headed else 0.0
        first = self.row_height(t.rows[0], widths, self.font) if t.rows else 0
        page.need((page.text_height(t.title, title_font) if t.title else 0) + head + first + 8)
        if t.title:
            page.text(t.title, title_font, gap=4)
        if headed:
            self._row(t, t.header, widths, head, header=True)
        for row in t.rows:
            h = self.row_height(row, widths, self.font)
            if h > page.room():
                page.new_page()
                if headed:
                    self._row(t, t.header, widths, head, header=True)  # the header again, above
            self._row(t, row, widths, h)
        page.y += 12

    def _row(self, t: Table, cells, widths, h: float, header: bool = False) -> None:
        p, x, y = self.page.p, 0.0, self.page.y
        p.setFont(self.bold if header else self.font)
        for c, (cell, w) in enumerate(zip(cells, widths)):
            rect = QRectF(x, y, w, h)
            p.fillRect(rect, QColor("#f0f0f0" if header else "#ffffff"))
            p.setPen(QPen(QColor("#c8c8c8"), 1))
            p.drawRect(rect)
            p.setPen(QColor("#222222"))
            align = (Qt.AlignmentFlag.AlignRight if t.right(c) and not header
                     else Qt.AlignmentFlag.AlignLeft)
            p.drawText(rect.adjusted(self.PAD, 4, -self.PAD, -4), WRAP | align, cell)
            x += w
        self.page.y += h


def _picture_size(page: _Page, fig: Figure, room: float) -> tuple[float, float]:
    """The figure's size on the page: SVG pixels at 1/96 inch, a picture at most the page's
    width, both within `room` of height."""
    w, h = fig.size
    scale = SVG_SCALE if fig.svg else PNG_SCALE
    scale = min(scale, page.width / w, room / h)
    return w * scale, h * scale


class _Figures:
    """A figure block: question title, picture, caption and note, always on one page."""

    def __init__(self, page: _Page):
        self.page = page
        self.title_font, self.small = _font(10.5, bold=True), _font(8.5)
        self.note_font = _font(9.5)

    def _parts(self, fig: Figure) -> tuple[float, float, float]:
        page = self.page
        title = page.text_height(fig.title, self.title_font) + 6
        caption = page.text_height(fig.caption, self.small) + 6 if fig.caption else 0.0
        note = page.text_height(fig.note, self.note_font, page.width - 24) + 22 if fig.note else 0.0
        return title, caption, note

    def height(self, fig: Figure) -> float:
        title, caption, note = self._parts(fig)
        _w, h = _picture_size(self.page, fig, FIGURE_MAX_HEIGHT * self.page.height)
        return title + h + caption + note + 18

    def draw(self, fig: Figure) -> None:
        page = self.page
        title, caption, note = self._parts(fig)
        page.need(self.height(fig))
        room = min(FIGURE_MAX_HEIGHT * page.height, page.room() - title - caption - note - 18)
        w, h = _picture_size(page, fig, room)
        page.text(fig.title, self.title_font, gap=6)
        rect = QRectF((page.width - w) / 2, page.y, w, h)
        if fig.svg:
            QSvgRenderer(QByteArray(fig.svg.encode("utf-8"))).render(page.p, rect)
        else:  # RGB without alpha: one image object in the PDF (no soft mask beside it)
            image = QImage.fromData(fig.png).convertToFormat(QImage.Format.Format_RGB888)
            page.p.drawImage(rect, image)
            page.images += 1
        page.boxes[fig.id] = (page.page, QRectF(rect))
        page.y += h + 6
        if fig.caption:
            page.text(fig.caption, self.small, "#555555", gap=6)
        if fig.note:
            self._note(fig.note, note - 22)
        page.y += 12

    def _note(self, text: str, h: float) -> None:
        page = self.page
        box = QRectF(0, page.y, page.width, h + 16)
        page.p.fillRect(box, QColor("#fffbe6"))
        page.p.fillRect(QRectF(0, page.y, 5, h + 16), QColor("#e0c050"))
        page.p.setFont(self.note_font)
        page.p.setPen(QColor("#222222"))
        page.p.drawText(box.adjusted(16, 8, -8, -8), WRAP, text)
        page.y += h + 22


def _answer(page: _Page, text: str) -> None:
    """The student's answer: in a box of its own, under a label, apart from the app's text."""
    font, label = _font(10), _font(8, bold=True)
    h = page.text_height(text, font, page.width - 28) + page.text_height("Answer", label) + 20
    page.need(h)
    box = QRectF(0, page.y, page.width, h)
    page.p.fillRect(box, QColor("#f4f9fc"))
    page.p.fillRect(QRectF(0, page.y, 6, h), QColor("#4a7fa0"))
    page.p.setFont(label)
    page.p.setPen(QColor("#4a7fa0"))
    page.p.drawText(box.adjusted(18, 6, -8, -8), WRAP, "Answer")
    page.p.setFont(font)
    page.p.setPen(QColor("#222222"))
    page.p.drawText(box.adjusted(18, 6 + page.text_height("Answer", label), -8, -8), WRAP, text)
    page.y += h + 12


def _item_height(tables: _Tables, figures: _Figures, item) -> float:
    if isinstance(item, Table):
        return tables.height(item)
    if isinstance(item, Figure):
        return figures.height(item)
    return tables.page.text_height(item.text, _font(9.5))


def _title_page(page: _Page, rep: Report) -> None:
    page.y = 0.12 * page.height
    page.text(rep.title, _font(22, bold=True), "#1a1a1a", gap=8)
    what = {"study": "study", "notebook": "questions, the student's answers"}.get(rep.kind, "run")
    page.text(f"A LearnScope lab report: deep learning for vision, the practical's {what}.",
              _font(11), "#555555", gap=30)
    _Tables(page).draw(Table("facts", "", ("", ""), [(k, v) for k, v in rep.facts]))
    page.text("Contents", _font(13, bold=True), gap=6)
    for s in rep.sections:
        page.text(s.heading, _font(10.5, bold=True), gap=2)
        for item in s.items:
            if isinstance(item, (Table, Figure)) and item.title:
                page.text(item.title, _font(9), "#444444", gap=2, indent=24)
        page.y += 6


def draw(writer: QPdfWriter, rep: Report) -> _Page:
    """Draw the report onto a writer's pages; return the cursor (pages, images, boxes)."""
    painter = QPainter(writer)
    try:
        page = _Page(writer, painter, rep.title)
        tables, figures = _Tables(page), _Figures(page)
        _title_page(page, rep)
        page.new_page()
        for section in rep.sections:
            first = section.items[0] if section.items else None
            page.heading(section.heading, _item_height(tables, figures, first) if first else 0)
            for item in section.items:
                if isinstance(item, Table):
                    tables.draw(item)
                elif isinstance(item, Figure):
                    figures.draw(item)
                elif isinstance(item, Answer):
                    _answer(page, item.text)
                elif isinstance(item, Text):
                    page.text(item.text, _font(9.5))
        page.finish()
    finally:
        painter.end()
    return page


def write_pdf(source_folder, out_file, notes: dict[str, str] | None = None,
              figures: list[tuple[str, str, bytes]] | None = None) -> PdfResult:
    """Write the lab report of a run or study folder as a PDF (the same arguments and errors
    as core.report.write_html); return what was written."""
    files.refuse_own_input(source_folder, out_file, "the report")  # before the slow part
    return write_report(report.build(source_folder, notes, figures), out_file, source_folder)


def write_report(rep: Report, out_file, source) -> PdfResult:
    """Write a built report (a run's, a study's or a notebook's) as a PDF; source: what it
    was made from, which the file may not overwrite."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setTitle(rep.title)
    writer.setCreator("LearnScope")
    writer.setResolution(DPI)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(16, 16, 16, 14), QPageLayout.Unit.Millimeter))
    page = draw(writer, rep)
    size = (page.width, page.height + FOOTER)
    del writer  # the writer ends the file on its device before the bytes are read
    data = bytes(buffer.data())
    buffer.close()
    path = report.write_text(out_file, data, "report", source)
    return PdfResult(path, page.page, page.images, page.boxes, size)


def main(argv: list[str] | None = None) -> int:
    """`python -m app.report_pdf SOURCE OUT.pdf`: exit 0 written, 1 a sentence on stderr."""
    from PySide6.QtGui import QGuiApplication

    from core import ExportError
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m app.report_pdf RUN_OR_STUDY_FOLDER OUT.pdf", file=sys.stderr)
        return 2
    _app = QGuiApplication.instance() or QGuiApplication(["learnscope-report"])
    try:
        result = write_pdf(args[0], args[1])
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"report written to {result.path} ({result.pages} pages, {result.images} pictures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

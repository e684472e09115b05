"""The lab report as data: sections of tables, figures and sentences, drawn the same way into
HTML (core.report.html_page) and into a PDF (app.report_pdf), so both say the same thing.

A figure holds an SVG drawing (core.report.svg, vector in both formats) or PNG bytes (the
filters, the window's Inspect views), its question title, a caption in LearnScope's words
and the student's note (core.report.notes)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from core.report import svg as report_svg
from core import ExportError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: the section that receives the window's Inspect views
LEARNED = "What the network learned"


@dataclass
class Table:
    id: str
    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    numeric: tuple[bool, ...] = ()   # columns aligned right (numbers)

    def right(self, column: int) -> bool:
        return column < len(self.numeric) and self.numeric[column]


@dataclass
class Figure:
    id: str
    title: str
    svg: str = ""
    png: bytes = b""
    caption: str = ""
    note: str = ""
    from_window: bool = False   # a picture of the window's Inspect view

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels of the drawing or the picture."""
        if self.svg:
            return report_svg.size_of(self.svg)
        return struct.unpack(">II", self.png[16:24])  # the PNG header's width and height


@dataclass
class Text:
    text: str


@dataclass
class Answer:
    """The student's own words (a lab notebook's answer): drawn in a box of its own, never
    mixed with the app's text."""
    text: str


@dataclass
class Section:
    heading: str
    items: list = field(default_factory=list)


@dataclass
class Report:
    title: str
    kind: str                                  # "run" | "study" | "notebook"
    folder: Path
    facts: list[tuple[str, str]] = field(default_factory=list)  # the title page's table
    sections: list[Section] = field(default_factory=list)

    def figures(self) -> list[Figure]:
        return [i for s in self.sections for i in s.items if isinstance(i, Figure)]

    def tables(self) -> list[Table]:
        return [i for s in self.sections for i in s.items if isinstance(i, Table)]

    def section(self, heading: str) -> Section:
        """Return the section of that heading, added at the end when there is none."""
        for s in self.sections:
            if s.heading == heading:
                return s
        self.sections.append(Section(heading))
        return self.sections[-1]

    def add_figures(self, figures: list[tuple[str, str, bytes]]) -> None:
        """Add the window's pictures, (id, title, PNG bytes) each: one with the id of a figure
        made here takes its place (the view as the user set it up), others go under LEARNED."""
        for fig_id, title, png in figures:
            if not isinstance(png, (bytes, bytearray)) or not bytes(png).startswith(PNG_SIGNATURE):
                raise ExportError(f"The figure {title!r} is not a PNG picture, so it cannot go "
                                  "into the report; grab it from the window again.")
            new = Figure(fig_id, title, png=bytes(png), from_window=True,
                         caption="As shown in the window's Inspect view.")
            if not self._replace(new):
                self.section(LEARNED).items.append(new)

    def _replace(self, new: Figure) -> bool:
        for s in self.sections:
            for k, item in enumerate(s.items):
                if isinstance(item, Figure) and item.id == new.id:
                    s.items[k] = new
                    return True
        return False

    def set_notes(self, notes: dict[str, str]) -> None:
        for f in self.figures():
            f.note = notes.get(f.id, "")

"""The lab report of a run or a study: what a student hands in after the practical.

`build(folder)` reads a run folder (config.toml, metrics.jsonl, weights.pt) or a study folder
(study.json and its rung run folders) into a core.report.model.Report: the settings, the layer
table, the curves, the final metrics, for a study its rung table and bar chart, the first
layer's filters and the confusion matrix, each figure titled with the practical's question it
answers (core.report.questions) and followed by the student's note (core.report.notes).
`write_html` writes it as one self-contained HTML page; app.report_pdf draws the same report
into a PDF. Every problem is an ExportError sentence; nothing is ever half-written.
"""

from __future__ import annotations

from pathlib import Path

from core.experiment import config as cfg
from core import files
from core.files.atomic import atomic_write_bytes, atomic_write_text
from core.data import registry as datasets
from core import ExportError
from core.report.html_page import render
from core.report.model import Figure, Report, Section, Table, Text
from core.report.notes import NOTES_FILE, read_notes, write_notes
from core.report.questions import VIEW_IDS, title
from core.report.run import run_report
from core.report.study import study_outline, study_report
from core.store.reader import open_run

__all__ = ["NOTES_FILE", "VIEW_IDS", "Figure", "Report", "Section", "Table", "Text", "build",
           "fitting_views", "kind_of", "outline", "read_notes", "title", "write_html",
           "write_notes", "write_text"]


kind_of = files.kind_of  # what report() accepts: a run or a study folder


def fitting_views(exp: cfg.Experiment | None) -> tuple[str, ...]:
    """Return the Inspect views that fit a run's experiment (core.report.questions.VIEW_IDS):
    the decision boundary for 2D points, filters for images, receptive fields for a CNN."""
    if exp is None:
        return ()
    if exp.is_points:
        return ("confusion", "decision-boundary")
    shape = datasets.example_shape(exp.data)
    filters = exp.model.kind == "cnn" or shape[0] in (1, 3)
    return (("filters",) if filters else ()) + ("confusion",) + (
        ("receptive-field",) if exp.model.kind == "cnn" and exp.model.blocks else ())


def outline(source_folder: Path | str) -> list[tuple[str, str]]:
    """Return (id, title) of the figures build() makes of a folder, without making them (the
    export dialog offers a note box under each): cheap, it reads the config only."""
    folder = Path(source_folder)
    if kind_of(folder) == "study":
        return study_outline(folder)
    exp = open_run(folder).experiment if kind_of(folder) == "run" else None
    if exp is None:
        return []
    views = fitting_views(exp)
    made = ["curves"] + (["filters"] if "filters" in views else []) + ["confusion"]
    return [(f, title(f, exp.model.kind)) for f in made]


def build(source_folder: Path | str, notes: dict[str, str] | None = None,
          figures: list[tuple[str, str, bytes]] | None = None) -> Report:
    """Return the report of a run or study folder with the window's figures (id, title, PNG
    bytes) added, and the notes: those kept in the folder's notes.json, updated with `notes`
    (which are then kept there; an empty note removes one)."""
    folder = Path(source_folder)
    kind = kind_of(folder)
    if kind is None:
        what = "does not exist" if not folder.exists() else (
            "is not a folder" if not folder.is_dir() else "holds neither config.toml nor study.json")
        raise ExportError(f"{folder} is not a run folder or a study folder: it {what}. Choose "
                          "a run's folder (Runs list → Open folder) or a study's folder.")
    report = study_report(folder) if kind == "study" else run_report(folder)
    report.add_figures(list(figures or []))
    kept = read_notes(folder)
    if notes is not None:
        kept = write_notes(folder, {**kept, **notes})
    report.set_notes(kept)
    return report


def write_text(out_file: Path | str, text: str | bytes, what: str = "report",
               source: Path | str | None = None) -> Path:
    """Write an export of source (a run or study folder) atomically; ExportError names the
    file and why it cannot be written, or that it lies inside source."""
    out = Path(out_file)
    if source is not None:
        files.refuse_own_input(source, out, f"the {what}")
    if out.is_dir():
        raise ExportError(f"{out} is a folder; give the {what} a file name inside it.")
    try:
        if isinstance(text, bytes):
            atomic_write_bytes(out, text)
        else:
            atomic_write_text(out, text)
    except OSError as e:
        raise ExportError(f"Could not write the {what} to {out} ({e.strerror or e}); choose a "
                          "folder you can write to.") from None
    return out


def write_html(source_folder: Path | str, out_file: Path | str, notes: dict[str, str] | None = None,
               figures: list[tuple[str, str, bytes]] | None = None) -> Path:
    """Write the lab report of a run or study folder as one self-contained HTML file; return
    its path. ExportError: not a run or study folder, a run without epochs, a folder that
    cannot be written."""
    files.refuse_own_input(source_folder, out_file, "the report")  # before the slow part
    report = build(source_folder, notes, figures)
    return write_text(out_file, render(report), "report", source_folder)

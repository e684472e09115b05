"""File → Export → Lab report…: which run or study, which Inspect views to picture, a short note
under each figure (kept in the folder's notes.json), PDF or HTML, Export.

The ticked views are pictured from the window's own Inspect panel: the run is opened in the Lab
first (Lab.open_run, its saved weights), then each view is drawn and grabbed as a PNG. Every
problem is a sentence in the Lab's banner, and nothing half-written is left behind (the
core writes the file atomically)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, Qt, Signal
from PySide6.QtWidgets import (QApplication, QButtonGroup, QCheckBox, QDialog, QDialogButtonBox,
                               QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QRadioButton, QScrollArea, QVBoxLayout,
                               QWidget)

from app.wheel_guard import ComboBox

from core import report
from core import ExportError
from core.store.reader import open_run

VIEW_WORDS = {"filters": "Filters", "confusion": "Confusion",
              "receptive-field": "Receptive field", "decision-boundary": "Decision boundary"}
FORMATS = {"pdf": "PDF", "html": "HTML"}


def sources(lab, runs_panel) -> list[tuple[str, Path]]:
    """The runs and studies the dialog offers, (label, folder): the Lab's last run, the runs
    selected in the Runs dock, then the studies in the runs folder."""
    found: list[tuple[str, Path]] = []
    last = lab.last_run
    if last and report.kind_of(last) == "run":
        found.append((f"Last run: {open_run(Path(last)).name}", Path(last)))
    for run in runs_panel.selected_runs():
        if getattr(run, "folder", None) is not None:
            found.append((f"Selected in Runs: {run.name}", Path(run.folder)))
    root = Path(runs_panel.root)
    try:
        studies = sorted(p for p in root.iterdir() if report.kind_of(p) == "study")
    except OSError:
        studies = []
    found += [(f"Study: {p.name}", p) for p in studies]
    seen, out = set(), []
    for label, folder in found:  # the same folder once, under its first label
        key = folder.resolve()
        if key not in seen:
            seen.add(key)
            out.append((label, folder))
    return out


def grab_view(panel, name: str) -> bytes | None:
    """Draw the Inspect view `name` of the Inspect panel for the run it shows and return it as
    PNG bytes, or None when it shows a sentence instead of a figure (nothing for this run)."""
    panel.select(name)
    view = panel.views[name]
    view.tick(force=True)
    QApplication.processEvents()  # lay out and paint what the refresh set
    if not view.showing():
        return None
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    view.grab().save(buffer, "PNG")
    return bytes(buffer.data())


class ReportDialog(QDialog):
    """The export dialog; `exported(path)` once written, `failed(sentence)` when not."""

    exported = Signal(str)
    failed = Signal(str)

    def __init__(self, lab, runs_panel, inspect, widen, parent=None):
        """inspect: the Inspect panel whose views are pictured; widen(): a context in which
        that panel is wide enough to picture them (a narrow dock cuts a confusion table)."""
        super().__init__(parent)
        self.lab, self.runs_panel, self.inspect, self.widen = lab, runs_panel, inspect, widen
        self.setWindowTitle("Export lab report")
        self.setObjectName("report-dialog")
        self.source = ComboBox()
        self.source.setObjectName("report-source")
        for label, folder in sources(lab, runs_panel):
            self.source.addItem(label, str(folder))
        self.views = {v: QCheckBox(VIEW_WORDS[v]) for v in report.VIEW_IDS}
        self.notes_box = QWidget()
        self.notes_form = QFormLayout(self.notes_box)
        self.note_edits: dict[str, QPlainTextEdit] = {}
        self._typed: dict[str, dict[str, str]] = {}  # folder → notes typed, kept across changes
        self.formats = {f: QRadioButton(w) for f, w in FORMATS.items()}
        self.path = QLineEdit()
        self.path.setObjectName("report-path")
        self._lay_out()
        self._folder: Path | None = None
        self._notes_folder: Path | None = None  # whose notes the boxes hold
        self._auto_path = ""  # the file name the dialog proposed
        self._pending: tuple | None = None   # (folder, path, format, views, notes) awaiting Inspect
        self.source.currentIndexChanged.connect(lambda _=0: self._source_changed())
        for box in self.views.values():
            box.toggled.connect(lambda _=False: self._fill_notes())
        for f, button in self.formats.items():
            button.toggled.connect(lambda on, f=f: on and self._suffix(f))
        self.formats["pdf"].setChecked(True)
        self._source_changed()

    def _lay_out(self) -> None:
        col = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Run or study:"))
        top.addWidget(self.source, 1)
        other = QPushButton("Other folder…")
        other.setToolTip("Choose a run's or a study's folder.")
        other.clicked.connect(self._choose_folder)
        top.addWidget(other)
        col.addLayout(top)
        views = QGroupBox("Inspect views to include (pictured from the Inspect dock)")
        row = QHBoxLayout(views)
        for box in self.views.values():
            row.addWidget(box)
        col.addWidget(views)
        notes = QGroupBox("A short note under each figure (kept with the run in notes.json)")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.notes_box)
        scroll.setMinimumHeight(260)
        QVBoxLayout(notes).addWidget(scroll)
        col.addWidget(notes, 1)
        out = QHBoxLayout()
        group = QButtonGroup(self)
        for button in self.formats.values():
            group.addButton(button)
            out.addWidget(button)
        out.addWidget(self.path, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out.addWidget(browse)
        col.addLayout(out)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setObjectName("report-export")
        self.export_button.clicked.connect(self.export)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)
        self.resize(720, 600)

    # -- what the source offers
    def folder(self) -> Path | None:
        data = self.source.currentData()
        return Path(data) if data else None

    def add_source(self, folder: Path | str) -> None:
        """Offer a run or study folder (and choose it); a folder that is neither is a banner."""
        folder = Path(folder)
        kind = report.kind_of(folder)
        if kind is None:
            return self._fail(f"{folder} is not a run folder or a study folder: it holds neither "
                              "config.toml nor study.json.")
        index = self.source.findData(str(folder))
        if index < 0:
            self.source.addItem(f"{kind.capitalize()}: {folder.name}", str(folder))
            index = self.source.count() - 1
        self.source.setCurrentIndex(index)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Run or study folder",
                                                  str(self.runs_panel.root))
        if folder:
            self.add_source(folder)

    def _source_changed(self) -> None:
        self._keep_typed()
        self._folder = folder = self.folder()
        run = open_run(folder) if folder is not None and report.kind_of(folder) == "run" else None
        fitting = report.fitting_views(run.experiment if run is not None else None)
        for name, box in self.views.items():
            box.setEnabled(name in fitting)
            if name not in fitting:
                box.setChecked(False)
            box.setToolTip("" if name in fitting else self._unfit(name, folder, run))
        if folder is not None and self.path.text() in ("", self._auto_path):
            # a name of the dialog's own follows the source; one the user typed stays
            self._auto_path = str(Path.home() / f"{folder.name}-report.{self.fmt()}")
            self.path.setText(self._auto_path)
        self._fill_notes()
        self.export_button.setEnabled(folder is not None)

    @staticmethod
    def _unfit(name: str, folder: Path | None, run) -> str:
        if folder is None or run is None:
            return "A study's report holds its table and chart; export one of its rungs to add views."
        return {"decision-boundary": "The decision boundary is drawn for 2D points.",
                "receptive-field": "Receptive fields are drawn for a CNN's convolutions.",
                "filters": "This network has no image-shaped weights."}.get(name, "")

    def ticked(self) -> list[str]:
        return [n for n, box in self.views.items() if box.isChecked() and box.isEnabled()]

    # -- the notes
    def _keep_typed(self) -> None:
        if self._folder is not None:
            self._typed[str(self._folder)] = self.notes()

    def notes(self) -> dict[str, str]:
        return {fig_id: edit.toPlainText() for fig_id, edit in self.note_edits.items()}

    def _fill_notes(self) -> None:
        folder = self._folder
        shown = self.notes() if self._notes_folder == folder else {}  # typed in these boxes
        typed = {**(report.read_notes(folder) if folder else {}),
                 **self._typed.get(str(folder), {}), **shown}
        self._notes_folder = folder
        while self.notes_form.rowCount():
            self.notes_form.removeRow(0)
        self.note_edits = {}
        if folder is None:
            self.notes_form.addRow(QLabel("No run or study to report on yet: train one first."))
            return
        kind = self._kind(folder)
        figures = report.outline(folder) + [(v, report.title(v, kind)) for v in self.ticked()]
        for fig_id, title in dict(figures).items():  # a ticked view replaces a figure of its id
            label = QLabel(title)
            label.setWordWrap(True)
            edit = QPlainTextEdit(typed.get(fig_id, ""))
            edit.setObjectName(f"note-{fig_id}")
            edit.setPlaceholderText("What this figure shows, in a sentence or two (optional).")
            edit.setFixedHeight(58)
            self.notes_form.addRow(label)
            self.notes_form.addRow(edit)
            self.note_edits[fig_id] = edit

    @staticmethod
    def _kind(folder: Path) -> str:
        run = open_run(folder) if report.kind_of(folder) == "run" else None
        return run.experiment.model.kind if run is not None and run.experiment else "mlp"

    # -- the file
    def fmt(self) -> str:
        return next(f for f, b in self.formats.items() if b.isChecked())

    def _suffix(self, fmt: str) -> None:
        text = self.path.text()
        if text:
            auto = text == self._auto_path
            self.path.setText(str(Path(text).with_suffix(f".{fmt}")))
            if auto:
                self._auto_path = self.path.text()

    def _browse(self) -> None:
        fmt = self.fmt()
        path, _ = QFileDialog.getSaveFileName(self, "Export lab report", self.path.text(),
                                              f"{FORMATS[fmt]} (*.{fmt})")
        if path:
            self.path.setText(path)

    # -- exporting
    def export(self) -> None:
        """Export: picture the ticked views first (the run shown in Inspect), then write."""
        folder, path = self.folder(), self.path.text().strip()
        if folder is None:
            return self._fail("There is no run or study to report on: train one first.")
        if not path:
            return self._fail("Give the report a file name (Browse…).")
        views = self.ticked()
        self._pending = (folder, Path(path).expanduser(), self.fmt(), views, self.notes())
        if not views:
            return self._write([])
        if self.lab.is_training() or self.inspect.live:
            self._pending = None
            return self._fail("The Inspect views cannot be pictured while a run trains; untick "
                              "them, or export once the run ends.")
        self.export_button.setEnabled(False)
        self.inspect.inspected.connect(self._inspected)
        self.lab.open_run(open_run(folder))

    def _inspected(self, restored) -> None:
        self.inspect.inspected.disconnect(self._inspected)
        self.export_button.setEnabled(True)
        if self._pending is None:
            return
        if restored is None:  # the Inspect panel's banner already says why
            self._pending = None
            self.failed.emit("The run could not be shown in the Inspect views.")
            return
        figures, left_out = [], []
        kind = restored.exp.model.kind
        with self.widen():
            for name in self._pending[3]:
                png = grab_view(self.inspect, name)
                if png is None:
                    left_out.append(VIEW_WORDS[name])
                else:
                    figures.append((name, report.title(name, kind), png))
        self._write(figures, left_out)

    def _write(self, figures: list, left_out: list[str] = ()) -> None:
        folder, path, fmt, _views, notes = self._pending
        self._pending = None
        try:
            if fmt == "pdf":
                from app.report_pdf import write_pdf  # QtSvg is loaded only for a PDF
                written = write_pdf(folder, path, notes, figures).path
            else:
                written = report.write_html(folder, path, notes, figures)
        except ExportError as e:
            return self._fail(str(e))
        extra = f" The views {', '.join(left_out)} showed nothing for this run and were left out." \
            if left_out else ""
        self.lab.say("info", "Lab report written.", f"{written}.{extra}")
        self.exported.emit(str(written))
        self.accept()

    def _fail(self, sentence: str) -> None:
        self.lab.say("error", "Cannot export the lab report.", sentence)
        self.failed.emit(sentence)


def open_dialog(lab, runs_panel, inspect, widen, parent=None) -> ReportDialog:
    """File → Export → Lab report… (and the Runs dock's, app.exports_menu): open the dialog
    (not modal: the window goes on meanwhile)."""
    dialog = ReportDialog(lab, runs_panel, inspect, widen, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # a fresh one, with fresh runs, each time
    dialog.open()
    return dialog

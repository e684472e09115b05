"""The window's experiment file: File → Open / Save / Save as / Open recent, a `.toml` dropped
on the window, and the title that names the file with a `*` while the settings differ from it.

The file is the presets' TOML (core.experiment.config.save / load), so `python -m core train FILE`
replays it. A file that cannot be read leaves the window's settings as they were and says why
in the banner. The settings "differ" from the file when the panels describe another experiment
than they did right after it was opened or saved (what the panels show, not the text, so a
number the boxes display rounded does not count as a change).
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu

from app.form import in_words
from core.experiment import config as cfg
from core import ConfigError

MAX_RECENT = 8
RECENT_KEY = "files/recent"   # in the window's QSettings: a JSON list of paths, newest first
FILTER = "Experiment (*.toml)"


def _toml_paths(mime) -> list[Path]:
    """The local .toml files a drag carries."""
    if not mime.hasUrls():
        return []
    return [Path(u.toLocalFile()) for u in mime.urls()
            if u.isLocalFile() and u.toLocalFile().lower().endswith(".toml")]


class ExperimentFiles(QObject):
    """Opens and saves the Lab's experiment, keeps the recent files and says the title.
    Installed as an event filter on a window, it opens the .toml files dropped on it."""

    title_changed = Signal(str, bool)  # the name to show, whether the settings differ from it

    def __init__(self, lab, panels, parent=None):
        super().__init__(parent or lab)
        self.lab, self.panels = lab, panels
        self.path: Path | None = None           # the file the settings came from, or None
        self.saved: cfg.Experiment | None = None  # the panels' experiment as loaded or saved
        self._opening: Path | None = None       # set while load_experiment shows a file
        self.recent_menu: QMenu | None = None
        self._recent = self._read_recent()
        for p in panels:
            p.changed.connect(self.update_title)

    # -- the title
    def shown(self) -> None:
        """The Lab showed an experiment: from the file being opened, or from elsewhere (a
        preset, a run), which leaves no file to save to."""
        self.path = self._opening
        self.saved = self.lab.current_experiment()  # the file's, the preset's or the run's
        self.update_title()

    def modified(self) -> bool:
        """Whether a setting differs from what was loaded (a file, a preset, a run)."""
        return self.saved is not None and self.lab.current_experiment() != self.saved

    def update_title(self) -> None:
        name = self.path.name if self.path is not None else (
            self.lab.experiment.name or "experiment")
        self.title_changed.emit(name, self.modified())

    # -- opening
    def open_dialog(self) -> None:
        """File → Open experiment…: ask about unsaved changes, then pick a file."""
        self._after_unsaved_check(self._pick_and_open)

    def _pick_and_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(QApplication.activeWindow(), "Open experiment",
                                              self._folder(), FILTER)
        if path:
            self.open(Path(path))

    def request_open(self, path: Path) -> None:
        """Open path (a recent file, a drop) once unsaved changes are dealt with."""
        self._after_unsaved_check(lambda: self.open(path))

    def _after_unsaved_check(self, then) -> None:
        if not self.modified():
            then()
            return
        where = f"in {self.path.name}" if self.path is not None else "in a file"
        self.lab.ask("Discard the changes?",
                   f"The settings have changes that are not saved {where}.\n\n"
                   "Open another experiment and lose them?",
                   "Open and discard the changes", "Cancel",
                   lambda yes: then() if yes else None)

    def open(self, path: Path | str) -> bool:
        """Show the experiment in path; on failure say why and change nothing."""
        path = Path(path)
        if not path.is_file() and path in self._recent:
            self._forget(path)
            self.lab.say("warning", "That file is gone.",
                                       f"{path.name} is no longer in {path.parent}; it was "
                                       "removed from the recent files.")
            return False
        try:
            exp = cfg.load(path)
        except ConfigError as e:  # load's message starts with the path: the name says enough
            self.lab.say("error", f"Cannot open {path.name}.",
                                       in_words(str(e).replace(str(path), path.name)))
            return False
        self._opening = path
        try:
            self.lab.load_experiment(exp)
        finally:
            self._opening = None
        self._remember(path)
        self.lab.say("clear", "", "")  # an earlier message about files is answered
        return True

    # -- saving
    def save(self) -> bool:
        """File → Save experiment: to the file the settings came from, else ask for one."""
        return self._write(self.path) if self.path is not None else self.save_as()

    def save_as(self) -> bool:
        start = str(self.path) if self.path is not None else str(
            Path(self._folder()) / f"{self.lab.experiment.name or 'experiment'}.toml")
        path, _ = QFileDialog.getSaveFileName(QApplication.activeWindow(), "Save experiment as",
                                              start, FILTER)
        if not path:
            return False
        p = Path(path)
        return self._write(p if p.suffix.lower() == ".toml" else p.with_name(p.name + ".toml"))

    def _write(self, path: Path) -> bool:
        exp = self.lab.current_experiment()
        typed = next(filter(None, (p.typed_problem() for p in self.panels)), None)
        try:
            if typed:
                raise ConfigError(typed)
            cfg.validate(exp)  # a file `python -m core train` would refuse is not written
        except ConfigError as e:
            self.lab.say("error", "Cannot save these settings.",
                                       f"{in_words(str(e))}. Fix it first.")
            return False
        try:
            cfg.save(exp, path)
        except (OSError, ValueError) as e:
            self.lab.say("error", f"Cannot save {path.name}.",
                                       f"{getattr(e, 'strerror', None) or e}; choose a folder "
                                       "you can write to.")
            return False
        self.path, self.saved = path, exp
        self._remember(path)
        self.update_title()
        return True

    # -- recent files
    def _read_recent(self) -> list[Path]:
        try:
            items = json.loads(str(self.lab.settings.value(RECENT_KEY, "[]") or "[]"))
        except ValueError:
            return []
        if not isinstance(items, list):
            return []
        return [Path(p) for p in items if isinstance(p, str)][:MAX_RECENT]

    def recent(self) -> list[Path]:
        return list(self._recent)

    def _store_recent(self) -> None:
        if self.lab.persist:
            self.lab.settings.setValue(RECENT_KEY, json.dumps([str(p) for p in self._recent]))
        self._fill_recent()

    def _remember(self, path: Path) -> None:
        path = path.resolve()
        self._recent = [path] + [p for p in self._recent if p != path][:MAX_RECENT - 1]
        self._store_recent()

    def _forget(self, path: Path) -> None:
        self._recent = [p for p in self._recent if p != path]
        self._store_recent()

    def attach_recent(self, menu: QMenu) -> None:
        """Fill File → Open recent, now and whenever the list changes."""
        self.recent_menu = menu
        self._fill_recent()

    def _fill_recent(self) -> None:
        m = self.recent_menu
        if m is None:
            return
        m.clear()
        for p in self._recent:
            a = m.addAction(p.name, lambda path=p: self.request_open(path))
            a.setToolTip(str(p))
            a.setStatusTip(str(p))
        m.setEnabled(bool(self._recent))

    def _folder(self) -> str:
        """Where the file dialogs start: the current file's folder, else the latest one's."""
        base = self.path or (self._recent[0] if self._recent else None)
        return str(base.parent) if base is not None else ""

    # -- drag and drop
    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if _toml_paths(event.mimeData()):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            paths = _toml_paths(event.mimeData())
            if paths:
                event.acceptProposedAction()
                self.request_open(paths[0])
                return True
        return False

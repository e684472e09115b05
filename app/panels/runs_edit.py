"""Changing stored runs from the Runs dock: delete (after asking), rename, open the folder.

Functions of a RunsPanel (panel): its confirm, ask_name and open_url stand in for the dialogs
and the file manager in tests.
"""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QInputDialog, QMessageBox

from core.store import runs as store


def ask_confirm(parent, title: str, text: str) -> bool:
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes
                                  | QMessageBox.StandardButton.Cancel,
                                  QMessageBox.StandardButton.Cancel)
    return answer == QMessageBox.StandardButton.Yes


def ask_name(parent, current: str) -> str | None:
    text, ok = QInputDialog.getText(parent, "Rename run",
                                    "Name shown in the runs list and on the plots:", text=current)
    return text if ok else None


def delete(panel) -> None:
    """Delete the selected runs (not the one training now) after asking."""
    runs = [r for r in panel.selected_runs() if not panel._is_running(r)]
    if not runs:
        return
    if len(runs) == 1:
        what = f"the run “{runs[0].name}” ({runs[0].folder.name})"
    else:
        what = f"these {len(runs)} runs"
    # a run training in another process (the CLI, another window) would lose its files;
    # one whose process is gone reads "interrupted" (core.store.liveness.run_is_gone)
    elsewhere = (" One of them says it is still running: if `python -m core train` is "
                 "training it now, stop that first." if any(r.summary.get("status") == "running"
                                                            for r in runs) else "")
    if not panel.confirm("Delete runs", f"Delete {what} and their files (metrics, weights)? "
                         f"This cannot be undone.{elsewhere}"):
        return
    problems = []
    for run in runs:
        try:
            store.delete_run(run.folder, panel.root)
        except store.RunError as e:
            problems.append(str(e))
    panel.refresh()
    if problems:
        panel.message.emit("error", "Not every run was deleted.", " ".join(problems))


def rename(panel) -> None:
    """Rename the current run (not the one training now) as the person asks."""
    run = panel._current()
    if run is None or panel._is_running(run):
        return
    name = panel.ask_name(run.name)
    if name is None:
        return
    try:
        store.rename_run(run.folder, name, panel.root)
    except store.RunError as e:
        panel.message.emit("error", "Cannot rename the run.", str(e))
        return
    panel.refresh()


def open_folder(panel) -> None:
    run = panel._current()
    if run is not None and not panel.open_url(QUrl.fromLocalFile(str(run.folder))):
        panel.message.emit("error", "Cannot open the folder.",
                           f"No file manager opened {run.folder}; open it by hand.")

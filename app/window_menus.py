"""The main window's menus and their shortcuts: File, Presets, Run, Experiments and View.

Every action is also added to the window itself, so its shortcut works while the menu bar is
hidden (presentation mode)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from app import side_by_side
from app.exports_menu import Exports
from app.sweep import shortcut_problem
from app.window_pages import PAGES
from core.experiment import presets
from core.study import sweeps


def action(window, menu, text: str, fn, shortcut: str | list[str] | None = None,
           tip: str = "") -> QAction:
    """Add an action calling fn to menu (and to window, for its shortcut); return it."""
    a = QAction(text, window)
    if shortcut:
        keys = shortcut if isinstance(shortcut, list) else [shortcut]
        a.setShortcuts([QKeySequence(k) for k in keys])
    a.setToolTip(tip)
    a.setStatusTip(tip)
    a.triggered.connect(fn)
    menu.addAction(a)
    window.addAction(a)
    return a


def build_menus(w) -> None:
    """Fill w's menu bar; keep on w the actions others enable, check or trigger."""
    bar = w.menuBar()
    _file_menu(w, bar.addMenu("&File"))
    _presets_menu(w, bar.addMenu("&Presets"))
    m = bar.addMenu("&Run")
    # a lambda: QAction.triggered's `checked` must not reach start_training's run_folder
    w.start_action = action(w, m, "Start", lambda _=False: w.start_training(),
                            ["Ctrl+Return", "Ctrl+Enter"])
    w.pause_action = action(w, m, "Pause / Resume", w.toggle_pause, "Space")
    # Space is Pause only while a run trains: otherwise it plays the Inspect timeline, and an
    # enabled action on the same key would leave Qt firing neither
    w.pause_action.setEnabled(False)
    w.lab.session_opened.connect(lambda _s: w.pause_action.setEnabled(True))
    w.lab.session_closed.connect(lambda _r: w.pause_action.setEnabled(False))
    w.stop_action = action(w, m, "Stop", w.stop_training, "Esc")
    _experiments_menu(w, bar.addMenu("E&xperiments"))
    _view_menu(w, bar.addMenu("&View"))


def _file_menu(w, m) -> None:
    f = w.files  # app.experiment_files
    m.setToolTipsVisible(True)
    action(w, m, "Open experiment…", f.open_dialog, "Ctrl+O",
           "Open an experiment TOML file (the presets' format), or drop one on the window.")
    f.attach_recent(m.addMenu("Open recent"))
    action(w, m, "Save experiment", f.save, "Ctrl+S",
           "Save these settings to their file (python -m core train FILE replays them).")
    action(w, m, "Save experiment as…", f.save_as, "Ctrl+Shift+S",
           "Save these settings as a new TOML file.")
    m.addSeparator()
    action(w, m, "Export plots as PNG…", w.export_plots, "Ctrl+E", "Save the four plots as one PNG.")
    export = m.addMenu("Export")
    # CSV, script, TensorBoard, ONNX (and the Runs dock's menus)
    w.exports = Exports(w.lab, w.runs_panel, export, w.open_report)
    action(w, export, "Lab report…", w.open_report, tip="A run's or "
           "study's settings, layers, curves, metrics and Inspect views, with notes, as PDF or HTML.")
    m.addSeparator()
    action(w, m, "Quit", w.close, "Ctrl+Q")


def _presets_menu(w, m) -> None:
    m.setToolTipsVisible(True)
    for name in presets.names():
        action(w, m, name, lambda _=False, n=name: w.lab.load_experiment(presets.load(n)),
               tip=presets.description(name))


def _experiments_menu(w, m) -> None:
    m.setToolTipsVisible(True)
    part1 = w.part1_panel
    w.sweep_actions = {kind: action(w, m, s.title, lambda _=False, k=kind: part1.run_sweep(k), tip=s.tip)
                       for kind, s in sweeps.SHORTCUTS.items()}
    action(w, m, "Stop sweep", part1.sweep.cancel,
           tip="Stop the run in progress and cancel the sweep's other runs.")
    m.addSeparator()
    action(w, m, "Check gradients now", part1.check_now,
           tip="Hand-written backward against autograd and finite differences (Part 1 tab).")


def _view_menu(w, m) -> None:
    m.setToolTipsVisible(True)
    for i, (title, keys, tip) in enumerate(PAGES):
        action(w, m, title, lambda _=False, k=i: w.pages.setCurrentIndex(k), keys, tip)
    w.side_by_side_action = action(
        w, m, "Side by side", lambda: side_by_side.open_for(w.lab, w.runs_panel, w), "Ctrl+B",
        "The two runs ticked in the Runs list at the same epoch, one timeline for both: two "
        "rungs' filters, two learning rates' decision boundaries.")
    m.addSeparator()
    m.addAction(w.experiment_dock.toggleViewAction())
    w.log_action = QAction("Log-scale loss", w, checkable=True)
    w.log_action.toggled.connect(w.plots.set_log_scale)
    w.plots.log_scale_changed.connect(w.log_action.setChecked)
    m.addAction(w.log_action)
    m.addSeparator()
    action(w, m, "Reset layout", w.reset_layout,
           tip="Show every panel where it started, sized for this screen.")
    w.presentation_action = action(
        w, m, "Presentation", w.presentation.toggle, "F11",
        "Full screen and large text: the page shown (the curves, the results, a view, the "
        "runs) fills the projector (F11 again leaves).")
    w.presentation_action.setCheckable(True)
    w.presentation.toggled.connect(w.presentation_action.setChecked)
    action(w, m, "Larger text", lambda: w.presentation.zoom(+1), ["Ctrl++", "Ctrl+="])
    action(w, m, "Smaller text", lambda: w.presentation.zoom(-1), "Ctrl+-")


def suit_sweep_actions(w, exp) -> None:
    """Enable the Experiments menu's shortcuts that fit exp; a disabled one's tip says why
    (e.g. Part 1's sweeps on a CNN's images)."""
    for kind, s in sweeps.SHORTCUTS.items():
        a = w.sweep_actions[kind]
        unfit = shortcut_problem(kind, exp)
        a.setEnabled(unfit is None)
        a.setToolTip(unfit or s.tip)
        a.setStatusTip(unfit or s.tip)

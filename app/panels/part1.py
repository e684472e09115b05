"""The Part 1 panel: implementation switch, experiment shortcuts, the MLP's equations and a gradient check."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QFormLayout, QGridLayout, QGroupBox, QLabel,
                               QPushButton, QVBoxLayout, QWidget)

from app.form import FormPanel
from app.layout import FlowLayout
from app.panels.study_results import StudyResults
from app.sweep import SweepRunner, shortcut_cost, shortcut_problem
from app.views import gradcheck as gc
from app.views.axes import SizesAxis
from app.views.equations import IMPL, EquationsView
from app.worker import model_from
from core.experiment import config as cfg
from core.study import sweeps

LIVE_MS = 2000        # live gradient checks while training: at most one every 2 s
LIVE_MAX_S = 0.5      # a check slower than this is not repeated live


class Part1Panel(FormPanel):
    """Editors for model.implementation, plus the sweeps, equations and gradient check of Part 1."""

    _weights_came = Signal(object)  # a Future of a training network's weights (from its thread)

    def __init__(self, lab, runs_panel, parent=None):
        super().__init__(parent)
        self.lab, self.runs_panel = lab, runs_panel
        self.sweep = SweepRunner(lab, self)
        self.exp: cfg.Experiment | None = None
        self._session = None          # the last run's TrainingSession (its final weights)
        self._asked = None            # the live weights asked of the training thread, if any
        self._slow = True             # no check measured yet, or the last took over LIVE_MAX_S
        self._key = ""
        self._unfit: dict[str, str | None] = {}  # shortcut → why it does not fit the experiment
        col = QVBoxLayout(self)
        for box in (self._implementation_box(), self._shortcuts_box(), self._check_box(),
                    self._equations_box()):
            col.addWidget(box)
        col.addStretch(1)
        self.live_timer = QTimer(self, interval=LIVE_MS, timeout=self._live_check)
        self._auto = QTimer(self, singleShot=True, interval=300, timeout=self._auto_check)
        self._weights_came.connect(self._check_weights)  # queued: emitted in the training thread
        self.sweep.progressed.connect(self.sweep_status.setText)
        self.sweep.finished.connect(self._sweep_finished)
        lab.run_started.connect(self._run_started)
        lab.run_finished.connect(self._run_finished)

    def _implementation_box(self) -> QWidget:
        impl = QWidget(self)
        f = QFormLayout(impl)
        f.setContentsMargins(4, 4, 4, 0)
        self.implementation = self.editor("model", "implementation")
        f.addRow("Implementation", self.implementation)
        self.impl_hint = QLabel(impl)
        self.impl_hint.setObjectName("hint")
        self.impl_hint.setWordWrap(True)
        self.impl_hint.setAlignment(Qt.AlignmentFlag.AlignLeft)
        f.addRow("", self.impl_hint)
        self.implementation.currentIndexChanged.connect(
            lambda *_: self.impl_hint.setText(IMPL.get(self.implementation.currentData(), "")))
        return impl

    def _shortcuts_box(self) -> QGroupBox:
        # short titles: a group box's title sets its minimum width (the dock fits 1280×720)
        runs = QGroupBox("Experiment shortcuts", self)
        runs.setToolTip("Several runs, then overlaid.")
        grid = QGridLayout(runs)
        buttons = QWidget(runs)
        flow = FlowLayout(buttons)  # two buttons a row, or one in a narrow dock
        grid.addWidget(buttons, 0, 0, 1, 2)
        self.sweep_buttons: dict[str, QPushButton] = {}
        for kind, s in sweeps.SHORTCUTS.items():
            b = QPushButton(s.button, runs)
            b.setToolTip(f"<b>{s.title}</b><br>{s.tip}")
            b.clicked.connect(lambda _=False, s=kind: self.run_sweep(s))
            flow.addWidget(b)
            self.sweep_buttons[kind] = b
        self.stop_sweep = QPushButton("■ Stop sweep", runs)
        self.stop_sweep.setToolTip("Stop the run in progress and cancel the sweep's other runs.")
        self.stop_sweep.clicked.connect(self.sweep.cancel)
        self.stop_sweep.setEnabled(False)
        self.sweep_status = QLabel("From the current settings.", runs)
        self.sweep_status.setObjectName("hint")
        self.sweep_status.setWordWrap(True)
        grid.addWidget(self.stop_sweep, 2, 0)
        grid.addWidget(self.sweep_status, 2, 1)
        grid.addWidget(self._sizes_plot(runs), 3, 0, 1, 2)
        # the sweep's table and bar chart, as Part 2's: on the window's Results page
        self.results = StudyResults(self.lab, self.runs_panel)
        trainer = self.sweep.trainer
        trainer.rung_ended.connect(lambda _row, rows: self._show_results(rows))
        trainer.finished.connect(self._show_results)
        return runs

    def _sizes_plot(self, parent: QWidget) -> pg.PlotWidget:
        """The N sweep's final accuracy against N (question 2), hidden until it has results."""
        # ticks at the sizes run, as many as fit (the default log axis labels overlapped)
        self.n_plot = pg.PlotWidget(parent, axisItems={"bottom": SizesAxis("bottom")})
        self.n_plot.setObjectName("n_plot")
        self.n_plot.setBackground("w")
        self.n_plot.setMinimumHeight(170)
        self.n_plot.setLogMode(x=True, y=False)
        self.n_plot.setLabel("bottom", "training-set size N")
        self.n_plot.setLabel("left", "final accuracy (%)")
        self.n_plot.showGrid(x=True, y=True, alpha=0.25)
        self.n_plot.addLegend(offset=(-10, -10))
        self.n_curves = {split: self.n_plot.plot([], [], name=split, symbol="o", symbolSize=7,
                                                 pen=pg.mkPen(colour, width=2, style=style),
                                                 symbolBrush=colour, symbolPen=colour)
                         for split, colour, style in (("train", "#1565c0", Qt.PenStyle.DashLine),
                                                      ("test", "#c62828", Qt.PenStyle.SolidLine))}
        self.n_plot.hide()
        return self.n_plot

    def _equations_box(self) -> QGroupBox:
        eq = QGroupBox("Forward and backward passes", self)
        eq.setToolTip("With the current experiment's shapes.")
        self.equations = EquationsView(eq)
        QVBoxLayout(eq).addWidget(self.equations)
        return eq

    def _check_box(self) -> QGroupBox:
        check = QGroupBox("Gradient check", self)
        check.setToolTip("In float64, on the experiment's first training batch.")
        self.check_button = QPushButton("Check now", check)
        self.check_button.setToolTip("Compare the hand-written backward with autograd and with finite "
                                     "differences on the experiment's first training batch.")
        self.check_button.clicked.connect(self.check_now)
        self.live = QCheckBox("live while training (every 2 s)", check)
        self.live.setChecked(True)
        self.live.setToolTip("Re-check on a snapshot of the training network's weights every 2 s, "
                             f"when one check takes under {LIVE_MAX_S:g} s.")
        self.caption = QLabel(check)
        self.caption.setObjectName("hint")
        self.caption.setWordWrap(True)
        self.table = gc.GradcheckTable(check)
        self.table_key = QLabel(gc.KEY, check)  # what the table's short headers stand for
        self.table_key.setObjectName("hint")
        self.table_key.setWordWrap(True)
        self.mlp_only = QLabel(check)
        self.mlp_only.setWordWrap(True)
        self.mlp_only.hide()
        row = FlowLayout()  # wraps in a narrow dock
        row.addWidget(self.check_button)
        row.addWidget(self.live)
        c = QVBoxLayout(check)
        c.addLayout(row)
        for w in (self.caption, self.table, self.table_key, self.mlp_only):
            c.addWidget(w)
        return check

    def loaded(self, exp: cfg.Experiment) -> None:
        self.impl_hint.setText(IMPL.get(exp.model.implementation, ""))

    # -- the experiment
    def show_experiment(self, exp: cfg.Experiment) -> None:
        """Refresh the equations and, when no run is going, re-check the initial weights."""
        self.exp = exp
        self.equations.show_experiment(exp)
        self._suit_shortcuts(exp)
        key = cfg.dumps(exp)
        if key == self._key:
            return
        self._key = key
        problem = gc.mlp_problem(exp)
        self.mlp_only.setText(problem or "")
        for w in (self.table, self.table_key, self.caption, self.check_button, self.live):
            w.setVisible(problem is None)
        self.mlp_only.setVisible(problem is not None)
        if problem is None and not self.lab.is_training():
            self._session, self._slow = None, not exp.is_points  # 2D points: a few ms
            self.caption.setText("Settings changed: press Check now (the first check also decides "
                                 "whether it is cheap enough to repeat live).")
            if exp.is_points:  # a few milliseconds: re-check as the settings change
                self._auto.start()

    def _auto_check(self) -> None:
        if not self.lab.is_training():
            self.check_now()

    # -- the gradient check
    def check_now(self) -> bool:
        """Check the training network's weights (asked of its thread: the check runs when they
        come), the last run's final ones, or the initial ones; return whether it ran or was
        asked for."""
        exp = self.lab.experiment if self.lab.is_training() else self.exp
        if exp is None or gc.mlp_problem(exp):
            return False
        live = self.lab.session
        if live is not None:
            if live.trainer.model is None:
                self.caption.setText("The network is being built…")
                return False
            if self._asked is None:  # one copy at a time, made between two training steps
                self._asked = live.weights()
                self._asked.add_done_callback(self._weights_came.emit)
            return True
        if self._session is not None and self._session.final_model() is not None:
            return self._check(exp, self._session.final_model(), "the last run's final weights")
        return self._check(exp, None, f"the initial weights (seed {exp.train.seed})")

    def _check_weights(self, future) -> None:
        """The training network's weights, copied in its thread: check them here (a network
        this panel owns alone)."""
        self._asked = None
        session = self.lab.session
        if future.cancelled() or future.exception() is not None or session is None:
            return  # the run ended first: its final weights are checked then
        data = session.trainer.data
        model = model_from(future.result(), self.lab.experiment, data.input_shape,
                           len(data.classes))
        self._check(self.lab.experiment, model, "a snapshot of the training network's weights")

    def _check(self, exp: cfg.Experiment, model, what: str) -> bool:
        try:
            rows, b, seconds = gc.check(exp, model)
        except Exception as e:  # missing data and the like: say so in the panel
            self.table.show_rows([])
            self.caption.setText(f"Cannot check: {e}")
            return False
        self.table.show_rows(rows)
        self._slow = seconds > LIVE_MAX_S
        ok = all(gc.worst(r) < gc.TOLERANCE for r in rows)
        self.caption.setText(
            f"{'✔ all below' if ok else '✘ some at or above'} {gc.TOLERANCE:g} · {what}, first training "
            f"batch of {b} ({exp.optim.loss}, {exp.optim.reduction}) · {seconds * 1000:.0f} ms"
            + (f" — too slow to repeat live (over {LIVE_MAX_S:g} s): press Check now" if self._slow else ""))
        return True

    def _run_started(self, session) -> None:
        self._session = session
        if self.live.isChecked() and not self._slow:
            self.live_timer.start()

    def _live_check(self) -> None:
        if self.lab.session is None:
            self.live_timer.stop()
        elif self.live.isChecked() and not self._slow and self.isVisible():
            # the check runs in the GUI thread: only while someone is looking at it
            self.check_now()

    def _run_finished(self, _result) -> None:
        self.live_timer.stop()
        if self._session is not None and not self._slow:
            self.check_now()  # the final weights

    # -- sweeps
    def _suit_shortcuts(self, exp: cfg.Experiment) -> None:
        """Disable the shortcuts that do not fit exp, their tooltip saying why."""
        self._unfit = {kind: shortcut_problem(kind, exp) for kind in self.sweep_buttons}
        for kind, b in self.sweep_buttons.items():
            s = sweeps.SHORTCUTS[kind]
            b.setToolTip(f"<b>{s.title}</b><br>{self._unfit[kind] or s.tip}")
        self._set_sweeping(self.sweep.running())

    def run_sweep(self, kind: str) -> bool:
        """Start the shortcut's runs (a costly one once confirmed); return whether they started."""
        exp = self.lab.current_experiment()
        cost = None if self.sweep.running() else shortcut_cost(kind, exp)
        if cost:  # asked without blocking: the runs start when the answer comes
            text = sweeps.SHORTCUTS[kind].title
            self.lab.ask(f"{text}?", cost, "Train the three runs", "Cancel",
                            lambda yes: yes and self._start_sweep(kind))
            return False
        return self._start_sweep(kind)

    def _start_sweep(self, kind: str) -> bool:
        started = self.sweep.start(kind)
        if started:
            self._set_sweeping(True)
        return started

    def _set_sweeping(self, on: bool) -> None:
        for kind, b in self.sweep_buttons.items():
            b.setEnabled(not on and not self._unfit.get(kind))
        self.stop_sweep.setEnabled(on)

    def _show_results(self, rows: list) -> None:
        t = self.sweep.trainer
        self.results.show_rows(rows, t.folder, t.experiments)

    def _sweep_finished(self, kind: str, results: list) -> None:
        self._set_sweeping(False)
        if kind != "n" or not results:
            return
        sizes = set()
        for split, curve in self.n_curves.items():
            pts = sorted((e.data.n_train, _accuracy(r.last, split)) for e, r in results if r.last)
            curve.setData([n for n, v in pts if v is not None], [v for _, v in pts if v is not None])
            sizes.update(n for n, v in pts if v is not None)
        self.n_plot.getAxis("bottom").set_sizes(sizes)
        if sizes:  # room at both ends for the first and last labels (x is log10 N)
            lo, hi = math.log10(min(sizes)), math.log10(max(sizes))
            pad = 0.12 * max(hi - lo, 1.0)
            self.n_plot.setXRange(lo - pad, hi + pad, padding=0)
        # a short title: pyqtgraph keeps a plot at least as wide as its title, and the panel
        # is ~300 px wide, so a longer one pushed the plot's right end out of sight
        self.n_plot.setTitle("Final accuracy against N")
        self.n_plot.setToolTip("One point per run: its final accuracy after training on N examples; "
                               "the test set is the same for every N.")
        self.n_plot.show()


def _accuracy(record, split: str) -> float | None:
    """A run's final accuracy on "train" or "test" (the validation split when it has no test)."""
    m = record.split(split) or record.val
    return m.accuracy if m is not None else None

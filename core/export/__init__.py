"""Exports: what a user takes away from a run, a study or an experiment.

cli (`python -m core export`), csv_files (metrics and a study's rungs as CSV), script
(one plain PyTorch script, with script_data / script_model / script_prepare / script_train),
tensorboard_logs (event files, live or from a run), onnx_model (the trained network).

EXPORTS is the one table of them: each entry's command-line option, what it takes, the function
that makes it (imported only when asked: some need an optional package) and how the window's
menus offer it. `python -m core export` and File → Export both read it, so an export added here
is in both.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

RUN, STUDY, EXPERIMENT = "run", "study", "experiment"  # what a source is (core.files.kind_of)


@dataclass(frozen=True)
class Export:
    flag: str                 # the option: "csv" (--csv)
    metavar: str
    help: str                 # the option's help
    makers: dict[str, str]    # the kind of source it takes -> "module:function" that makes it
    extra: str = ""           # the optional package it may need (pip install 'learnscope[extra]')
    folder: bool = False      # it writes a folder (TensorBoard's event files), not a file
    # the window: (menu text, tooltip) for each kind of source it offers it for
    menus: dict[str, tuple[str, str]] = field(default_factory=dict)
    title: str = ""           # its file (or folder) dialog's title
    suffix: str = ""          # the file's suffix ("" for a folder)
    filter: str = ""          # the file dialog's filter

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self.makers)

    def function(self, kind: str) -> Callable:
        """The function that exports a source of this kind: function(source, target)."""
        module, _, name = self.makers[kind].partition(":")
        return getattr(importlib.import_module(module), name)


_CSV_TIP = ("One row per epoch (every split's loss and accuracy, learning rate, time), and the "
            "loss of every batch beside it (<name>-batches.csv).")
_STUDY_CSV_TIP = ("One row per rung: its settings' change, status, accuracies, best epoch and "
                  "time.")
_SCRIPT_TIP = ("One readable file that trains the same experiment with torch, torchvision and "
               "numpy only (no LearnScope import).")
_TB_TIP = ("Event files of every metric, each batch's loss and the first layer's filters "
           "(tensorboard --logdir FOLDER).")
_ONNX_TIP = ("The trained network, to open in Netron or run elsewhere, with its input shape "
             "and standardisation in its metadata.")
_GIF_TIP = ("The first layer's filters (images) or the decision boundary (2D points) at each "
            "epoch the run kept, animated; each frame titled with the run and the epoch.")
_FRAMES_TIP = "The same pictures, one PNG per kept epoch (epoch-0000.png, …), for slides."

EXPORTS = (
    Export("csv", "FILE", "the metrics per epoch (a run) or the table of rungs (a study)",
           {RUN: "core.export.csv_files:export_run", STUDY: "core.export.csv_files:export_study"},
           menus={RUN: ("Metrics as CSV…", _CSV_TIP), STUDY: ("Rung table as CSV…", _STUDY_CSV_TIP)},
           title="Export metrics as CSV", suffix=".csv", filter="CSV (*.csv)"),
    Export("script", "FILE.py", "one plain PyTorch script that trains the same experiment",
           {RUN: "core.export.script:export", EXPERIMENT: "core.export.script:export"},
           menus={RUN: ("Plain PyTorch script…", _SCRIPT_TIP),
                  EXPERIMENT: ("Plain PyTorch script…", _SCRIPT_TIP)},
           title="Export a plain PyTorch script", suffix=".py", filter="Python (*.py)"),
    Export("tensorboard", "DIR", "TensorBoard event files of a run's metrics and filters",
           {RUN: "core.export.tensorboard_logs:export_run"}, extra="tensorboard", folder=True,
           menus={RUN: ("TensorBoard logs…", _TB_TIP)}, title="Folder for the TensorBoard logs"),
    Export("onnx", "FILE.onnx", "the trained network as ONNX (Netron, onnxruntime)",
           {RUN: "core.export.onnx_model:export_run"}, extra="onnx",
           menus={RUN: ("ONNX model…", _ONNX_TIP)}, title="Export the network as ONNX",
           suffix=".onnx", filter="ONNX (*.onnx)"),
    Export("gif", "FILE.gif", "a run's filters or decision boundary over its epochs, animated",
           {RUN: "core.report.replay:export_gif"}, menus={RUN: ("Replay as GIF…", _GIF_TIP)},
           title="Export the replay as an animated GIF", suffix=".gif", filter="GIF (*.gif)"),
    Export("frames", "DIR", "one PNG per kept epoch of a run's filters or decision boundary",
           {RUN: "core.report.replay:export_frames"}, folder=True,
           menus={RUN: ("Replay as PNGs…", _FRAMES_TIP)}, title="Folder for the replay's PNGs"),
    # the window makes its lab report in a dialog of its own (app.report_dialog)
    Export("html", "FILE.html", "the lab report of a run or a study",
           {RUN: "core.report:write_html", STUDY: "core.report:write_html"}),
)
BY_FLAG = {x.flag: x for x in EXPORTS}

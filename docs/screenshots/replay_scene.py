"""Replay scenes for take.sh's `replay` shots (a real X display), each ending by touching READY:

- `timeline`: trains the practical CNN on Shapes-10 (600 images, 12 epochs), opens the run on
  the Train page (the curves mark the epoch) with its filters beside them, steps the timeline
  back to epoch 3;
- `side`: trains the circles MLP at the practical's two learning rates (0.05 and 0.5, 60
  epochs), ticks both in the Runs list and opens View → Side by side at epoch 10.

    .venv/bin/python docs/screenshots/replay_scene.py READY timeline|side
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.window_pages import TRAIN  # noqa: E402
from core.engine import malloc  # noqa: E402
from core.engine.train import Trainer  # noqa: E402
from core.experiment import config as cfg  # noqa: E402
from core.experiment import presets  # noqa: E402
from core.store import reader  # noqa: E402
from core.store.writers import recorded  # noqa: E402


def settle(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def timeline(w) -> None:
    exp = cfg.with_overrides(presets.load("shapes-cnn"), [
        "data.n_train=600", "data.n_test=300", "train.batch_size=32", "train.epochs=12"])
    folder = recorded(Trainer(exp)).fit().run_folder
    w.lab.open_run(reader.open_run(folder))
    settle(3000)  # the run's data and weights load in the background
    w.inspect.select("filters")
    w.pages.setCurrentIndex(TRAIN)
    w.inspect.timeline.show_epoch(3)


def side(w) -> None:
    from app import side_by_side
    folders = [recorded(Trainer(cfg.with_overrides(presets.load("circles-mlp"), [
        f"optim.lr={lr}", "train.epochs=60"]))).fit().run_folder for lr in (0.05, 0.5)]
    panel = w.runs_panel
    panel.refresh()
    for i, run in enumerate(panel.runs):
        panel.set_checked(i, str(run.folder) in folders)
    shown = side_by_side.open_for(w.lab, panel, w)
    settle(2500)
    shown.resize(1200, 620)
    shown.move(40, 40)
    shown.timeline.show_epoch(10)


def main() -> None:
    malloc.keep_freed_memory()
    ready, scene = Path(sys.argv[1]), sys.argv[2]
    app = QApplication(sys.argv[:1])
    from app.window import MainWindow
    w = MainWindow(None, persist=False)
    w.showMaximized()
    settle(800)
    {"timeline": timeline, "side": side}[scene](w)
    settle(1500)
    ready.write_text("ready")
    app.exec()


if __name__ == "__main__":
    main()

"""How long a step of the Inspect timeline takes to redraw, and what keeping snapshots costs.

Trains a run headless (the practical CNN on Shapes-10, 512 images, 30 epochs; the circles MLP,
150 epochs), opens it in the window (offscreen, 1280×720, the Inspect page) and steps the
timeline through every kept epoch, back then forward: each step loads that epoch's weights and
the view redraws (every image view for the CNN, the decision boundary for the MLP). Prints the
median and the slowest step per view; the target is 150 ms a step on a 2-core CPU. Also prints
the snapshot writer's share of the run it trained (target 3 %; benchmarks/snapshot_cost.py
measures it over rounds, with the run's time against train.snapshots = none).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/replay_scrub.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LEARNSCOPE_SETTINGS", str(Path(tempfile.mkdtemp()) / "settings.ini"))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from core.engine.train import Trainer  # noqa: E402
from core.experiment import config as cfg  # noqa: E402
from core.experiment import presets  # noqa: E402
from core.store import reader, snapshots  # noqa: E402
from core.store.writers import recorded  # noqa: E402

WORKLOADS = {"practical CNN, Shapes-10, 512 images, 30 epochs": (
                 "shapes-cnn", ["data.n_train=512", "data.n_test=256", "train.epochs=30",
                                "train.batch_size=32", "train.device=cpu"],
                 ["filters", "feature-maps", "receptive-field", "confusion", "health"]),
             "circles MLP, 150 epochs": ("circles-mlp", ["train.device=cpu"],
                                         ["decision-boundary"])}


def scrub(app, root: Path, folder: str, views: list[str]) -> dict[str, list[float]]:
    from app.window import MainWindow
    w = MainWindow(None, persist=False, run_root=root)
    w.resize(1280, 720)
    w.show()
    loop = QEventLoop()
    w.inspect.inspected.connect(lambda _r: loop.quit())
    QTimer.singleShot(0, lambda: w.lab.open_run(reader.open_run(folder)))
    loop.exec()
    w.pages.setCurrentIndex(2)  # the Inspect page: the view full size
    timeline, times = w.inspect.timeline, {}
    for view in views:
        w.inspect.select(view)
        app.processEvents()
        times[view] = []
        for direction in (-1, +1):
            for _ in range(len(timeline.epochs) - 1):
                t0 = time.perf_counter()
                timeline.step(direction)
                app.processEvents()  # the repaint
                times[view].append(time.perf_counter() - t0)
    w.close()
    return times


def main() -> None:
    app = QApplication(sys.argv[:1])
    for name, (preset, sets, views) in WORKLOADS.items():
        root = Path(tempfile.mkdtemp())
        exp = cfg.with_overrides(presets.load(preset), sets)
        trainer = recorded(Trainer(exp), root)
        writer = next(o for o in trainer.observers if isinstance(o, snapshots.SnapshotWriter))
        t0 = time.perf_counter()
        folder = trainer.fit().run_folder
        share = writer.seconds / (time.perf_counter() - t0)
        kept = snapshots.epochs(folder)
        print(f"{name}: {len(kept)} kept epochs; the snapshot writer took {100 * share:.2f} % "
              f"of the run")
        for view, times in scrub(app, root, folder, views).items():
            print(f"  {view}: a timeline step redraws in {1000 * statistics.median(times):.1f} ms "
                  f"(median of {len(times)}), the slowest {1000 * max(times):.1f} ms")


if __name__ == "__main__":
    main()

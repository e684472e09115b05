"""How late a 10 ms QTimer fires while the window trains, and the training speed it keeps.

For each workload (the practical CNN on Shapes-10, the circles MLP; CPU) the window trains
for --seconds while a precise 10 ms timer records how late each tick comes; then the same
experiment trains headless (the engine alone, as `python -m core train` runs it); GUI and
headless runs alternate --rounds times. Prints p50 / p99 / max lateness and images/s.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_latency.py [--seconds 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LEARNSCOPE_SETTINGS", str(Path(tempfile.mkdtemp()) / "settings.ini"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from core import config as cfg  # noqa: E402
from core import presets  # noqa: E402
from core.train import Observer, Trainer  # noqa: E402

WORKLOADS = {
    "practical CNN, Shapes-10": ("shapes-cnn", ["data.n_train=512", "data.n_test=256",
                                                "train.epochs=1000", "train.device=cpu"]),
    "circles MLP": ("circles-mlp", ["train.epochs=100000", "train.device=cpu"]),
}


def gui_run(app, exp: cfg.Experiment, seconds: float, root: str,
            views: list[str] = ()) -> tuple[np.ndarray, list[float]]:
    """Train in the window for `seconds` after the first epoch; return timer lateness (ms), rates.
    With views, the Inspect dock shows them in turn, one second each (only the visible one draws)."""
    from app.window import MainWindow
    w = MainWindow(exp, persist=False, run_root=root)
    w.resize(1600, 1000)
    w.show()
    turn = [0]

    def cycle():
        w.inspect.select(views[turn[0] % len(views)])
        turn[0] += 1

    cycler = QTimer(interval=1000, timeout=cycle)
    if views:
        cycle()
        cycler.start()
    ticks: list[float] = []
    timer = QTimer(timerType=Qt.TimerType.PreciseTimer, interval=10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    first = []

    def measure():  # after the warm-up (data loading, first epoch), in the real event loop
        if w.plots.records and not first:
            first.append(len(w.plots.records))
            poll.stop()
            timer.start()
            QTimer.singleShot(int(seconds * 1000), app.quit)

    poll = QTimer(interval=50, timeout=measure)
    w.start_training()
    poll.start()
    app.exec()
    timer.stop()
    cycler.stop()
    rates = [r["images_per_s"] for r in w.plots.records[first[0]:]]
    w.shutdown(5000)
    w.close()
    app.processEvents()
    late = (np.diff(ticks) - 0.010) * 1000
    return np.maximum(late, 0), rates


def headless_rates(exp: cfg.Experiment, epochs: int, threads: int) -> list[float]:
    class Rates(Observer):
        rates: list[float] = []

        def on_epoch_end(self, record):
            self.rates.append(record["images_per_s"])

    exp = cfg.with_overrides(exp, [f"train.epochs={epochs}"])
    torch.set_num_threads(threads)
    r = Rates()
    r.rates = []
    Trainer(exp, [r], record=False).fit()
    return r.rates[1:]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=8.0, help="seconds of training measured per GUI run")
    p.add_argument("--rounds", type=int, default=2,
                   help="GUI and headless runs alternate this many times (the machine's speed drifts)")
    p.add_argument("--view", action="append", default=[], metavar="NAME",
                   help="show this Inspect view while training (repeat to cycle through several)")
    p.add_argument("--all-views", action="store_true", help="cycle through every Inspect view")
    p.add_argument("--only", choices=("cnn", "circles"), help="measure one workload only")
    args = p.parse_args()
    from app.views.inspect_dock import VIEWS
    views = list(VIEWS) if args.all_views else args.view
    from app.worker import cpu_threads
    default_threads = torch.get_num_threads()
    app = QApplication.instance() or QApplication([])
    print(f"CPU: {os.cpu_count()} cores; the GUI trains with {cpu_threads()} torch thread(s) at low "
          f"priority, the CLI with torch's default {default_threads}; Qt platform {app.platformName()}")
    with tempfile.TemporaryDirectory() as root:
        for label, (preset, sets) in WORKLOADS.items():
            if args.only and (args.only == "cnn") != label.startswith("practical CNN"):
                continue
            exp = cfg.with_overrides(presets.load(preset), sets)
            epochs = 4 if exp.model.kind == "cnn" else 60
            late, gui_rates, cli_rates = [], [], []
            for _ in range(args.rounds):
                lateness, rates = gui_run(app, exp, args.seconds, root, views)
                late.append(lateness)
                gui_rates.append(statistics.median(rates))
                torch.set_num_threads(default_threads)
                cli_rates.append(statistics.median(headless_rates(exp, epochs, default_threads)))
            late = np.concatenate(late)
            gui, cli = statistics.median(gui_rates), statistics.median(cli_rates)
            print(f"\n{label} ({len(late)} timer ticks over {args.rounds} × {args.seconds:g} s)")
            print(f"  10 ms timer lateness: p50 {np.percentile(late, 50):.2f} ms   "
                  f"p99 {np.percentile(late, 99):.2f} ms   max {late.max():.2f} ms")
            print(f"  training in the window : {gui:10,.0f} images/s   (rounds: "
                  + ", ".join(f"{r:,.0f}" for r in gui_rates) + ")")
            print(f"  headless, as the CLI   : {cli:10,.0f} images/s   (rounds: "
                  + ", ".join(f"{r:,.0f}" for r in cli_rates) + ")")
            print(f"  window / headless      : {gui / cli:10.2f}")


if __name__ == "__main__":
    main()

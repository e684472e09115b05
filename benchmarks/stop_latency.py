"""How long Stop takes on the practical CNN on a CPU: from the click to the run's end in the window.

The window (offscreen) trains the shapes-cnn preset as it ships — 2,000 training and 2,000 test
images, batch 128, its training threads at a lower priority — and each run is stopped once:
while it prepares its data, during a training epoch (after a delay that differs from run to
run, so the stop lands anywhere in a step), or during the test split's evaluation. Prints,
per phase and overall, the median and the largest time from `stop_training()` to the
window's `run_finished` (the Train button usable again): Stop should answer within 0.5 s.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/stop_latency.py [--runs 4] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.engine import malloc  # noqa: E402

malloc.keep_freed_memory()  # as `learnscope` does, before any thread
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LEARNSCOPE_SETTINGS", str(Path(tempfile.mkdtemp()) / "settings.ini"))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from core.experiment import config as cfg  # noqa: E402
from core.experiment import presets  # noqa: E402

PHASES = ("preparing", "training", "evaluation")


def wait(app, until, timeout: float) -> bool:
    """Run the event loop until until() is true or timeout seconds passed; return until()."""
    end = time.perf_counter() + timeout
    loop = QEventLoop()
    while not until() and time.perf_counter() < end:
        QTimer.singleShot(5, loop.quit)
        loop.exec()
    return until()


def one_stop(app, window, phase: str, delay: float) -> tuple[float, str]:
    """Start a run, stop it in phase, and return (seconds from Stop to run_finished, how it ended)."""
    ended = []

    def finished(result):
        ended.append((time.perf_counter(), result))
    window.run_finished.connect(finished)
    assert window.start_training(), window.problem
    trainer = window.session.trainer
    evaluating = threading.Event()
    if phase == "evaluation":
        evaluate = trainer._evaluate

        def marked(*args):  # runs in the training thread
            evaluating.set()
            return evaluate(*args)
        trainer._evaluate = marked
        wait(app, evaluating.is_set, 600)
        wait(app, lambda: False, delay)  # somewhere in the split's batches
    elif phase == "training":
        wait(app, lambda: window.fit_info is not None, 600)
        wait(app, lambda: False, delay)
    t0 = time.perf_counter()
    window.stop_training()
    wait(app, lambda: bool(ended), 60)
    window.run_finished.disconnect(finished)
    t1, result = ended[0]
    return t1 - t0, result.message


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=4, help="stops per phase")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override the preset (e.g. train.batch_size=32)")
    args = ap.parse_args()

    app = QApplication.instance() or QApplication([])
    from app.window import MainWindow
    exp = cfg.with_overrides(presets.load("shapes-cnn"), ["train.device=cpu"] + args.set)
    window = MainWindow(exp, run_root=Path(tempfile.mkdtemp()), persist=False)
    window.resize(1366, 768)
    window.show()
    wait(app, lambda: False, 0.5)
    print(f"shapes-cnn on the CPU, {exp.data.n_train:,} / {exp.data.n_test:,} images, batch "
          f"{exp.train.batch_size}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "")
    seen: dict[str, list[float]] = {p: [] for p in PHASES}
    for i in range(args.runs):
        for phase in PHASES:
            delay = 0.3 + 1.7 * i / max(1, args.runs - 1) if phase == "training" else 0.05 + 0.1 * i
            seconds, message = one_stop(app, window, phase, delay)
            seen[phase].append(seconds)
            print(f"  {phase:<10} stop after {delay:.2f} s: {seconds * 1000:6.0f} ms  ({message})")
    print("Stop → run finished in the window:")
    for phase, values in seen.items():
        print(f"  {phase:<10} median {statistics.median(values) * 1000:6.0f} ms, "
              f"max {max(values) * 1000:6.0f} ms over {len(values)} stops")
    every = [v for values in seen.values() for v in values]
    print(f"  all        median {statistics.median(every) * 1000:6.0f} ms, "
          f"max {max(every) * 1000:6.0f} ms (target: 500 ms)")
    window.shutdown(5000)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How late a 10 ms QTimer fires while the window trains, and the training speed it keeps.

For each workload (the practical CNN on Shapes-10, the circles MLP; CPU) the window trains
for --seconds while a precise 10 ms timer records how late each tick comes, and the same
experiment trains headless for as long, as `python -m core train` runs it: in a process of
its own, on its main thread, saving the run as the window does (--no-record: the engine
alone). Each of --rounds rounds trains three times: the window with the probe timer (its
lateness; and the speed it leaves), the window without it (the speed people get: the probe
wakes the GUI thread 100 times a second, which the app itself never does), and headless —
in that order in one round, in reverse in the next. Prints p50 / p99 / max lateness, images/s
and the window / headless ratios (also per round: on a shared machine the speed drifts
between rounds), and on Linux the share of the time the window's training thread was
blocked — for a one-thread network, waiting for the GIL while the GUI thread held it.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_latency.py [--seconds 3] [--rounds 8]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.engine import malloc  # noqa: E402

malloc.keep_freed_memory()  # as `learnscope` and `python -m core` do, before any thread
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LEARNSCOPE_SETTINGS", str(Path(tempfile.mkdtemp()) / "settings.ini"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from core.experiment import config as cfg  # noqa: E402
from core.experiment import presets  # noqa: E402
from core.engine.train import Observer, Trainer  # noqa: E402
from core.store.writers import recorded  # noqa: E402

WORKLOADS = {
    "practical CNN, Shapes-10": ("shapes-cnn", ["data.n_train=512", "data.n_test=256",
                                                "train.epochs=1000", "train.device=cpu"]),
    "circles MLP": ("circles-mlp", ["train.epochs=100000", "train.device=cpu"]),
}


ALL_CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pin(cpus) -> None:
    """Run the calling thread (and the threads it starts) on these CPUs only (Linux)."""
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cpus))


def training_threads() -> list[int]:
    """The ids of the window's training thread and its torch threads (named after it; Linux)."""
    found = []
    for tid in os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else []:
        try:
            if open(f"/proc/self/task/{tid}/comm").read().startswith("learnscope"):
                found.append(int(tid))
        except OSError:
            pass
    return found


def pin_training_threads(cpus) -> None:
    """Move the window's training thread and its torch threads to cpus."""
    for tid in training_threads():
        try:
            os.sched_setaffinity(tid, set(cpus))
        except OSError:
            pass


def scheduled_seconds(tid: int) -> tuple[float, float] | None:
    """Seconds thread tid has run, and waited for a CPU (Linux schedstat); None if unknown.

    The rest of its wall time it was blocked: for the window's training thread, waiting for
    Python's GIL while the GUI thread held it (it reads no files and takes no other lock
    for long)."""
    try:
        run, wait = open(f"/proc/self/task/{tid}/schedstat").read().split()[:2]
    except (OSError, ValueError):
        return None
    return int(run) / 1e9, int(wait) / 1e9


class WindowRuns:
    """One main window that trains the experiment again for each round (as a user would).

    With train_cpus, the training threads run on those CPUs and the GUI thread on the others,
    as headless_rates then trains on train_cpus: on a shared VM one core can be much slower
    than another, and otherwise it is chance which one each side gets."""

    def __init__(self, app, exp: cfg.Experiment, root: str, views: list[str] = (),
                 train_cpus=None):
        from app.window import MainWindow
        self.app, self.views, self.train_cpus = app, list(views), train_cpus
        self.w = MainWindow(exp, persist=False, run_root=root)
        self.w.resize(1600, 1000)
        self.w.show()
        if train_cpus:
            self.w.run_started.connect(lambda _s: QTimer.singleShot(
                0, lambda: pin_training_threads(train_cpus)))
        self.turn = 0
        self.shown: tuple[str, float, int] | None = None
        self.refreshes: dict[str, tuple[int, float]] = {}  # view → (refreshes, seconds shown)

    def _tally(self) -> None:
        """Count the refreshes of the view shown since _mark()."""
        if self.shown is not None:
            name, since, count = self.shown
            done, seconds = self.refreshes.get(name, (0, 0.0))
            self.refreshes[name] = (done + self.w.inspect.views[name].refreshes - count,
                                    seconds + time.perf_counter() - since)
            self.shown = None

    def _mark(self, name: str | None = None) -> None:
        """Start counting the refreshes of view name (default: the one shown)."""
        if name is None:
            current = self.w.inspect.tabs.currentWidget()
            name = next(n for n, v in self.w.inspect.views.items() if v is current)
        self.shown = (name, time.perf_counter(), self.w.inspect.views[name].refreshes)

    def _cycle(self, measuring: bool = True) -> None:
        self._tally()
        name = self.views[self.turn % len(self.views)]
        self.turn += 1
        if measuring:
            self._mark(name)  # before showing it: showing a view refreshes it at once
        self.w.inspect.select(name)

    def run(self, seconds: float, probe: bool = True) -> tuple[np.ndarray, list[float], float]:
        """Train for `seconds` after the first epoch; return timer lateness (ms), rates and the
        share of the time the GUI thread was busy (self.blocked, self.waited: the shares the
        training thread was blocked and waited for a CPU, NaN if unknown). With views, the
        Inspect dock shows them in turn, one second each (only the visible one draws)."""
        w = self.w
        cycler = QTimer(interval=1000, timeout=self._cycle)
        if self.views:
            self._cycle(measuring=False)
            cycler.start()
        ticks: list[float] = []
        timer = QTimer(timerType=Qt.TimerType.PreciseTimer, interval=10)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        first, busy, blocked = [], [], []
        self.blocked = self.waited = math.nan

        def measure():  # after the warm-up (data loading, first epoch), in the real event loop
            if w.plots.records and not first:
                first.append(len(w.plots.records))
                busy.append(-time.thread_time())
                tids = training_threads()
                # the training thread itself: it starts its torch threads, which come later
                trainer = (min(tids), time.perf_counter(), scheduled_seconds(min(tids))) if tids else None
                blocked.append(trainer)
                if self.views:
                    self._mark()
                poll.stop()
                if probe:
                    timer.start()
                QTimer.singleShot(int(seconds * 1000), done)

        def done():
            busy[0] += time.thread_time()  # the GUI thread's CPU time while measured
            if blocked[0] is not None and blocked[0][2] is not None:
                tid, t0, (run0, wait0) = blocked[0]
                now, wall = scheduled_seconds(tid), time.perf_counter() - t0
                if now is not None:
                    ran, waited = now[0] - run0, now[1] - wait0
                    self.blocked, self.waited = 1 - (ran + waited) / wall, waited / wall
            timer.stop()
            cycler.stop()
            self._tally()
            first.append(len(w.plots.records))
            w.stop_training()  # run_finished ends the loop once the worker has ended

        poll = QTimer(interval=50, timeout=measure)
        if self.train_cpus:
            pin([c for c in ALL_CPUS if c not in self.train_cpus] or ALL_CPUS)
        # a local loop: QApplication.quit() would close the window (Qt 6 closes all windows)
        loop = QEventLoop()
        w.run_finished.connect(loop.quit)
        w.start_training()
        poll.start()
        loop.exec()
        w.run_finished.disconnect(loop.quit)
        pin(ALL_CPUS)
        rates = [r.images_per_s for r in w.plots.records[first[0]:first[1]]]
        late = (np.diff(ticks) - 0.010) * 1000 if ticks else np.zeros(0)
        return np.maximum(late, 0), rates, busy[0] / seconds

    def close(self) -> None:
        self.w.close()
        self.app.processEvents()


def headless_rates(preset: str, sets: list[str], seconds: float, threads: int, cpus=None,
                   run_root: str | None = None) -> list[float]:
    """Train as `python -m core train` does for `seconds` after the first epoch (on cpus if
    given), saving the run under run_root as the CLI and the window do (not at all if None);
    return rates."""
    class Rates(Observer):
        def __init__(self):
            self.rates, self.until = [], None

        def on_epoch_end(self, record):
            now = time.perf_counter()
            if self.until is None:
                self.until = now + seconds  # the first epoch is warm-up, as in the window
            else:
                self.rates.append(record.images_per_s)
                if now >= self.until:
                    trainer.stop()

    exp = cfg.with_overrides(presets.load(preset), sets)
    torch.set_num_threads(threads)
    r = Rates()
    trainer = Trainer(exp, [r])
    if run_root is not None:  # saving the run as the window does
        recorded(trainer, run_root)
    pin(cpus)
    try:
        trainer.fit()
    finally:
        pin(ALL_CPUS)
    return r.rates


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=3.0,
                   help="seconds of training measured per run (window, then headless)")
    p.add_argument("--rounds", type=int, default=8,
                   help="GUI and headless runs alternate this many times (the machine's speed drifts)")
    p.add_argument("--view", action="append", default=[], metavar="NAME",
                   help="show this Inspect view while training (repeat to cycle through several)")
    p.add_argument("--all-views", action="store_true", help="cycle through every Inspect view")
    p.add_argument("--only", choices=("cnn", "circles"), help="measure one workload only")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="an override for every workload, e.g. train.precision=bf16")
    p.add_argument("--no-record", action="store_true",
                   help="headless, train without saving the run (the engine alone; the CLI and "
                        "the window save every run: about 3 %% slower for the CNN)")
    p.add_argument("--pin", action="store_true",
                   help="train on the last CPU in the window and headless alike, the GUI on the "
                        "others (Linux; for the one-thread circles MLP: it makes a CNN's threads "
                        "share one core)")
    args = p.parse_args()
    from app.views.registry import VIEWS
    views = list(VIEWS) if args.all_views else args.view
    from app.worker import cpu_threads
    default_threads = torch.get_num_threads()
    app = QApplication.instance() or QApplication([])
    print(f"CPU: {os.cpu_count()} cores; the GUI trains with {cpu_threads()} torch thread(s) at low "
          f"priority, the CLI with torch's default {default_threads} (both 1 for a network as "
          f"small as the circles MLP); Qt platform {app.platformName()}")
    # the headless side trains in a process of its own, as the CLI does: torch work on the
    # window's GUI thread (an OpenMP team there) would slow the window's training thread
    cli_process = concurrent.futures.ProcessPoolExecutor(1, multiprocessing.get_context("spawn"))
    with cli_process, tempfile.TemporaryDirectory() as root, tempfile.TemporaryDirectory() as cli_dir:
        for label, (preset, sets) in WORKLOADS.items():
            if args.only and (args.only == "cnn") != label.startswith("practical CNN"):
                continue
            sets = [*sets, *args.set]
            exp = cfg.with_overrides(presets.load(preset), sets)
            late, probed_rates, gui_rates, cli_rates, busy, blocked, waited = [], [], [], [], [], [], []
            train_cpus = ALL_CPUS[-1:] if args.pin else None
            window = WindowRuns(app, exp, root, views, train_cpus)
            # the CLI's runs go elsewhere: the window's runs list would show each one
            cli_root = None if args.no_record else cli_dir
            headless = (headless_rates, preset, sets, args.seconds, default_threads, train_cpus, cli_root)

            def probed():  # lateness, and the speed with the probe timer's 100 wake-ups a second
                lateness, rates, _share = window.run(args.seconds)
                late.append(lateness)
                probed_rates.append(statistics.median(rates))

            def quiet():  # the window as people use it: no probe timer
                _lateness, rates, share = window.run(args.seconds, probe=False)
                busy.append(share)
                blocked.append(window.blocked)
                waited.append(window.waited)
                gui_rates.append(statistics.median(rates))

            def cli():
                cli_rates.append(statistics.median(cli_process.submit(*headless).result()))

            for r in range(args.rounds):
                # the order turns round every round, so that a drift of the machine's speed
                # favours no side; the window without the probe and headless run back to back
                for step in ((probed, quiet, cli) if r % 2 == 0 else (cli, quiet, probed)):
                    step()
            window.close()
            rates = {name: n / s for name, (n, s) in window.refreshes.items() if s > 0}
            late = np.concatenate(late)
            gui, probed_gui, cli = (statistics.median(x) for x in (gui_rates, probed_rates, cli_rates))
            print(f"\n{label} ({len(late)} timer ticks over {args.rounds} × {args.seconds:g} s)")
            print(f"  10 ms timer lateness: p50 {np.percentile(late, 50):.2f} ms   "
                  f"p99 {np.percentile(late, 99):.2f} ms   max {late.max():.2f} ms")
            print(f"  GUI thread busy          : {100 * statistics.median(busy):10.1f} % of the time")
            if not any(math.isnan(b) for b in blocked):
                # the training thread's time neither running nor waiting for a CPU: for a
                # one-thread network, waiting for the GIL the GUI thread held
                print(f"  training thread blocked  : {100 * statistics.median(blocked):10.1f} % of the time"
                      "   (/proc schedstat: waiting for Python's GIL, or for its torch threads)")
                print(f"  training thread runnable : {100 * statistics.median(waited):10.1f} % of the time"
                      "   (waiting for a CPU)")
            side = "engine alone" if args.no_record else "as the CLI"
            for name, value, per_round in (("training in the window", gui, gui_rates),
                                           ("… with the probe timer", probed_gui, probed_rates),
                                           (f"headless, {side}", cli, cli_rates)):
                print(f"  {name:<24} : {value:10,.0f} images/s   (rounds: "
                      + ", ".join(f"{r:,.0f}" for r in per_round) + ")")
            for name, window_rates in (("window / headless", gui_rates),
                                       ("… with the probe timer", probed_rates)):
                # each round's runs ran back to back: their ratio is robust to the machine's drift
                ratios = [g / c for g, c in zip(window_rates, cli_rates)]
                # how far the rounds' mean ratio may be from the true one (normal approximation)
                half = (1.96 * statistics.stdev(ratios) / len(ratios) ** 0.5 if len(ratios) > 1
                        else math.nan)
                print(f"  {name:<24} : {statistics.median(window_rates) / cli:10.2f}   (median of the "
                      f"rounds' ratios {statistics.median(ratios):.2f}; their mean "
                      f"{statistics.mean(ratios):.2f} ± {half:.2f}, 95 % interval)")
            if rates:
                print("  views refreshed (times a second while shown): "
                      + ", ".join(f"{name} {r:.1f}" for name, r in rates.items()))


if __name__ == "__main__":
    main()

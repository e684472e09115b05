"""How long `learnscope` takes to put a window on screen, the main window, and a first plotted point.

Each of --runs starts is a new process (`learnscope --preset circles-mlp`) with a fresh HOME,
XDG folders and settings file, so no saved layout, experiment or run is found. It runs with
LEARNSCOPE_STARTUP_PROBE (see app/startup.py): the app appends the wall-clock time of each
milestone to a file, presses Train on the circles MLP --train-after seconds (default 0) after
its main window has painted and quits after the plots' first paint with data. Figures are
seconds from just before the process is spawned (the command) to:

  (a) window       the first window has painted ("Starting LearnScope — loading PyTorch…"),
  (b) main window  the main window has painted,
  (c) first point  the plots have painted the first loss after Train was pressed,

and (d) from pressing Train to that first point (what a person who waits a moment sees: the
app imports what the first run needs in the background once the main window is up).

"Cold" means a new process only: the operating system's file cache stays warm (torch's shared
libraries are read from memory after the first start), as on a laptop that has run the app
before. Prints each start, then the median and the spread (min–max) of each figure.

    .venv/bin/python benchmarks/startup.py [--runs 5] [--train-after 0]   # offscreen
    .venv/bin/python benchmarks/startup.py --display [:1]      # a real X display ($DISPLAY)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = [("window", "(a) to the window"), ("main", "(b) to the main window"),
           ("first_point", "(c) to the first plotted point"),
           ("train_to_point", "(d) Train pressed → first point")]
TIMEOUT_S = 120


def command() -> list[str]:
    """The console script people run, or the module when the project is not installed."""
    script = Path(sys.executable).with_name("learnscope")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "app.main"]
    return head + ["--preset", "circles-mlp"]


def environment(home: Path, display: str | None, train_after: float) -> dict[str, str]:
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local" / "share"), XDG_CACHE_HOME=str(home / ".cache"),
               LEARNSCOPE_SETTINGS=str(home / "settings.ini"), LEARNSCOPE_RUNS=str(home / "runs"),
               LEARNSCOPE_CACHE=str(home / "cache"),
               LEARNSCOPE_STARTUP_PROBE=str(home / "probe.jsonl"), LEARNSCOPE_STARTUP_TRAIN=str(train_after))
    if display is None:
        env["QT_QPA_PLATFORM"] = "offscreen"
    else:
        env["DISPLAY"] = display
        env.pop("QT_QPA_PLATFORM", None)
    return env


def one_start(display: str | None, train_after: float) -> dict[str, float]:
    """Start the app once; return seconds from the spawn to each milestone it reached."""
    with tempfile.TemporaryDirectory(prefix="learnscope-start-") as tmp:
        home = Path(tmp)
        env = environment(home, display, train_after)
        t0 = time.time()
        done = subprocess.run(command(), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, timeout=TIMEOUT_S)
        probe = home / "probe.jsonl"
        lines = probe.read_text().splitlines() if probe.exists() else []
        marks = {m["event"]: m for m in map(json.loads, lines)}
        if done.returncode != 0 or "main" not in marks:
            tail = "\n".join(done.stderr.splitlines()[-15:])
            raise SystemExit(f"the app ended with {done.returncode} before its main window:\n{tail}")
        if marks["window"]["torch"]:
            print("  note: torch was already imported when the first window painted")
        if any(m["torchvision"] for m in marks.values()):
            print("  note: torchvision was imported during start-up")
        out = {k: m["t"] - t0 for k, m in marks.items()}
        if "first_point" in out:
            out["train_to_point"] = out["first_point"] - out["train"]
        return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--runs", type=int, default=5, help="cold starts (default 5)")
    p.add_argument("--display", nargs="?", const=os.environ.get("DISPLAY", ""), default=None,
                   metavar="DISPLAY", help="open real windows on this X display (default $DISPLAY) "
                   "instead of QT_QPA_PLATFORM=offscreen")
    p.add_argument("--train-after", type=float, default=0.0, metavar="S",
                   help="press Train S seconds after the main window has painted (default 0)")
    args = p.parse_args(argv)
    if args.display == "":
        p.error("--display needs an X display: none given and DISPLAY is not set")
    where = f"X display {args.display}" if args.display else "QT_QPA_PLATFORM=offscreen"
    print(f"{args.runs} cold starts of `{' '.join(Path(c).name for c in command()[:1])} "
          f"--preset circles-mlp` on {where}, Train pressed {args.train_after:g} s after the "
          f"main window; {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}; seconds from the command")
    runs = []
    for i in range(args.runs):
        r = one_start(args.display, args.train_after)
        runs.append(r)
        print(f"  start {i + 1}: " + "   ".join(
            f"{key} {r[key]:.2f}" if key in r else f"{key} —" for key, _ in FIGURES))
    for key, label in FIGURES:
        values = [r[key] for r in runs if key in r]
        if not values:
            print(f"{label:32s} not reached")
            continue
        print(f"{label:32s} median {statistics.median(values):.2f} s   "
              f"spread {min(values):.2f}–{max(values):.2f} s   ({len(values)} of {len(runs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

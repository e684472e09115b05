"""Headless LearnScope: `python -m core train CONFIG.toml | --preset NAME`, `python -m core presets`.

Exit codes: 0 done (or stopped with Ctrl+C while training), 1 other failure, 2 invalid config,
3 diverged, 130 Ctrl+C before training began (prints "Interrupted."), 143 stopped by SIGTERM (the
run is stopped as by Ctrl+C: it reads "stopped" and keeps every finished epoch).
`study` and its older spelling `sweep` (Part 1's shortcuts) are core.cli.study's, with their
own exit codes. Works where Qt is not installed: nothing here imports PySide6 or app.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from pathlib import Path

try:
    from core.experiment import config as cfg
    from core.engine import malloc
    from core.experiment import presets
    from core.cli import study as study_cli
    from core.cli.experiment import experiment_from, preset_names
    from core.cli import lab as lab_cli
    from core.cli import inspect as inspect_cli
    from core.export import cli as export_cli
    from core import ConfigError, DataError
except KeyboardInterrupt:  # Ctrl+C while Python starts: one line, no traceback
    sys.stderr.write("Interrupted.\n")
    raise SystemExit(130) from None

EXIT = {"done": 0, "stopped": 0, "diverged": 3}
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143  # 128 + SIGINT, 128 + SIGTERM, as a shell reports


class StopOnSignals:
    """While a run trains, Ctrl+C (SIGINT) and SIGTERM stop it at the next batch, as the GUI's
    Stop does: the run ends "stopped" with every finished epoch written. `received` is the last
    signal that came (None if none)."""

    def __init__(self, stop):
        self.stop, self.received, self._previous = stop, None, {}

    def _handle(self, signum, _frame) -> None:
        self.received = signum
        self.stop()

    def __enter__(self) -> StopOnSignals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    def exit_code(self, code: int) -> int:
        return EXIT_TERMINATED if self.received == signal.SIGTERM else code


class Progress:
    """A one-line progress bar with ETA and images/s on stderr (a line per epoch if not a tty)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.info = None
        self.t0 = time.perf_counter()
        self._last_draw = 0.0

    def on_data_progress(self, done: int, total: int) -> None:
        if self.tty:
            self.stream.write(f"\rdecoding images {done}/{total}")
            self.stream.flush()

    def on_data_note(self, text: str) -> None:  # a long preparation step (ZCA): one line each
        self.stream.write(("\r" if self.tty else "") + text + "\n")
        self.stream.flush()

    def on_fit_start(self, info) -> None:
        self.info, self.t0 = info, time.perf_counter()
        self.stream.write(f"\rtraining on {info.device} ({info.precision}): {info.n_train} train / "
                          f"{info.n_val} val / {info.n_test} test examples, {info.params:,} "
                          "parameters\n")
        if info.skipped:
            named = ", ".join(info.skipped_files[:5]) + (" …" if info.skipped > 5 else "")
            self.stream.write(f"warning: {info.skipped} unreadable or non-image files were skipped"
                              + (f": {named}" if named else "") + "\n")

    def on_batch_end(self, chunk) -> None:
        now = time.perf_counter()
        if not self.tty or now - self._last_draw < 0.1:
            return
        self._last_draw = now
        total = self.info.epochs * self.info.steps_per_epoch
        done = int(chunk.steps[-1])
        eta = (now - self.t0) / done * (total - done)
        width = 28
        fill = int(width * done / total)
        self.stream.write(f"\repoch {chunk.epoch}/{self.info.epochs} [{'#' * fill}{'.' * (width - fill)}] "
                          f"{100 * done / total:5.1f}%  loss {chunk.loss[-1]:.4f}  "
                          f"{chunk.images_per_s:,.0f} img/s  ETA {_clock(eta)}  ")
        self.stream.flush()

    def on_epoch_end(self, record) -> None:
        if self.tty:
            return
        parts = [f"epoch {record.epoch}/{self.info.epochs}"]
        for split in ("train", "val", "test"):
            m = record.split(split)
            if m is not None:
                parts.append(f"{split} {m.loss:.4f} / {m.accuracy:.2f}%")
        parts.append(f"{record.images_per_s:,.0f} img/s")
        self.stream.write("  ".join(parts) + "\n")
        self.stream.flush()

    def on_fit_end(self, result) -> None:
        if self.tty:
            self.stream.write("\n")

    def on_error(self, message: str) -> None: ...


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def final_table(record) -> str:
    """Return an epoch record's train / val / test loss and accuracy as a small table."""
    rows = [("split", "loss", "accuracy", "top-5")]
    for split in ("train", "val", "test"):
        m = record.split(split)
        if m is not None:
            rows.append((split, f"{m.loss:.4f}", f"{m.accuracy:.2f} %",
                         f"{m.top5:.2f} %" if m.top5 is not None else ""))
    return "\n".join(f"{a:<6} {b:>9} {c:>10} {d:>9}" for a, b, c, d in rows)


def cmd_presets(_args) -> int:
    for name in presets.names():
        print(f"{name:<20} {presets.description(name)}")
    return 0


def cmd_train(args) -> int:
    from core.engine.train import Trainer  # torch is imported only when training
    from core.store.writers import recorded

    try:
        overrides = list(args.set)
        if args.epochs is not None:
            overrides.append(f"train.epochs={args.epochs}")
        if args.device is not None:
            overrides.append(f"train.device={args.device}")
        if args.tensorboard:
            overrides.append(study_cli.tensorboard_set(args.tensorboard))
        exp = experiment_from(args.config, args.preset, overrides, needs=_NEEDS.format("train"))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    if args.layers:  # the table is all that was asked for: no data, no training, no run
        return print_layers(exp)

    progress = Progress()
    trainer = recorded(Trainer(exp, [progress]), args.out)

    with StopOnSignals(trainer.stop) as signals:  # Ctrl+C, SIGTERM: a clean stop
        result = trainer.fit()

    if result.status == "failed":
        print(f"error: {result.message}", file=sys.stderr)
        return 2 if result.error_kind == "config" else 1
    if result.status == "diverged":
        print(f"diverged: {result.message}", file=sys.stderr)
    elif result.status == "stopped":
        print(result.message, file=sys.stderr)
    if result.last:
        print(f"after epoch {result.last.epoch}:")
        print(final_table(result.last))
    if result.run_folder:
        print(f"run written to {result.run_folder}")
    return signals.exit_code(EXIT.get(result.status, 1))


def print_layers(exp: cfg.Experiment) -> int:
    """`train --layers`: print the layer table and the parameter count, then exit. The table
    needs only the input shape and the class count, which the data registry knows for every
    set without loading it (CIFAR-10 need not be on disk); an image folder's classes are its
    sub-folders, listed without reading an image."""
    from core.nets import models
    from core.data import registry

    try:
        shape, classes = registry.input_shape(exp.data)
        if exp.data.dataset == "folder":
            from core.data.vision import class_names
            try:
                classes = len(class_names(Path(exp.data.root).expanduser()))
            except DataError as e:
                print(f"note: {e} The output layer assumes {classes} classes.", file=sys.stderr)
        table = models.layer_table(exp.model, shape, classes)
    except ConfigError as e:  # a network the input shape cannot feed: the layer named
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(models.format_table(table))
    print(f"{sum(t.params for t in table):,} parameters to learn "
          f"({'×'.join(map(str, shape))} input, {classes} classes)")
    return 0


_NEEDS = "{}: give either a CONFIG.toml file or --preset NAME (" + preset_names() + ")"


def _experiment(args) -> cfg.Experiment:
    """Return the experiment named by a CONFIG file or --preset, with --set overrides."""
    return experiment_from(args.config, args.preset, args.set, needs=_NEEDS.format(args.command))


def cmd_gradcheck(args) -> int:
    import torch

    from core.engine import manual
    from core.data import loader
    try:
        exp = _experiment(args)
        problem = manual.unsupported(exp)
        if problem:
            raise ConfigError(f"gradcheck: {problem}")
        data = loader.load(exp.data, exp.train.seed, dtype=torch.float64)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # missing data and the like: a sentence, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 1
    rows, batch = manual.check_experiment(exp, data)
    print(f"gradient check on one batch of {batch} ({exp.optim.loss}, {exp.optim.reduction} "
          "over the batch, float64); largest difference relative to the gradient's scale:")
    print(f"{'tensor':<16} {'shape':>9} {'manual-autograd':>16} {'manual-numeric':>15} "
          f"{'autograd-numeric':>17}")
    worst = 0.0
    for r in rows:
        shape = "×".join(map(str, r["shape"]))
        diffs = [r["manual_vs_autograd"], r["manual_vs_numeric"], r["autograd_vs_numeric"]]
        worst = max(worst, *diffs)
        sampled = "" if r["checked"] == math.prod(r["shape"]) else f"  ({r['checked']} entries sampled)"
        print(f"{r['name']:<16} {shape:>9} {diffs[0]:>16.2e} {diffs[1]:>15.2e} {diffs[2]:>17.2e}{sampled}")
    ok = worst < manual.GRADCHECK_TOLERANCE
    print(f"{'PASS' if ok else 'FAIL'}: largest difference {worst:.2e} "
          f"({'<' if ok else '>='} {manual.GRADCHECK_TOLERANCE:g})")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Run the command line; Ctrl+C outside a run's training ends it with one line, exit 130."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: list[str] | None) -> int:
    malloc.keep_freed_memory()  # before any thread: CPU training runs a fifth faster
    parser = argparse.ArgumentParser(prog="python -m core", description="LearnScope's headless engine.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("presets", help="list the lab's presets").set_defaults(func=cmd_presets)
    t = sub.add_parser("train", help="train an experiment headless")
    t.add_argument("config", nargs="?", help="experiment TOML file")
    t.add_argument("--preset", help="train a preset instead of a file")
    t.add_argument("--epochs", type=int, help="override train.epochs")
    t.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    t.add_argument("--out", help="folder that receives the run folder (default: the shared runs folder)")
    t.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override any config field, e.g. --set optim.lr=0.01 (repeatable)")
    t.add_argument("--tensorboard", metavar="DIR", help="also write TensorBoard event files "
                   "under DIR (the same as --set train.tensorboard=DIR)")
    t.add_argument("--layers", action="store_true",
                   help="print the layer table and exit, without loading data or training")
    t.set_defaults(func=cmd_train)
    g = sub.add_parser("gradcheck", help="compare hand-written, autograd and numeric gradients")
    g.add_argument("config", nargs="?", help="experiment TOML file")
    g.add_argument("--preset", help="a preset instead of a file (e.g. circles-mlp)")
    g.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    g.set_defaults(func=cmd_gradcheck)
    study_cli.add_sweep_parser(sub, StopOnSignals)
    study_cli.add_parser(sub, StopOnSignals)
    export_cli.add_parser(sub)
    lab_cli.add_parser(sub)
    inspect_cli.add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


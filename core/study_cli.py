"""`python -m core study ladder --preset NAME | FILE.toml`: train a study, a table row per rung.

Registered by core.__main__ (which passes its StopOnSignals, so this module imports nothing of
it). Exit codes: 0 every rung ended (done, diverged or stalled), 1 a rung failed, 2 a bad study
file or option, 130 Ctrl+C (finished rungs kept; the study resumes when run again), 143 SIGTERM.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from core import config as cfg
from core import study as studies
from core.errors import ConfigError

EXIT_INTERRUPTED = 130
_HEAD = (f"{'rung':>4} {'Q':>3}  {'variant':<42} {'η/(1−m)':>7} {'train':>7} {'test':>7} "
         f"{'best (ep)':>11} {'change':>7} {'time':>7}  status")


def add_parser(sub, signals) -> None:
    """Add the `study` command to core.__main__'s subparsers."""
    s = sub.add_parser("study", help="train a study of matched runs (Part 2's ladder, or a file)")
    s.add_argument("study", help="a built-in study (ladder) with --preset, or a study FILE.toml")
    s.add_argument("--preset", help="the preset of a built-in study, e.g. shapes-cnn or cifar-cnn")
    s.add_argument("--epochs", type=int, help="override every rung's train.epochs")
    s.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (every rung)")
    s.add_argument("--out", help="folder that receives the study's folder (default: the runs folder)")
    s.add_argument("--parallel", type=int, default=1, metavar="K", help="train K rungs at once")
    s.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override a field of the study's base experiment (repeatable)")
    s.set_defaults(func=cmd_study, signals=signals)


def resolve(args) -> tuple[studies.Study, list[str]]:
    """Return the study the arguments name (its base with --set) and the per-rung overrides."""
    path = Path(args.study)
    if args.study.endswith(".toml") or path.is_file():
        if args.preset:
            raise ConfigError("study: --preset goes with a built-in study (e.g. `study ladder "
                              "--preset shapes-cnn`); a study file names its own base")
        study = studies.load(path)
    else:
        study = studies.builtin(args.study, args.preset)
    if args.set:
        study = dataclasses.replace(study, base=cfg.with_overrides(study.base, list(args.set)))
    if args.parallel < 1:
        raise ConfigError(f"--parallel: must be 1 or more, got {args.parallel}")
    extra = [f"train.epochs={args.epochs}"] if args.epochs is not None else []
    if args.device is not None:
        extra.append(f"train.device={args.device}")
    return study, extra


def _num(v, fmt="{:.1f}", empty="-") -> str:
    return empty if v is None else fmt.format(v)


def format_row(row: dict) -> str:
    """Return one rung's line of the table (and, under it, why it stalled, diverged or failed)."""
    best = "-" if row["best_test"] is None else f"{row['best_test']:.1f} ({row['best_epoch']})"
    status = "stalled" if row["stalled"] else row["status"]
    line = (f"{row['index']:>4} {_num(row['question'], '{}'):>3}  {row['label'][:42]:<42} "
            f"{row['effective_step']:>7.3g} {_num(row['train_accuracy']):>7} "
            f"{_num(row['test_accuracy']):>7} {best:>11} {_num(row['change'], '{:+.1f}'):>7} "
            f"{_num(row['seconds'], '{:.0f} s'):>7}  {status}")
    if row["message"] and status in ("stalled", "diverged", "failed", "stopped"):
        line += f"\n{'':10}{row['message']}"
    return line


def cmd_study(args) -> int:
    from core.study_run import StudyRunner
    try:
        study, extra = resolve(args)
        runner = StudyRunner(study, args.out, args.parallel, extra,
                             on_rung=lambda row, _rows: print(format_row(row), flush=True))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"study {study.name} ({study.kind}, {len(study.variants)} rungs) in {runner.folder}")
    print(_HEAD, flush=True)
    with args.signals(runner.stop) as signals:
        try:
            rows = runner.run()
        except OSError as e:
            print(f"error: could not write the study's files ({e}); free some disk space or "
                  "choose another --out folder", file=sys.stderr)
            return 1
    if signals.received is not None:
        print("Stopped: the finished rungs are kept; run the same command again to resume.",
              file=sys.stderr)
        return signals.exit_code(EXIT_INTERRUPTED)
    print(f"table written to {runner.folder / 'study.json'}")
    return 1 if any(r["status"] == "failed" for r in rows) else 0

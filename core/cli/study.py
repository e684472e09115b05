"""`python -m core study …` and `python -m core sweep …`: train a study, a table row per rung.

Three forms of `study`: a built-in study (`study ladder --preset shapes-cnn`), a study file
(`study MY-STUDY.toml`), and Part 1's shortcuts as independent studies (`study lr --preset
circles-mlp` or `study lr --experiment EXP.toml`). `sweep KIND [EXP.toml | --preset P]` is the
older spelling of the last one and goes through the same code.

Registered by core.cli.main (which passes its StopOnSignals, so this module imports nothing of
it). Exit codes: 0 every rung ended (done, diverged or stalled), 1 a rung failed or the study
is already running in another process (the message says which, and where), 2 a bad study file
or option (a name or label that cannot name a folder included), 130 Ctrl+C on `study` (0 on
`sweep`, as before it became a study: a clean stop; either way the finished rungs are kept and
the study resumes when run again), 143 SIGTERM.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from core.experiment import config as cfg
from core.study import sweeps
from core import study as studies
from core import ConfigError
from core.files.folder_lock import FolderBusy
from core.cli.experiment import experiment_from, preset_names

EXIT_INTERRUPTED = 130
_HEAD = (f"{'rung':>4} {'Q':>3}  {'variant':<42} {'step':>7} {'train':>7} {'test':>7} "
         f"{'best (ep)':>16} {'change':>7} {'time':>7}  status")
_SHORTCUTS = "; ".join(f"{k}: {s.summary}" for k, s in sweeps.SHORTCUTS.items())


def tensorboard_set(folder: str) -> str:
    """Return the `--set` that --tensorboard DIR stands for (the folder quoted as TOML text,
    so that a folder named `1` or `true` stays a folder)."""
    return f"train.tensorboard={json.dumps(str(folder), ensure_ascii=False)}"


def _add_common(p, base_help: str) -> None:
    p.add_argument("--epochs", type=int, help="override every rung's train.epochs")
    p.add_argument("--out", help="folder that receives the study's folder (default: the runs folder)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help=base_help)
    p.add_argument("--tensorboard", metavar="DIR", help="also write TensorBoard event files "
                   "under DIR, one folder per rung (the same as --set train.tensorboard=DIR)")


def add_parser(sub, signals) -> None:
    """Add the `study` command to core.cli.main's subparsers."""
    s = sub.add_parser(
        "study", help="train a study of matched runs: Part 2's ladder, a study file, or one of "
        "Part 1's shortcuts", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Forms:\n  study ladder --preset shapes-cnn     a built-in study (Part 2)\n"
        "  study MY-STUDY.toml                  a study file (it names its own base)\n"
        "  study KIND --preset P | --experiment EXP.toml\n"
        "                                       Part 1's shortcut KIND as an independent study\n"
        f"KIND: {_SHORTCUTS}.")
    s.add_argument("study", help="ladder (with --preset), a study FILE.toml, or a Part 1 "
                   f"shortcut: {', '.join(sweeps.KINDS)} (with --preset or --experiment)")
    s.add_argument("--preset", help="the preset of a built-in study or of a shortcut's base, "
                   "e.g. shapes-cnn, cifar-cnn, circles-mlp")
    s.add_argument("--experiment", metavar="EXP.toml",
                   help="a shortcut's base experiment from a file instead of --preset")
    s.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (every rung)")
    s.add_argument("--parallel", type=int, default=1, metavar="K", help="train K rungs at once "
                   "(--executor local)")
    add_executor_options(s)
    _add_common(s, "override a field of the study's base experiment (repeatable)")
    s.set_defaults(func=cmd_study, signals=signals)


def add_sweep_parser(sub, signals) -> None:
    """Add `sweep`, the older spelling of `study KIND`: the same study, folder and table."""
    w = sub.add_parser("sweep", help="Part 1's shortcuts: several runs differing in one setting "
                       "(the same as `study KIND`)",
                       description="The older spelling of `study KIND --preset P | --experiment "
                       "EXP.toml`: the runs are an independent study's rungs, in its folder "
                       "(resumed when run again), with its table.")
    w.add_argument("kind", choices=sweeps.KINDS, help=_SHORTCUTS)
    w.add_argument("config", nargs="?", help="experiment TOML file (the base)")
    w.add_argument("--preset", help="a preset instead of a file")
    _add_common(w, "override a field of the base experiment (repeatable)")
    w.set_defaults(func=cmd_sweep, signals=signals)


def _shortcut_base(args) -> cfg.Experiment:
    """Return the base experiment of a shortcut: --preset or --experiment, with --set."""
    kind, file = args.study, args.experiment
    both = "not both" if file else "one of them"
    command = getattr(args, "command", None) or "study"
    form = "a CONFIG.toml file" if command == "sweep" else "--experiment EXP.toml"
    return experiment_from(file, args.preset, _base_sets(args), needs=(
        f"{command} {kind}: give the experiment whose runs differ in {kind} with --preset NAME "
        f"or {form} ({both}; {preset_names()})"))


def _base_sets(args) -> list[str]:
    sets = list(args.set)
    if args.tensorboard:
        sets.append(tensorboard_set(args.tensorboard))
    return sets


def _named_study(args) -> studies.Study:
    """Return a study file's or a built-in study's Study (a base of its own)."""
    if args.experiment:
        raise ConfigError(f"study: --experiment goes with a Part 1 shortcut "
                          f"({', '.join(sweeps.KINDS)}); a study file names its own base and "
                          "a built-in study takes --preset")
    path = Path(args.study)
    if args.study.endswith(".toml") or path.is_file():
        if args.preset:
            raise ConfigError("study: --preset goes with a built-in study (e.g. `study ladder "
                              "--preset shapes-cnn`); a study file names its own base")
        return studies.load(path)
    names = studies.builtin_names()
    with_preset = sorted(n[len(args.study) + 1:] for n in names if n.startswith(args.study + "-"))
    if args.study not in names and not with_preset:
        raise ConfigError(f"study: {args.study!r} is not a built-in study (known: "
                          f"{', '.join(sorted({n.split('-')[0] for n in names}))}), a Part 1 "
                          f"shortcut ({', '.join(sweeps.KINDS)}) or a study FILE.toml")
    if args.study not in names and args.preset not in with_preset:
        given = f"has no version for --preset {args.preset}" if args.preset else "needs --preset"
        raise ConfigError(f"study {args.study}: {given}; give --preset NAME, one of "
                          f"{', '.join(with_preset)}")
    return studies.builtin(args.study, args.preset)


def resolve(args) -> tuple[studies.Study, list[str]]:
    """Return the study the arguments name (its base with --set) and the per-rung overrides."""
    if args.study in sweeps.KINDS:
        study = sweeps.study(args.study, _shortcut_base(args))
    else:
        study = _named_study(args)
        sets = _base_sets(args)
        if sets:
            study = dataclasses.replace(study, base=cfg.with_overrides(study.base, sets))
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
    best = ("-" if row["best_test"] is None else
            f"{row.get('best_by', 'test')} {row['best_test']:.1f} ({row['best_epoch']})")
    status = "stalled" if row["stalled"] else row["status"]
    line = (f"{row['index']:>4} {_num(row['question'], '{}'):>3}  {row['label'][:42]:<42} "
            f"{row['effective_step']:>7.3g} {_num(row['train_accuracy']):>7} "
            f"{_num(row['test_accuracy']):>7} {best:>16} {_num(row['change'], '{:+.1f}'):>7} "
            f"{_num(row['seconds'], '{:.0f} s'):>7}  {status}")
    if row["message"] and status in ("stalled", "diverged", "failed", "stopped"):
        line += f"\n{'':10}{row['message']}"
    return line


def add_executor_options(p) -> None:
    """--executor, --scheduler and --workers: where a study's rungs train (study, lab prepare)."""
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local: this machine (--parallel K); dask: each rung a Dask task "
                   "(pip install 'learnscope[cluster]'; docs/cluster.md)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler (tcp://HOST:8786); "
                   "without it --executor dask starts a local cluster")
    p.add_argument("--workers", type=int, default=2, metavar="N",
                   help="worker processes of the local Dask cluster (default 2)")


def executor_from(args):
    """The Dask executor `--executor dask` asks for (None: this machine)."""
    if getattr(args, "executor", "local") != "dask":
        if getattr(args, "scheduler", None):
            raise ConfigError("--scheduler goes with --executor dask")
        return None
    if args.workers < 1:
        raise ConfigError(f"--workers: must be 1 or more, got {args.workers}")
    from core.study.cluster import DaskExecutor
    return DaskExecutor(args.scheduler, args.workers, say=lambda text: print(text, flush=True))


def reached(executor) -> bool:
    """Reach the Dask scheduler (or start the local cluster) before anything trains; False,
    its sentence printed, when it cannot be (None: this machine, nothing to reach)."""
    if executor is None:
        return True
    from core.study.cluster import ClusterError
    try:
        executor.connect()
    except ClusterError as e:
        print(f"error: {e}", file=sys.stderr)
        return False
    return True


def cmd_study(args) -> int:
    return train_study(args, EXIT_INTERRUPTED)


def cmd_sweep(args) -> int:
    """`sweep KIND [EXP.toml]`: `study KIND --experiment EXP.toml`, stopped by Ctrl+C with 0."""
    args = argparse.Namespace(**vars(args), study=args.kind, experiment=args.config,
                              device=None, parallel=1, executor="local")
    return train_study(args, 0)


def train_study(args, interrupted: int) -> int:
    """Train the study args name, print its table; interrupted: the exit code after Ctrl+C."""
    from core.study.runner import StudyRunner
    try:
        study, extra = resolve(args)
        executor = executor_from(args)
        runner = StudyRunner(study, args.out, args.parallel, extra, executor=executor,
                             on_rung=lambda row, _rows: print(format_row(row), flush=True))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not reached(executor):
        return 1
    print(f"study {study.name} ({study.kind}, {len(study.variants)} rungs) in {runner.folder}")
    print(_HEAD, flush=True)
    with args.signals(runner.stop) as signals:
        try:
            rows = runner.run()
        except FolderBusy as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        except OSError as e:
            print(f"error: could not write the study's files ({e}); free some disk space or "
                  "choose another --out folder", file=sys.stderr)
            return 1
        finally:
            if executor is not None:  # a study that never started still lets its cluster go
                executor.close()
    failed = any(r["status"] == "failed" for r in rows)
    if signals.received is not None:
        print("Stopped: the finished rungs are kept and the rest were not trained; run the same "
              "command again to resume.", file=sys.stderr)
        return signals.exit_code(interrupted or int(failed))
    print(f"table written to {runner.folder / 'study.json'}")
    return 1 if failed else 0

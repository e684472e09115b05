"""`python -m core lab prepare SHEET --out DIR`: a lab sheet's runs, prepared headless."""

from __future__ import annotations

import sys
from pathlib import Path

from core import ConfigError
from core.study import sheets
from core.cli.study import add_executor_options, executor_from, reached


def add_parser(sub) -> None:
    lab = sub.add_parser("lab", help="lab sheets: prepare a sheet's runs for class")
    verbs = lab.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("prepare", help="train every run a lab sheet's questions ask for",
                         description="Train what each question's Do it would train (its run, "
                         "Part 1's shortcut or a study) into DIR, so the window opened on DIR "
                         "(LEARNSCOPE_RUNS=DIR) shows them without training.")
    p.add_argument("sheet", help=f"a built-in sheet ({', '.join(sheets.builtin_sheets())}) or a "
                                 "sheet FILE.toml")
    p.add_argument("--out", required=True, help="the runs folder to fill")
    p.add_argument("--epochs", type=int, default=0, help="train every run this many epochs")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override a field of every run (repeatable), e.g. data.n_train=500")
    p.add_argument("--parallel", type=int, default=1, help="train a study's rungs K at a time")
    add_executor_options(p)
    p.set_defaults(func=cmd_prepare)


def cmd_prepare(args) -> int:
    from core.study.prepare import prepare
    try:
        sheet = (sheets.load(args.sheet) if Path(args.sheet).suffix == ".toml"
                 else sheets.builtin(args.sheet))
        if args.epochs < 0:
            raise ConfigError(f"--epochs: must be 0 or more, got {args.epochs}")
        executor = executor_from(args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not reached(executor):
        return 1
    try:
        done = prepare(sheet, args.out, args.epochs, args.set, max(1, args.parallel),
                       executor=executor)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if executor is not None:
            executor.close()
    print(f"prepared {sum(map(len, done.values()))} run(s) or studies for "
          f"{len(done)} question(s) in {args.out}")
    return 0
